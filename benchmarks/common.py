"""Sizes, timing, and the rows of the table (median, 95% CI, verdict)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field, replace
from math import comb

import torch

from sk_klpenalty import modules

CNN = modules.SimpleCNN  # the seed CNN
MLP = modules.MLP


@dataclass(frozen=True)
class Sizes:
    repeats: int = 9  # timed repeats of each measurement, after a warm-up
    loss_calls: int = 200  # calls of a fast loss per repeat
    loop_calls: int = 10  # calls of the per-sample loop per repeat
    step_side: int = 128  # penalty step: seed CNN, batch 256, 117 classes
    fit_images: int = 768  # estimator overhead: 3x64x64 images, batch 64
    fit_side: int = 64
    fit_epochs: int = 2
    mlp_rows: int = 20_000  # MLP 2x128 on mlp_rows x 20, batch 64
    mlp_epochs: int = 2
    bf16_images: int = 32  # bf16 fit: seed CNN, batch 16, one epoch
    bf16_side: int = 128
    layout_sides: tuple = (64, 128)  # channels_last: seed CNN step, batch 64
    map_mb: int = 300  # memory: uint8 3x32x32 images in a .npy memory map
    cnn_batch: int = 256
    loss_batch: int = 256
    classes: int = 117


FULL = Sizes()
# fmt: off
QUICK = replace(FULL, repeats=6, loss_calls=50, loop_calls=3, step_side=64,
                fit_images=192, fit_epochs=1, mlp_epochs=1, bf16_side=64,
                layout_sides=(64,), map_mb=80)
SMOKE = replace(QUICK, repeats=2, loss_calls=2, loop_calls=1, step_side=16,
                fit_images=32, fit_side=16, mlp_rows=512, bf16_images=8,
                bf16_side=16, layout_sides=(16,), map_mb=1, cnn_batch=16)
# fmt: on


def describe(s: Sizes) -> str:
    return (
        f"loss B={s.loss_batch} K={s.classes} sigma=10; step 3x{s.step_side}^2 "
        f"batch {s.cnn_batch}; fit {s.fit_images} x 3x{s.fit_side}^2 x "
        f"{s.fit_epochs} epoch(s), MLP {s.mlp_rows}x20 x {s.mlp_epochs}; bf16 "
        f"{s.bf16_images} x 3x{s.bf16_side}^2; channels_last at "
        f"{'/'.join(map(str, s.layout_sides))} px; memmap {s.map_mb} MB; "
        f"median of {s.repeats} interleaved repeats after a warm-up"
    )


def seconds(fn, device: torch.device, n: int = 1) -> float:
    """Mean wall time of ``n`` calls of ``fn``, device work included."""
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    sync()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - start) / n


def interleaved(fns: dict, device, repeats: int, calls: dict | None = None) -> dict:
    """Seconds per call of each function per repeat, after one warm-up each;
    the order reverses every other repeat so that drift hits all alike."""
    calls = calls or {}
    for name, fn in fns.items():
        seconds(fn, device, max(1, calls.get(name, 1) // 5))
    times = {name: [] for name in fns}
    for repeat in range(repeats):
        names = list(fns) if repeat % 2 == 0 else list(fns)[::-1]
        for name in names:
            times[name].append(seconds(fns[name], device, calls.get(name, 1)))
    return times


def ratio(top: list[float], bottom: list[float]) -> list[float]:
    return [a / b for a, b in zip(top, bottom, strict=True)]


def median_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free CI of the median: order statistics x_(k), x_(n+1-k)
    with the largest k such that P(Binomial(n, 1/2) < k) <= (1 - conf) / 2
    (the whole range where no such k exists, n < 6)."""
    x, n = sorted(values), len(values)
    k, cdf = 0, comb(n, 0) / 2**n
    while cdf <= (1 - confidence) / 2:
        k += 1
        cdf += comb(n, k) / 2**n
    k = max(k, 1)
    return x[k - 1], x[n - k]


@dataclass
class Row:
    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str | None = None  # ">= 100", "<= 1.10", ...
    note: str = ""

    @property
    def median(self):
        return statistics.median(self.values) if self.values else None

    def _meets(self, value: float) -> bool:
        op, bound = self.target.split()
        return value >= float(bound) if op == ">=" else value <= float(bound)

    def verdict(self) -> str:
        if self.target is None:
            return ""
        if not self.values:
            return "n/a"
        met = self._meets(self.median)
        clear = all(self._meets(end) == met for end in median_ci(self.values))
        return ("yes" if met else "no") + ("" if clear else "?")

    def as_dict(self) -> dict:
        ci = list(median_ci(self.values)) if self.values else None
        return {**vars(self), "median": self.median, "ci95": ci, "met": self.verdict()}


def number(value: float) -> str:
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return f"{value:.3g}"


def format_table(rows: list[Row]) -> str:
    lines = [("measurement", "median", "95% CI of median", "target", "met")]
    for r in rows:
        median = f"{number(r.median)} {r.unit}".strip() if r.values else "n/a"
        ci = "-".join(map(number, median_ci(r.values))) if r.values else "n/a"
        ci = "-" if len(r.values) == 1 else ci
        lines.append((r.name, median, ci, r.target or "", r.verdict()))
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    lines.insert(1, tuple("-" * w for w in widths))
    just = (str.ljust, str.rjust, str.rjust, str.ljust, str.ljust)
    cells = (zip(just, line, widths, strict=True) for line in lines)
    return "\n".join("  ".join(j(c, w) for j, c, w in row).rstrip() for row in cells)
