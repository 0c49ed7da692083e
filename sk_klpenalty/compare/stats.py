"""Honest intervals for cross-validated scores: the corrected resampled t-test."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["corrected_resampled_ttest", "paired_differences", "summarise"]


def corrected_resampled_ttest(
    values: Sequence[float], test_train_ratio: float, confidence: float = 0.95
) -> dict[str, float]:
    """Mean, confidence interval and p-value (mean = 0) of per-fold values.

    The corrected resampled t-test of Nadeau & Bengio (2003): with ``n``
    values from (repeated) cross-validation, sample variance ``s**2`` and
    ``test_train_ratio = n_test / n_train``, the standard error is
    ``sqrt((1/n + n_test/n_train) * s**2)`` with ``n - 1`` degrees of freedom.
    For paired differences between two models on the same folds it tests
    whether they differ; for one model's scores it gives an honest interval.

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
    mean = float(values.mean()) if n else math.nan
    out = {
        "mean": mean,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "p_value": math.nan,
        "std": math.nan,
        "n": n,
    }
    if n < 2:
        return out
    std = float(values.std(ddof=1))
    out["std"] = std
    se = math.sqrt((1.0 / n + test_train_ratio) * std**2)
    if se == 0:
        out.update(ci_low=mean, ci_high=mean, p_value=1.0 if mean == 0 else 0.0)
        return out
    quantile = stats.t.ppf(0.5 + confidence / 2, df=n - 1)
    t = mean / se
    out.update(
        ci_low=float(mean - quantile * se),
        ci_high=float(mean + quantile * se),
        p_value=float(2 * stats.t.sf(abs(t), df=n - 1)),
    )
    return out


def summarise(records, metrics, test_train_ratio: float, by=("config", "decode")):
    """Mean and interval of each metric per group of ``records`` (a DataFrame).

    Returns a long DataFrame: the ``by`` columns, ``metric`` and the keys of
    :func:`corrected_resampled_ttest`.
    """
    import pandas as pd

    rows = []
    for group, frame in records.groupby(list(by), sort=False):
        for metric in metrics:
            out = corrected_resampled_ttest(frame[metric], test_train_ratio)
            rows.append({**dict(zip(by, group, strict=True)), "metric": metric, **out})
    return pd.DataFrame(rows, columns=[*by, "metric", *_STAT_KEYS])


def paired_differences(
    records, baseline_of: dict[str, str], metrics, test_train_ratio: float
):
    """Each configuration minus its baseline, paired by split and decode.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per ``config``, ``repeat``, ``fold`` and ``decode``.
    baseline_of : dict
        Configuration name -> name of the baseline it is compared with, in
        the order of the rows returned. Configurations not in it are skipped.
    metrics : sequence of str
        Columns to compare.
    test_train_ratio : float
        For the corrected resampled t-test.

    Returns
    -------
    pandas.DataFrame
        ``config``, ``baseline``, ``decode``, ``metric`` and the keys of
        :func:`corrected_resampled_ttest` for the differences.
    """
    import pandas as pd

    keys = ["repeat", "fold", "decode"]
    rows = []
    for config, baseline in baseline_of.items():
        runs = records[records["config"] == config]
        base = records[records["config"] == baseline]
        paired = runs.merge(base, on=keys, suffixes=("", "_base"))
        for decode, group in paired.groupby("decode", sort=False):
            for metric in metrics:
                diff = group[metric] - group[f"{metric}_base"]
                rows.append(
                    {
                        "config": config,
                        "baseline": baseline,
                        "decode": decode,
                        "metric": metric,
                        **corrected_resampled_ttest(diff, test_train_ratio),
                    }
                )
    columns = ["config", "baseline", "decode", "metric", *_STAT_KEYS]
    return pd.DataFrame(rows, columns=columns)


_STAT_KEYS = ["mean", "ci_low", "ci_high", "p_value", "std", "n"]
