"""Ordinal metrics and scorers, on top of scikit-learn's.

Errors are in label units (years for ages, bins for angle bins). The
quadratic weighted kappa follows scikit-learn's ``cohen_kappa_score``, whose
weights are the squared distances between the *positions* of the labels in
``labels`` (for gapped labels such as ages 21, 25, 60 the positions 0, 1, 2).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    make_scorer,
    mean_absolute_error,
    mean_squared_error,
)

__all__ = [
    "METRICS",
    "within_k_accuracy",
    "quadratic_weighted_kappa",
    "ordinal_metrics",
    "ordinal_scorers",
    "neg_mse_expectation",
]

# Name -> (display name, higher is better)
METRICS = {
    "mse": ("MSE", False),
    "mae": ("MAE", False),
    "accuracy": ("accuracy", True),
    "qwk": ("QWK", True),
    "within_k": ("within ±k", True),
    "mse_expectation": ("MSE of E[y]", False),
}


def within_k_accuracy(y_true, y_pred, k: float = 1.0) -> float:
    """Share of predictions within ``k`` label units of the truth.

    Examples
    --------
    >>> within_k_accuracy([20, 30, 40], [21, 35, 40], k=1)
    0.6666666666666666
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(np.abs(y_true - y_pred) <= k))


def quadratic_weighted_kappa(y_true, y_pred, labels=None) -> float:
    """Cohen's kappa with quadratic weights (scikit-learn's implementation).

    Returns NaN instead of warning when it is undefined (e.g. one class only).

    Examples
    --------
    >>> quadratic_weighted_kappa([0, 1, 2, 3], [0, 1, 2, 3])
    1.0
    """
    with warnings.catch_warnings():
        # scikit-learn warns about single-label folds; NaN says it already.
        warnings.simplefilter("ignore")
        return float(
            cohen_kappa_score(y_true, y_pred, labels=labels, weights="quadratic")
        )


def ordinal_metrics(
    y_true,
    y_pred,
    *,
    y_expected=None,
    labels=None,
    within: float = 1.0,
) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one set of predictions.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    y_expected : array-like of shape (n_samples,), optional
        Continuous predictions (``predict_expectation``); ``mse_expectation``
        is NaN without them.
    labels : array-like, optional
        All class values, for the kappa.
    within : float, default=1.0
        ``k`` of ``within_k``, in label units.

    Returns
    -------
    dict
        ``{"mse", "mae", "accuracy", "qwk", "within_k", "mse_expectation"}``

    Examples
    --------
    >>> scores = ordinal_metrics([1, 2, 3], [1, 2, 5], y_expected=[1, 2, 4])
    >>> scores["mse"], scores["accuracy"], scores["mse_expectation"]
    (1.3333333333333333, 0.6666666666666666, 0.3333333333333333)
    """
    expected_mse = (
        np.nan if y_expected is None else mean_squared_error(y_true, y_expected)
    )
    return {
        "mse": float(mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "qwk": quadratic_weighted_kappa(y_true, y_pred, labels=labels),
        "within_k": within_k_accuracy(y_true, y_pred, k=within),
        "mse_expectation": float(expected_mse),
    }


def ordinal_scorers(within: float = 1.0) -> dict:
    """Scorers for ``cross_validate``/``GridSearchCV`` (greater is better).

    ``neg_mse_expectation`` scores :meth:`KLPenaltyClassifier.predict_expectation`.

    Examples
    --------
    >>> sorted(ordinal_scorers())  # doctest: +NORMALIZE_WHITESPACE
    ['accuracy', 'neg_mae', 'neg_mse', 'neg_mse_expectation', 'qwk',
     'within_k']
    """
    return {
        "neg_mse": "neg_mean_squared_error",
        "neg_mae": "neg_mean_absolute_error",
        "accuracy": "accuracy",
        "qwk": make_scorer(quadratic_weighted_kappa),
        "within_k": make_scorer(within_k_accuracy, k=within),
        "neg_mse_expectation": neg_mse_expectation,
    }


def neg_mse_expectation(estimator, X, y) -> float:
    """Scorer: minus the MSE of ``estimator.predict_expectation(X)``."""
    return -float(mean_squared_error(y, estimator.predict_expectation(X)))
