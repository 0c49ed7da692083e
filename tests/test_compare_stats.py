"""The corrected resampled t-test (Nadeau & Bengio 2003)."""

import numpy as np
import pytest
from scipy import stats

from sk_klpenalty.compare import corrected_resampled_ttest


def test_corrected_ttest_matches_a_hand_computation():
    values = [1.0, 2.0, 3.0, 2.0]
    out = corrected_resampled_ttest(values, test_train_ratio=0.25)
    n, mean, var = 4, 2.0, 2.0 / 3.0  # sample variance, ddof=1
    se = np.sqrt((1 / n + 0.25) * var)
    t = mean / se
    assert out["mean"] == mean
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(t, df=3))
    half = stats.t.ppf(0.975, df=3) * se
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((mean - half, mean + half))


def test_corrected_ttest_is_wider_than_the_naive_one():
    values = np.random.RandomState(0).randn(10) + 0.8
    naive = stats.ttest_1samp(values, 0.0).pvalue
    # With no overlap between training sets the correction vanishes.
    assert corrected_resampled_ttest(values, 0.0)["p_value"] == pytest.approx(naive)
    assert corrected_resampled_ttest(values, 0.25)["p_value"] > naive


def test_paired_differences_pair_by_split_and_decode():
    import pandas as pd

    from sk_klpenalty.compare.stats import paired_differences, summarise

    rows = []
    for fold, (base, penalty) in enumerate([(5.0, 4.0), (6.0, 4.5), (5.5, 5.0)]):
        for config, mse in (("baseline", base), ("alpha=1", penalty)):
            rows.append(
                {"config": config, "repeat": 0, "fold": fold, "decode": "argmax"}
            )
            rows[-1]["mse"] = mse
    # Shuffled rows: pairing is by (repeat, fold, decode), not by position.
    records = pd.DataFrame(rows).sample(frac=1.0, random_state=0)
    out = paired_differences(records, {"alpha=1": "baseline"}, ["mse"], 0.5)
    expected = corrected_resampled_ttest([-1.0, -1.5, -0.5], test_train_ratio=0.5)
    (row,) = out.to_dict(orient="records")
    assert row["config"] == "alpha=1" and row["baseline"] == "baseline"
    assert row["mean"] == pytest.approx(expected["mean"])
    assert row["p_value"] == pytest.approx(expected["p_value"])
    means = summarise(records, ["mse"], 0.5).set_index("config")["mean"]
    assert means["baseline"] == pytest.approx(5.5)
