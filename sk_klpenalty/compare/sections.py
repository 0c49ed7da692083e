"""The parts of the report around its two main tables: what was run, and the
sections that appear when the job has them (nested tuning, each arm decoded
for the metric, the learning curve over training size, training curves).
"""

from __future__ import annotations

from pathlib import Path

from .fair_decoding import fair_decoding_section
from .learning_curve import learning_curve, learning_curve_table, plot_learning_curve
from .nested import NESTED, chosen_table
from .training_curves import convergence_table, plot_training_curves

__all__ = [
    "best_setting_note",
    "direction_note",
    "extra_plots",
    "extra_sections",
    "header",
    "learning_curve_frame",
    "metric_units",
]

LEARNING_CURVE_PNG = "learning-curve.png"
CURVES_PNG = "curves.png"


def header(result) -> list[str]:
    """What was compared, on what data and folds, with which intervals."""
    job = result.job
    main = result.main_records()
    n_fits = main.groupby("config").size().max() // max(1, _n_decodes(main))
    if "source" in job:
        lines = [
            f"Source: `cv_results_` of {job['source']}. Folds: {job['cv']} "
            f"({n_fits} splits per candidate). Scores as the search computed "
            "them on its test folds; scores that scikit-learn negates "
            "(`neg_*`) are shown un-negated (an MSE, not minus an MSE)."
        ]
    else:
        lines = [
            f"Data: {job['n_samples']} samples of shape "
            f"{tuple(job['sample_shape'])}, {len(job['classes'])} classes. "
            f"Folds: {job['cv']} ({n_fits} fits per configuration). Metrics on "
            f"the held-out folds, {metric_units(job['classes'])}; `within ±k` "
            f"uses k = {job['within']:g}."
        ]
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


def metric_units(classes: list) -> str:
    """In what units the report's metrics are: labels, or class positions."""
    if all(isinstance(c, int | float) for c in classes):
        return "in label units"
    return (
        "on class positions 0..K-1 in the given order (the labels are not "
        "numbers: an error of 1 is one class step)"
    )


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
    """The paragraph on the best penalty setting: chosen on the reported
    folds (so optimistic), unless it was the only one."""
    best = result.job.get("best_penalty")
    if not best:
        return []
    main = result.main_records()
    n_settings = main.loc[main["kind"] == "penalty", "config"].nunique()
    controls = any(c.startswith("control: ") for c in result.configs)
    if n_settings == 1:
        text = f"Penalty setting: **{best}**, the only one, so nothing was chosen."
        if controls:
            text += " The controls use it."
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


def _n_decodes(records) -> int:
    return records["decode"].nunique()


def learning_curve_frame(result):
    """Differences to the baseline at every training size (decode: the first)."""
    sizes = result.job.get("train_sizes", [1.0])
    if len(sizes) < 2:
        return None
    return learning_curve(
        result.records, result.baseline_of, list(result.metrics), result.decodes[0]
    )


def _shown(result, metrics=("mse", "mae", "accuracy")) -> list[str]:
    shown = [m for m in metrics if m in result.metrics]
    return shown or list(result.metrics)


def extra_sections(result, compare_metrics, images: bool = False) -> list[str]:
    """Markdown lines of the sections the job has; ``images`` links the plots
    that :func:`extra_plots` writes beside ``report.md``."""
    lines: list[str] = []
    if NESTED in result.configs:
        lines += ["", *_nested_section(result)]
    fair = fair_decoding_section(
        result.summary(), result.comparison(), result.configs, result.metrics
    )
    if fair:
        lines += ["", *fair]
    curve = learning_curve_frame(result)
    if curve is not None and not curve.empty:
        shown = _shown(result, compare_metrics)
        lines += [
            "",
            "## Difference to the baseline by training-set size",
            "",
            "Each outer training fold subsampled to each fraction (stratified, "
            "seeded; the same subsample for every configuration); the test "
            f"folds stay whole. Decode `{result.decodes[0]}`. Every size trains "
            "for the same number of epochs, so smaller sets also take fewer "
            "gradient steps.",
            "",
            *learning_curve_table(curve, shown, result.metrics),
        ]
        if images:
            lines += ["", f"![learning curve]({LEARNING_CURVE_PNG})"]
    curves = result.curves
    if curves is not None and not curves.empty:
        lines += [
            "",
            "## Training curves: did the fits converge?",
            "",
            "Mean over the fits at the largest training size. The penalty "
            "arms' training loss includes the KL term, so compare shapes, not "
            "levels, across configurations; a loss still falling at the last "
            "epoch means the fits had not converged.",
            "",
            *convergence_table(curves, result.configs),
        ]
        if images:
            lines += ["", f"![training curves]({CURVES_PNG})"]
    return lines


def _nested_section(result) -> list[str]:
    tune = result.job.get("tune", {})
    inner_cv = tune.get("inner_cv", "?")
    if inner_cv.isdigit():
        inner_cv = f"{inner_cv}-fold stratified"
    scoring = tune.get("inner_scoring", "?").strip("'")
    return [
        "## Tuned penalty (nested cross-validation)",
        "",
        "On each outer training fold a `GridSearchCV` over the penalty settings "
        f"(inner folds: {inner_cv}; scoring: `{scoring}`) chose one without "
        "seeing the "
        "outer test fold; the choice was refit on the outer training fold and "
        f"scored on the outer test fold. The row `{NESTED}` above therefore "
        "estimates what tuning the penalty and then using it gains, free of "
        "the selection bias of the best setting picked on the reported folds.",
        "",
        *chosen_table(result.records),
    ]


def extra_plots(result, out_dir: Path) -> dict[str, Path]:
    """Write the learning-curve and training-curve plots the job has."""
    paths = {}
    curve = learning_curve_frame(result)
    if curve is not None and not curve.empty:
        paths[LEARNING_CURVE_PNG] = out_dir / LEARNING_CURVE_PNG
        plot_learning_curve(
            curve, _shown(result), paths[LEARNING_CURVE_PNG], result.metrics
        )
    if result.curves is not None and not result.curves.empty:
        paths[CURVES_PNG] = out_dir / CURVES_PNG
        plot_training_curves(result.curves, result.configs, paths[CURVES_PNG])
    return paths
