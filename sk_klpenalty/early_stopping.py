"""Early stopping with ``MLPClassifier``'s names: skorch's ``EpochScoring`` and
``EarlyStopping(load_best=True)`` on a stratified, seeded :class:`HoldOut`."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
from sklearn import config_context
from sklearn.metrics import check_scoring
from skorch.callbacks import EarlyStopping, EpochScoring
from skorch.dataset import ValidSplit

from .validation import check_int, check_real
from .weights import accepts_sample_weight, dataset_sample_weight

__all__ = ["HoldOut", "ValidationScorer", "check_early_stopping", "seeded_split"]


def check_early_stopping(net) -> None:
    """Raise for an invalid early-stopping parameter of ``net``."""
    if not isinstance(net.early_stopping, bool | np.bool_):
        raise TypeError(
            f"early_stopping must be True or False, got {net.early_stopping!r}."
        )
    check_real(net.validation_fraction, "validation_fraction", low=0.0, high=1.0)
    check_int(net.n_iter_no_change, "n_iter_no_change", 1)
    check_real(net.tol, "tol", low=0.0, closed="left")
    if net.scoring is not None and not callable(net.scoring):
        if not isinstance(net.scoring, str):
            raise TypeError(
                "scoring must be None (the validation loss), a scikit-learn scorer "
                f"name or a callable scorer(estimator, X, y), got {net.scoring!r}."
            )
        try:
            check_scoring(net, scoring=net.scoring)
        except ValueError:
            raise ValueError(
                f"scoring={net.scoring!r} is not a scikit-learn scorer name; see "
                "sklearn.metrics.get_scorer_names()."
            ) from None
    if net.early_stopping and net.train_split is not None:
        raise ValueError(
            "early_stopping=True holds out validation_fraction of the data "
            "itself: leave train_split=None (or keep train_split and add "
            "skorch's EarlyStopping to callbacks)."
        )


def early_stopping_callbacks(net) -> list:
    """``(name, callback)`` pairs that score the validation part and stop."""
    callbacks, monitor = [], "valid_loss"
    if net.scoring is not None:  # scorers: higher is better
        monitor = "valid_score"
        scoring = EpochScoring(
            ValidationScorer(net.scoring), lower_is_better=False, name=monitor
        )
        callbacks.append((monitor, scoring))
    stopper = EarlyStopping(
        monitor=monitor,
        lower_is_better=net.scoring is None,
        patience=net.n_iter_no_change,
        threshold=net.tol,
        threshold_mode="abs",  # "rel" gets the sign wrong for negative scores
        load_best=True,
    )
    return [*callbacks, ("early_stopping", stopper)]


def seeded_split(net):
    """The hold-out, or an unseeded ``ValidSplit`` copied, seeded from torch's
    generator (which fit seeds); else None (skorch's split)."""
    split = net.train_split
    unseeded = isinstance(split, ValidSplit) and split.random_state is None
    if not net.early_stopping and not unseeded:
        return None
    seed = None
    if net.random_state is not None:
        seed = int(torch.randint(2**31 - 1, ()).item())
    if net.early_stopping:
        return HoldOut(net.validation_fraction, seed)
    split = copy.copy(split)
    split.random_state = seed
    return split


class ValidationScorer:
    """``scoring`` as ``EpochScoring`` calls it, with the validation part's
    sample weights where the scorer takes them (else one warning)."""

    def __init__(self, scoring) -> None:
        self.scoring = scoring
        self.warned = False

    def __call__(self, net, X, y) -> float:
        scorer = check_scoring(net, scoring=self.scoring)
        weights = dataset_sample_weight(X)
        if weights is None:
            return scorer(net, X, y)
        if not accepts_sample_weight(scorer):
            if not self.warned:
                warnings.warn(
                    f"scoring={self.scoring!r} takes no sample_weight: the "
                    "validation score is unweighted (the training loss is "
                    "weighted).",
                    UserWarning,
                    stacklevel=2,
                )
                self.warned = True
            return scorer(net, X, y)
        # A plain keyword argument, whatever the global metadata routing says.
        with config_context(enable_metadata_routing=False):
            return scorer(net, X, y, sample_weight=weights)


class HoldOut(ValidSplit):
    """skorch's ``ValidSplit(fraction)``, stratified (where ``y`` is given) and
    seeded; a plain shuffled split, with a warning, where a class is too rare."""

    def __init__(self, fraction: float, random_state=None) -> None:
        super().__init__(fraction, stratified=True, random_state=random_state)

    def __call__(self, dataset, y=None, groups=None):
        if not 1 <= math.ceil(self.cv * len(dataset)) < len(dataset):
            raise ValueError(
                f"validation_fraction={self.cv} of {len(dataset)} samples leaves "
                "no samples for validation or for training."
            )
        try:
            return super().__call__(dataset, y, groups)
        except ValueError as error:
            if y is not None:
                warnings.warn(
                    "early_stopping: the validation part is a plain random split, "
                    f"not stratified ({error})",
                    UserWarning,
                    stacklevel=2,
                )
            plain = ValidSplit(self.cv, random_state=self.random_state)
            return plain(dataset, y, groups)
