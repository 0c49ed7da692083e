"""The machine a bench runs on, and wall-clock timing with device sync."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import torch

from ..precision import bf16_supported

__all__ = [
    "device_kind",
    "interleaved_seconds",
    "machine_info",
    "seconds",
    "synchronizer",
]


def machine_info(device: torch.device) -> dict:
    """The machine a bench ran on.

    Parameters
    ----------
    device : torch.device

    Returns
    -------
    dict
        ``cpu`` (model), ``cpus`` (logical CPUs), ``threads`` (torch's intra-op
        threads), ``torch``, ``python``, ``device`` (with the GPU's name on
        CUDA) and ``bf16`` (native bf16 support of the device).
    """
    info = {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["device"] = f"{device} ({torch.cuda.get_device_name(device)})"
    info["bf16"] = bool(bf16_supported(device))
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def device_kind(device: torch.device) -> str:
    return "GPU" if device.type == "cuda" else "CPU"


def synchronizer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def seconds(fn: Callable[[], object], sync: Callable[[], None], n: int = 1) -> float:
    """Mean wall time of ``n`` calls of ``fn`` (device work included)."""
    sync()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - start) / n


def interleaved_seconds(
    functions: dict[str, Callable[[], object]],
    sync: Callable[[], None],
    repeats: int,
) -> dict[str, list[float]]:
    """Wall time of each function per repeat, after one untimed warm-up call.

    The order alternates between repeats, so that a drift of the machine's
    speed hits both sides of a ratio alike.
    """
    for fn in functions.values():
        seconds(fn, sync)
    times: dict[str, list[float]] = {name: [] for name in functions}
    order = list(functions.items())
    for repeat in range(repeats):
        for name, fn in order if repeat % 2 == 0 else order[::-1]:
            times[name].append(seconds(fn, sync))
    return times
