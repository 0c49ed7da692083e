"""The cross-validated comparison: its runs, its report and its files, resume."""

import csv
import inspect
import json

import numpy as np
import pandas as pd
import pytest

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.compare import compare_penalty
from sk_klpenalty.compare import runner as compare_runner
from sk_klpenalty.decode import DECODES
from sk_klpenalty.metrics import METRICS

TINY = {"max_epochs": 1, "batch_size": 32}


@pytest.fixture(scope="module")
def small_task(request):
    rng = np.random.RandomState(0)
    y = rng.randint(0, 5, 90)
    X = rng.rand(90, 1, 8, 8).astype(np.float32) * 0.3
    for i, label in enumerate(y):
        X[i, 0, label + 1] += 0.7
    return X, y


@pytest.fixture(scope="module")
def result(small_task):
    X, y = small_task
    return compare_penalty(
        X,
        y,
        estimator=KLPenaltyClassifier(**TINY),
        alphas=(0, 1),
        sigmas=(1.0, 2.0),
        cv=3,
        progress=False,
    )


def test_every_configuration_fold_and_decode_is_recorded(result):
    records = result.records
    configs = set(records["config"])
    assert configs == {
        "baseline",
        "alpha=1 sigma=1",
        "alpha=1 sigma=2",
        f"control: uniform smoothing ({result.job['best_penalty']})",
        f"control: permuted order ({result.job['best_penalty']})",
    }
    counts = records.groupby(["config", "decode"]).size()
    # Every decode is scored (for "each arm decoded for the metric"), not
    # only the two the tables show.
    assert (counts == 3).all() and len(counts) == len(configs) * len(DECODES)
    assert set(records["fold"]) == {0, 1, 2}
    assert records[list(METRICS)].notna().all().all()


def test_confidence_intervals_contain_the_mean(result):
    summary = result.summary()
    finite = summary.dropna(subset=["ci_low"])
    assert len(finite) > 0
    assert (finite["ci_low"] <= finite["mean"]).all()
    assert (finite["mean"] <= finite["ci_high"]).all()


def test_comparison_is_paired_by_fold_against_the_baseline(result):
    records = result.records.set_index(["config", "decode", "repeat", "fold"])
    records = records.sort_index()
    row = (
        result.comparison()
        .query("config == 'alpha=1 sigma=2' and decode == 'argmax' and metric == 'mse'")
        .iloc[0]
    )
    diff = (
        records.loc[("alpha=1 sigma=2", "argmax"), "mse"]
        - records.loc[("baseline", "argmax"), "mse"]
    )
    assert row["mean"] == pytest.approx(diff.mean())
    assert row["n"] == 3
    assert "baseline" not in set(result.comparison()["config"])


def test_best_penalty_has_the_lowest_mean_mse(result):
    records = result.records.query("kind == 'penalty' and decode == 'argmax'")
    assert (
        result.job["best_penalty"] == records.groupby("config")["mse"].mean().idxmin()
    )


def test_markdown_and_saved_files(result, tmp_path):
    text = result.to_markdown()
    assert "| baseline | argmax |" in text and "ΔMSE" in text
    paths = result.save(tmp_path)
    assert {p.name for p in paths.values()} == {
        "report.md",
        "results.csv",
        "summary.json",
        "plot.png",
        "curves.csv",
        "curves.png",
    }
    summary = json.loads((tmp_path / "summary.json").read_text())
    first = summary["comparison"][0]
    assert {"mean", "ci_low", "ci_high", "p_value"} <= set(first)
    with open(tmp_path / "results.csv") as f:
        assert sum(1 for _ in csv.DictReader(f)) == len(result.records)
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_where_the_fits_run_is_joblibs_choice_not_a_parameter():
    # joblib.parallel_config(backend="dask") chooses it (see test_cluster.py).
    parameters = inspect.signature(compare_penalty).parameters
    assert not {"scheduler", "security", "estimate_time"} & set(parameters)


def test_bad_settings_fail_before_any_fit(small_task, monkeypatch):
    X, y = small_task
    monkeypatch.setattr(compare_runner, "_fit_and_score", _forbidden)
    for kwargs in (
        {"alphas": (-1.0,)},
        {"sigmas": (0.0,)},
        {"decodes": ("mode",)},
        {"sigma_decays": (1.5,)},
        {"resume": True},
    ):
        with pytest.raises(ValueError):
            compare_penalty(X, y, progress=False, **kwargs)


def _forbidden(*args, **kwargs):
    raise AssertionError("no fit should start")


def _stored_job(out_dir, **settings):
    """compare_penalty's arguments for a small job stored in ``out_dir``."""
    return {
        "estimator": KLPenaltyClassifier(**TINY),
        "cv": 2,
        "controls": False,
        "progress": False,
        "out_dir": out_dir,
        **settings,
    }


def _record_fits(monkeypatch):
    """The configuration of every fit that starts from now on (and runs it)."""
    fits = []
    original = compare_runner._fit_and_score
    monkeypatch.setattr(
        compare_runner,
        "_fit_and_score",
        lambda *a, **k: fits.append(a[1].name) or original(*a, **k),
    )
    return fits


