"""The parts of the report around its two main tables: what was run, and the
sections that appear when the job has them: the peers, nested tuning, each
arm decoded for the metric, the learning curve and the training curves.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .formatting import finish_figure, fmt, fmt_p, interval, markdown_table
from .learning_curve import learning_curve
from .nested import NESTED, chosen_table
from .store import CURVE_VALUES

__all__ = ["FAIR_DECODES", "extra_plots", "extra_sections", "header"]

#: Metric -> the decode that suits it.
FAIR_DECODES = {"mse": "mean", "mae": "median", "accuracy": "argmax"}
#: Share of the last epochs over which the report measures the loss's fall.
TAIL = 0.2
LEARNING_CURVE_PNG, CURVES_PNG = "learning-curve.png", "curves.png"


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
    """Which sign of Δ is better, e.g. "Negative Δ for MSE/MAE and positive Δ
    for accuracy mean better than the baseline."."""
    lower = "/".join(metrics[m][0] for m in shown if not metrics[m][1])
    higher = "/".join(metrics[m][0] for m in shown if metrics[m][1])
    parts = [f"negative Δ for {lower}"] if lower else []
    parts += [f"positive Δ for {higher}"] if higher else []
    text = " and ".join(parts)
    return f"{text[0].upper()}{text[1:]} mean better than the baseline."


def best_setting_note(result) -> list[str]:
    """On the best penalty setting: chosen on the reported folds (so
    optimistic), unless it was the only one."""
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


def peer_sections(result, metrics) -> list[str]:
    """The peers' settings, and each peer against the best penalty."""
    settings = result.job.get("peer_settings")
    if not result.peers or not settings:
        return []
    lines = [
        "", "## Peers: the methods a user would otherwise pick", "",
        "Same folds, seeds, network trunk, epochs and optimiser as the "
        "baseline; each is in both tables above. Settings:", "",
    ]  # fmt: skip
    for name in result.peers:
        entry = dict(settings.get(name, {}))
        estimator = entry.pop("estimator", "?")
        described = ", ".join(f"{k}={v}" for k, v in entry.items())
        lines.append(f"- {name}: `{estimator}` {described}".rstrip())
    best = result.job.get("best_penalty")
    if best:
        lines += [
            "",
            f"## Peers against the best penalty setting ({best}, same decode, "
            "same folds)",
            "",
            "Negative Δ for MSE/MAE and positive Δ for accuracy mean the peer is "
            "better than the penalty. The best setting was chosen on these "
            "folds, which favours it.",
            "",
            *result.comparison_table(metrics, best, result.peers),
        ]
    return lines


def _nested_section(result) -> list[str]:
    tune = result.job.get("tune", {})
    inner_cv = tune.get("inner_cv", "?")
    inner_cv = f"{inner_cv}-fold stratified" if inner_cv.isdigit() else inner_cv
    scoring = tune.get("inner_scoring", "?").strip("'")
    return [
        "", "## Tuned penalty (nested cross-validation)", "",
        "On each outer training fold a `GridSearchCV` over the penalty settings "
        f"(inner folds: {inner_cv}; scoring: `{scoring}`) chose one without "
        "seeing the outer test fold; the choice was refit on the outer training "
        f"fold and scored on the outer test fold. The row `{NESTED}` above "
        "therefore estimates what tuning the penalty and then using it gains, "
        "free of the selection bias of the best setting picked on the reported "
        "folds.", "",
        *chosen_table(result.records),
    ]  # fmt: skip


def _fair_decoding_section(result) -> list[str]:
    """Each metric under the decode that suits it (every decode is scored)."""
    display, summary = result.metrics, result.summary()
    pairs = [(m, d) for m, d in FAIR_DECODES.items() if m in display]
    scored = set(zip(summary["metric"], summary["decode"], strict=True))
    if not pairs or not all(pair in scored for pair in pairs):
        return []
    means = summary.set_index(["config", "metric", "decode"])
    diffs = result.comparison().set_index(["config", "metric", "decode"])
    columns = [f"{display[m][0]} ({d})" for m, d in pairs]
    values, deltas = [], []
    for config in result.configs:
        if (config, *pairs[0]) in means.index:
            values.append([config, *(interval(means.loc[(config, *p)]) for p in pairs)])
        if (config, *pairs[0]) in diffs.index:
            cells = [config]
            for pair in pairs:
                row = diffs.loc[(config, *pair)]
                cells += [interval(row, signed=True), fmt_p(row["p_value"])]
            deltas.append(cells)
    delta_header = ["configuration"]
    for column in columns:
        delta_header += [f"Δ{column} [95% CI]", "p"]
    return [
        "", "## Each arm decoded for the metric", "",
        "Each metric under the decode that suits it: the class nearest the "
        "expected value (`mean`) for MSE, the median class for MAE, the most "
        "probable class (`argmax`) for accuracy; the same fits as above, "
        "scored with every decode. A difference that holds here is not an "
        "artefact of one decode suiting one arm better.", "",
        *markdown_table(["configuration", *columns], values), "",
        *markdown_table(delta_header, deltas),
    ]  # fmt: skip


def learning_curve_frame(result):
    """Differences to the baseline at every training size (decode: the first)."""
    if len(result.job.get("train_sizes", [1.0])) < 2:
        return None
    return learning_curve(
        result.records, result.baseline_of, list(result.metrics), result.decodes[0]
    )


