"""The job's progress bar over its training batches, and its projected time.

Each fit counts its batches into a shared file that the job polls; fits on
another host cannot reach it, and the bar then moves as fits finish."""

from __future__ import annotations

import math
import os
import sys
import tempfile
import threading
import time

import numpy as np
from skorch.callbacks import Callback

__all__ = ["BatchCounter", "Progress", "format_duration", "planned_batches"]

#: Seconds of counted training before the projection is printed.
RATE_SECONDS = 5.0
#: A CPU job projected past this many seconds is called a GPU job.
GPU_HINT_SECONDS = 6 * 3600.0


def format_duration(seconds: float) -> str:
    """``"3 d 4 h"``, ``"2 h 5 min"``, ``"4 min 10 s"`` or ``"12 s"``."""
    units = [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]
    for (name, size), (small, small_size) in zip(units, units[1:], strict=False):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            return f"{int(whole)} {name} {int(rest // small_size)} {small}"
    return f"{math.ceil(max(0.0, seconds))} s"


def projection(remaining: int, total: int, rate: float, device: str) -> str:
    """The line that projects the job's time from its rate (batches/s)."""
    seconds = remaining / rate
    line = (
        f"compare: about {format_duration(seconds)} left for {total} training "
        f"batches ({rate:.3g} batches/s on this machine, {device})"
    )
    if device.startswith("cpu") and seconds > GPU_HINT_SECONDS:
        line += "; this is a GPU job: run it with --device cuda on a GPU machine"
    return line + "."


def planned_batches(estimator, config, task) -> int:
    """The training batches of one fit of ``config`` on ``task`` (inner fits too)."""
    model = estimator if config.kind == "nested" else config.make_estimator(estimator)
    n_train, size = len(task["train"]), model.batch_size
    if model.early_stopping:
        n_train -= math.ceil(model.validation_fraction * n_train)

    def one_fit(rows: int) -> int:
        return model.max_epochs * (1 if size == -1 else math.ceil(rows / size))

    if config.kind != "nested":
        return one_fit(n_train)
    folds = config.params["inner_cv"]
    folds = folds if isinstance(folds, int) else folds.get_n_splits()
    inner = len(config.params["grid"]) * folds * one_fit(n_train - n_train // folds)
    return inner + one_fit(n_train)


class BatchCounter(Callback):
    """Counts a fit's training batches into ``slot`` of the job's count file."""

    def __init__(self, path: str, slot: int) -> None:
        self.path = path
        self.slot = slot

    def on_train_begin(self, net, **kwargs) -> None:
        try:
            self.counts_ = np.memmap(self.path, dtype=np.int64, mode="r+")
        except (OSError, ValueError):
            self.counts_ = None

    def on_batch_end(self, net, training=False, **kwargs) -> None:
        if training and self.counts_ is not None:
            self.counts_[self.slot] += 1  # a page of shared memory, no I/O

    def __getstate__(self) -> dict:
        return {"path": self.path, "slot": self.slot}  # not the open map


class Progress:
    """The bar and projection; ``later_batches``: those of controls and peers."""

    def __init__(self, enabled: bool, device: str, later_batches: int = 0) -> None:
        self.enabled, self.device, self.later = enabled, device, later_batches
        self.runs: dict[str, tuple] = {}  # count file -> counts, planned
        self.n_finished = 0

    def __enter__(self):
        if self.enabled:
            from tqdm.auto import tqdm

            self._folder = tempfile.TemporaryDirectory(prefix="sk-klpenalty-")
            self._bar = tqdm(total=0, unit="batch", desc="compare", file=sys.stderr)
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self._bar.update(self.done() - self._bar.n)
            self._bar.close()
            self.runs.clear()  # the maps, before their folder goes
            self._folder.cleanup()

    def plan(self, batches: list[int]) -> list[BatchCounter | None]:
        """Register the fits of one run: a counter for each fit."""
        if not self.enabled or not batches:
            return [None] * len(batches)
        path = os.path.join(self._folder.name, f"run{len(self.runs)}.counts")
        counts = np.memmap(path, dtype=np.int64, mode="w+", shape=len(batches))
        if self.runs:  # the later fits, now planned
            self.later = max(0, self.later - sum(batches))
        self.runs[path] = (counts, np.asarray(batches))
        self._bar.total = sum(int(p.sum()) for _, p in self.runs.values())
        self._bar.total += self.later
        self._bar.refresh()
        return [BatchCounter(path, slot) for slot in range(len(batches))]

    def finished(self, counter: BatchCounter | None) -> None:
        """A fit is done: all its planned batches count (even if it stopped early)."""
        self.n_finished += 1
        if counter is not None:
            counts, planned = self.runs[counter.path]
            counts[counter.slot] = planned[counter.slot]

    def done(self) -> int:
        """Batches trained so far."""
        return sum(int(np.minimum(c, p).sum()) for c, p in self.runs.values())

    def _poll(self) -> None:
        start, projected = None, False  # (time, batches) when counting began
        while not self._stop.wait(0.5):
            self._bar.update(self.done() - self._bar.n)
            now, done, total = time.monotonic(), self._bar.n, self._bar.total
            if start is None:
                start = (now, done) if done else None
                continue
            elapsed, counted = now - start[0], done - start[1]
            if not projected and elapsed >= RATE_SECONDS and counted > 0:
                line = projection(total - done, total, counted / elapsed, self.device)
                self._bar.write(line, file=sys.stderr)
                projected = True
