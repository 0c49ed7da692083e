"""A measurement with its target, and the table the bench prints."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Measurement", "format_table", "median_interval"]

#: Confidence of the interval of each median (see :func:`median_interval`).
CONFIDENCE = 0.95


def median_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """A distribution-free confidence interval of the median of ``values``.

    The order statistics ``x_(k) <= median <= x_(n+1-k)`` with the largest
    ``k`` whose interval covers the median with at least ``confidence``
    (``P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2``); it assumes only
    independent repeats. With fewer than 6 values no such ``k`` exists
    and the interval is the whole range (for 5 values it covers the median
    with 94% confidence).

    Examples
    --------
    >>> median_interval([5.0, 1.0, 3.0])
    (1.0, 5.0)
    >>> median_interval(range(15))  # 4th and 12th of 15
    (3, 11)
    """
    from scipy.stats import binom

    ordered = sorted(values)
    n = len(ordered)
    tail = (1 - confidence) / 2
    below = int(binom.ppf(tail, n, 0.5))  # the smallest j with P(B <= j) >= tail
    if binom.cdf(below, n, 0.5) > tail:
        below -= 1  # now the largest j with P(B <= j) <= tail (-1 if none)
    k = max(1, below + 1)
    return ordered[k - 1], ordered[n - k]


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
    def interval(self) -> tuple[float, float] | None:
        """The median's confidence interval (:func:`median_interval`)."""
        return median_interval(self.values) if self.values else None

    def _meets(self, value: float) -> bool:
        operator, bound = self.target.split()
        return value >= float(bound) if operator == ">=" else value <= float(bound)

    @property
    def met(self) -> bool | None:
        """Whether the median meets the target (None: no target, or n/a)."""
        if self.target is None or not self.values:
            return None
        return self._meets(self.median)

    @property
    def clear(self) -> bool | None:
        """Whether the whole confidence interval is on the median's side of
        the target: False when the machine's noise could turn the verdict."""
        if self.met is None:
            return None
        return all(self._meets(end) == self.met for end in self.interval)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": self.median,
            "min": min(self.values) if self.values else None,
            "max": max(self.values) if self.values else None,
            "median_ci": list(self.interval) if self.values else None,
            "values": list(self.values),
            "target": self.target,
            "met": self.met,
            "clear": self.clear,
            "note": self.note,
        }


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if value >= 0.1 else f"{value:.4f}"


def format_table(measurements: Sequence[Measurement]) -> str:
    """The bench table: measurement, median, its 95% CI, min-max, target, met.

    ``met`` is ``yes`` or ``no`` by the median, followed by ``?`` where the
    median's confidence interval spans the target.

    Parameters
    ----------
    measurements : sequence of Measurement

    Returns
    -------
    str
    """
    header = ("measurement", "median", "95% CI", "min-max", "target", "met")
    rows = []
    for m in measurements:
        if m.values:
            median = f"{_number(m.median)} {m.unit}"
            interval = "-".join(_number(end) for end in m.interval)
            spread = f"{_number(min(m.values))}-{_number(max(m.values))}"
        else:
            median, interval, spread = "n/a", "n/a", "n/a"
        if m.target is None:
            met = ""
        elif m.met is None:
            met = "n/a"
        else:
            met = ("yes" if m.met else "no") + ("" if m.clear else "?")
        rows.append((m.name, median, interval, spread, m.target or "", met))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(6)]
    lines = []
    for row in (header, *rows):
        right = [
            cell.rjust(width) for cell, width in zip(row[1:5], widths[1:5], strict=True)
        ]
        lines.append("  ".join([row[0].ljust(widths[0]), *right, row[5]]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
