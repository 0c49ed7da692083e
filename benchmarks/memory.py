"""Memory rows: fits on a read-only memory map, each in a fresh child process.

A thread samples the child's private memory (``RssAnon`` in /proc/self/status)
while it fits; the growth over what it held before ``fit`` is what a copy of
the data would show in. The network (:class:`PooledLinear`) costs ~nothing, so
the data path dominates.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import torch
from common import Row, Sizes
from torch import nn

MB = 2**20
IMAGE = (3, 32, 32)
STATUS = Path("/proc/self/status")


class PooledLinear(nn.Module):
    """8x8 average pooling, then one linear layer."""

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.AvgPool2d(8), nn.Flatten(), nn.Linear(48, n_classes)
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X)


def status_kb() -> dict[str, int]:
    fields = (line.split() for line in STATUS.read_text().splitlines())
    return {
        f[0].rstrip(":"): int(f[1]) for f in fields if f[0] in ("RssAnon:", "RssFile:")
    }


class Peak(threading.Thread):
    """The largest ``RssAnon`` (kB) seen every ``interval`` s until stopped."""

    def __init__(self, interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self.done = interval, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, status_kb()["RssAnon"])
            self.done.wait(self.interval)

    def stop(self) -> int:
        self.done.set()
        self.join()
        return max(self.peak, status_kb()["RssAnon"])


def child(path: str, n: int, device: str) -> dict:
    """In the child: fit on the first ``n`` images of the map; bytes grown."""
    from sk_klpenalty import KLPenaltyClassifier

    X = np.load(path, mmap_mode="r")[:n]
    y = np.random.default_rng(1).integers(0, 10, len(X))
    net = KLPenaltyClassifier(
        module=PooledLinear,
        classes=np.arange(10),
        max_epochs=1,
        batch_size=256,
        device=device,
        random_state=0,
    )
    before, peak = status_kb(), Peak()
    peak.start()
    net.fit(X, y)
    top, after = peak.stop(), status_kb()
    anon, file = (top - before["RssAnon"]), (after["RssFile"] - before["RssFile"])
    return {"growth": anon * 1024, "rss_file": file * 1024}


def in_child(path: str, n: int, device: str) -> dict:
    here = Path(__file__).resolve().parent
    code = (
        f"import json, sys; sys.path[:0] = {[str(here), str(here.parent)]!r}; "
        "import memory; print(json.dumps(memory.child(*json.loads(sys.argv[1]))))"
    )
    args = [sys.executable, "-c", code, json.dumps([path, n, device])]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"memory child failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_map(path: Path, n: int) -> None:
    X = np.lib.format.open_memmap(path, "w+", np.uint8, (n, *IMAGE))
    rng, step = np.random.default_rng(0), 10_000
    for start in range(0, n, step):
        chunk = X[start : start + step]
        chunk[:] = rng.integers(0, 256, chunk.shape, np.uint8)
    X.flush()


def memory_rows(device, s: Sizes) -> list[Row]:
    if not sys.platform.startswith("linux") or not STATUS.exists():
        note = "skipped: needs /proc/self/status (Linux)"
        return [Row("memory: growth / bound", "x", [], "<= 1", note)]
    n = s.map_mb * MB // int(np.prod(IMAGE))
    data = n * int(np.prod(IMAGE))
    with tempfile.TemporaryDirectory(prefix="benchmarks-") as folder:
        path = Path(folder, "images.npy")
        write_map(path, n)
        small, fit = (in_child(str(path), rows, str(device)) for rows in (256, n))
    growth, bound = fit["growth"], small["growth"] + 0.1 * data
    name = f"memory: fit on a {data / MB:.0f} MB read-only uint8 memmap"
    small_file = f"{small['rss_file'] / MB:.0f} MB on 256 images"
    return [
        Row(
            "memory: footprint (private growth, fit on 256 images)",
            "MB",
            [small["growth"] / MB],
        ),
        Row(f"{name}: peak private growth", "MB", [growth / MB]),
        Row(
            "memory: growth / (footprint + 10% of data)", "x", [growth / bound], "<= 1"
        ),
        Row(f"{name}: RssFile growth ({small_file})", "MB", [fit["rss_file"] / MB]),
    ]
