"""Checks of parameters, labels and ``X`` shared by the estimators,
``compare`` and the command line: a clear ``ValueError``/``TypeError`` naming
the parameter, raised before any training starts. ``X`` is checked without a
copy where the estimators can use it as it is (:func:`check_X`).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import column_or_1d

__all__ = [
    "check_X",
    "check_choices",
    "check_int",
    "check_class_values",
    "check_labels",
    "check_labels_known",
    "check_real",
    "is_int",
]


def check_real(
    value,
    name: str,
    *,
    low: float,
    high: float = math.inf,
    low_inclusive: bool = False,
) -> None:
    """Raise unless ``value`` is a real number in ``(low, high]`` (or ``[low, ...``).

    Examples
    --------
    >>> check_real(0.5, "sigma_decay", low=0.0, high=1.0)
    >>> check_real(0.0, "sigma", low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: sigma must be in (0.0, inf), got 0.0.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}.")
    below = value < low if low_inclusive else value <= low
    if not math.isfinite(value) or below or value > high:
        bracket = "[" if low_inclusive else "("
        upper = f"{high}]" if math.isfinite(high) else "inf)"
        raise ValueError(f"{name} must be in {bracket}{low}, {upper}, got {value!r}.")


def check_choices(values, allowed, name: str) -> tuple[str, ...]:
    """A non-empty tuple of values from ``allowed`` (a lone string is one value)."""
    values = (values,) if isinstance(values, str) else tuple(values)
    unknown = [v for v in values if v not in allowed]
    if not values or unknown:
        raise ValueError(
            f"{name} must be a non-empty subset of {allowed}, got {values}."
        )
    return values


def check_labels(y) -> np.ndarray:
    """``y`` as a 1-D array of finite numeric labels (booleans become ints)."""
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


def check_class_values(classes) -> np.ndarray:
    """The sorted class values of ``classes``; duplicates are an error."""
    values = check_labels(classes)
    unique = np.unique(values)
    if len(unique) != len(values):
        raise ValueError("classes contains duplicate values.")
    return unique


def check_labels_known(labels: np.ndarray, classes: np.ndarray, name: str) -> None:
    """Raise if ``labels`` holds a value missing from ``classes``."""
    unknown = np.setdiff1d(labels, classes)
    if len(unknown):
        raise ValueError(
            f"y contains labels that are not in {name}: {unknown[:5].tolist()}"
            f"{' ...' if len(unknown) > 5 else ''}."
        )


def is_int(value) -> bool:
    """An int, but not a bool (``n_classes=True`` is a bug, not a request for 1)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as an int, or raise naming ``name`` and the allowed range.

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


def check_X(X, *, estimator=None):
    """``X`` as the estimators use it, copied only where a copy is needed.

    * uint8 and uint16 arrays (pixels, scaled to [0, 1] batch by batch on the
      device, see :mod:`sk_klpenalty.pixels`) and float32 arrays are used as
      they are: memory maps stay memory maps, and a :class:`RowView` (a fold
      of ``compare``) stays a view. Finiteness of float32 values is checked
      a chunk of rows at a time; integers hold no NaN or infinity.
    * Anything else (float64, other integer dtypes, lists, DataFrames) goes
      through scikit-learn's ``check_array`` and becomes float32, as before.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.zeros((2, 1, 8, 8), dtype=np.uint8)
    >>> check_X(images) is images
    True
    >>> check_X([[1, 2], [3, 4]]).dtype
    dtype('float32')
    """
    from sklearn import config_context, get_config
    from sklearn.utils.validation import assert_all_finite, check_array

    from .data import RowView
    from .memmap import MemmapRows, iter_row_chunks
    from .pixels import is_pixel_dtype

    base = X.base if isinstance(X, RowView) else X
    in_place = isinstance(base, np.ndarray) and (
        is_pixel_dtype(base.dtype) or base.dtype == np.float32
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
        disk = MemmapRows.of(base)
        rows = X.rows if isinstance(X, RowView) else None
        row_bytes = base.itemsize * int(np.prod(base.shape[1:]))
        name = None if estimator is None else type(estimator).__name__
        for chunk in iter_row_chunks(len(X), row_bytes):
            if disk is None:
                values = X[chunk]
            else:  # from the file: the pass leaves nothing resident
                index = np.arange(chunk.start, chunk.stop)
                values = disk.take(index if rows is None else rows[index])
            assert_all_finite(values, input_name="X", estimator_name=name)
    return X
