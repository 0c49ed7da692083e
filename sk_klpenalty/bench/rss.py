"""Resident memory (RSS) of this process and of a process tree, on Linux.

RSS counts every page a process has in RAM: its own allocations, the shared
libraries (torch: a few hundred MB per process) and the pages of memory
maps it has read. A peak *growth* subtracts what was resident before.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["TreeRssSampler", "peak_rss_growth", "rss_available", "rss_bytes"]


def rss_available() -> bool:
    """Whether ``/proc`` reports RSS here (Linux)."""
    return Path("/proc/self/status").exists()


def _status_kb(field: str, pid: int | str = "self") -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_bytes(pid: int | str = "self") -> int | None:
    """Current RSS of a process in bytes (None where unknown)."""
    kb = _status_kb("VmRSS", pid)
    return None if kb is None else kb * 1024


def _reset_peak() -> bool:
    """Reset this process's peak RSS (``VmHWM``); False where Linux refuses."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_growth(fn: Callable[[], object]) -> tuple[object, int]:
    """Run ``fn``; return its result and the peak RSS growth while it ran.

    The peak is the kernel's ``VmHWM`` after resetting it (exact); where the
    reset is refused, RSS is sampled every millisecond instead.

    Parameters
    ----------
    fn : callable without arguments

    Returns
    -------
    (result, bytes)
    """
    if not rss_available():
        raise RuntimeError("peak RSS is measured through /proc (Linux only)")
    before = rss_bytes()
    if _reset_peak():
        result = fn()
        return result, _status_kb("VmHWM") * 1024 - before
    with TreeRssSampler(os.getpid(), interval=0.001, children=False) as sampler:
        result = fn()
    return result, sampler.peak - before


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found += [int(child) for child in f.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


class TreeRssSampler:
    """The peak of the summed RSS of a process and its descendants.

    A context manager: a thread samples the tree every ``interval`` seconds
    until the block ends; ``peak`` is the largest sum seen (a sampled peak:
    a spike shorter than the interval can be missed).

    Parameters
    ----------
    pid : int
    interval : float, default=0.1
    children : bool, default=True
        Whether to include the descendants (worker processes).
    """

    def __init__(self, pid: int, interval: float = 0.1, children: bool = True):
        self.pid = pid
        self.interval = interval
        self.children = children
        self.peak = 0
        self.max_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        pids = _tree(self.pid) if self.children else [self.pid]
        total = sum(rss_bytes(pid) or 0 for pid in pids)
        self.peak = max(self.peak, total)
        self.max_processes = max(self.max_processes, len(pids))
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.interval)

    def __enter__(self) -> TreeRssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
