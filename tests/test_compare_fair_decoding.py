"""The report's "each arm decoded for the metric" section."""

import pytest

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.compare import compare_penalty
from sk_klpenalty.compare.sections import FAIR_DECODES, fmt


@pytest.fixture(scope="module")
def argmax_only(stamped):
    X, y = stamped
    return compare_penalty(
        X,
        y,
        estimator=KLPenaltyClassifier(max_epochs=1, batch_size=32),
        decodes=("argmax",),
        cv=3,
        controls=False,
        progress=False,
    )


def test_each_metric_is_shown_under_its_own_decode(argmax_only):
    text = argmax_only.to_markdown()
    assert "## Each arm decoded for the metric" in text
    section = text.split("## Each arm decoded for the metric")[1]
    records = argmax_only.records
    for config in ("baseline", "alpha=1 sigma=2"):
        row = next(line for line in section.splitlines() if f"| {config} |" in line)
        cells = [cell.strip() for cell in row.strip("|").split("|")][1:]
        # Columns: MSE under mean, MAE under median, accuracy under argmax.
        for cell, (metric, decode) in zip(cells, FAIR_DECODES.items(), strict=True):
            own = records[(records["config"] == config) & (records["decode"] == decode)]
            assert cell.startswith(f"{fmt(own[metric].mean())} ["), (config, metric)


def test_differences_pair_each_arm_under_the_same_suiting_decode(argmax_only):
    comparison = argmax_only.comparison().set_index(["config", "decode", "metric"])
    records = argmax_only.records.set_index(["config", "decode", "fold"]).sort_index()
    diff = (
        records.loc[("alpha=1 sigma=2", "median"), "mae"]
        - records.loc[("baseline", "median"), "mae"]
    )
    row = comparison.loc[("alpha=1 sigma=2", "median", "mae")]
    assert row["mean"] == pytest.approx(diff.mean())
    # The main tables still show only the decodes asked for.
    assert "| baseline | median |" not in argmax_only.to_markdown()
