"""Ordinal metrics and scorers on top of scikit-learn's; errors are in label
units (years for ages), the kappa's weights in label positions."""

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
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

__all__ = [
    "METRICS",
    "amae",
    "mmae",
    "ranked_probability_score",
    "within_k_accuracy",
    "quadratic_weighted_kappa",
    "ordinal_metrics",
    "ordinal_scorers",
    "neg_mse_expectation",
    "neg_ranked_probability_score",
]

# Name -> (display name, higher is better)
METRICS = {
    "mse": ("MSE", False),
    "mae": ("MAE", False),
    "accuracy": ("accuracy", True),
    "qwk": ("QWK", True),
    "within_k": ("within ±k", True),
    "mse_expectation": ("MSE of E[y]", False),
    "rps": ("RPS", False),
    "amae": ("AMAE", False),
    "mmae": ("MMAE", False),
}


def within_k_accuracy(y_true, y_pred, k: float = 1.0) -> float:
    """Share of predictions within ``k`` label units of the truth.

    Examples
    --------
    >>> within_k_accuracy([20, 30, 40], [21, 35, 40], k=1)
    0.6666666666666666
    """
    error = np.subtract(y_true, y_pred, dtype=np.float64)
    return float(np.mean(np.abs(error) <= k))


def amae(y_true, y_pred) -> float:
    """Average MAE (Baccianella et al. 2009): the mean of the per-class MAE
    over the classes in ``y_true``, every class counting the same.

    Examples
    --------
    >>> amae([0, 0, 0, 2], [0, 0, 0, 0])  # class 0: 0, class 2: 2
    1.0
    """
    _, members, counts = np.unique(y_true, return_inverse=True, return_counts=True)
    weight = 1.0 / counts[members.ravel()]
    return float(mean_absolute_error(y_true, y_pred, sample_weight=weight))


def mmae(y_true, y_pred) -> float:
    """Maximum MAE: the largest per-class MAE over the classes in ``y_true``.

    Examples
    --------
    >>> mmae([0, 0, 1, 3], [0, 1, 1, 1])  # class 0: 0.5, class 1: 0, class 3: 2
    2.0
    """
    y_true = np.asarray(y_true)
    overall = mean_absolute_error(y_true, y_pred)  # checks the inputs
    errors = [
        mean_absolute_error(y_true, y_pred, sample_weight=y_true == c)
        for c in np.unique(y_true)
    ]
    return float(max(errors, default=overall))


def ranked_probability_score(y_true, y_proba, *, labels=None) -> float:
    """Mean ranked probability score (RPS, Epstein 1969) of class probabilities.

    ``RPS_i = 1/(K-1) * sum_{k<K} (F_ik - O_ik)^2``, ``F_ik`` the predicted
    probability of the ``k`` lowest classes, ``O_ik`` 1 if the true class is
    among them.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, each one of ``labels``.
    y_proba : array-like of shape (n_samples, K)
        Predicted probabilities, columns in the order of ``labels``.
    labels : array-like of shape (K,), optional
        The class of each column, lowest first (``classes_``); default ``0..K-1``.

    Returns
    -------
    float
        The mean over the samples.

    Examples
    --------
    >>> ranked_probability_score([0, 2], [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    0.0625
    """
    y_proba = check_array(y_proba, dtype=np.float64, input_name="y_proba")
    y_true = column_or_1d(y_true)
    check_consistent_length(y_true, y_proba)
    n_classes = y_proba.shape[1]
    labels = np.arange(n_classes) if labels is None else np.asarray(labels)
    if n_classes < 2 or labels.shape != (n_classes,):
        raise ValueError(
            f"labels must have one entry per column of y_proba (2 or more), got "
            f"{len(labels)} labels for {n_classes} columns."
        )
    order = np.argsort(labels, kind="stable")
    position = np.searchsorted(labels, y_true, sorter=order).clip(max=n_classes - 1)
    column = order[position]
    if unknown := np.unique(y_true[labels[column] != y_true])[:5].tolist():
        raise ValueError(f"y_true holds labels that are not in labels: {unknown}.")
    predicted = np.cumsum(y_proba, axis=1)[:, :-1]
    observed = column[:, np.newaxis] <= np.arange(n_classes - 1)
    return float(np.mean((predicted - observed) ** 2))  # also over the K-1 sums


