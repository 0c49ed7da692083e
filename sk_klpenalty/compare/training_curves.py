"""Did the fits converge? The mean per-epoch curve of each configuration
(from ``curves.csv``, see :mod:`.store`), tabulated and plotted."""

from __future__ import annotations

import math

import numpy as np

from .formatting import finish_figure, fmt, markdown_table
from .store import CURVE_VALUES

__all__ = ["convergence_table", "plot_training_curves"]

#: Share of the last epochs over which the report measures the loss's fall.
TAIL = 0.2


def _main_curves(curves):
    """The curves at the largest training size, averaged over splits."""
    curves = curves[curves["train_size"] == curves["train_size"].max()]
    return curves.groupby(["config", "epoch"], sort=False)[list(CURVE_VALUES)]


def convergence_table(curves, configs: list[str]) -> list[str]:
    """Markdown: per configuration, the mean loss at the start and the end, and
    how much it still fell over the last epochs."""
    mean = _main_curves(curves).mean()
    header = ["configuration", "epochs", "training loss, epoch 1", "last epoch"]
    header.append(f"fall over the last {TAIL:.0%} of epochs")
    has_valid = bool(np.isfinite(mean["valid_loss"]).any())
    if has_valid:
        header += ["validation loss, last", "validation accuracy, last"]
    rows = []
    for config in configs:
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
            cells += [fmt(curve["valid_loss"].iloc[-1])]
            cells += [fmt(curve["valid_acc"].iloc[-1])]
        rows.append(cells)
    return markdown_table(header, rows)


def plot_training_curves(curves, configs: list[str], path=None):
    """Mean curve per configuration (band: ± one standard deviation over the
    fits), one panel per recorded value. Returns the matplotlib Figure."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    grouped = _main_curves(curves)
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
