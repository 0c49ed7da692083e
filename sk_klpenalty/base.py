"""The skorch net for ordered labels that the library's estimators share.

:class:`OrdinalNeuralNet` keeps the user's labels everywhere the user can see
them (``fit``'s ``y``, ``predict``, scoring callbacks) and maps them to class
indices only where the criterion needs them (:meth:`~OrdinalNeuralNet.get_loss`).
It validates the data before anything is built, picks the default network
from the shape of ``X``, seeds fits locally, serves whole batches, and runs
``precision="bf16"``. :class:`~sk_klpenalty.estimator.KLPenaltyClassifier`
adds the penalty on top.
"""

from __future__ import annotations

import copy
import inspect
from numbers import Integral
from types import MappingProxyType

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import ProgressBar
from skorch.dataset import ValidSplit
from skorch.utils import is_dataset, to_numpy, to_tensor
from torch.utils.data import DataLoader
from torch.utils.data.dataloader import default_collate

from .data import ArrayDataset, BatchAwareCollate, WholeBatches, stack_batches
from .decode import check_decode, decode_indices, expectation
from .modules import MLP, SeedCNN, default_module, inferred_module_kwargs
from .pixels import PixelScalingMixin
from .precision import LOW_PRECISION, PrecisionMixin, check_precision
from .seeding import seeded
from .validation import check_class_values, check_labels, check_labels_known, check_X

__all__ = ["OrdinalNeuralNet"]

# skorch 1.4 routes scikit-learn metadata and needs to know which public
# method (fit or partial_fit) started training; older versions do not.
_SKORCH_ROUTES_METADATA = (
    "_routing_method" in inspect.signature(NeuralNet.fit_loop).parameters
)
_SKORCH_INIT_STATE = {"history_": None, "initialized_": False, "virtual_params_": {}}


