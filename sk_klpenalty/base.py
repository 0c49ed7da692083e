"""The skorch net for ordered labels that the library's estimators share.

:class:`OrdinalNeuralNet` keeps the user's labels everywhere the user can see
them (``fit``'s ``y``, ``predict``, scoring callbacks) and maps them to class
indices only where the criterion needs them (:meth:`~OrdinalNeuralNet.get_loss`;
see :mod:`~sk_klpenalty.labels`). It validates the data before anything is
built, picks the default network from the shape of ``X``, seeds fits locally,
serves whole batches, and runs ``precision="bf16"``; sample and class weights
are in :mod:`~sk_klpenalty.weights`, early stopping in
:mod:`~sk_klpenalty.early_stopping`, the training step without skorch's
no-op work in :mod:`~sk_klpenalty.train_step`.
:class:`~sk_klpenalty.estimator.KLPenaltyClassifier` adds the penalty on top.
"""

from __future__ import annotations

import inspect
from numbers import Integral
from types import MappingProxyType

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import ProgressBar
from skorch.utils import is_dataset, to_numpy
from torch.utils.data import DataLoader

from .data import ArrayDataset, WholeBatchLoader, loader_kwargs, stack_batches
from .decode import check_decode, decode_indices, expectation
from .early_stopping import EarlyStoppingMixin
from .labels import LabelsMixin, ordered_categories
from .modules import MLP, SeedCNN, default_module, inferred_module_kwargs
from .pixels import PixelScalingMixin, to_device
from .precision import LOW_PRECISION, PrecisionMixin, check_precision
from .seeding import seeded
from .train_step import LeanStepMixin
from .validation import check_device, check_labels, check_labels_known, check_samples
from .weights import SampleWeightMixin, dataset_sample_weight

__all__ = ["OrdinalNeuralNet"]

# skorch 1.4 routes scikit-learn metadata and needs to know which public
# method (fit or partial_fit) started training; older versions do not.
_SKORCH_ROUTES_METADATA = (
    "_routing_method" in inspect.signature(NeuralNet.fit_loop).parameters
)
_SKORCH_INIT_STATE = {"history_": None, "initialized_": False, "virtual_params_": {}}


