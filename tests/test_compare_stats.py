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