class OrdinalNeuralNet(PrecisionMixin, PixelScalingMixin, NeuralNetClassifier):
    """Base of the estimators: labels as values, validation, seeding, bf16.

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

    def _get_param_names(self):
        # skorch lists every instance attribute not ending in "_", which
        # includes its private _params_to_validate; that is no parameter.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    # ------------------------------------------------------------------ fit

    def fit(self, X, y, **fit_params):
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
            Numeric labels (ints or floats).
        **fit_params
            Passed on to the module's ``forward`` (skorch behaviour).

        Returns
        -------
        self
        """
        fresh = not self.warm_start or not self.initialized_
        if _SKORCH_ROUTES_METADATA:  # tell skorch this is fit, not partial_fit
            fit_params["_routing_method"] = "fit"
        return self._train(X, y, fresh=fresh, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        ``classes`` (all class values) may be given on the first call, as in
        scikit-learn; later calls must only use labels from ``classes_``.
        """
        fresh = not self.initialized_
        return self._train(X, y, fresh=fresh, classes=classes, **fit_params)

    def _train(self, X, y, *, fresh: bool, classes=None, **fit_params):
        self._check_hyperparameters()
        X, y = self._validate_training_data(X, y, reset=fresh, classes=classes)
        epochs_done = 0 if fresh else len(self.history)
        with seeded(self.random_state, self._torch_device(), epochs_done):
            if fresh:
                self.initialize()
            super().partial_fit(X, y, **fit_params)
        return self

    def _check_hyperparameters(self) -> None:
        """Raise for an invalid parameter; subclasses add their own."""
        check_decode(self.decode)
        check_precision(self.precision)
        if not isinstance(self.progress, bool | Integral):
            raise TypeError(f"progress must be True or False, got {self.progress!r}.")
        if self.random_state is not None:
            check_random_state(self.random_state)  # raises for invalid values

    def _validate_training_data(self, X, y, *, reset: bool, classes=None):
        # Array labels are checked here; a Dataset's batch by batch.
        self._labels_checked = not is_dataset(X)
        if is_dataset(X):
            labels = None if y is None else check_labels(y)
            if reset:
                self.input_shape_ = tuple(np.shape(X[0][0]))
                self.n_features_in_ = self.input_shape_[0]
                self.classes_inferred_ = self._resolve_classes(labels, classes)
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
            self.classes_inferred_ = self._resolve_classes(labels, classes)
        else:
            check_labels_known(labels, self.classes_, "classes_")
        return X, labels

    def _validate_X(self, X, *, reset: bool) -> np.ndarray:
        X_array = check_X(X, estimator=self)  # uint8 and memory maps: no copy
        if X_array.ndim == 3:  # (N, H, W): greyscale images, one channel
            X_array = X_array[:, np.newaxis]
        if X_array.ndim not in (2, 4):
            raise ValueError(
                "X must be 2-D (n_samples, n_features), 3-D (n_samples, height, "
                "width) or 4-D (n_samples, channels, height, width); got "
                f"{X_array.ndim}-D with shape {X_array.shape}."
            )
        # Feature names come from a DataFrame; counts from the array we train on.
        source = X if hasattr(X, "columns") else X_array
        validate_data(self, source, reset=reset, skip_check_array=True)
        sample_shape = X_array.shape[1:]
        if reset:
            self.input_shape_ = sample_shape
        elif getattr(self, "input_shape_", sample_shape) != sample_shape:
            raise ValueError(
                f"X has samples of shape {sample_shape}, but {type(self).__name__} "
                f"was fitted on samples of shape {self.input_shape_}."
            )
        return X_array

    def _resolve_classes(self, labels, classes) -> np.ndarray:
        given = classes if classes is not None else self.classes
        if given is None:
            if labels is None:
                raise ValueError(
                    "classes is required when fitting on a Dataset without y."
                )
            resolved = np.unique(labels)
        else:
            resolved = check_class_values(given)
            if labels is not None:
                check_labels_known(labels, resolved, "classes")
        if len(resolved) < 2:
            raise ValueError(
                f"y has only one class ({resolved[0]!r}); a classifier needs at "
                "least 2 classes. Pass classes= to declare the others."
            )
        return resolved

    @property
    def classes_(self) -> np.ndarray:
        if hasattr(self, "classes_inferred_"):
            return self.classes_inferred_
        if self.classes is not None and len(self.classes):
            return check_class_values(self.classes)
        raise AttributeError(
            f"{type(self).__name__} has no classes_ before fit (or pass classes=)."
        )

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
        callbacks = [*scoring, *self._training_callbacks()]
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
        target = to_tensor(self._class_indices(y_true), device=self.device)
        return self.criterion_(y_pred, target)

    def _class_indices(self, y_true) -> torch.Tensor:
        labels = torch.as_tensor(y_true)
        values = self._class_values_on(labels.device)
        labels = labels.to(torch.float64).reshape(-1)
        index = torch.searchsorted(values, labels)
        # Labels from a user Dataset are not validated up front: check them
        # here (cheap on the CPU, where batches are built).
        if labels.device.type == "cpu" and not getattr(self, "_labels_checked", 0):
            found = index.clamp(max=len(values) - 1)
            if bool((values[found] != labels).any()):
                unknown = labels[values[found] != labels].unique()[:5].tolist()
                raise ValueError(f"y holds labels that are not in classes_: {unknown}.")
        return index

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_class_values_cache", None)  # may hold a CUDA tensor
        return state

    def _class_values_on(self, device: torch.device) -> torch.Tensor:
        """``classes_`` as a float64 tensor on ``device``, built once per fit."""
        classes = self.classes_
        cached = getattr(self, "_class_values_cache", None)
        if cached is None or cached[0] is not classes or cached[1].device != device:
            values = torch.as_tensor(classes, dtype=torch.float64).to(device)
            self._class_values_cache = cached = (classes, values)
        return cached[1]

    def get_split_datasets(self, X, y=None, **fit_params):
        split = self.train_split
        if (
            self.random_state is not None
            and isinstance(split, ValidSplit)
            and split.random_state is None
        ):
            # Seed skorch's shuffled split from the (seeded) torch RNG so the
            # internal validation part is reproducible too.
            split = copy.copy(split)
            split.random_state = int(torch.randint(2**31 - 1, ()).item())
            dataset = self.get_dataset(X, y)
            if y is None:
                return split(dataset, **fit_params)
            return split(dataset, y, **fit_params)
        return super().get_split_datasets(X, y, **fit_params)

    def get_iterator(self, dataset, training=False):
        """The mini-batch loader (skorch's, with two defaults changed).

        Training batches are shuffled every epoch unless ``iterator_train__*``
        says otherwise (plain skorch does not shuffle: sorted data, such as
        UTKFace files named by age, would then train on one age per batch).
        Whole batches from :class:`ArrayDataset` pass through the collate step.
        """
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = self.iterator_train if training else self.iterator_valid
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if isinstance(iterator, type) and issubclass(iterator, DataLoader):
            if isinstance(dataset, ArrayDataset) and not {
                "sampler",
                "batch_sampler",
                "drop_last",
            } & set(kwargs):
                shuffle = kwargs.pop("shuffle", training)
                size = kwargs.pop("batch_size")
                kwargs["batch_sampler"] = WholeBatches(len(dataset), size, shuffle)
            elif training and not {"shuffle", "sampler", "batch_sampler"} & set(kwargs):
                kwargs["shuffle"] = True
            kwargs["collate_fn"] = BatchAwareCollate(
                kwargs.get("collate_fn") or default_collate
            )
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
        """Predicted labels (values from ``classes_``), decoded per ``decode``.

        Parameters
        ----------
        X : array-like, same kind and sample shape as in ``fit``

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        decode = check_decode(self.decode)
        proba = self.predict_proba(X)
        return self.classes_[decode_indices(proba, self.classes_, decode)]

    def predict_expectation(self, X) -> np.ndarray:
        """Expected label value ``sum_k q_k * v_k`` (continuous, float64).

        Parameters
        ----------
        X : array-like, same kind and sample shape as in ``fit``

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return expectation(self.predict_proba(X), self.classes_)
