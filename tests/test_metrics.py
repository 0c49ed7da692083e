import math

import numpy as np
import pytest
from sklearn.model_selection import cross_validate

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.metrics import (
    ordinal_metrics,
    ordinal_scorers,
    quadratic_weighted_kappa,
    within_k_accuracy,
)


def test_within_k_counts_label_units_inclusive():
    y_true = np.array([20, 30, 40, 50])
    y_pred = np.array([21, 33, 40, 45])
    assert within_k_accuracy(y_true, y_pred, k=1) == 0.5
    assert within_k_accuracy(y_true, y_pred, k=3) == 0.75
    assert within_k_accuracy(y_true, y_pred, k=5) == 1.0


def test_ordinal_metrics_by_hand():
    y_true = np.array([0, 1, 2, 3])
    y_pred = np.array([0, 2, 2, 0])
    scores = ordinal_metrics(y_true, y_pred, y_expected=[0.5, 1.0, 2.0, 3.0])
    assert scores["mse"] == pytest.approx((0 + 1 + 0 + 9) / 4)
    assert scores["mae"] == pytest.approx((0 + 1 + 0 + 3) / 4)
    assert scores["accuracy"] == 0.5
    assert scores["within_k"] == 0.75
    assert scores["mse_expectation"] == pytest.approx(0.25 / 4)
    assert -1 <= scores["qwk"] <= 1
    assert math.isnan(ordinal_metrics(y_true, y_pred)["mse_expectation"])


def test_quadratic_kappa_is_one_when_perfect_and_nan_when_undefined():
    assert quadratic_weighted_kappa([1, 2, 3], [1, 2, 3]) == 1.0
    # Worse when errors are far than when they are near.
    near = quadratic_weighted_kappa([0, 1, 2, 3, 4], [1, 1, 2, 3, 4])
    far = quadratic_weighted_kappa([0, 1, 2, 3, 4], [4, 1, 2, 3, 4])
    assert near > far
    assert math.isnan(quadratic_weighted_kappa([2, 2], [2, 2]))


def test_scorers_work_in_cross_validate(ordinal_tabular):
    X, y = ordinal_tabular
    clf = KLPenaltyClassifier(max_epochs=3, random_state=0)
    scores = cross_validate(clf, X, y, cv=2, scoring=ordinal_scorers(within=3))
    for name in ordinal_scorers():
        assert np.isfinite(scores[f"test_{name}"]).all(), name
    assert (scores["test_neg_mse_expectation"] <= 0).all()
    assert (scores["test_within_k"] >= scores["test_accuracy"]).all()


def test_expectation_scorer_uses_predict_expectation(ordinal_tabular):
    X, y = ordinal_tabular
    clf = KLPenaltyClassifier(max_epochs=2, random_state=0).fit(X, y)
    scorer = ordinal_scorers()["neg_mse_expectation"]
    expected = -np.mean((clf.predict_expectation(X) - y) ** 2)
    assert scorer(clf, X, y) == pytest.approx(expected)
