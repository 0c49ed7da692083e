"""The report in markdown: its header, its tables and the sections a job has."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np

from .configs import NESTED, chosen_settings, setting_name
from .stats import learning_curve
from .store import CURVE_VALUES

__all__ = ["FAIR_DECODES", "fmt", "learning_curve_frame", "markdown", "stat_table"]

#: Metric -> the decode that suits it.
FAIR_DECODES = {"mse": "mean", "mae": "median", "accuracy": "argmax"}
#: Share of the last epochs over which the report measures the loss's fall.
TAIL = 0.2
LEARNING_CURVE_PNG, CURVES_PNG = "learning-curve.png", "curves.png"
#: The key columns of the main tables, and their headers.
BY = {"config": "configuration", "decode": "decode"}


def fmt(value: float, signed: bool = False) -> str:
    """A number with about 3 significant digits; ``n/a`` when missing.

    Examples
    --------
    >>> fmt(71.214), fmt(-0.78213, signed=True), fmt(float("nan"))
    ('71.21', '-0.782', 'n/a')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    digits = 1 if abs(value) >= 100 else 2 if abs(value) >= 1 else 3
    return f"{value:{'+' if signed else ''}.{digits}f}"


def fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def interval(row, signed: bool = False) -> str:
    low, high = fmt(row["ci_low"], signed), fmt(row["ci_high"], signed)
    return f"{fmt(row['mean'], signed)} [{low}, {high}]"


#: The cells of a metric in :func:`stat_table`: (header, cell of a stats row).
MEAN = [("{}", interval)]
DELTA = [
    ("Δ{} [95% CI]", lambda row: interval(row, signed=True)),
    ("p", lambda row: fmt_p(row["p_value"])),
]


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def stat_table(stats, by: dict, keys, metrics: dict, cells) -> list[str]:
    """A markdown row per key (of the ``by`` columns) of ``stats``: metrics' cells."""
    table = stats.set_index([*by, "metric"])
    first = next(iter(metrics))
    rows = [
        [
            *(f"{k:g}" if isinstance(k, float) else str(k) for k in key),
            *(cell(table.loc[(*key, m)]) for m in metrics for _, cell in cells),
        ]
        for key in keys
        if (*key, first) in table.index
    ]
    names = [head.format(name) for name in metrics.values() for head, _ in cells]
    return markdown_table([*by.values(), *names], rows)


def markdown(result, compare_metrics, images: bool = False) -> str:
    """The report; ``images`` links its plots."""
    metrics = result.metrics
    shown = [m for m in compare_metrics if m in metrics] or list(metrics)
    keys = itertools.product(result.configs, result.decodes)
    names = {m: name for m, (name, _) in metrics.items()}
    lines = [
        "# Cross-entropy vs cross-entropy + KL penalty", "",
        *header(result), "",
        "## Mean per configuration [95% CI]", "",
        *stat_table(result.summary(), BY, keys, names, MEAN), "",
        "## Difference to the baseline (alpha=0, same decode, same folds)", "",
        direction_note(metrics, shown), "",
        *result.comparison_table(shown),
        *_peer_sections(result, shown),
        *_best_setting_note(result),
        *(_nested_section(result) if NESTED in result.configs else []),
        *_fair_decoding_section(result),
    ]  # fmt: skip
    curve = learning_curve_frame(result)
    if curve is not None and not curve.empty:
        lines += _learning_curve_section(result, shown, curve)
        lines += ["", f"![learning curve]({LEARNING_CURVE_PNG})"] if images else []
    if result.curves is not None and not result.curves.empty:
        lines += _training_curves_section(result)
        lines += ["", f"![training curves]({CURVES_PNG})"] if images else []
    return "\n".join(lines) + "\n"


