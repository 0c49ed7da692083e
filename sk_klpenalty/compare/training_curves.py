"""Did the fits converge? Each fit's per-epoch curves, kept and plotted.

Every fit of the comparison records its training loss per epoch from
skorch's history (and ``valid_loss`` / ``valid_acc`` where the estimator holds
out a validation split, ``train_split=ValidSplit(...)``). They go to
``curves.csv`` beside ``results.csv``, written just before the fit's results,
so a resumed job keeps the curves of the folds it keeps. The report shows
the mean curve per configuration and how much the loss still fell at the end.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from .formatting import finish_figure, fmt, markdown_table
from .store import record_key

__all__ = [
    "CURVE_COLUMNS",
    "CurveStore",
    "convergence_table",
    "curves_frame",
    "history_curve",
    "plot_training_curves",
]

_KEY_COLUMNS = ["config", "train_size", "repeat", "fold"]
_VALUES = {"train_loss": "training loss", "valid_loss": "validation loss"}
_VALUES["valid_acc"] = "validation accuracy"
CURVE_COLUMNS = [*_KEY_COLUMNS, "epoch", *_VALUES]
#: Share of the last epochs over which the report measures the loss's fall.
TAIL = 0.2


def history_curve(model) -> list[dict]:
    """One row per epoch of a fitted skorch model: ``epoch`` and the values.

    Values the history lacks (no validation split) are NaN.
    """
    rows = []
    for epoch, row in enumerate(model.history, start=1):
        values = {name: float(row.get(name, math.nan)) for name in _VALUES}
        rows.append({"epoch": epoch, **values})
    return rows


class CurveStore:
    """``curves.csv``, appended one fit at a time (nothing without ``out_dir``).

    Parameters
    ----------
    out_dir : path or None
    keep : set of tuple or None
        On resume, the ``(config, repeat, fold, train_size)`` keys of the fits
        whose results are kept; their curves are kept too, the rest dropped.
        ``None`` starts an empty file.
    """

    def __init__(self, out_dir, keep: set | None = None) -> None:
        self.rows: list[dict] = []
        self.path = None if out_dir is None else Path(out_dir) / "curves.csv"
        if self.path is None:
            return
        if keep is not None and self.path.exists():
            with open(self.path, newline="") as f:
                self.rows = [
                    row
                    for row in map(_parse_row, csv.DictReader(f))
                    if row is not None and record_key(row) in keep
                ]
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CURVE_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows)

    def append(self, rows: list[dict]) -> None:
        self.rows.extend(rows)
        if self.path is None:
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=CURVE_COLUMNS).writerows(rows)
            f.flush()


def _parse_row(row: dict) -> dict | None:
    try:
        parsed = {"config": row["config"], "repeat": int(row["repeat"])}
        parsed.update(fold=int(row["fold"]), epoch=int(row["epoch"]))
        for name in ("train_size", *_VALUES):
            parsed[name] = float(row[name] or math.nan)
    except (KeyError, TypeError, ValueError):
        return None  # a row cut short by a kill
    return parsed


def curves_frame(rows: list[dict]):
    import pandas as pd

    frame = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    return frame.sort_values([*_KEY_COLUMNS, "epoch"], kind="stable")


def _main_curves(curves):
    """The curves at the largest training size, averaged over splits."""
    curves = curves[curves["train_size"] == curves["train_size"].max()]
    return curves.groupby(["config", "epoch"], sort=False)[list(_VALUES)]


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
    values = [v for v in _VALUES if np.isfinite(mean[v]).any()]
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
        ax.set_title(f"mean {_VALUES[value]} per configuration")
    return finish_figure(figure, axes[0], path, ncols=2 if len(values) == 1 else 3)
