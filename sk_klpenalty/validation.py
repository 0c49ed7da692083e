"""Checks of parameters and labels shared by the estimators, ``compare`` and
the command line: a clear ``ValueError``/``TypeError`` naming the parameter,
raised before any training starts.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import column_or_1d

__all__ = [
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
