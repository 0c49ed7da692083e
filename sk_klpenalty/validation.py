"""Checks of parameters, labels and ``X`` shared by the estimators,
``compare`` and the command line: a clear ``ValueError``/``TypeError`` naming
the parameter, raised before any training starts. ``X`` is checked without a
copy where the estimators can use it as it is (:func:`check_X`).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_scalar
from sklearn.utils.validation import check_array, column_or_1d, validate_data

__all__ = [
    "check_X",
    "check_choices",
    "check_class_values",
    "check_device",
    "check_int",
    "check_labels",
    "check_labels_known",
    "check_real",
    "check_samples",
    "is_int",
    "is_numeric_labels",
    "is_real",
]


def is_real(value) -> bool:
    """A real number, but not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)


def is_int(value) -> bool:
    """An int, but not a bool (``n_classes=True`` is a bug, not a request for 1)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_real(
    value, name: str, *, low: float, high: float = math.inf, low_inclusive=False
) -> float:
    """``value`` if it is a finite real number in ``(low, high]`` (or ``[low, ``).

    scikit-learn's ``check_scalar``, refusing bools and NaN as well.

    Examples
    --------
    >>> check_real(0.5, "sigma_decay", low=0.0, high=1.0)
    0.5
    >>> check_real(0.0, "sigma", low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: sigma == 0.0, must be > 0.0.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    if is_real(value) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    finite_high = math.isfinite(high)
    bounds = {(True, True): "both", (True, False): "left"}.get(
        (low_inclusive, finite_high), "right" if finite_high else "neither"
    )
    check_scalar(
        value,
        name,
        Real,
        min_val=low,
        max_val=high if finite_high else None,
        include_boundaries=bounds,
    )
    return value


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or raise naming ``name``.

    Examples
    --------
    >>> check_int(3, "n_rotations", 1)
    3
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def check_choices(values, allowed, name: str) -> tuple[str, ...]:
    """A non-empty tuple of values from ``allowed`` (a lone string is one value)."""
    values = (values,) if isinstance(values, str) else tuple(values)
    if not values or any(v not in allowed for v in values):
        raise ValueError(
            f"{name} must be a non-empty subset of {allowed}, got {values}."
        )
    return values


def check_labels(y, name: str = "y") -> np.ndarray:
    """``y`` as a 1-D array of labels, with no missing ones.

    Numeric labels (ints, floats; booleans become ints; an object array of
    numbers becomes numeric) must be finite. Other labels (strings, or
    objects such as pandas Intervals) are kept; the estimators need their
    order (see :func:`~sk_klpenalty.labels.resolve_classes`).

    Examples
    --------
    >>> check_labels([True, False])
    array([1, 0])
    >>> check_labels(np.array([1, 2], dtype=object)).dtype.kind
    'i'
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)  # DataConversionWarning, as scikit-learn
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got shape {y.shape}.")
    if y.dtype.kind == "O" and all(is_real(v) for v in y):
        y = np.array(y.tolist())  # numbers that came as objects (pandas)
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind in "iuf":
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError(f"{name} contains NaN or infinity.")
        return y
    if y.dtype.kind not in "USO":
        raise ValueError(
            f"Unknown label type: {name} has dtype {y.dtype}; labels must be "
            "numbers, strings or other hashable objects."
        )
    if y.dtype.kind == "O":
        import pandas as pd

        if pd.isna(y).any():
            raise ValueError(f"{name} contains missing labels (None or NaN).")
    return y


def is_numeric_labels(labels: np.ndarray) -> bool:
    """Whether ``labels`` (from :func:`check_labels`) are numbers."""
    return labels.dtype.kind in "biuf"


def check_class_values(classes) -> np.ndarray:
    """The classes in class order: numbers sorted, other labels as given.

    Duplicates are an error.

    Examples
    --------
    >>> check_class_values([3, 1, 2])
    array([1, 2, 3])
    >>> check_class_values(["low", "mid", "high"]).tolist()
    ['low', 'mid', 'high']
    """
    values = check_labels(classes, "classes")
    if is_numeric_labels(values):
        unique = np.unique(values)
    else:
        first: dict = {}
        for i, value in enumerate(values.tolist()):
            first.setdefault(value, i)
        unique = values[list(first.values())]
    if len(unique) != len(values):
        raise ValueError("classes contains duplicate values.")
    return unique


def check_labels_known(labels: np.ndarray, classes: np.ndarray, name: str) -> None:
    """Raise if ``labels`` holds a value missing from ``classes``."""
    if is_numeric_labels(labels) and is_numeric_labels(classes):
        unknown = np.setdiff1d(labels, classes).tolist()
    else:
        known = set(classes.tolist())
        unknown = [v for v in dict.fromkeys(labels.tolist()) if v not in known]
    if len(unknown):
        raise ValueError(
            f"y contains labels that are not in {name}: {unknown[:5]}"
            f"{' ...' if len(unknown) > 5 else ''}."
        )


def check_device(device) -> None:
    """Raise a one-line ``ValueError`` unless torch can use ``device`` here.

    ``None`` (skorch: leave the module where it is) passes. A CUDA (or other
    accelerator) device needs one to be available, so that a missing GPU is
    reported before anything is built, not deep inside torch.

    Examples
    --------
    >>> check_device("cpu")
    >>> check_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be a torch device such as 'cpu' or 'cuda', got 'gpu'.
    """
    if device is None:
        return
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}."
        ) from None
    if parsed.type in ("cpu", "meta"):
        return
    backend = getattr(torch, parsed.type, None)
    if parsed.type == "mps":
        backend = torch.backends.mps
    if not getattr(backend, "is_available", lambda: True)():
        raise ValueError(
            f"device={device!r}, but torch finds no {parsed.type} device on this "
            f"machine (torch.{parsed.type}.is_available() is False); use "
            "device='cpu'."
        )
    count = getattr(backend, "device_count", None)
    if parsed.index is not None and count is not None and parsed.index >= count():
        raise ValueError(
            f"device={device!r}, but this machine has {count()} {parsed.type} "
            f"device(s), numbered from 0."
        )


def check_X(X, *, estimator=None):
    """``X`` as the estimators use it, copied only where a copy is needed.

    * float32 arrays and uint8/uint16 images (3-D or more: pixels, scaled to
      [0, 1] batch by batch on the device) are used as they are: memory maps
      stay memory maps, and a :class:`~sk_klpenalty.data.RowView` (a fold
      of ``compare``) stays a view. float32 values are checked for NaN and
      infinity a chunk of rows at a time.
    * Anything else (float64, integer tables, lists, DataFrames) goes through
      scikit-learn's ``check_array`` and becomes float32.

    Examples
    --------
    >>> images = np.zeros((2, 1, 8, 8), dtype=np.uint8)
    >>> check_X(images) is images
    True
    >>> check_X(np.array([[1, 2], [3, 4]], dtype=np.uint8)).dtype  # a table
    dtype('float32')
    """
    from sklearn import config_context, get_config
    from sklearn.utils.validation import assert_all_finite

    from .data import RowView, is_pixel_array

    base = X.base if isinstance(X, RowView) else X
    in_place = isinstance(base, np.ndarray) and (
        base.dtype == np.float32 or is_pixel_array(base)
    )
    if not in_place:
        return check_array(
            X, allow_nd=True, dtype=np.float32, estimator=estimator, input_name="X"
        )
    # scikit-learn's checks of shape and sample count (on a view: no reading).
    with config_context(assume_finite=True):
        check_array(
            base if base is X else base[: min(1, len(X))],
            allow_nd=True,
            dtype=None,
            estimator=estimator,
            input_name="X",
        )
    if base.dtype.kind == "f" and not get_config()["assume_finite"]:
        step = max(1, 2**25 // max(1, base[:1].nbytes))  # about 32 MB a chunk
        name = None if estimator is None else type(estimator).__name__
        for start in range(0, len(X), step):
            chunk = X[start : start + step]
            assert_all_finite(np.asarray(chunk), input_name="X", estimator_name=name)
    return X


def check_samples(estimator, X, *, reset: bool):
    """``X`` as images (N, C, H, W) or rows (N, F), checked by :func:`check_X`;
    sets (``reset``) or checks the estimator's ``n_features_in_`` and
    ``input_shape_``."""
    X_array = check_X(X, estimator=estimator)  # uint8 and memory maps: no copy
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
    validate_data(estimator, source, reset=reset, skip_check_array=True)
    sample_shape = tuple(X_array.shape[1:])
    if reset:
        estimator.input_shape_ = sample_shape
    elif getattr(estimator, "input_shape_", sample_shape) != sample_shape:
        raise ValueError(
            f"X has samples of shape {sample_shape}, but {type(estimator).__name__} "
            f"was fitted on samples of shape {estimator.input_shape_}."
        )
    return X_array