class OrdinalNeuralNet(
    LabelsMixin,
    SampleWeightMixin,
    EarlyStoppingMixin,
    PrecisionMixin,
    PixelScalingMixin,
    LeanStepMixin,
    NeuralNetClassifier,
):
    """Base of the estimators: ordered labels, weights, validation, seeding, bf16.

    Not meant to be used directly; its parameters are documented on
    :class:`~sk_klpenalty.estimator.KLPenaltyClassifier`.
    """

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
        dataset=ArrayDataset,
        precision: str = "fp32",
        progress: bool = False,
        verbose: int = 0,
        class_weight=None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        scoring=None,
        **kwargs,
    ) -> None:
        super().__init__(
            module,
            criterion=criterion,
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
        # scikit-learn: __init__ stores parameters only. skorch's bookkeeping
        # attributes fall back to the class-level defaults until initialize().
        for name, default in _SKORCH_INIT_STATE.items():
            value = vars(self).get(name)
            if type(value) is type(default) and value == default:
                del self.__dict__[name]

    # Class-level defaults of what skorch sets in __init__ (see above).
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

    def _get_param_names(self):
        # skorch lists every instance attribute not ending in "_", which
        # includes its private _params_to_validate; that is no parameter.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    # ------------------------------------------------------------------ fit

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Validate the data, (re)initialise and train for ``max_epochs``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, [C,] H, W)
            uint8/uint16 images are kept as they are and each batch is
            scaled to [0, 1] on the device; float32 is used as it is (memory
            maps are read in place); anything else is converted to float32.
            Or a torch ``Dataset`` (then ``classes`` must be given unless
            ``y`` is).
        y : array-like of shape (n_samples,)
            Numbers, or labels with an order (``classes=`` or an ordered
            pandas ``Categorical``).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights (>= 0): each batch's loss is the weighted
            mean ``sum w_i l_i / sum w_i``. Multiplied by ``class_weight``.
        **fit_params
            Passed on to the module's ``forward`` (skorch behaviour).

        Returns
        -------
        self
        """
        fresh = not self.warm_start or not self.initialized_
        if _SKORCH_ROUTES_METADATA:  # tell skorch this is fit, not partial_fit
            fit_params["_routing_method"] = "fit"
        return self._train(X, y, fresh=fresh, sample_weight=sample_weight, **fit_params)

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        ``classes`` (all classes) may be given on the first call, as in
        scikit-learn; later calls must only use labels from ``classes_``.
        ``sample_weight`` is as in :meth:`fit`.
        """
        fresh = not self.initialized_
        return self._train(
            X,
            y,
            fresh=fresh,
            classes=classes,
            sample_weight=sample_weight,
            **fit_params,
        )

    def _train(
        self, X, y, *, fresh: bool, classes=None, sample_weight=None, **fit_params
    ):
        self._check_hyperparameters()
        X, y = self._validate_training_data(X, y, reset=fresh, classes=classes)
        X = self._weighted_training_data(X, y, sample_weight)
        if fresh:
            self._fit_label_statistics(y, dataset_sample_weight(X))
        epochs_done = 0 if fresh else len(self.history)
        with seeded(self.random_state, self._torch_device(), epochs_done):
            if fresh:
                self.initialize()
            super().partial_fit(X, y, **fit_params)
        self._record_epochs()
        return self

    def _fit_label_statistics(self, labels, sample_weight) -> None:
        """Fit what a subclass learns from the labels alone (a fresh fit only)."""

    def _check_hyperparameters(self) -> None:
        """Raise for an invalid parameter; subclasses add their own."""
        check_decode(self.decode)
        check_precision(self.precision)
        check_device(self.device)
        self._check_early_stopping()
        if not isinstance(self.progress, bool | Integral):
            raise TypeError(f"progress must be True or False, got {self.progress!r}.")
        if self.random_state is not None:
            check_random_state(self.random_state)  # raises for invalid values

    def _validate_training_data(self, X, y, *, reset: bool, classes=None):
        categories = ordered_categories(y)
        # Array labels are checked here; a Dataset's batch by batch.
        self._labels_checked = not is_dataset(X)
        if is_dataset(X):
            labels = None if y is None else check_labels(y)
            if reset:
                self.input_shape_ = tuple(np.shape(X[0][0]))
                self.n_features_in_ = self.input_shape_[0]
                self.classes_inferred_ = self._resolve_classes(
                    labels, classes, categories
                )
            return X, labels
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None: pass the labels as fit(X, y)."
            )
        X = self._validate_X(X, reset=reset)
        labels = check_labels(y)
        if len(labels) != len(X):
            raise ValueError(
                f"X and y have different numbers of samples: {len(X)} and "
                f"{len(labels)}."
            )
        if reset:
            self.classes_inferred_ = self._resolve_classes(labels, classes, categories)
        else:
            check_labels_known(labels, self.classes_, "classes_")
        return X, labels

    def _validate_X(self, X, *, reset: bool) -> np.ndarray:
        return check_samples(self, X, reset=reset)

    def check_data(self, X, y=None) -> None:
        # Done before training by _validate_training_data; skorch's version
        # would overwrite classes_ with np.unique(y).
        pass

    # ------------------------------------------------------- skorch hooks

    def initialize(self):
        """Initialise the skorch components; resolves ``precision_`` first."""
        self.precision_ = self._resolve_precision()
        return super().initialize()

    def _training_callbacks(self) -> list:
        """``(name, callback)`` pairs a subclass runs every epoch."""
        return []

    @property
    def _default_callbacks(self):
        *scoring, print_log = super()._default_callbacks
        callbacks = [
            *scoring,
            *self._training_callbacks(),
            *self._early_stopping_callbacks(),
        ]
        # Validated in fit; here (also reached from set_params) never raise.
        if isinstance(self.progress, bool | Integral) and self.progress:
            callbacks.append(("progress_bar", ProgressBar()))
        return [*callbacks, print_log]  # print_log stays last

    def _n_outputs(self) -> int:
        """Outputs of the default network: one logit per class."""
        return len(self.classes_)

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        module = self.module
        shape = getattr(self, "input_shape_", None)
        if module is None:
            if shape is None:
                raise ValueError(
                    "module=None chooses the network from the training data: call "
                    "fit(X, y) first, or pass module= (e.g. SeedCNN or MLP)."
                )
            module = default_module(shape)
        if module in (SeedCNN, MLP):
            try:
                inferred = inferred_module_kwargs(module, shape, self._n_outputs())
            except AttributeError:  # no classes_ yet
                inferred = {}
            kwargs = {**inferred, **kwargs}
        self.module_ = self.initialized_instance(module, kwargs)
        self._channels_last_module()
        return self

    def _set_training(self, training=True):
        # skorch calls this every batch; train()/eval() walk every submodule.
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Loss of a batch: labels are mapped to class indices for the criterion.

        Always float32: bf16 (or fp16) predictions are cast before the loss.
        """
        if torch.is_tensor(y_pred) and y_pred.dtype in LOW_PRECISION:
            y_pred = y_pred.float()
        target = to_device(self._class_indices(y_true), self.device)
        return self._criterion_loss(y_pred, target, X)

    def _class_values_tensor(self) -> torch.Tensor | None:
        """The value of each class (float32), for losses that measure distances."""
        try:
            return torch.as_tensor(self.class_values_, dtype=torch.float32)
        except AttributeError:
            return None

    def get_iterator(self, dataset, training=False):
        """The mini-batch loader (skorch's, with two defaults changed).

        Training batches are shuffled every epoch unless ``iterator_train__*``
        says otherwise (plain skorch does not shuffle: sorted data, such as
        UTKFace files named by age, would then train on one age per batch).
        Whole batches from :class:`ArrayDataset` pass through the collate step,
        and skorch's default ``DataLoader`` is a :class:`WholeBatchLoader`
        (the same batches, with less per-batch machinery).
        """
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = self.iterator_train if training else self.iterator_valid
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if isinstance(iterator, type) and issubclass(iterator, DataLoader):
            kwargs = loader_kwargs(dataset, kwargs, training)
        if iterator is DataLoader:  # skorch's default, not a user's subclass
            iterator = WholeBatchLoader
        return iterator(dataset, **kwargs)

    # ------------------------------------------------------------- predict

    def forward_iter(self, X, training=False, device="cpu"):
        if not is_dataset(X):
            self.check_is_fitted()
            X = self._validate_X(X, reset=False)
        return super().forward_iter(X, training=training, device=device)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like, same kind and sample shape as in ``fit``

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float32
        """
        nonlin = self._get_predict_nonlinearity()
        batches = (
            to_numpy(nonlin(yp[0] if isinstance(yp, tuple) else yp))
            for yp in self.forward_iter(X, training=False)
        )
        return stack_batches(batches, len(X) if hasattr(X, "__len__") else None)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (from ``classes_``), decoded per ``decode``.

        Parameters
        ----------
        X : array-like, same kind and sample shape as in ``fit``

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        decode = check_decode(self.decode)
        proba = self.predict_proba(X)
        return self.classes_[decode_indices(proba, self.class_values_, decode)]

    def predict_expectation(self, X) -> np.ndarray:
        """Expected class value ``sum_k q_k * v_k`` (continuous, float64).

        ``v`` is ``class_values_``: the labels themselves where they are
        numbers, else the class positions ``0..K-1`` (so for classes
        ``["low", "mid", "high"]``, 1.4 lies between "mid" and "high").

        Parameters
        ----------
        X : array-like, same kind and sample shape as in ``fit``

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return expectation(self.predict_proba(X), self.class_values_)
