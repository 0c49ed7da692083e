"""Checks of parameters, labels and ``X`` shared by the estimators, ``compare``
and the command line: a clear ``ValueError``/``TypeError`` naming the
parameter, raised before any training starts."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn import config_context, get_config
from sklearn.utils import check_scalar
from sklearn.utils.validation import (
    assert_all_finite,
    check_array,
    column_or_1d,
    validate_data,
)

__all__ = [
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
    value,
    name: str,
    *,
    low: float,
    high: float = math.inf,
    low_inclusive=False,
    high_inclusive=True,
) -> float:
    """``value`` if it is a finite real number in ``(low, high]`` (brackets per
    ``low_inclusive``/``high_inclusive``): ``check_scalar``, refusing bools and
    NaN too.

    Examples
    --------
    >>> check_real(0.0, "sigma", low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: sigma == 0.0, must be > 0.0.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    if is_real(value) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    bounded = math.isfinite(high)
    boundaries = {(True, True): "both", (True, False): "left"}
    boundaries |= {(False, True): "right", (False, False): "neither"}
    check_scalar(
        value,
        name,
        Real,
        min_val=low,
        max_val=high if bounded else None,
        include_boundaries=boundaries[low_inclusive, high_inclusive and bounded],
    )
    return value


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or raise naming ``name``."""
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

    Numbers (booleans become ints, an object array of numbers becomes
    numeric) must be finite; other hashable labels are kept as they are.

    Examples
    --------
    >>> check_labels([True, False])
    array([1, 0])
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
    import pandas as pd

    if y.dtype.kind == "O" and pd.isna(y).any():
        raise ValueError(f"{name} contains missing labels (None or NaN).")
    return y


def is_numeric_labels(labels: np.ndarray) -> bool:
    """Whether ``labels`` (from :func:`check_labels`) are numbers."""
    return labels.dtype.kind in "biuf"


def check_class_values(classes) -> np.ndarray:
    """The classes in class order (numbers sorted, other labels as given);
    duplicates are an error.

    Examples
    --------
    >>> check_class_values([3, 1, 2])
    array([1, 2, 3])
    """
    values = check_labels(classes, "classes")
    if len(set(values.tolist())) != len(values):
        raise ValueError("classes contains duplicate values.")
    return np.sort(values) if is_numeric_labels(values) else values


def check_labels_known(labels: np.ndarray, classes: np.ndarray, name: str) -> None:
    """Raise if ``labels`` holds a value missing from ``classes``."""
    known = set(classes.tolist())
    unknown = [v for v in dict.fromkeys(labels.tolist()) if v not in known]
    if unknown:
        more = " ..." if len(unknown) > 5 else ""
        raise ValueError(
            f"y contains labels that are not in {name}: {unknown[:5]}{more}."
        )


def check_device(device) -> None:
    """Raise a one-line ``ValueError`` unless torch can use ``device`` here
    (``None``, skorch's "leave the module where it is", passes).

    Examples
    --------
    >>> check_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be a torch device such as 'cpu' or 'cuda', got 'gpu'.
    """
    import torch

    if device is None:
        return
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}."
        ) from None
    if kind in ("cpu", "meta"):
        return
    try:
        torch.empty(0, device=device)
    except (AssertionError, RuntimeError):
        raise ValueError(
            f"device={device!r}, but torch finds no {kind} device on this "
            "machine; use device='cpu'."
        ) from None


def _check_X(X, estimator):
    """float32 arrays and uint8/uint16 images (memory maps and
    :class:`~sk_klpenalty.data.RowView` folds included) as they are, checked
    for NaN a chunk at a time; anything else through ``check_array`` as
    float32."""
    from .data import RowView, is_pixel_array

    base = X.base if isinstance(X, RowView) else X
    if not isinstance(base, np.ndarray) or not (
        base.dtype == np.float32 or is_pixel_array(base)
    ):
        return check_array(
            X, allow_nd=True, dtype=np.float32, estimator=estimator, input_name="X"
        )
    with config_context(assume_finite=True):  # shape and sample count only
        sample = base if base is X else base[: min(1, len(X))]
        check_array(sample, allow_nd=True, dtype=None, estimator=estimator)
    if base.dtype.kind == "f" and not get_config()["assume_finite"]:
        step = max(1, 2**25 // max(1, base[:1].nbytes))  # about 32 MB a chunk
        name = type(estimator).__name__
        for start in range(0, len(X), step):
            chunk = np.asarray(X[start : start + step])
            assert_all_finite(chunk, input_name="X", estimator_name=name)
    return X


def check_samples(estimator, X, *, reset: bool):
    """``X`` as images (N, C, H, W) or rows (N, F), copied only where needed;
    sets (``reset``) or checks ``n_features_in_`` and ``input_shape_``.

    float32 and uint8/uint16 images (3-D or more) are used as they are (memory
    maps stay maps); anything else becomes float32, unscaled.
    """
    X_array = _check_X(X, estimator)
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
    shape = tuple(X_array.shape[1:])
    if reset:
        estimator.input_shape_ = shape
    elif getattr(estimator, "input_shape_", shape) != shape:
        raise ValueError(
            f"X has samples of shape {shape}, but {type(estimator).__name__} "
            f"was fitted on samples of shape {estimator.input_shape_}."
        )
    return X_array
