"""compare_penalty(tune="nested"): the penalty tuned without the test fold."""

import numpy as np
import pytest
from conftest import recorded_compare
from sklearn.model_selection import StratifiedKFold

from sk_klpenalty.compare import compare_penalty
from sk_klpenalty.compare import runner as compare_runner
from sk_klpenalty.compare.configs import NESTED, chosen_settings
from sk_klpenalty.compare.folds import fold_seed


@pytest.fixture(scope="module")
def nested_run(stamped):
    X, y = stamped
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=1)
    return recorded_compare(X, y, cv, sigmas=(1.0, 3.0), tune="nested")


def test_the_inner_search_never_sees_the_outer_test_fold(nested_run):
    result, splits, fits = nested_run
    for fold, (train, test) in enumerate(splits):
        seed = fold_seed(0, 0, fold)
        trained = [ids for state, ids in fits if state == seed]
        # baseline + 2 settings, then 2 settings x 3 inner folds + the refit
        assert len(trained) == 3 + 2 * 3 + 1
        for ids in trained:
            assert ids <= set(train.tolist())
            assert not ids & set(test.tolist())
        inner = [ids for ids in trained if len(ids) < len(train)]
        assert len(inner) == 2 * 3
        # The inner test folds cover the outer training fold, nothing else.
        left_out = set().union(*(set(train.tolist()) - ids for ids in inner))
        assert left_out == set(train.tolist())


def test_tuned_row_has_intervals_and_the_choice_of_each_fold(nested_run):
    result, splits, _ = nested_run
    comparison = result.comparison().set_index(["config", "decode", "metric"])
    row = comparison.loc[(NESTED, "argmax", "mse")]
    assert row["n"] == len(splits) and np.isfinite(row["p_value"])
    chosen = chosen_settings(result.records)
    assert len(chosen) == len(splits)
    assert set(chosen["sigma"]) <= {1.0, 3.0} and (chosen["alpha"] == 1.0).all()
    # The tuned model is the chosen setting refit with the fold's seed: on each
    # fold it scores exactly as that setting's own fit.
    records = result.records.query("decode == 'argmax'").set_index(["config", "fold"])
    for _, pick in chosen.iterrows():
        name = f"alpha=1 sigma={pick['sigma']:g}"
        fold = pick["fold"]
        assert records.loc[(NESTED, fold), "mse"] == records.loc[(name, fold), "mse"]
    text = result.to_markdown()
    assert "## Tuned penalty (nested cross-validation)" in text
    assert f"| {NESTED} | argmax |" in text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sigmas": (2.0,)}, "at least two"),
        ({"inner_scoring": "no_such_score"}, "inner_scoring"),
        ({"inner_cv": 1}, "inner_cv"),
        ({"tune": "inner"}, "tune must be"),
    ],
)
def test_bad_nested_settings_fail_before_any_fit(stamped, monkeypatch, kwargs, message):
    X, y = stamped
    monkeypatch.setattr(compare_runner, "_fit_and_score", _forbidden)
    settings = {"sigmas": (1.0, 2.0), "tune": "nested", **kwargs}
    with pytest.raises(ValueError, match=message):
        compare_penalty(X, y, progress=False, **settings)


def _forbidden(*args, **kwargs):
    raise AssertionError("no fit should start")