def test_results_are_appended_and_resume_skips_finished_folds(
    small_task, tmp_path, monkeypatch
):
    X, y = small_task
    kwargs = _stored_job(tmp_path, cv=3)
    full = compare_penalty(X, y, **kwargs)
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert len(lines) == 1 + len(full.records)  # header + every record
    # Simulate a kill after two folds (3 decodes each) plus a half-written row.
    (tmp_path / "results.csv").write_text("\n".join(lines[:7]) + "\n" + lines[7][:9])
    fits = _record_fits(monkeypatch)
    resumed = compare_penalty(X, y, resume=True, **kwargs)
    assert len(fits) == 6 - 2
    assert resumed.to_markdown() == full.to_markdown()


def test_resume_of_a_finished_and_saved_job_fits_nothing(
    small_task, tmp_path, monkeypatch
):
    # The command line saves the report over the store's results.csv; a
    # --resume then (to redraw the report) must keep every fold, the
    # baseline's (no sigma) and the peers' (no alpha) included.
    X, y = small_task
    kwargs = _stored_job(tmp_path, controls=True, peers=["regression"])
    full = compare_penalty(X, y, **kwargs)
    assert full.records[["sigma", "alpha"]].isna().any().all()
    full.save(tmp_path)
    fits = _record_fits(monkeypatch)
    resumed = compare_penalty(X, y, resume=True, **kwargs)
    assert fits == []
    assert resumed.to_markdown() == full.to_markdown()


def test_resume_refuses_a_different_job(small_task, tmp_path):
    X, y = small_task
    kwargs = _stored_job(tmp_path)
    compare_penalty(X, y, **kwargs)
    with pytest.raises(ValueError, match="different job"):
        compare_penalty(X, y, sigmas=(3.0,), resume=True, **kwargs)


def test_out_dir_that_is_a_file_is_refused_before_any_fit(
    small_task, tmp_path, monkeypatch, result
):
    X, y = small_task
    existing = tmp_path / "report.txt"
    existing.write_text("not a folder")
    monkeypatch.setattr(compare_runner, "_fit_and_score", _forbidden)
    for out_dir in (existing, existing / "below"):
        with pytest.raises(ValueError, match="out_dir must be a folder"):
            compare_penalty(X, y, progress=False, out_dir=out_dir)
    with pytest.raises(ValueError, match="must be a folder"):
        result.save(existing)


NAMES = ["zero", "one", "two", "three", "four"]  # not in alphabetical order


def test_ordered_string_labels_score_on_class_positions(small_task):
    X, y = small_task
    kwargs = {"cv": 2, "controls": False, "progress": False, "sigmas": (1.0,)}
    numbers = compare_penalty(X, y, estimator=KLPenaltyClassifier(**TINY), **kwargs)
    names = np.array(NAMES)[y]
    declared = compare_penalty(
        X, names, estimator=KLPenaltyClassifier(classes=NAMES, **TINY), **kwargs
    )
    categorical = compare_penalty(
        X,
        pd.Categorical(names, categories=NAMES, ordered=True),
        estimator=KLPenaltyClassifier(**TINY),
        **kwargs,
    )
    # Positions 0..4 in the given order are the numeric labels 0..4.
    metrics = list(METRICS)
    for result in (declared, categorical):
        assert result.job["classes"] == NAMES
        np.testing.assert_allclose(
            result.records[metrics].to_numpy(), numbers.records[metrics].to_numpy()
        )
        assert "class positions 0..K-1" in result.to_markdown()
    assert "in label units" in numbers.to_markdown()


def test_unordered_string_labels_are_refused_before_any_fit(small_task, monkeypatch):
    X, y = small_task
    monkeypatch.setattr(compare_runner, "_fit_and_score", _forbidden)
    with pytest.raises(ValueError, match="no order was given"):
        compare_penalty(X, np.array(NAMES)[y], progress=False)


def test_weights_and_early_stopping_reach_every_fit(small_task, monkeypatch):
    X, y = small_task
    weights = np.where(np.arange(len(y)) % 4 == 0, 0.0, 1.0 + y)
    received = []
    original = compare_runner._fit_and_score

    def spy(*args, **kwargs):
        estimator, _, _, _, task = args[:5]
        received.append((estimator.class_weight, estimator.early_stopping))
        given = task["fit_params"]["sample_weight"]
        np.testing.assert_array_equal(given, weights[task["train"]])
        return original(*args, **kwargs)

    monkeypatch.setattr(compare_runner, "_fit_and_score", spy)
    estimator = KLPenaltyClassifier(
        class_weight="balanced", early_stopping=True, max_epochs=3, batch_size=32
    )
    result = compare_penalty(
        X,
        y,
        estimator=estimator,
        sample_weight=weights,
        cv=2,
        controls=False,
        progress=False,
    )
    assert received == [("balanced", True)] * 4
    assert result.records[list(METRICS)].notna().all().all()
    assert "sample_weight_sha256" in result.job
    with pytest.raises(ValueError, match="sample_weight"):
        compare_penalty(X, y, sample_weight=weights[:10], progress=False)