def header(result) -> list[str]:
    """What was compared, on what data and folds, with which intervals."""
    job, main = result.job, result.main_records()
    n_fits = main.groupby("config").size().max() // max(1, main["decode"].nunique())
    if "source" in job:
        lines = [
            f"Source: `cv_results_` of {job['source']}. Folds: {job['cv']} "
            f"({n_fits} splits per candidate). Scores as the search computed "
            "them on its test folds; scores that scikit-learn negates "
            "(`neg_*`) are shown un-negated (an MSE, not minus an MSE)."
        ]
    else:
        numbers = all(isinstance(c, int | float) for c in job["classes"])
        units = "in label units" if numbers else (
            "on class positions 0..K-1 in the given order (the labels are not "
            "numbers: an error of 1 is one class step)"
        )  # fmt: skip
        lines = [
            f"Data: {job['n_samples']} samples of shape "
            f"{tuple(job['sample_shape'])}, {len(job['classes'])} classes. "
            f"Folds: {job['cv']} ({n_fits} fits per configuration). Metrics on "
            f"the held-out folds, {units}; `within ±k` uses k = {job['within']:g}."
        ]
    if job.get("groups_sha256"):
        lines.append("Groups: no group is on both sides of any split.")
    if job.get("description"):
        lines.append(f"Setup: {job['description']}")
    sizes = job.get("train_sizes", [1.0])
    if len(sizes) > 1 or sizes[-1] != 1.0:
        lines.append(
            f"Main tables: each model trained on {sizes[-1]:.0%} of its training "
            "fold; the learning curve below shows the other sizes."
        )
    lines.append(
        "Intervals: 95%, corrected resampled t (Nadeau & Bengio 2003), "
        f"test/train ratio {job['test_train_ratio']:.3f}."
    )
    return lines


def direction_note(metrics: dict, shown) -> str:
    """Which sign of Δ is better for each metric."""
    lower = "/".join(metrics[m][0] for m in shown if not metrics[m][1])
    higher = "/".join(metrics[m][0] for m in shown if metrics[m][1])
    parts = [f"negative Δ for {lower}"] if lower else []
    parts += [f"positive Δ for {higher}"] if higher else []
    text = " and ".join(parts)
    return f"{text[0].upper()}{text[1:]} mean better than the baseline."


def _best_setting_note(result) -> list[str]:
    """The best setting: optimistic, as chosen on these folds, unless the only one."""
    best = result.job.get("best_penalty")
    if not best:
        return []
    main = result.main_records()
    controls = any(c.startswith("control: ") for c in result.configs)
    if main.loc[main["kind"] == "penalty", "config"].nunique() == 1:
        text = f"Penalty setting: **{best}**, the only one, so nothing was chosen."
        text += " The controls use it." if controls else ""
    else:
        default = f"lowest mean MSE, decode `{result.decodes[0]}`"
        text = (
            f"Best penalty setting ({result.job.get('selection', default)}): "
            f"**{best}**. It was chosen on these folds, so its gain over the "
            "baseline is optimistic"
        )
        text += "; the controls use its setting." if controls else "."
        if NESTED in result.configs:
            text += f" The row `{NESTED}` is tuned without that bias."
    if controls:
        text += (
            " If the gain is ordinal, the permuted-order control should not match it."
        )
    return ["", text]


def _peer_sections(result, metrics) -> list[str]:
    """The peers' settings, and each peer against the best penalty."""
    settings = result.job.get("peer_settings")
    if not result.peers or not settings:
        return []
    lines = [
        "", "## Peers: the methods a user would otherwise pick", "",
        "Same folds, seeds, network trunk, epochs and optimiser as the baseline. "
        "Settings:", "",
    ]  # fmt: skip
    for name in result.peers:
        entry = dict(settings.get(name, {}))
        estimator = entry.pop("estimator", "?")
        described = ", ".join(f"{k}={v}" for k, v in entry.items())
        lines.append(f"- {name}: `{estimator}` {described}".rstrip())
    best = result.job.get("best_penalty")
    if best:
        lines += [
            "", f"## Peers against the best penalty setting ({best}, same decode, "
            "same folds)", "",
            "Δ: the peer minus the penalty, whose setting was chosen on these "
            "folds (which favours it).", "",
            *result.comparison_table(metrics, best, result.peers),
        ]  # fmt: skip
    return lines


def _nested_section(result) -> list[str]:
    tune = result.job["tune"]  # repr()s
    inner_cv, scoring = tune["inner_cv"], tune["inner_scoring"].strip("'")
    inner_cv = f"{inner_cv}-fold stratified" if inner_cv.isdigit() else inner_cv
    chosen = chosen_settings(result.records)  # per outer fold, at the largest size
    chosen = chosen[chosen["train_size"] == chosen["train_size"].max()]
    names = [setting_name(r) for r in chosen.iloc[:, 3:].to_dict("records")]
    rows = [
        [str(r), str(f), n]
        for r, f, n in zip(chosen["repeat"], chosen["fold"], names, strict=True)
    ]
    won = ", ".join(f"{k} ({n} of {len(names)})" for k, n in Counter(names).items())
    return [
        "", "## Tuned penalty (nested cross-validation)", "",
        "On each outer training fold a `GridSearchCV` over the penalty settings "
        f"(inner folds: {inner_cv}; scoring: `{scoring}`) chose one; its refit was "
        f"scored on the outer test fold as the row `{NESTED}`.", "",
        *markdown_table(["repeat", "outer fold", "chosen setting"], rows), "",
        f"Chosen: {won}.",
    ]  # fmt: skip


