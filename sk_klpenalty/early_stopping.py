"""Early stopping with scikit-learn's names (those of ``MLPClassifier``).

``early_stopping=True`` holds out ``validation_fraction`` of the training
data (stratified, seeded from ``random_state``), scores every epoch on it
(the validation loss, or any scikit-learn scorer), stops after
``n_iter_no_change`` epochs without an improvement of at least ``tol``, and
keeps the best epoch's weights (skorch's ``EarlyStopping(load_best=True)``).
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch.callbacks import EarlyStopping, EpochScoring
from skorch.dataset import ValidSplit
from skorch.utils import to_numpy
from torch.utils.data import Subset

from .validation import check_int, check_real
from .weights import accepts_sample_weight, dataset_sample_weight

__all__ = ["EarlyStoppingMixin", "HoldOut", "ValidationScorer", "check_scoring_param"]


def check_scoring_param(scoring) -> None:
    """Raise unless ``scoring`` is None, a scikit-learn scorer name or a callable."""
    if scoring is None or callable(scoring):
        return
    if not isinstance(scoring, str):
        raise TypeError(
            "scoring must be None (the validation loss), a scikit-learn scorer "
            f"name or a callable scorer(estimator, X, y), got {scoring!r}."
        )
    from sklearn.metrics import get_scorer, get_scorer_names

    try:
        get_scorer(scoring)
    except ValueError:
        raise ValueError(
            f"scoring={scoring!r} is not a scikit-learn scorer name; see "
            f"sklearn.metrics.get_scorer_names(), e.g. {get_scorer_names()[:3]}."
        ) from None


class ValidationScorer:
    """``scoring`` as skorch's ``EpochScoring`` calls it, with the weights.

    Where the validation part carries sample weights, a scorer that accepts
    ``sample_weight`` gets them (scikit-learn's scorers do); one that does
    not is called without them, with one warning.
    """

    def __init__(self, scoring) -> None:
        self.scoring = scoring

    def __call__(self, net, X, y) -> float:
        from sklearn import config_context
        from sklearn.metrics import check_scoring

        scorer = check_scoring(net, scoring=self.scoring)
        weights = dataset_sample_weight(X)
        if weights is None:
            return scorer(net, X, y)
        if not accepts_sample_weight(scorer):
            if not getattr(self, "warned_", False):
                warnings.warn(
                    f"scoring={self.scoring!r} takes no sample_weight: the "
                    "validation score is unweighted (the training loss is "
                    "weighted).",
                    UserWarning,
                    stacklevel=2,
                )
                self.warned_ = True
            return scorer(net, X, y)
        # A plain keyword argument, whatever the global metadata routing says.
        with config_context(enable_metadata_routing=False):
            return scorer(net, X, y, sample_weight=weights)


class HoldOut:
    """A stratified, seeded hold-out split, usable as skorch's ``train_split``.

    Where a class is too rare to appear in both parts, the split is a plain
    shuffled one, with a warning.

    Parameters
    ----------
    fraction : float in (0, 1)
        Share of the samples held out (rounded up).
    random_state : int or None
    """

    def __init__(self, fraction: float, random_state=None) -> None:
        self.fraction = fraction
        self.random_state = random_state

    def __call__(self, dataset, y=None, groups=None):
        n_samples = len(dataset)
        n_valid = math.ceil(self.fraction * n_samples)
        if not 1 <= n_valid < n_samples:
            raise ValueError(
                f"validation_fraction={self.fraction} of {n_samples} samples leaves "
                "no samples for validation or for training."
            )
        indices = np.arange(n_samples)
        split = {"test_size": n_valid, "random_state": self.random_state}
        try:
            stratify = None if y is None else to_numpy(y)
            train, valid = train_test_split(indices, stratify=stratify, **split)
        except ValueError as error:
            warnings.warn(
                f"early_stopping: the validation part is a plain random split, "
                f"not stratified ({error})",
                UserWarning,
                stacklevel=2,
            )
            train, valid = train_test_split(indices, **split)
        return Subset(dataset, train), Subset(dataset, valid)


class EarlyStoppingMixin:
    """``early_stopping`` and friends for a skorch net (see the module docs).

    Sets ``n_iter_`` (epochs trained) and ``best_epoch_`` (the epoch whose
    weights the model holds) after every fit.
    """

    def _check_early_stopping(self) -> None:
        if not isinstance(self.early_stopping, bool | np.bool_):
            raise TypeError(
                f"early_stopping must be True or False, got {self.early_stopping!r}."
            )
        check_real(self.validation_fraction, "validation_fraction", low=0.0, high=1.0)
        if self.validation_fraction == 1.0:
            raise ValueError("validation_fraction must be in (0.0, 1.0), got 1.0.")
        check_int(self.n_iter_no_change, "n_iter_no_change", 1)
        check_real(self.tol, "tol", low=0.0, low_inclusive=True)
        check_scoring_param(self.scoring)
        if self.early_stopping and self.train_split is not None:
            raise ValueError(
                "early_stopping=True holds out validation_fraction of the data "
                "itself: leave train_split=None (or keep train_split and add "
                "skorch's EarlyStopping to callbacks)."
            )

    def _early_stopping_on(self) -> bool:
        # Also reached from set_params, before validation: never raise.
        return isinstance(self.early_stopping, bool | np.bool_) and bool(
            self.early_stopping
        )

    def _early_stopping_callbacks(self) -> list:
        """``(name, callback)`` pairs that score the validation part and stop."""
        if not self._early_stopping_on():
            return []
        callbacks = []
        monitor, lower_is_better = "valid_loss", True
        if self.scoring is not None:
            monitor, lower_is_better = "valid_score", False  # scorers: higher wins
            scorer = ValidationScorer(self.scoring)
            callbacks.append(
                (monitor, EpochScoring(scorer, lower_is_better=False, name=monitor))
            )
        stopper = EarlyStopping(
            monitor=monitor,
            lower_is_better=lower_is_better,
            patience=self.n_iter_no_change,
            threshold=self.tol,
            threshold_mode="abs",  # "rel" gets the sign wrong for negative scores
            load_best=True,
        )
        return [*callbacks, ("early_stopping", stopper)]

    def get_split_datasets(self, X, y=None, **fit_params):
        split = self._seeded_train_split()
        if split is self.train_split:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        if y is None:
            return split(dataset, **fit_params)
        return split(dataset, y, **fit_params)

    def _seeded_train_split(self):
        """The split to train with: the hold-out, or ``train_split`` seeded."""
        split = self.train_split
        if self._early_stopping_on():
            return HoldOut(self.validation_fraction, self._split_seed())
        if isinstance(split, ValidSplit) and split.random_state is None:
            seed = self._split_seed()
            if seed is not None:
                # Seed skorch's shuffled split too, so that the internal
                # validation part is reproducible.
                split = copy.copy(split)
                split.random_state = seed
        return split

    def _split_seed(self) -> int | None:
        # Drawn from the torch RNG, which fit seeds from random_state.
        if self.random_state is None:
            return None
        return int(torch.randint(2**31 - 1, ()).item())

    def _record_epochs(self) -> None:
        history = self.history
        self.n_iter_ = len(history)
        if self.n_iter_ and "train_loss" not in history[-1]:
            self.n_iter_ -= 1  # interrupted before the epoch's end
        stopper = dict(self.callbacks_).get("early_stopping")
        if self._early_stopping_on() and isinstance(stopper, EarlyStopping):
            self.best_epoch_ = int(stopper.best_epoch_)
        else:
            self.best_epoch_ = self.n_iter_