def quadratic_weighted_kappa(y_true, y_pred, labels=None) -> float:
    """scikit-learn's Cohen's kappa with quadratic weights; NaN (without a
    warning) where it is undefined, e.g. one class only.

    Examples
    --------
    >>> quadratic_weighted_kappa([0, 1, 2, 3], [0, 1, 2, 3])
    1.0
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN says it already
        score = cohen_kappa_score(y_true, y_pred, labels=labels, weights="quadratic")
    return float(score)


def ordinal_metrics(
    y_true,
    y_pred,
    *,
    y_expected=None,
    y_proba=None,
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
    y_proba : array-like of shape (n_samples, n_classes), optional
        Predicted probabilities, columns in the order of ``labels``; ``rps`` is
        NaN without them.
    labels : array-like, optional
        All class values (sorted; ``classes_``), for the kappa and the RPS.
    within : float, default=1.0
        ``k`` of ``within_k``, in label units.

    Returns
    -------
    dict
        One float per key of :data:`METRICS`.

    Examples
    --------
    >>> scores = ordinal_metrics([1, 2, 3], [1, 2, 5], y_expected=[1, 2, 4])
    >>> scores["mse"], scores["accuracy"], scores["mse_expectation"]
    (1.3333333333333333, 0.6666666666666666, 0.3333333333333333)
    """
    nan = float("nan")
    mse_expected = nan if y_expected is None else mean_squared_error(y_true, y_expected)
    rps = nan
    if y_proba is not None:
        rps = ranked_probability_score(y_true, y_proba, labels=labels)
    return {
        "mse": float(mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "qwk": quadratic_weighted_kappa(y_true, y_pred, labels=labels),
        "within_k": within_k_accuracy(y_true, y_pred, k=within),
        "mse_expectation": float(mse_expected),
        "rps": float(rps),
        "amae": amae(y_true, y_pred),
        "mmae": mmae(y_true, y_pred),
    }


def ordinal_scorers(within: float = 1.0) -> dict:
    """Scorers for ``cross_validate``/``GridSearchCV`` (greater is better);
    ``neg_mse_expectation`` scores ``predict_expectation``, ``neg_rps``
    ``predict_proba``.

    Parameters
    ----------
    within : float, default=1.0
        ``k`` of ``within_k``, in label units.

    Returns
    -------
    dict
        Scorer name to a scorer or the name of a scikit-learn scorer.

    Examples
    --------
    >>> sorted(ordinal_scorers())  # doctest: +NORMALIZE_WHITESPACE
    ['accuracy', 'neg_amae', 'neg_mae', 'neg_mmae', 'neg_mse',
     'neg_mse_expectation', 'neg_rps', 'qwk', 'within_k']
    """
    return {
        "neg_mse": "neg_mean_squared_error",
        "neg_mae": "neg_mean_absolute_error",
        "accuracy": "accuracy",
        "qwk": make_scorer(quadratic_weighted_kappa),
        "within_k": make_scorer(within_k_accuracy, k=within),
        "neg_mse_expectation": neg_mse_expectation,
        "neg_rps": neg_ranked_probability_score,
        "neg_amae": make_scorer(amae, greater_is_better=False),
        "neg_mmae": make_scorer(mmae, greater_is_better=False),
    }


#: Scorer: minus the MSE of ``estimator.predict_expectation(X)``.
neg_mse_expectation = make_scorer(
    mean_squared_error,
    greater_is_better=False,
    response_method=("predict_expectation",),
)


def neg_ranked_probability_score(estimator, X, y) -> float:
    """Scorer: minus the RPS of ``estimator.predict_proba(X)`` over its
    ``classes_``."""
    proba = estimator.predict_proba(X)
    return -ranked_probability_score(y, proba, labels=estimator.classes_)