def _fair_decoding_section(result) -> list[str]:
    """Each metric under the decode that suits it."""
    summary = result.summary()
    pairs = {m: d for m, d in FAIR_DECODES.items() if m in result.metrics}
    scored = set(zip(summary["metric"], summary["decode"], strict=True))
    if not pairs or not set(pairs.items()) <= scored:
        return []
    names = {m: f"{result.metrics[m][0]} ({d})" for m, d in pairs.items()}
    keys = [(config,) for config in result.configs]
    by = {"config": "configuration"}

    def fair(stats):  # each metric's rows under its decode
        return stats[stats["decode"] == stats["metric"].map(pairs)]

    return [
        "", "## Each arm decoded for the metric", "",
        "Each metric under the decode that suits it (`mean` for MSE, `median` "
        "for MAE, `argmax` for accuracy), from the same fits.", "",
        *stat_table(fair(summary), by, keys, names, MEAN), "",
        *stat_table(fair(result.comparison()), by, keys, names, DELTA),
    ]  # fmt: skip


def learning_curve_frame(result):
    """Differences to the baseline at every training size (decode: the first)."""
    if len(result.job.get("train_sizes", [1.0])) < 2:
        return None
    return learning_curve(
        result.records, result.baseline_of, list(result.metrics), result.decodes[0]
    )


def _learning_curve_section(result, metrics, curve) -> list[str]:
    curve = curve.assign(n_train=curve["n_train"].round().astype(int))
    by = {"config": "configuration", "train_size": "train size", "n_train": "n_train"}
    keys = curve[list(by)].drop_duplicates().itertuples(index=False, name=None)
    order = list(result.configs)
    keys = sorted(keys, key=lambda key: (order.index(key[0]), key[1]))
    names = {m: result.metrics[m][0] for m in metrics}
    cells = [("baseline {}", lambda row: fmt(row["baseline_mean"])), *DELTA]
    return [
        "", "## Difference to the baseline by training-set size", "",
        "Stratified, seeded subsamples of each training fold, the same for "
        f"every configuration; whole test folds; decode `{result.decodes[0]}`; "
        "the same epochs at every size.",
        "", *stat_table(curve, by, keys, names, cells),
    ]  # fmt: skip


def mean_curves(curves):
    """The curves at the largest training size, grouped by config and epoch."""
    curves = curves[curves["train_size"] == curves["train_size"].max()]
    return curves.groupby(["config", "epoch"], sort=False)[list(CURVE_VALUES)]


def _training_curves_section(result) -> list[str]:
    mean = mean_curves(result.curves).mean()
    header_ = ["configuration", "epochs", "training loss, epoch 1", "last epoch"]
    header_.append(f"fall over the last {TAIL:.0%} of epochs")
    has_valid = bool(np.isfinite(mean["valid_loss"]).any())
    if has_valid:
        header_ += ["validation loss, last", "validation accuracy, last"]
    rows = []
    for config in result.configs:
        if config not in mean.index.get_level_values("config"):
            continue
        curve = mean.loc[config].sort_index()
        loss = curve["train_loss"].to_numpy()
        tail = max(1, round(TAIL * len(loss)))
        before = loss[-1 - tail] if len(loss) > tail else math.nan
        fall = (before - loss[-1]) / before if before else math.nan
        cells = [config, str(len(loss)), fmt(loss[0]), fmt(loss[-1])]
        cells.append("n/a" if not np.isfinite(fall) else f"{fall:.1%}")
        if has_valid:
            last = curve.iloc[-1]
            cells += [fmt(last["valid_loss"]), fmt(last["valid_acc"])]
        rows.append(cells)
    return [
        "", "## Training curves: did the fits converge?", "",
        "Mean over the fits at the largest training size. The penalty's loss "
        "includes the KL term: compare shapes, not levels.", "",
        *markdown_table(header_, rows),
    ]  # fmt: skip
