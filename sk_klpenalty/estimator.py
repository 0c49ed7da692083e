"""KLPenaltyClassifier: a skorch classifier for ordered labels.

The estimator keeps the user's labels everywhere the user can see them
(``fit``'s ``y``, ``predict``, scoring callbacks) and maps them to class
indices only where the criterion needs them (:meth:`get_loss`).

``precision="bf16"`` runs the network's forward passes under bf16 autocast
(CPU or CUDA) with channels_last images; :func:`bf16_supported` decides
whether the hardware runs bf16 natively, and the loss is always float32.
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import platform
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral, Real
from types import MappingProxyType

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, column_or_1d, validate_data
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import Callback, ProgressBar
from skorch.dataset import ValidSplit
from skorch.utils import is_dataset, to_tensor
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.dataloader import default_collate

from .losses import CEKLLoss
from .modules import MIN_IMAGE_SIDE, MLP, SeedCNN

__all__ = [
    "KLPenaltyClassifier",
    "PenaltySchedule",
    "ArrayDataset",
    "DECODES",
    "EXPECTED_FAILED_CHECKS",
    "PRECISIONS",
    "bf16_supported",
]

DECODES = ("argmax", "mean", "median")
#: scikit-learn estimator checks that cannot apply to a classifier of ordered
#: numeric labels, with the reason; pass to ``parametrize_with_checks(...,
#: expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)``.
EXPECTED_FAILED_CHECKS = {
    "check_classifiers_classes": "string labels are refused: the penalty needs "
    "numeric label values to measure distances between classes",
    "check_classifiers_regression_target": "float labels are valid ordered "
    "classes (e.g. grade 2.5), so a 'continuous' target is not refused",
}
# skorch 1.4 routes scikit-learn metadata and needs to know which public
# method (fit or partial_fit) started training; older versions do not.
_SKORCH_ROUTES_METADATA = (
    "_routing_method" in inspect.signature(NeuralNet.fit_loop).parameters
)
_SKORCH_INIT_STATE = {"history_": None, "initialized_": False, "virtual_params_": {}}
PRECISIONS = ("fp32", "bf16")
_SEEDED_FITS = threading.RLock()
_LOW_PRECISION = (torch.bfloat16, torch.float16)
_PENALTY_PARAMS = ("alpha", "sigma", "class_values")


class PenaltySchedule(Callback):
    """Set the criterion's ``alpha`` and the epoch's ``sigma`` before each epoch.

    In epoch ``e`` (counted from 0 over the whole training history, so warm
    starts continue the schedule) the Gaussian's width is
    ``net.sigma * net.sigma_decay ** e``. It is stored in ``net.sigma_`` and in
    the history under ``"sigma"`` (shown in the epoch table when
    ``verbose=1``). Added to :class:`KLPenaltyClassifier`'s default callbacks.
    """

    def on_epoch_begin(self, net, **kwargs) -> None:
        epoch = len(net.history) - 1  # skorch has already opened this epoch's row
        net.sigma_ = net.sigma * net.sigma_decay**epoch
        criterion = getattr(net.criterion_, "_orig_mod", net.criterion_)
        if isinstance(criterion, CEKLLoss):
            criterion.alpha = net.alpha
            criterion.sigma = net.sigma_
        net.history.record("sigma", net.sigma_)


class _Batch(tuple):
    """A whole mini-batch ``(X, y)`` returned by ``ArrayDataset.__getitems__``."""


class ArrayDataset(Dataset):
    """In-memory arrays served a whole mini-batch at a time.

    ``DataLoader`` calls ``__getitems__`` with the batch's indices, so a batch
    costs one tensor index instead of one ``__getitem__`` and one collate per
    sample. ``KLPenaltyClassifier``'s loaders pass these batches through
    unchanged and hand per-sample lists to a user-supplied ``collate_fn``.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Shared with the tensor where possible (no copy for float32 arrays).
    y : array-like of shape (n_samples,), optional
        Labels; a zero placeholder per sample when omitted (as in skorch).
    """

    def __init__(self, X, y=None) -> None:
        self.X = _shared_tensor(X)
        self.y = None if y is None else _shared_tensor(y)
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(
                f"X and y have different lengths: {len(self.X)} and {len(self.y)}."
            )

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index):
        y = torch.zeros(()) if self.y is None else self.y[index]
        return self.X[index], y

    def __getitems__(self, indices) -> _Batch:
        index = torch.as_tensor(indices, dtype=torch.long)
        y = torch.zeros(len(index)) if self.y is None else self.y[index]
        return _Batch((self.X[index], y))


def _shared_tensor(array) -> torch.Tensor:
    """A tensor sharing the array's memory, read-only arrays included.

    joblib hands workers large arrays as read-only memory maps; the dataset
    only ever reads them, so torch's warning about non-writable arrays does
    not apply and copying them would double the memory.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not")
        return torch.as_tensor(array)


