"""CompareResult.from_search: a fitted GridSearchCV over alpha, as a report."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    PredefinedSplit,
    RandomizedSearchCV,
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.compare import CompareResult, corrected_resampled_ttest
from sk_klpenalty.compare.search import split_test_train_ratio

TINY = {"max_epochs": 1, "batch_size": 32, "random_state": 0}


@pytest.fixture(scope="module")
def grid_search(stamped):
    X, y = stamped
    search = GridSearchCV(
        KLPenaltyClassifier(**TINY),
        {"alpha": [0.0, 1.0], "sigma": [1.0, 2.0]},
        scoring="neg_mean_squared_error",
        cv=RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0),
    )
    return search.fit(X, y)


def _split_scores(search, index, key="score"):
    n = search.n_splits_
    return np.array(
        [search.cv_results_[f"split{s}_test_{key}"][index] for s in range(n)]
    )


def _candidates(search, **params):
    return [
        i
        for i, p in enumerate(search.cv_results_["params"])
        if all(p.get(k) == v for k, v in params.items())
    ]


def test_intervals_equal_the_corrected_ttest_of_the_split_scores(grid_search):
    result = CompareResult.from_search(grid_search)
    baseline_runs = _candidates(grid_search, alpha=0.0)
    # Both alpha=0 candidates (sigma 1 and 2) pair with every penalty candidate.
    baseline_mse = -np.mean([_split_scores(grid_search, i) for i in baseline_runs], 0)
    comparison = result.comparison().set_index(["config", "metric"])
    for sigma in (1.0, 2.0):
        (index,) = _candidates(grid_search, alpha=1.0, sigma=sigma)
        diff = -_split_scores(grid_search, index) - baseline_mse
        expected = corrected_resampled_ttest(diff, test_train_ratio=0.5)  # 3 folds
        row = comparison.loc[(f"alpha=1 sigma={sigma:g}", "mse")]
        for key in ("mean", "ci_low", "ci_high", "p_value"):
            assert row[key] == pytest.approx(expected[key]), key
        assert row["n"] == 6


def test_scores_that_sklearn_negates_are_reported_as_errors(grid_search):
    result = CompareResult.from_search(grid_search)
    summary = result.summary().set_index(["config", "metric"])
    (index,) = _candidates(grid_search, alpha=1.0, sigma=2.0)
    mse = summary.loc[("alpha=1 sigma=2", "mse"), "mean"]
    assert mse > 0
    assert mse == pytest.approx(-grid_search.cv_results_["mean_test_score"][index])
    text = result.to_markdown()
    assert "| MSE |" in text and "ΔMSE" in text and "lowest mean MSE" in text


def test_pipeline_and_multi_metric_scoring(stamped, tmp_path):
    X, y = stamped
    pipeline = Pipeline(
        [("identity", FunctionTransformer()), ("clf", KLPenaltyClassifier(**TINY))]
    )
    search = GridSearchCV(
        pipeline,
        {"clf__alpha": [0.0, 0.5]},
        scoring={"neg_mse": "neg_mean_squared_error", "accuracy": "accuracy"},
        refit="neg_mse",
        cv=3,
    ).fit(X, y)
    result = CompareResult.from_search(search)
    assert set(result.metrics) == {"mse", "accuracy"}
    comparison = result.comparison().set_index(["config", "metric"])
    base, penalty = (_candidates(search, clf__alpha=a)[0] for a in (0.0, 0.5))
    for metric, key, sign in (("mse", "neg_mse", -1), ("accuracy", "accuracy", 1)):
        diff = sign * (
            _split_scores(search, penalty, key) - _split_scores(search, base, key)
        )
        expected = corrected_resampled_ttest(diff, test_train_ratio=0.5)
        assert comparison.loc[("alpha=0.5", metric), "p_value"] == pytest.approx(
            expected["p_value"]
        )
    paths = result.save(tmp_path)
    assert "ΔMSE" in paths["report.md"].read_text()
    assert paths["plot.png"].stat().st_size > 0


@pytest.mark.parametrize("splitter", [GroupKFold(3), StratifiedGroupKFold(3)])
def test_a_search_fitted_with_groups_is_reported(stamped, splitter):
    X, y = stamped
    groups = np.arange(len(y)) // 3  # three samples a subject
    search = GridSearchCV(
        KLPenaltyClassifier(**TINY), {"alpha": [0.0, 1.0]}, cv=splitter
    ).fit(X, y, groups=groups)
    result = CompareResult.from_search(search)
    assert result.job["test_train_ratio"] == pytest.approx(0.5)  # 3 folds
    (penalty,) = _candidates(search, alpha=1.0)
    (base,) = _candidates(search, alpha=0.0)
    diff = _split_scores(search, penalty) - _split_scores(search, base)
    row = result.comparison().set_index(["config", "metric"])
    assert row.loc[("alpha=1", "accuracy"), "mean"] == pytest.approx(diff.mean())


def test_each_baseline_pairs_with_the_candidates_sharing_its_other_params(stamped):
    X, y = stamped
    search = RandomizedSearchCV(
        KLPenaltyClassifier(**TINY),
        {"alpha": [0.0, 1.0], "lr": [1e-3, 1e-2]},
        n_iter=4,
        scoring="neg_mean_absolute_error",
        cv=2,
        random_state=0,
    ).fit(X, y)
    result = CompareResult.from_search(search)
    assert result.baseline_of == {
        "alpha=1 lr=0.001": "baseline (lr=0.001)",
        "alpha=1 lr=0.01": "baseline (lr=0.01)",
    }
    (penalty,) = _candidates(search, alpha=1.0, lr=1e-2)
    (base,) = _candidates(search, alpha=0.0, lr=1e-2)
    diff = -(_split_scores(search, penalty) - _split_scores(search, base))
    row = (
        result.comparison()
        .set_index(["config", "metric"])
        .loc[("alpha=1 lr=0.01", "mae")]
    )
    assert row["mean"] == pytest.approx(diff.mean())


def test_folds_it_cannot_size_need_a_test_train_ratio(stamped):
    X, y = stamped
    folds = PredefinedSplit(np.arange(len(y)) % 2)
    search = GridSearchCV(KLPenaltyClassifier(**TINY), {"alpha": [0.0, 1.0]}, cv=folds)
    search.fit(X, y)
    with pytest.raises(ValueError, match="test_train_ratio="):
        CompareResult.from_search(search)
    result = CompareResult.from_search(search, test_train_ratio=1.0)
    assert result.job["test_train_ratio"] == 1.0
    assert set(result.metrics) == {"accuracy"}  # scoring=None: the score method


def test_searches_it_cannot_report_are_refused_clearly(stamped):
    X, y = stamped
    unfitted = GridSearchCV(KLPenaltyClassifier(**TINY), {"alpha": [0.0, 1.0]})
    with pytest.raises(NotFittedError):
        CompareResult.from_search(unfitted)
    no_baseline = GridSearchCV(KLPenaltyClassifier(**TINY), {"alpha": [0.5, 1.0]}, cv=2)
    with pytest.raises(ValueError, match="alpha=0"):
        CompareResult.from_search(no_baseline.fit(X, y))
    with pytest.raises(TypeError, match="GridSearchCV"):
        CompareResult.from_search(object())
    other = GridSearchCV(LogisticRegression(), {"C": [1.0, 2.0]}, cv=2)
    with pytest.raises(TypeError, match="KLPenaltyClassifier"):
        CompareResult.from_search(other.fit(X.reshape(len(X), -1), y))


def test_split_ratio_of_known_splitters():
    from sklearn.model_selection import KFold, ShuffleSplit

    assert split_test_train_ratio(None) == pytest.approx(0.25)
    assert split_test_train_ratio(KFold(4)) == pytest.approx(1 / 3)
    assert split_test_train_ratio(ShuffleSplit(test_size=0.2)) == pytest.approx(0.25)
    assert split_test_train_ratio(ShuffleSplit(test_size=10)) is None
