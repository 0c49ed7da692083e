"""The report's figures: each metric per configuration, the learning curve and
the training curves (matplotlib's object API, no global state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .configs import BASELINE
from .sections import CURVES_PNG, LEARNING_CURVE_PNG, learning_curve_frame, mean_curves
from .store import CURVE_VALUES

__all__ = ["extra_plots", "plot_summary"]


def _figure(width: float, height: float, n_rows: int, n_cols: int):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, np.atleast_1d(figure.subplots(n_rows, n_cols)).ravel()


def _errorbar(ax, x, rows, **kwargs):
    """``rows``' means at ``x`` with their 95% CIs as error bars."""
    mean = rows["mean"].to_numpy()
    errors = [mean - rows["ci_low"], rows["ci_high"] - mean]
    return ax.errorbar(x, mean, yerr=errors, capsize=3, **kwargs)


def _finish(figure, ax, path=None, ncols: int = 3, title: str | None = None):
    """Put ``ax``'s legend below the panels, write ``path`` if given."""
    handles, labels = ax.get_legend_handles_labels()
    ncols = max(1, min(ncols, len(labels)))
    figure.legend(
        handles, labels, title=title, loc="outside lower center", ncols=ncols,
        fontsize=8,
    )  # fmt: skip
    if path is not None:
        figure.savefig(path, dpi=110)
    return figure


def _short(name: str) -> str:
    for long, short in (
        ("control: ", ""), ("peer: ", ""), ("soft labels only", "soft labels"),
        ("uniform smoothing", "uniform"), ("permuted order", "permuted"),
    ):  # fmt: skip
        name = name.replace(long, short)
    return name


def plot_summary(result, path: str | Path | None = None):
    """Each metric per configuration with 95% CIs; dashed: the baseline's mean."""
    summary = result.summary().set_index(["config", "decode", "metric"])
    configs, metrics, decodes = result.configs, result.metrics, result.decodes
    baseline = configs.index(BASELINE) if BASELINE in configs else 0
    n_rows = -(-len(metrics) // 3)
    height = 3.2 * n_rows + 0.3 * len(configs)
    figure, axes = _figure(12.6, height, n_rows, 3)
    for ax in axes[len(metrics) :]:
        ax.set_axis_off()
    offsets = np.linspace(-0.15, 0.15, len(decodes))
    for ax, metric in zip(axes, metrics, strict=False):
        for offset, decode in zip(offsets, decodes, strict=True):
            rows = summary.reindex([(c, decode, metric) for c in configs])
            x = np.arange(len(configs)) + offset
            line = _errorbar(ax, x, rows, fmt="o", label=decode)
            color = line[0].get_color()
            mean = rows["mean"].iloc[baseline]
            ax.axhline(mean, linestyle="--", linewidth=0.8, color=color)
        ax.set_title(metrics[metric][0])
        ax.set_xticks(np.arange(len(configs)))
        labels = [_short(c) for c in configs]
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    title = "decode (dashed line: baseline)"
    return _finish(figure, axes[0], path, len(decodes), title)


def extra_plots(result, out_dir: Path, metrics) -> dict[str, Path]:
    """Write the learning-curve and training-curve plots the job has."""
    paths = {}
    curve = learning_curve_frame(result)
    if curve is not None and not curve.empty:
        paths[LEARNING_CURVE_PNG] = out_dir / LEARNING_CURVE_PNG
        _learning_curve(curve, metrics, result.metrics, paths[LEARNING_CURVE_PNG])
    if result.curves is not None and not result.curves.empty:
        paths[CURVES_PNG] = out_dir / CURVES_PNG
        _training_curves(result.curves, result.configs, paths[CURVES_PNG])
    return paths


def _learning_curve(curve, metrics, display, path):
    """Difference to the baseline against training size, with 95% CIs."""
    from matplotlib.ticker import NullLocator

    configs = list(dict.fromkeys(curve["config"]))
    figure, axes = _figure(4.2 * len(metrics), 3.6, 1, len(metrics))
    offsets = np.linspace(-0.015, 0.015, len(configs)) if len(configs) > 1 else [0]
    ticks = sorted(set(np.round(curve["n_train"]).astype(int)))
    for ax, metric in zip(axes, metrics, strict=True):
        part = curve[curve["metric"] == metric]
        for offset, config in zip(offsets, configs, strict=True):
            rows = part[part["config"] == config].sort_values("train_size")
            x = rows["n_train"].to_numpy() * 10**offset
            _errorbar(ax, x, rows, fmt="o-", label=config)
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("training samples (log scale)")
        better = "higher" if display[metric][1] else "lower"
        ax.set_title(f"Δ{display[metric][0]} vs baseline ({better} is better)")
    return _finish(figure, axes[0], path)


def _training_curves(curves, configs, path):
    """Mean curve ± one std per configuration, one panel per recorded value."""
    from matplotlib.ticker import MaxNLocator

    grouped = mean_curves(curves)
    mean, std = grouped.mean(), grouped.std()
    values = [v for v in CURVE_VALUES if np.isfinite(mean[v]).any()]
    figure, axes = _figure(max(7.0, 4.6 * len(values)), 4.0, 1, len(values))
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
    return _finish(figure, axes[0], path, ncols=2 if len(values) == 1 else 3)
