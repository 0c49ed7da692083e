"""Numbers, tables and figures as the report shows them."""

from __future__ import annotations

import numpy as np

__all__ = ["finish_figure", "fmt", "fmt_p", "interval", "markdown_table"]


def fmt(value: float, signed: bool = False) -> str:
    """A number with about 3 significant digits; ``n/a`` when missing.

    Examples
    --------
    >>> fmt(71.214), fmt(-0.78213, signed=True), fmt(float("nan"))
    ('71.21', '-0.782', 'n/a')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    digits = 1 if magnitude >= 100 else 2 if magnitude >= 1 else 3
    return f"{value:{'+' if signed else ''}.{digits}f}"


def fmt_p(p: float) -> str:
    """A p-value: three decimals, or ``<0.001``."""
    if p is None or not np.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def interval(row, signed: bool = False) -> str:
    """``mean [ci_low, ci_high]`` of a row of statistics."""
    low, high = fmt(row["ci_low"], signed), fmt(row["ci_high"], signed)
    return f"{fmt(row['mean'], signed)} [{low}, {high}]"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def finish_figure(figure, ax, path=None, ncols: int = 3, title: str | None = None):
    """Put ``ax``'s legend below the panels, write ``path`` if given, return
    the figure."""
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        title=title,
        loc="outside lower center",
        ncols=max(1, min(ncols, len(labels))),
        fontsize=8,
    )
    if path is not None:
        figure.savefig(path, dpi=110)
    return figure
