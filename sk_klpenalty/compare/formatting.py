"""Numbers and tables as the report prints them (markdown)."""

from __future__ import annotations

import numpy as np

__all__ = ["fmt", "fmt_p", "markdown_table"]


def fmt(value: float, signed: bool = False) -> str:
    """A number with 3 significant-ish digits; ``n/a`` when missing.

    Examples
    --------
    >>> fmt(71.214), fmt(-0.78213, signed=True), fmt(float("nan"))
    ('71.21', '-0.782', 'n/a')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    sign = "+" if signed else ""
    magnitude = abs(value)
    digits = 1 if magnitude >= 100 else 2 if magnitude >= 1 else 3
    return f"{value:{sign}.{digits}f}"


def fmt_p(p: float) -> str:
    """A p-value: three decimals, or ``<0.001``."""
    if p is None or not np.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