class _BatchAwareCollate:
    """Pass ready-made batches through; give other collate functions samples."""

    def __init__(self, collate_fn) -> None:
        self.collate_fn = collate_fn

    def __call__(self, data):
        if not isinstance(data, _Batch):
            return self.collate_fn(data)
        if self.collate_fn is default_collate:
            return list(data)
        return self.collate_fn(list(zip(*data, strict=False)))


def bf16_supported(device="cpu") -> bool:
    """Whether ``device`` runs bfloat16 natively (what ``precision="bf16"`` needs).

    Parameters
    ----------
    device : str, torch.device or None, default="cpu"
        A CUDA device: ``torch.cuda.is_bf16_supported()`` without emulation
        (Ampere or newer). The CPU: the ``avx512_bf16`` or ``amx_bf16`` flag
        (x86) or ``bf16`` (Arm) in ``/proc/cpuinfo``, else torch's own CPU
        capability check. ``None`` means the CPU. Any other device: False.

    Returns
    -------
    bool

    Examples
    --------
    >>> isinstance(bf16_supported("cpu"), bool)
    True
    """
    device = torch.device("cpu" if device is None else device)
    if device.type == "cuda":
        return _cuda_supports_bf16(device.index)
    if device.type == "cpu":
        return _cpu_supports_bf16()
    return False


@functools.cache
def _cuda_supports_bf16(index: int | None) -> bool:
    if not torch.cuda.is_available():
        return False
    with torch.cuda.device(index if index is not None else torch.cuda.current_device()):
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # torch < 2.3 has no emulation argument
            return bool(torch.cuda.is_bf16_supported())


@functools.lru_cache(maxsize=1)
def _cpu_supports_bf16() -> bool:
    flags = _cpu_flags()
    if flags & {"avx512_bf16", "amx_bf16"}:
        return True
    if platform.machine().lower() in ("aarch64", "arm64") and "bf16" in flags:
        return True
    if flags:  # /proc/cpuinfo was readable and names no bf16 instructions
        return False
    for check in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        supported = getattr(getattr(torch, "cpu", None), check, None)
        try:
            if supported is not None and supported():
                return True
        except Exception:  # a private torch helper: never let it break fit
            pass
    return False


