"""A measurement with its target, and the table the bench prints."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Measurement", "format_table"]


@dataclass
class Measurement:
    """One row of the bench table.

    Attributes
    ----------
    name : str
        What was measured.
    unit : str
        ``"ms"``, ``"s"``, ``"img/s"`` or ``"x"`` (a ratio).
    values : list of float
        One value per repeat; empty when the measurement is n/a.
    target : str or None
        ``">= 100"``, ``"<= 3"``, ...; None for rows that only inform.
    note : str
        Why a target is n/a, or "".
    """

    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def met(self) -> bool | None:
        """Whether the median meets the target (None: no target, or n/a)."""
        if self.target is None or not self.values:
            return None
        operator, bound = self.target.split()
        if operator == ">=":
            return self.median >= float(bound)
        return self.median <= float(bound)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": self.median,
            "min": min(self.values) if self.values else None,
            "max": max(self.values) if self.values else None,
            "values": list(self.values),
            "target": self.target,
            "met": self.met,
            "note": self.note,
        }


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if value >= 0.1 else f"{value:.4f}"


def format_table(measurements: Sequence[Measurement]) -> str:
    """The bench table: measurement, median, min-max, target, met.

    Parameters
    ----------
    measurements : sequence of Measurement

    Returns
    -------
    str
    """
    header = ("measurement", "median", "min-max", "target", "met")
    rows = []
    for m in measurements:
        if m.values:
            median = f"{_number(m.median)} {m.unit}"
            spread = f"{_number(min(m.values))}-{_number(max(m.values))}"
        else:
            median, spread = "n/a", "n/a"
        if m.target is None:
            met = ""
        elif m.met is None:
            met = "n/a"
        else:
            met = "yes" if m.met else "no"
        rows.append((m.name, median, spread, m.target or "", met))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(5)]
    lines = []
    for row in (header, *rows):
        right = [
            cell.rjust(width) for cell, width in zip(row[1:4], widths[1:4], strict=True)
        ]
        lines.append("  ".join([row[0].ljust(widths[0]), *right, row[4]]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
