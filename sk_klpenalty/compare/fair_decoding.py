"""Each arm decoded for the metric: no arm loses to a decoding mismatch.

A predicted distribution is decoded to one label per sample, and each metric
has a decode that suits it best: the mean minimises squared error, the median
absolute error, the most probable class (argmax) the error rate. A penalty
that spreads probability over neighbouring classes can look better or worse
than the baseline under one decode for reasons that vanish under another, so
the report also compares baseline and penalty each under the decode that
suits the metric. Every fit is scored with every decode, from one
``predict_proba``, so this costs no refit.
"""

from __future__ import annotations

from .formatting import fmt, fmt_p, markdown_table

__all__ = ["FAIR_DECODES", "fair_decoding_section"]

#: Metric -> the decode that suits it.
FAIR_DECODES = {"mse": "mean", "mae": "median", "accuracy": "argmax"}


def _interval(row, signed: bool = False) -> str:
    return (
        f"{fmt(row['mean'], signed)} [{fmt(row['ci_low'], signed)}, "
        f"{fmt(row['ci_high'], signed)}]"
    )


def fair_decoding_section(summary, comparison, configs, display) -> list[str]:
    """Markdown lines of the section, or none when a decode was not scored.

    Parameters
    ----------
    summary, comparison : pandas.DataFrame
        :meth:`CompareResult.summary` and :meth:`CompareResult.comparison`.
    configs : list of str
        Configurations in report order (baselines included).
    display : dict
        Metric -> (display name, higher is better).
    """
    pairs = [(m, d) for m, d in FAIR_DECODES.items() if m in display]
    scored = set(zip(summary["metric"], summary["decode"], strict=True))
    if not pairs or not all(pair in scored for pair in pairs):
        return []
    means = summary.set_index(["config", "metric", "decode"])
    diffs = comparison.set_index(["config", "metric", "decode"])
    columns = [f"{display[m][0]} ({d})" for m, d in pairs]
    value_rows, diff_rows = [], []
    for config in configs:
        if (config, *pairs[0]) in means.index:
            value_rows.append(
                [config, *(_interval(means.loc[(config, *p)]) for p in pairs)]
            )
        if (config, *pairs[0]) in diffs.index:
            cells = [config]
            for pair in pairs:
                row = diffs.loc[(config, *pair)]
                cells += [_interval(row, signed=True), fmt_p(row["p_value"])]
            diff_rows.append(cells)
    diff_header = ["configuration"]
    for column in columns:
        diff_header += [f"Δ{column} [95% CI]", "p"]
    return [
        "## Each arm decoded for the metric",
        "",
        "Each metric under the decode that suits it: the class nearest the "
        "expected value (`mean`) for MSE, the median class for MAE, the most "
        "probable class (`argmax`) for accuracy; the same fits as above, "
        "scored with every decode. A difference that holds here is not an "
        "artefact of one decode suiting one arm better.",
        "",
        *markdown_table(["configuration", *columns], value_rows),
        "",
        *markdown_table(diff_header, diff_rows),
    ]