def _cpu_flags() -> set[str]:
    """CPU feature flags from /proc/cpuinfo (empty where it is unavailable)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip().lower() in ("flags", "features"):
                    return set(value.split())
    except OSError:
        pass
    return set()


class KLPenaltyClassifier(NeuralNetClassifier):
    """Classifier for ordered labels trained with cross-entropy plus a KL penalty.

    The training loss is ``CE(logits, y) + alpha * KL(p_sigma(y) || softmax)``
    where ``p_sigma(y)`` is a discretised Gaussian over the class values
    centred on the true label. Neighbouring labels therefore share some of the
    target mass, which is what an ordinal task (ages, grades, angle bins)
    wants. ``alpha=0`` is plain cross-entropy, the baseline.

    A :class:`skorch.NeuralNetClassifier`: every skorch parameter
    (``max_epochs``, ``lr``, ``batch_size``, ``optimizer``, ``device``,
    ``callbacks``, ``module__*``, ``iterator_train__*``, ...) works as usual.
    What differs from plain skorch: ``predict`` returns labels (not column
    indices), labels may be any numbers (ages with gaps, floats), the default
    network is chosen from the shape of ``X``, nothing is held out for
    validation unless ``train_split`` asks for it, and the output is quiet
    unless ``verbose=1``.

    Parameters
    ----------
    module : torch module class or instance, default=None
        The network; it must output one logit per class. ``None`` picks from
        ``X`` at fit time: 4-D ``(N, C, H, W)`` images (3-D ``(N, H, W)`` is
        read as one channel) get :class:`~sk_klpenalty.modules.SeedCNN`,
        2-D ``(N, F)`` features get :class:`~sk_klpenalty.modules.MLP`. For
        these two classes, arguments that ``X`` and ``y`` determine
        (channels, image size, features, classes) are filled in unless given
        as ``module__*``.
    criterion : class, default=CEKLLoss
        The loss. With a :class:`~sk_klpenalty.losses.CEKLLoss` (sub)class,
        ``alpha``, ``sigma`` and the class values come from this estimator.
    alpha : float, default=1.0
        Weight of the KL penalty (>= 0); 0 trains with plain cross-entropy.
    sigma : float, default=1.0
        Standard deviation of the Gaussian target, in label units (> 0): for
        ages it is in years, whatever the gaps between the classes.
    sigma_decay : float, default=1.0
        Per-epoch factor in (0, 1]: epoch ``e`` uses
        ``sigma * sigma_decay ** e`` (the seed's best run used 0.95).
    decode : {"argmax", "mean", "median"}, default="argmax"
        Which point of the predicted distribution ``predict`` returns: the
        most probable class, the class nearest to the expected value, or the
        median class.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and skorch's internal
        ``ValidSplit``, so two fits with the same int give identical
        predictions on CPU. The global torch RNG is left as it was. ``None``
        uses the global torch RNG, as skorch does.
    classes : array-like, default=None
        All class values (e.g. ``np.arange(117)`` for ages 0..116, so ages
        missing from a training fold still get probability mass). Must
        contain every label of ``y``. ``None`` uses the sorted labels of
        ``y``.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
    max_epochs : int, default=20
    batch_size : int, default=64
    train_split : callable or None, default=None
        ``None`` trains on all of ``X`` (what ``cross_val_score`` expects).
        Training batches are shuffled every epoch (unlike plain skorch);
        ``iterator_train__shuffle=False`` keeps the order.
        Pass e.g. ``skorch.dataset.ValidSplit(0.2, stratified=True)`` to hold
        out a validation part, and add ``skorch.callbacks.EarlyStopping`` to
        ``callbacks`` for early stopping.
    dataset : class, default=ArrayDataset
        Wraps the in-memory arrays; serves whole batches by tensor indexing.
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` runs every forward pass (training, validation, prediction)
        under ``torch.autocast(dtype=torch.bfloat16)`` on the CPU or CUDA, and
        for images (4-D ``X``) keeps the network and each batch in
        ``torch.channels_last`` memory format: about 2.5-3x faster training
        on CPUs with AVX512-BF16 or AMX and on Ampere or newer GPUs. The loss
        is computed in float32 and ``predict_proba`` returns float32. Where
        the device has no native bf16 support (see :func:`bf16_supported`),
        ``fit`` trains in fp32 instead and says so in one ``UserWarning``;
        ``precision_`` records what was used.
    progress : bool, default=False
        Show a tqdm progress bar over the batches of every epoch (skorch's
        :class:`~skorch.callbacks.ProgressBar`), for long fits.
    verbose : int, default=0
        1 prints skorch's epoch table.
    **kwargs
        Any other :class:`skorch.NeuralNet` parameter.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class values; ``predict`` returns values from it and the
        columns of ``predict_proba`` follow its order.
    n_features_in_ : int
        ``X.shape[1]``: features for 2-D input, channels for images.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    input_shape_ : tuple of int
        Shape of one sample, e.g. ``(1, 28, 28)``.
    sigma_ : float
        The sigma used in the last epoch (after the decay schedule).
    precision_ : {"fp32", "bf16"}
        The precision training used: ``precision``, or ``"fp32"`` where bf16
        is not supported. Prediction uses bf16 only where ``precision_`` is
        ``"bf16"`` and the current device supports it (a bf16 model loaded on
        a machine without bf16 predicts in fp32).
    module_, criterion_, optimizer_, history_ :
        The fitted skorch components.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_klpenalty import KLPenaltyClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 3).astype("float32")
    >>> y = np.digitize(X[:, 0], [-1, -0.3, 0.3, 1])  # five ordered grades
    >>> clf = KLPenaltyClassifier(alpha=1.0, sigma=1.0, max_epochs=5,
    ...                           random_state=0).fit(X, y)
    >>> clf.classes_
    array([0, 1, 2, 3, 4])
    >>> clf.predict(X[:4]).shape, clf.predict_proba(X[:4]).shape
    ((4,), (4, 5))
    """

    def __init__(
        self,
        module=None,
        *,
        criterion=CEKLLoss,
        alpha: float = 1.0,
        sigma: float = 1.0,
        sigma_decay: float = 1.0,
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
        self.alpha = alpha
        self.sigma = sigma
        self.sigma_decay = sigma_decay
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

    def fit(self, X, y, **fit_params) -> KLPenaltyClassifier:
        """Validate the data, (re)initialise and train for ``max_epochs``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, [C,] H, W)
            Converted to float32. Or a torch ``Dataset`` (then ``classes``
            must be given unless ``y`` is).
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
        with self._seeded(epochs_done=0 if fresh else len(self.history)):
            if fresh:
                self.initialize()
            super().partial_fit(X, y, **fit_params)
        return self

    def _check_hyperparameters(self) -> None:
        _check_real(self.alpha, "alpha", low=0.0, low_inclusive=True)
        _check_real(self.sigma, "sigma", low=0.0, low_inclusive=False)
        _check_real(self.sigma_decay, "sigma_decay", low=0.0, high=1.0)
        _check_decode(self.decode)
        _check_precision(self.precision)
        if not isinstance(self.progress, bool | Integral):
            raise TypeError(f"progress must be True or False, got {self.progress!r}.")
        if self.random_state is not None:
            check_random_state(self.random_state)  # raises for invalid values

    def _validate_training_data(self, X, y, *, reset: bool, classes=None):
        if is_dataset(X):
            labels = None if y is None else _check_labels(y)
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
        labels = _check_labels(y)
        if len(labels) != len(X):
            raise ValueError(
                f"X and y have different numbers of samples: {len(X)} and "
                f"{len(labels)}."
            )
        if reset:
            self.classes_inferred_ = self._resolve_classes(labels, classes)
        else:
            _check_labels_known(labels, self.classes_, "classes_")
        return X, labels

    def _validate_X(self, X, *, reset: bool) -> np.ndarray:
        X_array = check_array(
            X, allow_nd=True, dtype=np.float32, estimator=self, input_name="X"
        )
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
            resolved = _check_class_values(given)
            if labels is not None:
                _check_labels_known(labels, resolved, "classes")
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
            return _check_class_values(self.classes)
        raise AttributeError(
            f"{type(self).__name__} has no classes_ before fit (or pass classes=)."
        )

    def check_data(self, X, y=None) -> None:
        # Done before training by _validate_training_data; skorch's version
        # would overwrite classes_ with np.unique(y).
        pass

    @contextmanager
    def _seeded(self, epochs_done: int) -> Iterator[None]:
        if self.random_state is None:
            yield
            return
        if isinstance(self.random_state, Integral):
            seed = int(self.random_state)
        else:
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        device = torch.device(self.device) if self.device else torch.device("cpu")
        cuda_devices = []
        if device.type == "cuda" and torch.cuda.is_available():
            cuda_devices = [device.index or 0]
        # fork_rng restores the global RNG afterwards: seeding is local to fit.
        # torch has one global RNG per process: serialise seeded fits that
        # share a process (threading backend, multi-threaded dask workers) so
        # each stays reproducible.
        with _SEEDED_FITS, torch.random.fork_rng(devices=cuda_devices):
            # Offset continued training so it does not replay the first shuffles.
            torch.manual_seed((seed + epochs_done) % 2**63)
            yield

    # ------------------------------------------------------------ precision

    def _resolve_precision(self, stacklevel: int = 5) -> str:
        """The precision to train in: ``precision``, or fp32 with one warning.

        The default stacklevel points at the caller of ``fit``.
        """
        precision = _check_precision(self.precision)
        if precision == "bf16" and not bf16_supported(self._torch_device()):
            warnings.warn(
                f"precision='bf16' is not supported natively on this "
                f"{_device_description(self._torch_device())}; training in fp32 "
                "instead (precision_='fp32').",
                UserWarning,
                stacklevel=stacklevel,
            )
            return "fp32"
        return precision

    def _torch_device(self) -> torch.device:
        return torch.device(self.device) if self.device else torch.device("cpu")

    def _uses_bf16(self) -> bool:
        return getattr(self, "precision_", "fp32") == "bf16" and bf16_supported(
            self._torch_device()
        )

    def infer(self, x, **fit_params):
        """Forward pass of a batch, under bf16 autocast when ``precision_`` is bf16.

        Images (4-D tensors) are made channels_last first, and so is the
        module if :meth:`initialize_module` could not (the input shape was
        unknown then). Floating outputs come back as float32, so the loss and
        ``predict_proba`` are float32.
        """
        if not self._uses_bf16():
            return super().infer(x, **fit_params)
        x = to_tensor(x, device=self.device)
        if torch.is_tensor(x) and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
            if not getattr(self, "_channels_last_", False):
                self.module_.to(memory_format=torch.channels_last)
                self._channels_last_ = True
        with torch.autocast(
            device_type=self._torch_device().type, dtype=torch.bfloat16
        ):
            y_pred = super().infer(x, **fit_params)
        return _as_float32(y_pred)

    # ------------------------------------------------------- skorch hooks

    def initialize(self):
        """Initialise the skorch components; resolves ``precision_`` first."""
        self.precision_ = self._resolve_precision()
        return super().initialize()

    @property
    def _default_callbacks(self):
        *scoring, print_log = super()._default_callbacks
        callbacks = [*scoring, ("penalty_schedule", PenaltySchedule())]
        # Validated in fit; here (also reached from set_params) never raise.
        if isinstance(self.progress, bool | Integral) and self.progress:
            callbacks.append(("progress_bar", ProgressBar()))
        return [*callbacks, print_log]  # print_log stays last

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        module = self.module
        if module is None:
            module = self._default_module_class()
        if module in (SeedCNN, MLP):
            kwargs = {**self._inferred_module_kwargs(module), **kwargs}
        self.module_ = self.initialized_instance(module, kwargs)
        shape = getattr(self, "input_shape_", None)
        self._channels_last_ = (
            getattr(self, "precision_", "fp32") == "bf16"
            and shape is not None
            and len(shape) == 3
        )
        if self._channels_last_:
            # Images under bf16: channels_last convolutions are the fast path.
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def _default_module_class(self) -> type:
        shape = getattr(self, "input_shape_", None)
        if shape is None:
            raise ValueError(
                "module=None chooses the network from the training data: call "
                "fit(X, y) first, or pass module= (e.g. SeedCNN or MLP)."
            )
        return SeedCNN if len(shape) == 3 else MLP

    def _inferred_module_kwargs(self, module: type) -> dict:
        shape = getattr(self, "input_shape_", None)
        try:
            n_classes = len(self.classes_)
        except AttributeError:
            return {}
        if shape is None:
            return {"n_classes": n_classes}
        if module is MLP:
            if len(shape) != 1:
                raise ValueError(
                    f"MLP needs 2-D X (n_samples, n_features), got samples of "
                    f"shape {shape}."
                )
            return {"n_features": shape[0], "n_classes": n_classes}
        if len(shape) != 3:
            raise ValueError(
                "SeedCNN needs images: X of shape (n_samples, channels, height, "
                f"width) or (n_samples, height, width), got samples of shape {shape}."
            )
        channels, height, width = shape
        if min(height, width) < MIN_IMAGE_SIDE:
            raise ValueError(
                f"X holds {height}x{width} images; the CNN pools three times by 2 "
                f"and needs at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}. Upscale the "
                "images or pass another module=."
            )
        return {
            "in_channels": channels,
            "input_size": (height, width),
            "n_classes": n_classes,
        }

    def initialize_criterion(self):
        kwargs = self.get_params_for("criterion")
        criterion = self.criterion
        if _is_penalty_criterion(criterion):
            clashes = sorted(set(kwargs) & set(_PENALTY_PARAMS))
            if clashes:
                raise ValueError(
                    f"Set {', '.join(clashes)} on the estimator (e.g. alpha=...), "
                    "not as criterion__ parameters."
                )
            kwargs = {
                **kwargs,
                "alpha": self.alpha,
                "sigma": self.sigma,
                "class_values": self._class_values_tensor(),
            }
        self.criterion_ = self.initialized_instance(criterion, kwargs)
        self.sigma_ = self.sigma
        return self

    def _class_values_tensor(self) -> torch.Tensor | None:
        try:
            return torch.as_tensor(self.classes_, dtype=torch.float32)
        except AttributeError:
            return None

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Loss of a batch: labels are mapped to class indices for the criterion.

        Always float32: bf16 (or fp16) predictions are cast before the loss.
        """
        if torch.is_tensor(y_pred) and y_pred.dtype in _LOW_PRECISION:
            y_pred = y_pred.float()
        target = to_tensor(self._class_indices(y_true), device=self.device)
        return self.criterion_(y_pred, target)

    def _class_indices(self, y_true) -> torch.Tensor:
        labels = torch.as_tensor(y_true)
        values = torch.as_tensor(self.classes_, dtype=torch.float64)
        values = values.to(labels.device)
        labels = labels.to(torch.float64).reshape(-1)
        index = torch.searchsorted(values, labels)
        # Labels from a user Dataset are not validated up front: check them
        # here (cheap on the CPU, where batches are built).
        if labels.device.type == "cpu":
            found = index.clamp(max=len(values) - 1)
            if bool((values[found] != labels).any()):
                unknown = labels[values[found] != labels].unique()[:5].tolist()
                raise ValueError(f"y holds labels that are not in classes_: {unknown}.")
        return index

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
            if training and not {"shuffle", "sampler", "batch_sampler"} & set(kwargs):
                kwargs["shuffle"] = True
            kwargs["collate_fn"] = _BatchAwareCollate(
                kwargs.get("collate_fn") or default_collate
            )
        return iterator(dataset, **kwargs)

    def _get_predict_nonlinearity(self):
        self.check_is_fitted()
        criterion = getattr(self.criterion_, "_orig_mod", self.criterion_)
        if self.predict_nonlinearity == "auto" and isinstance(criterion, CEKLLoss):
            return _softmax_float32
        return super()._get_predict_nonlinearity()

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
        return super().predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (values from ``classes_``), decoded per ``decode``.

        Parameters
        ----------
        X : array-like, same kind and sample shape as in ``fit``

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        decode = _check_decode(self.decode)
        proba = self.predict_proba(X)
        return self.classes_[_decode_indices(proba, self.classes_, decode)]

    def predict_expectation(self, X) -> np.ndarray:
        """Expected label value ``sum_k q_k * v_k`` (continuous, float64).

        Parameters
        ----------
        X : array-like, same kind and sample shape as in ``fit``

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return _expectation(self.predict_proba(X), self.classes_)


# ---------------------------------------------------------------- helpers


def _softmax_float32(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits.float(), dim=-1)


def _as_float32(output):
    """bf16/fp16 tensors (also inside tuples and lists) as float32."""
    if torch.is_tensor(output):
        return output.float() if output.dtype in _LOW_PRECISION else output
    if type(output) in (tuple, list):
        return type(output)(_as_float32(item) for item in output)
    return output


def _check_precision(precision) -> str:
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    return precision


def _device_description(device: torch.device) -> str:
    if device.type == "cuda" and torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return "CPU (no AVX512-BF16, AMX or Arm BF16 instructions)"
    return f"device ({device})"


def _is_penalty_criterion(criterion) -> bool:
    if isinstance(criterion, type):
        return issubclass(criterion, CEKLLoss)
    return isinstance(criterion, CEKLLoss)


def _expectation(proba: np.ndarray, class_values: np.ndarray) -> np.ndarray:
    return proba.astype(np.float64) @ class_values.astype(np.float64)


def _decode_indices(proba: np.ndarray, class_values: np.ndarray, decode: str):
    """Column index of the point each row of ``proba`` is decoded to."""
    if decode == "argmax":
        return proba.argmax(axis=1)
    if decode == "median":
        cumulative = np.cumsum(proba, axis=1, dtype=np.float64)
        # First class whose cumulative probability reaches one half.
        index = (cumulative < 0.5 * cumulative[:, -1:]).sum(axis=1)
        return np.minimum(index, proba.shape[1] - 1)
    values = class_values.astype(np.float64)
    expected = _expectation(proba, class_values)
    right = np.clip(np.searchsorted(values, expected), 1, len(values) - 1)
    left = right - 1
    nearer_left = expected - values[left] <= values[right] - expected
    return np.where(nearer_left, left, right)


def _check_decode(decode) -> str:
    if decode not in DECODES:
        raise ValueError(f"decode must be one of {DECODES}, got {decode!r}.")
    return decode


def _check_real(
    value,
    name: str,
    *,
    low: float,
    high: float = math.inf,
    low_inclusive: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}.")
    below = value < low if low_inclusive else value <= low
    if not math.isfinite(value) or below or value > high:
        bracket = "[" if low_inclusive else "("
        upper = f"{high}]" if math.isfinite(high) else "inf)"
        raise ValueError(f"{name} must be in {bracket}{low}, {upper}, got {value!r}.")


def _check_labels(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)  # DataConversionWarning, as scikit-learn
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}.")
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"Unknown label type: y has dtype {y.dtype}, but must hold numeric "
            "labels (ints or floats): the penalty measures distances between "
            "label values. Map ordered categories to numbers first (e.g. "
            "'low'/'mid'/'high' -> 0/1/2)."
        )
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinity.")
    return y


def _check_class_values(classes) -> np.ndarray:
    values = _check_labels(classes)
    unique = np.unique(values)
    if len(unique) != len(values):
        raise ValueError("classes contains duplicate values.")
    return unique


def _check_labels_known(labels: np.ndarray, classes: np.ndarray, name: str) -> None:
    unknown = np.setdiff1d(labels, classes)
    if len(unknown):
        raise ValueError(
            f"y contains labels that are not in {name}: {unknown[:5].tolist()}"
            f"{' ...' if len(unknown) > 5 else ''}."
        )
