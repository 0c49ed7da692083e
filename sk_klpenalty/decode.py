"""From predicted class probabilities to one point per sample (``predict``,
``predict_expectation``, and the report's decodings of one ``predict_proba``)."""

from __future__ import annotations

import numpy as np

__all__ = ["DECODES", "check_decode", "decode_indices", "expectation"]

#: ``argmax``: the most probable class; ``mean``: the class nearest to the
#: expected value; ``median``: the first class whose cumulative probability
#: reaches one half.
DECODES = ("argmax", "mean", "median")


def check_decode(decode) -> str:
    """``decode`` if it is one of :data:`DECODES`, else a ``ValueError``."""
    if decode not in DECODES:
        raise ValueError(f"decode must be one of {DECODES}, got {decode!r}.")
    return decode


def expectation(proba: np.ndarray, class_values: np.ndarray) -> np.ndarray:
    """Expected label value ``sum_k q_k * v_k`` of each row (float64)."""
    return proba.astype(np.float64) @ class_values.astype(np.float64)


def decode_indices(
    proba: np.ndarray, class_values: np.ndarray, decode: str
) -> np.ndarray:
    """Column index of the class each row of ``proba`` decodes to (``mean``
    measures distances between the sorted ``class_values``)."""
    if decode == "argmax":
        return proba.argmax(axis=1)
    if decode == "median":
        cumulative = np.cumsum(proba, axis=1, dtype=np.float64)
        index = (cumulative < 0.5 * cumulative[:, -1:]).sum(axis=1)
        return np.minimum(index, proba.shape[1] - 1)
    values = class_values.astype(np.float64)
    expected = expectation(proba, class_values)
    right = np.clip(np.searchsorted(values, expected), 1, len(values) - 1)
    nearer_left = expected - values[right - 1] <= values[right] - expected
    return np.where(nearer_left, right - 1, right)
