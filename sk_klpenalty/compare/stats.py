"""Honest intervals for cross-validated scores: the corrected resampled t-test."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "corrected_resampled_ttest",
    "learning_curve",
    "paired_differences",
    "summarise",
]

STAT_KEYS = ["mean", "ci_low", "ci_high", "p_value", "std", "n"]


def corrected_resampled_ttest(
    values: Sequence[float], test_train_ratio: float, confidence: float = 0.95
) -> dict[str, float]:
    """Mean, confidence interval and p-value (mean = 0) of per-fold values.

    The corrected resampled t-test of Nadeau & Bengio (2003): standard error
    ``sqrt((1/n + n_test/n_train) * s**2)``, ``n - 1`` degrees of freedom.

    Parameters
    ----------
    values : sequence of float
        One value per fold (or per-fold difference between two models).
    test_train_ratio : float
        Size of a test fold over the size of its training set (``1/(k-1)``
        for k-fold).
    confidence : float, default=0.95

    Returns
    -------
    dict with ``mean``, ``ci_low``, ``ci_high``, ``p_value``, ``std``, ``n``

    Examples
    --------
    >>> out = corrected_resampled_ttest([1.0, 2.0, 3.0, 2.0], test_train_ratio=0.25)
    >>> round(out["mean"], 3), round(out["p_value"], 4)
    (2.0, 0.0405)
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    n = len(values)
    out = {**dict.fromkeys(STAT_KEYS, math.nan), "n": n}
    if n:
        out["mean"] = mean = float(values.mean())
    if n < 2:
        return out
    out["std"] = std = float(values.std(ddof=1))
    se = math.sqrt(1.0 / n + test_train_ratio) * std
    if se == 0:  # identical values: nothing to test against
        return {**out, "ci_low": mean, "ci_high": mean, "p_value": float(mean == 0)}
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=se)
    p_value = 2 * stats.t.sf(abs(mean) / se, n - 1)
    return {**out, "ci_low": low, "ci_high": high, "p_value": float(p_value)}


def summarise(records, metrics, test_train_ratio: float, by=("config", "decode")):
    """:func:`corrected_resampled_ttest` of each metric per group ``by``, long."""
    by = list(by)
    rows = [
        {
            **dict(zip(by, key, strict=True)),
            "metric": metric,
            **corrected_resampled_ttest(group[metric], test_train_ratio),
        }
        for key, group in records.groupby(by, sort=False)
        for metric in metrics
    ]
    return pd.DataFrame(rows, columns=[*by, "metric", *STAT_KEYS])


def paired_differences(
    records, baseline_of: dict[str, str], metrics, test_train_ratio: float
):
    """Each configuration minus its baseline, paired by split and decode."""
    metrics, diffs = list(metrics), []
    for config, baseline in baseline_of.items():
        runs = records[records["config"] == config]
        base = records[records["config"] == baseline]
        paired = runs.merge(base, on=["repeat", "fold", "decode"], suffixes=("", "_"))
        diff = paired[metrics] - paired[[f"{m}_" for m in metrics]].to_numpy()
        diffs.append(diff.assign(baseline=baseline, decode=paired["decode"]))
    by = ["config", "baseline", "decode"]
    if not diffs:
        return pd.DataFrame(columns=[*by, "metric", *STAT_KEYS])
    diffs = pd.concat(diffs, keys=list(baseline_of), names=["config", None])
    return summarise(diffs.reset_index(0), metrics, test_train_ratio, by)


def learning_curve(records, baseline_of: dict[str, str], metrics, decode: str):
    """:func:`paired_differences` at every training size, with the baseline mean."""
    frames = []
    records = records[records["decode"] == decode]
    for size, group in records.groupby("train_size", sort=True):
        ratio = float(np.mean(group["n_test"] / group["n_train"]))
        frame = paired_differences(group, baseline_of, metrics, ratio)
        means = group.groupby("config")[list(metrics)].mean().stack()
        index = pd.MultiIndex.from_frame(frame[["baseline", "metric"]])
        frame["baseline_mean"] = means.reindex(index).to_numpy()
        frame.insert(0, "n_train", float(group["n_train"].mean()))
        frame.insert(0, "train_size", size)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
