"""compare_penalty(train_sizes=...): the difference to the baseline by size."""

import numpy as np
import pytest
from conftest import recorded_compare
from sklearn.model_selection import StratifiedKFold

from sk_klpenalty.compare import compare_penalty, corrected_resampled_ttest
from sk_klpenalty.compare import runner as compare_runner
from sk_klpenalty.compare.folds import check_train_sizes, fold_seed


@pytest.fixture(scope="module")
def sized_run(stamped):
    X, y = stamped
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=2)
    return recorded_compare(X, y, cv, train_sizes=(0.5, 1.0))


def test_each_size_trains_every_configuration_on_one_stratified_subsample(
    sized_run, stamped
):
    _, y = stamped
    result, splits, fits = sized_run
    for fold, (train, _) in enumerate(splits):
        seed = fold_seed(0, 0, fold)
        small = {ids for state, ids in fits if state == seed and len(ids) < len(train)}
        assert len(small) == 1  # baseline and penalty: the same subsample
        (subsample,) = small
        assert subsample < set(train.tolist())
        assert len(subsample) == pytest.approx(len(train) / 2, abs=1)
        full_share = np.bincount(y[train]) / len(train)
        share = np.bincount(y[sorted(subsample)], minlength=3) / len(subsample)
        np.testing.assert_allclose(share, full_share, atol=0.03)


def test_per_size_intervals_are_the_paired_corrected_ttest(sized_run):
    result, _, _ = sized_run
    records = result.records.query("decode == 'argmax' and train_size == 0.5")
    records = records.set_index(["config", "fold"])["mse"]
    diff = records["alpha=1 sigma=2"] - records["baseline"]
    n_train = result.records.query("train_size == 0.5")["n_train"]
    n_test = result.records.query("train_size == 0.5")["n_test"]
    expected = corrected_resampled_ttest(diff, float(np.mean(n_test / n_train)))
    from sk_klpenalty.compare.sections import learning_curve_frame

    curve = learning_curve_frame(result).set_index(["train_size", "metric"])
    row = curve.loc[(0.5, "mse")]
    assert row["mean"] == pytest.approx(expected["mean"])
    assert row["p_value"] == pytest.approx(expected["p_value"])
    assert row["ci_low"] == pytest.approx(expected["ci_low"])
    # The main tables use the whole training folds.
    assert (result.main_records()["train_size"] == 1.0).all()


def test_report_has_the_table_and_the_plot(sized_run, tmp_path):
    result, _, _ = sized_run
    text = result.to_markdown()
    assert "## Difference to the baseline by training-set size" in text
    assert "| alpha=1 sigma=2 | 0.5 |" in text
    paths = result.save(tmp_path)
    assert paths["learning-curve.png"].read_bytes()[:4] == b"\x89PNG"
    assert "learning-curve.png" in paths["report.md"].read_text()


@pytest.mark.parametrize("sizes", [(0.0, 1.0), (1.5,), ("half",), ()])
def test_bad_train_sizes_are_refused(sizes):
    with pytest.raises((TypeError, ValueError), match="train_sizes"):
        check_train_sizes(sizes)


def test_a_subsample_too_small_for_its_classes_fails_before_any_fit(
    stamped, monkeypatch
):
    X, y = stamped
    monkeypatch.setattr(compare_runner, "_fit_and_score", _forbidden)
    with pytest.raises(ValueError, match="train_sizes"):
        compare_penalty(X, y, cv=3, train_sizes=(0.02, 1.0), progress=False)


def _forbidden(*args, **kwargs):
    raise AssertionError("no fit should start")
