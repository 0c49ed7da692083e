"""Measurement 5: memory. Peak RSS growth of ``fit`` on uint8 images in
memory and on a read-only memory map larger than that, ``compare`` on the
map with two workers, and uint8 against float32 training throughput.

Every RSS number comes from a fresh Python process (``python -c``), so that
each one pays torch's one-time allocations as a user's first fit does; the
model's *footprint* is the growth of a fit on 256 images. The data rows use
:class:`PooledLinear`, a network so cheap that the data path dominates
(what these rows are about: copies of X would show as growth); the seed
CNN's footprint is shown beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

from .rss import TreeRssSampler, rss_available
from .sizes import Sizes
from .table import Measurement
from .timing import interleaved_seconds, synchronizer

__all__ = ["PooledLinear", "in_child", "measure_memory", "run_child", "write_memmap"]

MB = 2**20
SIDE = 32  # images 3 x 32 x 32, as in the measurements
N_CLASSES = 10


class PooledLinear(nn.Module):
    """Average-pool 8x8, then one linear layer: a network that costs ~nothing.

    Parameters
    ----------
    in_channels, input_size, n_classes : int
    """

    def __init__(
        self, in_channels: int = 3, input_size: int = SIDE, n_classes: int = N_CLASSES
    ) -> None:
        super().__init__()
        pooled = in_channels * (input_size // 8) ** 2
        self.layers = nn.Sequential(
            nn.AvgPool2d(8), nn.Flatten(), nn.Linear(pooled, n_classes)
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X)


def _estimator(model: str, device: str, **params):
    from ..estimator import KLPenaltyClassifier

    extra = {} if model == "cnn" else {"module": PooledLinear}
    defaults = {"max_epochs": 1, "batch_size": 256, "n_classes": N_CLASSES}
    params = {**defaults, **params}
    n_classes = params.pop("n_classes")
    return KLPenaltyClassifier(
        classes=np.arange(n_classes), device=device, random_state=0, **extra, **params
    )


def _labels(n: int, n_classes: int = N_CLASSES) -> np.ndarray:
    return np.random.default_rng(1).integers(0, n_classes, n)


def run_child(spec: dict) -> dict:
    """One measurement in this (fresh) process; ``spec`` says which.

    ``{"kind": "fit", "model": "cnn"|"cheap", "n": N}``: fit on N random
    uint8 images 3 x side x side (``"side"``, default 32) made here, in
    memory; with ``"path"`` instead of ``"n"``: on that .npy, mapped
    read-only. Optional ``"params"`` (estimator
    parameters, and ``n_classes``) and ``"predict_rows"`` (time
    ``predict_proba`` on that many rows too). ``{"kind": "compare", "path":
    ...}``: compare_penalty on the map with 2 workers (the caller samples
    this process tree's RSS).
    """
    from .rss import peak_rss_growth

    device = spec.get("device", "cpu")
    params = spec.get("params", {})
    if "path" in spec:
        X = np.load(spec["path"], mmap_mode="r")
    else:
        side = spec.get("side", SIDE)
        shape = (spec["n"], 3, side, side)
        X = np.random.default_rng(0).integers(0, 256, shape, np.uint8)
    y = _labels(len(X), params.get("n_classes", N_CLASSES))
    if spec["kind"] == "compare":
        from ..compare import compare_penalty

        compare_penalty(
            X,
            y,
            estimator=_estimator("cheap", device),
            cv=2,
            controls=False,
            n_jobs=2,
            progress=False,
        )
        return {}
    estimator = _estimator(spec["model"], device, **params)
    start = time.perf_counter()
    _, growth = peak_rss_growth(lambda: estimator.fit(X, y))
    result = {
        "growth": growth,
        "seconds": time.perf_counter() - start,
        "precision": estimator.precision_,
    }
    if spec.get("predict_rows"):
        start = time.perf_counter()
        estimator.predict_proba(X[: spec["predict_rows"]])
        result["predict_seconds"] = time.perf_counter() - start
    return result


def _child_command() -> list[str]:
    code = (
        "import json, sys; from sk_klpenalty.bench.memory import run_child; "
        "print(json.dumps(run_child(json.loads(sys.stdin.read()))))"
    )
    return [sys.executable, "-c", code]


def in_child(spec: dict, sample_tree: bool = False) -> tuple[dict, int]:
    """Run :func:`run_child` in a new process; its result and summed peak RSS."""
    process = subprocess.Popen(
        _child_command(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with TreeRssSampler(process.pid, interval=0.1, children=sample_tree) as sampler:
        out, _ = process.communicate(json.dumps(spec))
    if process.returncode != 0:
        raise RuntimeError(
            f"bench memory child failed on {spec} (exit {process.returncode})"
        )
    return json.loads(out.strip().splitlines()[-1]), sampler.peak


def write_memmap(path: str, n: int, side: int = SIDE) -> int:
    """A .npy of ``n`` random uint8 images 3 x side x side; returns ``n``."""
    shape = (n, 3, side, side)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    rng = np.random.default_rng(0)
    step = max(1, 2**25 // (3 * side * side))
    for start in range(0, n, step):
        stop = min(n, start + step)
        X[start:stop] = rng.integers(0, 256, (stop - start, 3, side, side), np.uint8)
    X.flush()
    del X
    return n


def measure_memory(device: torch.device, sizes: Sizes) -> list[Measurement]:
    """The memory rows and the uint8/float32 throughput rows."""
    rows = _memory_rows(str(device), sizes) if rss_available() else _not_linux()
    return rows + _throughput_rows(device, sizes)


def _not_linux() -> list[Measurement]:
    note = "RSS is read from /proc (Linux only)"
    return [Measurement("memory: (all rows)", "MB", [], "<= 1", note)]


def _memory_rows(device: str, sizes: Sizes) -> list[Measurement]:
    cnn_footprint = in_child(
        {"kind": "fit", "model": "cnn", "n": 256, "device": device}
    )[0]
    footprint = in_child({"kind": "fit", "model": "cheap", "n": 256, "device": device})[
        0
    ]
    footprint = footprint["growth"]
    n = sizes.memory_images
    data = n * 3 * SIDE * SIDE
    in_memory = in_child({"kind": "fit", "model": "cheap", "n": n, "device": device})[0]
    bound = 1.2 * data + footprint
    rows = [
        Measurement(
            "memory: footprint, seed CNN fit (256 images 3x32x32)",
            "MB",
            [cnn_footprint["growth"] / MB],
        ),
        Measurement(
            "memory: footprint, cheap net fit (256 images)", "MB", [footprint / MB]
        ),
        Measurement(
            f"memory: fit on {data / MB:.0f} MB uint8 in memory (cheap net)",
            "MB",
            [in_memory["growth"] / MB],
        ),
        Measurement(
            "memory: in memory / (1.2 x data + footprint)",
            "x",
            [in_memory["growth"] / bound],
            "<= 1",
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="sk-klpenalty-bench-") as folder:
        path = os.path.join(folder, "images.npy")
        n_map = write_memmap(
            path, max(1, int(sizes.memmap_factor * bound) // (3 * SIDE**2))
        )
        mapped = n_map * 3 * SIDE * SIDE
        on_map = in_child(
            {"kind": "fit", "model": "cheap", "path": path, "device": device}
        )[0]
        _, compare_peak = in_child(
            {"kind": "compare", "path": path, "device": device}, sample_tree=True
        )
    map_bound = footprint + 0.1 * mapped
    compare_bound = 2 * map_bound + 2**30
    rows += [
        Measurement(
            f"memory: fit on a {mapped / MB:.0f} MB read-only memmap (cheap net)",
            "MB",
            [on_map["growth"] / MB],
        ),
        Measurement(
            "memory: memmap / (footprint + 10% of data)",
            "x",
            [on_map["growth"] / map_bound],
            "<= 1",
        ),
        Measurement(
            "memory: compare on the memmap, 2 workers, summed peak RSS",
            "MB",
            [compare_peak / MB],
        ),
        Measurement(
            "memory: compare / (2 x (footprint + 10% data) + 1 GB)",
            "x",
            [compare_peak / compare_bound],
            "<= 1",
        ),
    ]
    return rows


def _throughput_rows(device: torch.device, sizes: Sizes) -> list[Measurement]:
    """Seed CNN ``fit`` on the same images as uint8 and as float32 / 255."""
    sync = synchronizer(device)
    n = sizes.throughput_images
    X8 = np.random.default_rng(0).integers(0, 256, (n, 3, SIDE, SIDE), np.uint8)
    X32 = X8.astype(np.float32) / 255
    y = _labels(n)
    uint8 = lambda: _estimator("cnn", str(device)).fit(X8, y)  # noqa: E731
    float32 = lambda: _estimator("cnn", str(device)).fit(X32, y)  # noqa: E731
    times = interleaved_seconds(
        {"uint8": uint8, "float32": float32}, sync, sizes.repeats
    )
    return [
        Measurement(
            "fit throughput (seed CNN 3x32x32): float32 input",
            "img/s",
            [n / t for t in times["float32"]],
        ),
        Measurement(
            "fit throughput (seed CNN 3x32x32): uint8 input",
            "img/s",
            [n / t for t in times["uint8"]],
        ),
        Measurement(
            "uint8 / float32 img/s",
            "x",
            [f / u for u, f in zip(times["uint8"], times["float32"], strict=True)],
            ">= 1",
        ),
    ]