def _learning_curve_section(result, metrics, curve) -> list[str]:
    header_ = ["configuration", "train size", "n_train"]
    for metric in metrics:
        name = result.metrics[metric][0]
        header_ += [f"baseline {name}", f"Δ{name} [95% CI]", "p"]
    table, rows = curve.set_index(["config", "train_size", "metric"]), []
    for config in dict.fromkeys(curve["config"]):
        for size in sorted(set(curve["train_size"])):
            if (config, size, metrics[0]) not in table.index:
                continue
            n_train = table.loc[(config, size, metrics[0]), "n_train"]
            cells = [config, f"{size:g}", f"{n_train:.0f}"]
            for metric in metrics:
                c = table.loc[(config, size, metric)]
                cells += [
                    fmt(c["baseline_mean"]),
                    interval(c, True),
                    fmt_p(c["p_value"]),
                ]
            rows.append(cells)
    return [
        "", "## Difference to the baseline by training-set size", "",
        "Each outer training fold subsampled to each fraction (stratified, "
        "seeded; the same subsample for every configuration); the test folds "
        f"stay whole. Decode `{result.decodes[0]}`. Every size trains for the "
        "same number of epochs, so smaller sets also take fewer gradient steps.",
        "", *markdown_table(header_, rows),
    ]  # fmt: skip


def _mean_curves(curves):
    """The curves at the largest training size, grouped by config and epoch."""
    curves = curves[curves["train_size"] == curves["train_size"].max()]
    return curves.groupby(["config", "epoch"], sort=False)[list(CURVE_VALUES)]


def _training_curves_section(result) -> list[str]:
    mean = _mean_curves(result.curves).mean()
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
            cells += [
                fmt(curve["valid_loss"].iloc[-1]),
                fmt(curve["valid_acc"].iloc[-1]),
            ]
        rows.append(cells)
    return [
        "", "## Training curves: did the fits converge?", "",
        "Mean over the fits at the largest training size. The penalty arms' "
        "training loss includes the KL term, so compare shapes, not levels, "
        "across configurations; a loss still falling at the last epoch means "
        "the fits had not converged.", "",
        *markdown_table(header_, rows),
    ]  # fmt: skip


def extra_sections(result, metrics, images: bool = False) -> list[str]:
    """The sections the job has; ``images`` links the plots of :func:`extra_plots`."""
    lines = peer_sections(result, metrics) + best_setting_note(result)
    if NESTED in result.configs:
        lines += _nested_section(result)
    lines += _fair_decoding_section(result)
    curve = learning_curve_frame(result)
    if curve is not None and not curve.empty:
        lines += _learning_curve_section(result, metrics, curve)
        lines += ["", f"![learning curve]({LEARNING_CURVE_PNG})"] if images else []
    if result.curves is not None and not result.curves.empty:
        lines += _training_curves_section(result)
        lines += ["", f"![training curves]({CURVES_PNG})"] if images else []
    return lines


def extra_plots(result, out_dir: Path, metrics) -> dict[str, Path]:
    """Write the learning-curve and training-curve plots the job has."""
    paths = {}
    curve = learning_curve_frame(result)
    if curve is not None and not curve.empty:
        paths[LEARNING_CURVE_PNG] = out_dir / LEARNING_CURVE_PNG
        _plot_learning_curve(curve, metrics, result.metrics, paths[LEARNING_CURVE_PNG])
    if result.curves is not None and not result.curves.empty:
        paths[CURVES_PNG] = out_dir / CURVES_PNG
        _plot_training_curves(result.curves, result.configs, paths[CURVES_PNG])
    return paths


def _plot_learning_curve(curve, metrics, display, path):
    """Difference to the baseline against training size, with 95% CIs."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    configs = list(dict.fromkeys(curve["config"]))
    figure = Figure(figsize=(4.2 * len(metrics), 3.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(metrics)))
    offsets = np.linspace(-0.015, 0.015, len(configs)) if len(configs) > 1 else [0]
    ticks = sorted(set(np.round(curve["n_train"]).astype(int)))
    for ax, metric in zip(axes, metrics, strict=True):
        part = curve[curve["metric"] == metric]
        for offset, config in zip(offsets, configs, strict=True):
            rows = part[part["config"] == config].sort_values("train_size")
            mean = rows["mean"].to_numpy()
            errors = [mean - rows["ci_low"], rows["ci_high"] - mean]
            x = rows["n_train"].to_numpy() * 10**offset
            ax.errorbar(x, mean, yerr=errors, fmt="o-", capsize=3, label=config)
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("training samples (log scale)")
        better = "higher" if display[metric][1] else "lower"
        ax.set_title(f"Δ{display[metric][0]} vs baseline ({better} is better)")
    return finish_figure(figure, axes[0], path)


def _plot_training_curves(curves, configs, path):
    """Mean curve per configuration (band: ± one standard deviation over the
    fits), one panel per recorded value."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    grouped = _mean_curves(curves)
    mean, std = grouped.mean(), grouped.std()
    values = [v for v in CURVE_VALUES if np.isfinite(mean[v]).any()]
    figure = Figure(figsize=(max(7.0, 4.6 * len(values)), 4.0), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(values)))
    present = [c for c in configs if c in mean.index.get_level_values("config")]
    for ax, value in zip(axes, values, strict=True):
        for config in present:
            m = mean.loc[config, value].sort_index()
            s = std.loc[config, value].reindex(m.index).fillna(0.0)
            line = ax.plot(m.index, m.to_numpy(), marker=".", label=config)
            ax.fill_between(
                m.index, m - s, m + s, alpha=0.15, color=line[0].get_color()
            )
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"mean {CURVE_VALUES[value]} per configuration")
    return finish_figure(figure, axes[0], path, ncols=2 if len(values) == 1 else 3)
