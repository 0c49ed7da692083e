"""Checks of parameters and ``X``: a clear ``ValueError``/``TypeError``
naming the parameter, raised before any training starts (labels: :mod:`.labels`)."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_scalar
from sklearn.utils.validation import check_array, validate_data

__all__ = [
    "check_choices",
    "check_device",
    "check_int",
    "check_real",
    "check_samples",
    "is_int",
    "is_real",
]


def is_real(value) -> bool:
    """A real number, but not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)


def is_int(value) -> bool:
    """An int, but not a bool (``n_classes=True`` is a bug, not a request for 1)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_real(value, name: str, *, low=None, high=None, closed="neither") -> float:
    """``check_scalar`` for a finite real, not a bool (``closed``: boundaries)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    if is_real(value) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    check_scalar(
        value, name, Real, min_val=low, max_val=high, include_boundaries=closed
    )
    return value


def check_int(value, name: str, minimum: int, maximum: int | None = None) -> int:
    """``check_scalar`` for an int (not a bool) in ``[minimum, maximum]``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}.")
    return int(check_scalar(value, name, Integral, min_val=minimum, max_val=maximum))


def check_choices(values, allowed, name: str) -> tuple[str, ...]:
    """A non-empty tuple of values from ``allowed`` (a lone string is one value)."""
    values = (values,) if isinstance(values, str) else tuple(values)
    if not values or any(v not in allowed for v in values):
        raise ValueError(
            f"{name} must be a non-empty subset of {allowed}, got {values}."
        )
    return values


def check_device(device) -> None:
    """A one-line ``ValueError`` unless torch has ``device`` here (or it is None)."""
    import torch

    try:
        kind = None if device is None else torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}."
        ) from None
    try:
        if kind not in (None, "cpu", "meta"):
            torch.empty(0, device=device)
    except (AssertionError, RuntimeError):
        raise ValueError(
            f"device={device!r}, but torch finds no {kind} device on this "
            "machine; use device='cpu'."
        ) from None


def _check_X(X, estimator):
    """float32 and pixel arrays (and their folds) checked in place, else float32."""
    from .data import RowView, is_pixel_array

    base = X.base if isinstance(X, RowView) else X
    as_is = isinstance(base, np.ndarray) and (
        base.dtype == np.float32 or is_pixel_array(base)
    )
    check = dict(allow_nd=True, estimator=estimator, input_name="X")
    if not as_is:
        return check_array(X, dtype=np.float32, **check)
    if base is X:
        check_array(X, dtype=None, **check)  # no copy, even of a memmap
        return X
    # A fold of rows: checked ~32 MB at a time (floats), never gathered whole.
    step = max(1, 2**25 // max(1, base[:1].nbytes))
    stop = max(len(X), 1) if base.dtype.kind == "f" else 1
    for start in range(0, stop, step):
        check_array(X[start : start + step], dtype=None, **check)
    return X


def check_samples(estimator, X, *, reset: bool):
    """``X`` as (N, F) or (N, C, H, W); sets or checks the fitted input shape."""
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
