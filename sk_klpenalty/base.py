"""The skorch net the estimators share, on skorch's documented hooks: labels stay
labels wherever users see them and become class indices in ``get_loss``."""

from __future__ import annotations

import contextlib
import threading
from functools import partial
from numbers import Integral
from types import MappingProxyType

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.utils import is_dataset, to_numpy, to_tensor
from torch.utils.data import DataLoader

from . import data, labels, validation, weights
from .decode import check_decode, decode_indices, expectation
from .early_stopping import check_early_stopping, early_stopping_callbacks, seeded_split
from .modules import FreezeBackbone, SimpleCNN, build_module, normalization

__all__ = ["OrdinalNeuralNet", "seeded"]

# torch has one global random generator per process: seeded fits that share a
# process (threading backend, multi-threaded dask workers) run one at a time.
_SEEDED_FITS = threading.RLock()

_SKORCH_INIT_STATE = {"history_": None, "initialized_": False, "virtual_params_": {}}


class OrdinalNeuralNet(NeuralNetClassifier):
    """Base of the estimators (see :class:`~sk_klpenalty.KLPenaltyClassifier`)."""

    def __init__(
        self,
        module=None,
        *,
        criterion,
        decode: str = "argmax",
        random_state=None,
        classes=None,
        optimizer=torch.optim.Adam,
        lr: float = 1e-3,
        max_epochs: int = 20,
        batch_size: int = 64,
        train_split=None,
        dataset=data.ArrayDataset,
        precision: str = "fp32",
        progress: bool = False,
        verbose: int = 0,
        class_weight=None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        scoring=None,
        normalize=None,
        freeze_epochs: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(
            None,
            criterion=None,
            train_split=train_split,
            classes=classes,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            dataset=dataset,
            verbose=verbose,
            **kwargs,
        )
        # skorch refuses to set a module instance once `initialized_` exists
        # (it does from the start, below): these two are set directly.
        vars(self).update(module=module, criterion=criterion)
        self.decode = decode
        self.random_state = random_state
        self.precision = precision
        self.progress = progress
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scoring = scoring
        self.normalize = normalize
        self.freeze_epochs = freeze_epochs
        # scikit-learn: __init__ stores parameters only; skorch's bookkeeping
        # falls back to the class-level defaults until initialize().
        for name, default in _SKORCH_INIT_STATE.items():
            if vars(self).get(name) == default:
                del self.__dict__[name]

    initialized_ = False
    history_ = None
    virtual_params_ = MappingProxyType({})
    # Parameters newer than release 0.1.0, for models it pickled.
    class_weight = None
    early_stopping = False
    validation_fraction = 0.1
    n_iter_no_change = 10
    tol = 1e-4
    scoring = None
    normalize = None
    freeze_epochs = 0

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Validate the data, (re)initialise and train for ``max_epochs``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, [C,] H, W)
            The samples, or a torch ``Dataset``. uint8/uint16 images (3-D or
            more) are scaled to [0, 1] per batch on the device; tables never.
        y : array-like of shape (n_samples,)
            Numbers, or labels with an order (``classes=`` or an ordered
            pandas ``Categorical``).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights >= 0, times ``class_weight``: a batch's loss is
            ``sum w_i l_i / sum w_i``.
        **fit_params
            Passed on to the module's ``forward``.

        Returns
        -------
        object
            The fitted estimator.
        """
        fresh = not self.warm_start or not self.initialized_
        return self._fit(X, y, fresh, None, sample_weight, **fit_params)

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        Parameters
        ----------
        X : array-like or torch Dataset
            The samples, as in :meth:`fit`.
        y : array-like of shape (n_samples,), default=None
            The labels, as in :meth:`fit` (``None``: a Dataset's own).
        classes : array-like of shape (n_classes,), default=None
            All classes, in order, on the first call (as ``classes=``).
        sample_weight : array-like of shape (n_samples,), default=None
            As in :meth:`fit`.
        **fit_params
            Passed on to the module's ``forward``.

        Returns
        -------
        object
            The estimator, trained further.
        """
        fresh = not self.initialized_
        return self._fit(X, y, fresh, classes, sample_weight, **fit_params)

    def _fit(self, X, y, fresh, classes, sample_weight, **fit_params):
        self._check_params()
        if not fresh and "ordered_classes_" not in vars(self):  # pickled by 0.1.0
            self.ordered_classes_ = self.classes_inferred_
        X, y = labels.check_training_data(self, X, y, fresh, classes)
        X, sample_weight = weights.weigh_training_data(self, X, y, sample_weight)
        if fresh:
            self._fit_label_statistics(y, sample_weight)
        device = torch.device(self.device or "cpu")
        with seeded(self.random_state, device, 0 if fresh else len(self.history)):
            if fresh:
                self.initialize()
            super().partial_fit(X, y, **fit_params)
        self.n_iter_ = len(self.history)
        if self.n_iter_ and "train_loss" not in self.history[-1]:
            self.n_iter_ -= 1  # interrupted before the epoch's end
        stopper = dict(self.callbacks_).get("early_stopping")
        self.best_epoch_ = self.n_iter_
        if self.early_stopping and isinstance(stopper, EarlyStopping):
            self.best_epoch_ = int(stopper.best_epoch_)
        return self

    def _fit_label_statistics(self, labels, sample_weight) -> None:
        """What a subclass learns from the labels alone (a fresh fit)."""

    def _check_params(self) -> None:
        """Raise for an invalid parameter, before anything is built."""
        check_decode(self.decode)
        data.resolve_precision(self.precision)
        validation.check_device(self.device)
        check_early_stopping(self)
        if self.batch_size != -1:  # -1: one batch
            validation.check_int(self.batch_size, "batch_size", 1)
        validation.check_int(self.freeze_epochs, "freeze_epochs", 0)
        if not isinstance(self.progress, bool | Integral):
            raise TypeError(f"progress must be True or False, got {self.progress!r}.")
        if self.random_state is not None:
            check_random_state(self.random_state)  # raises for invalid values

    @property
    def classes_(self) -> np.ndarray:
        """All classes in class order (skorch's ``np.unique(y)`` loses it)."""
        fitted = vars(self)  # (classes_inferred_: models pickled by 0.1.0)
        classes = fitted.get("ordered_classes_", fitted.get("classes_inferred_"))
        if classes is not None:
            return classes
        if self.classes is not None and len(self.classes):
            return labels.check_class_values(self.classes)
        raise AttributeError(
            f"{type(self).__name__} has no classes_ before fit (or pass classes=)."
        )

    @property
    def class_values_(self) -> np.ndarray:
        """The number of each class: the label itself, or its position 0..K-1."""
        return labels.class_values(self.classes_)

    def get_params(self, deep=True, **kwargs):
        # skorch lists its private _params_to_validate too; no parameter.
        params = super().get_params(deep=deep, **kwargs)
        return {key: value for key, value in params.items() if key[0] != "_"}

    def get_default_callbacks(self):
        callbacks = super().get_default_callbacks()
        # Validated in fit; reached from set_params too, where it must not raise.
        if isinstance(self.early_stopping, bool | np.bool_) and self.early_stopping:
            callbacks += early_stopping_callbacks(self)
        if isinstance(self.progress, bool | Integral) and self.progress:
            callbacks.append(("progress_bar", ProgressBar()))
        if isinstance(self.freeze_epochs, Integral) and self.freeze_epochs > 0:
            callbacks.append(("freeze_backbone", FreezeBackbone(self.freeze_epochs)))
        return callbacks  # skorch puts print_log last

    def _n_outputs(self) -> int:
        """Outputs of the network: one logit per class."""
        return len(self.classes_)

    def initialize_module(self):
        """:func:`~sk_klpenalty.modules.build_module` with ``_n_outputs()``."""
        device = torch.device(self.device or "cpu")
        self.precision_ = data.resolve_precision(self.precision, device)
        try:
            n_outputs = self._n_outputs()
        except AttributeError:  # no classes yet: module__n_classes says
            n_outputs = None
        shape = getattr(self, "input_shape_", None)
        kwargs = self.get_params_for("module")
        self.module_ = build_module(self.module, kwargs, shape, n_outputs)
        self.normalization_ = normalization(self.normalize, self.module_)
        if self._channels_last():
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def _channels_last(self) -> bool:
        """Under bf16, and for the default CNN in fp32 on a CPU (``benchmarks/``)."""
        if getattr(self, "precision_", "fp32") == "bf16":
            return True
        on_cpu = torch.device(self.device or "cpu").type == "cpu"
        return isinstance(getattr(self, "module_", None), SimpleCNN) and on_cpu

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's split; seeded, and with ``early_stopping`` the hold-out."""
        split = seeded_split(self)
        if split is None:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        return split(dataset, *([] if y is None else [y]), **fit_params)

    def get_iterator(self, dataset, training=False):
        """skorch's loader: training batches shuffled, array batches whole."""
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = getattr(self, prefix)
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if isinstance(iterator, type) and issubclass(iterator, DataLoader):
            if training and not {"shuffle", "sampler", "batch_sampler"} & set(kwargs):
                kwargs["shuffle"] = True
            if data.serves_batches(dataset):
                user = kwargs.get("collate_fn")  # a user's: per-sample lists
                kwargs["collate_fn"] = partial(data.collate_batch, collate_fn=user)
        return iterator(dataset, **kwargs)

    def infer(self, x, **fit_params):
        """The forward pass of a batch's X, images scaled and normalised on the
        device; under bf16 ``torch.autocast`` per ``precision_``, float32 out."""
        if isinstance(x, weights.WeightedBatch):
            x = x["X"]
        x = data.pixels_to_float(to_tensor(x, device=self.device))
        if torch.is_tensor(x) and x.dim() == 4:
            norm = getattr(self, "normalization_", None)
            x = data.normalize_images(x, norm, channels_last=self._channels_last())
        device = torch.device(self.device or "cpu")
        bf16 = getattr(self, "precision_", "fp32") == "bf16"
        if bf16 and data.bf16_supported(device):
            with torch.autocast(device.type, torch.bfloat16):
                return data.as_float32(super().infer(x, **fit_params))
        return data.as_float32(super().infer(x, **fit_params))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion on class indices, with the batch's weights."""
        if y_pred.ndim != 2 or y_pred.shape[1] != self._n_outputs():
            raise ValueError(
                f"The module outputs shape {tuple(y_pred.shape)}, but "
                f"{type(self).__name__} needs {self._n_outputs()} outputs per sample "
                "here: give such a module, or one in torchvision's or timm's layout."
            )
        target = labels.batch_class_indices(y_true, self.classes_).to(y_pred.device)
        return self._criterion_loss(y_pred, target, X)

    def _criterion_loss(self, y_pred, target, X):
        if not isinstance(X, weights.WeightedBatch):
            return self.criterion_(y_pred, target)
        weight = X["sample_weight"].to(y_pred.device, non_blocking=True)
        return self.criterion_(y_pred, target, sample_weight=weight)

    def _probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Class probabilities of a batch of network outputs (float32)."""
        return torch.softmax(output.float(), dim=-1)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like or torch Dataset
            Samples of the kind and shape ``fit`` was given.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The probabilities (float32); each row sums to 1.
        """
        self.check_is_fitted()
        if not is_dataset(X):
            X = validation.check_samples(self, X, reset=False)
        nonlin = self.predict_nonlinearity
        if nonlin == "auto":
            nonlin = self._probabilities
        elif nonlin is None:
            nonlin = lambda output: output  # noqa: E731 (skorch's identity)
        # One array filled batch by batch: a list of arrays fragments the heap.
        proba, done = np.empty((len(X), len(self.classes_)), np.float32), 0
        for out in self.forward_iter(X, training=False):
            batch = to_numpy(nonlin(out[0] if isinstance(out, tuple) else out))
            if done == 0 and batch.shape[1:] != proba.shape[1:]:  # raw outputs
                proba = np.empty((len(X), *batch.shape[1:]), batch.dtype)
            proba[done : done + len(batch)] = batch
            done += len(batch)
        return proba

    def predict(self, X) -> np.ndarray:
        """Predicted labels (from ``classes_``), decoded per ``decode``.

        Parameters
        ----------
        X : array-like or torch Dataset
            Samples of the kind and shape ``fit`` was given.

        Returns
        -------
        ndarray of shape (n_samples,)
            One class of ``classes_`` per sample.
        """
        decode = check_decode(self.decode)
        proba = self.predict_proba(X)
        return self.classes_[decode_indices(proba, self.class_values_, decode)]

    def predict_expectation(self, X) -> np.ndarray:
        """Expected class value ``sum_k q_k * v_k`` with ``v = class_values_``.

        Parameters
        ----------
        X : array-like or torch Dataset
            Samples of the kind and shape ``fit`` was given.

        Returns
        -------
        ndarray of shape (n_samples,)
            The expected value per sample (continuous, float64).
        """
        return expectation(self.predict_proba(X), self.class_values_)


@contextlib.contextmanager
def seeded(random_state, device: torch.device, epochs_done: int = 0):
    """torch's global RNG seeded from ``random_state`` (``None``: untouched) in
    the block, then restored; ``epochs_done > 0`` (continued training) reseeds."""
    if random_state is None:
        yield
        return
    if not isinstance(random_state, Integral):
        random_state = check_random_state(random_state).randint(2**31 - 1)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with _SEEDED_FITS, torch.random.fork_rng(devices=cuda):
        torch.manual_seed((int(random_state) + epochs_done) % 2**63)
        yield
