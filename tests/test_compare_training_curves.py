"""Per-epoch training curves: recorded for every fit, kept on resume, shown."""

import csv

import numpy as np
import pytest
from skorch.dataset import ValidSplit

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.compare import compare_penalty
from sk_klpenalty.compare.store import history_curve

EPOCHS = 2


def test_history_curve_is_the_fits_loss_per_epoch(stamped):
    X, y = stamped
    model = KLPenaltyClassifier(max_epochs=EPOCHS, random_state=0).fit(X, y)
    curve = history_curve(model)
    assert [row["epoch"] for row in curve] == [1, 2]
    np.testing.assert_allclose(
        [row["train_loss"] for row in curve], model.history[:, "train_loss"]
    )
    assert np.isnan(curve[0]["valid_loss"])  # no validation split
    held_out = KLPenaltyClassifier(
        max_epochs=EPOCHS, random_state=0, train_split=ValidSplit(3, stratified=True)
    ).fit(X, y)
    curve = history_curve(held_out)
    assert all(np.isfinite(row["valid_loss"]) for row in curve)
    assert all(0 <= row["valid_acc"] <= 1 for row in curve)


def _run(X, y, out_dir, **kwargs):
    return compare_penalty(
        X,
        y,
        estimator=KLPenaltyClassifier(max_epochs=EPOCHS, batch_size=32),
        cv=3,
        controls=False,
        progress=False,
        out_dir=out_dir,
        **kwargs,
    )


def _curve_rows(path):
    with open(path, newline="") as f:
        return sorted(tuple(row.values()) for row in csv.DictReader(f))


def test_curves_are_written_per_fit_and_kept_on_resume(stamped, tmp_path):
    X, y = stamped
    full = _run(X, y, tmp_path)
    assert len(full.curves) == 2 * 3 * EPOCHS  # configurations x folds x epochs
    assert np.isfinite(full.curves["train_loss"]).all()
    curves = _curve_rows(tmp_path / "curves.csv")
    assert len(curves) == len(full.curves)
    # A kill after the curve of the third fit, before its results.
    lines = (tmp_path / "results.csv").read_text().splitlines()
    (tmp_path / "results.csv").write_text("\n".join(lines[:7]) + "\n")
    resumed = _run(X, y, tmp_path, resume=True)
    assert _curve_rows(tmp_path / "curves.csv") == curves  # none lost, none twice
    assert len(resumed.curves) == len(full.curves)


def test_report_shows_whether_the_fits_converged(stamped, tmp_path):
    X, y = stamped
    result = _run(X, y, None)
    text = result.to_markdown()
    assert "## Training curves: did the fits converge?" in text
    baseline = result.curves.query("config == 'baseline'")
    first = baseline.query("epoch == 1")["train_loss"].mean()
    assert f"| baseline | {EPOCHS} | {first:.2f} |" in text
    paths = result.save(tmp_path)
    assert paths["curves.png"].read_bytes()[:4] == b"\x89PNG"
    assert "curves.csv" in {p.name for p in paths.values()}


@pytest.mark.parametrize("column", ["valid_loss", "valid_acc"])
def test_a_validation_split_adds_held_out_curves(stamped, column):
    X, y = stamped
    result = compare_penalty(
        X,
        y,
        estimator=KLPenaltyClassifier(
            max_epochs=EPOCHS, batch_size=32, train_split=ValidSplit(3)
        ),
        cv=2,
        alphas=(0.0,),
        progress=False,
    )
    assert np.isfinite(result.curves[column]).all()
    assert "validation" in result.to_markdown()
