import math

import numpy as np
import pytest
from sklearn.model_selection import cross_validate

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.metrics import (
    METRICS,
    amae,
    mmae,
    ordinal_metrics,
    ordinal_scorers,
    quadratic_weighted_kappa,
    ranked_probability_score,
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


# Class 1 is absent from y_true (as in a small test fold); it is predicted once.
Y_TRUE = np.array([0, 0, 0, 2, 2, 3])
Y_PRED = np.array([0, 1, 0, 2, 0, 1])


def test_class_averaged_errors_by_hand_with_a_class_absent_from_y_true():
    # Per class present in y_true: 0 -> (0+1+0)/3, 2 -> (0+2)/2, 3 -> 2/1.
    per_class = np.array([1 / 3, 1.0, 2.0])
    assert amae(Y_TRUE, Y_PRED) == pytest.approx(per_class.mean())
    assert mmae(Y_TRUE, Y_PRED) == pytest.approx(2.0)
    # Not the plain MAE: every class weighs the same, however rare.
    assert amae(Y_TRUE, Y_PRED) != pytest.approx(np.mean(np.abs(Y_TRUE - Y_PRED)))


def test_class_averaged_errors_are_in_label_units():
    ages_true, ages_pred = np.array([20, 20, 40]), np.array([22, 20, 30])
    assert amae(ages_true, ages_pred) == pytest.approx((1 + 10) / 2)
    assert mmae(ages_true, ages_pred) == pytest.approx(10)


def direct_rps(y_index, proba):
    """(1/(K-1)) sum_k (F_k - O_k)^2 over k = 1..K-1, one sample at a time."""
    n_classes = proba.shape[1]
    scores = []
    for t, row in zip(y_index, proba, strict=True):
        score = 0.0
        for k in range(n_classes - 1):
            observed = 1.0 if t <= k else 0.0
            score += (sum(row[: k + 1]) - observed) ** 2
        scores.append(score / (n_classes - 1))
    return np.mean(scores)


def test_ranked_probability_score_by_hand_with_a_class_absent_from_y_true():
    labels = np.array([10, 20, 30, 40])  # 20 never occurs in y_true
    y_true = np.array([10, 30, 40, 30])
    proba = np.array(
        [[0.7, 0.2, 0.1, 0.0], [0.0, 0.5, 0.5, 0.0], [0.25] * 4, [0, 0, 0, 1.0]]
    )
    expected = direct_rps([0, 2, 3, 2], proba)
    assert ranked_probability_score(y_true, proba, labels=labels) == pytest.approx(
        expected
    )
    # The first row by hand: F = .7, .9, 1 against O = 1, 1, 1.
    first = ranked_probability_score(y_true[:1], proba[:1], labels=labels)
    assert first == pytest.approx((0.3**2 + 0.1**2) / 3)


def test_ranked_probability_score_limits_and_order():
    assert ranked_probability_score([0, 2], np.eye(3)[[0, 2]]) == 0.0
    assert ranked_probability_score([0], [[0.0, 0.0, 1.0]]) == 1.0
    # Mass next to the truth costs less than mass far from it.
    near = ranked_probability_score([0], [[0.5, 0.5, 0.0]])
    far = ranked_probability_score([0], [[0.5, 0.0, 0.5]])
    assert near < far


def test_ranked_probability_score_refuses_unknown_labels():
    with pytest.raises(ValueError, match="not in labels: \\[7\\]"):
        ranked_probability_score([0, 7], np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="one entry per column"):
        ranked_probability_score([0], [[0.5, 0.5]], labels=[0, 1, 2])


def test_new_metrics_in_ordinal_metrics():
    proba = np.eye(4)[Y_PRED]
    scores = ordinal_metrics(Y_TRUE, Y_PRED, y_proba=proba, labels=np.arange(4))
    assert scores["amae"] == amae(Y_TRUE, Y_PRED)
    assert scores["mmae"] == mmae(Y_TRUE, Y_PRED)
    assert scores["rps"] == pytest.approx(direct_rps(Y_TRUE, proba))
    assert set(scores) == set(METRICS)
    assert math.isnan(ordinal_metrics(Y_TRUE, Y_PRED)["rps"])


def test_rps_scorer_uses_predict_proba_and_classes(ordinal_tabular):
    X, y = ordinal_tabular
    clf = KLPenaltyClassifier(max_epochs=2, random_state=0).fit(X, y)
    index = np.searchsorted(clf.classes_, y)
    expected = -direct_rps(index, clf.predict_proba(X).astype(np.float64))
    assert ordinal_scorers()["neg_rps"](clf, X, y) == pytest.approx(expected)


def test_new_metrics_agree_with_dlordinal():
    metrics = pytest.importorskip("dlordinal.metrics")
    rng = np.random.RandomState(0)
    y_true = np.array([0, 0, 2, 3, 3, 3, 4])  # class 1 absent
    y_pred = np.array([0, 1, 2, 1, 3, 4, 4])
    proba = rng.dirichlet(np.ones(5), size=len(y_true))
    assert amae(y_true, y_pred) == pytest.approx(metrics.amae(y_true, y_pred))
    assert mmae(y_true, y_pred) == pytest.approx(metrics.mmae(y_true, y_pred))
    # dlordinal leaves out the normalisation by K - 1.
    assert ranked_probability_score(y_true, proba) * 4 == pytest.approx(
        metrics.ranked_probability_score(y_true, proba)
    )
