"""``precision="bf16"``: the forward passes under ``torch.autocast``, on every
CPU (natively or emulated: ``benchmarks/`` says whether it is faster) and on
CUDA GPUs that support it."""

from __future__ import annotations

import contextlib
import functools
import warnings

import torch

__all__ = [
    "PRECISIONS",
    "as_float32",
    "autocast",
    "bf16_supported",
    "resolve_precision",
]

PRECISIONS = ("fp32", "bf16")


def resolve_precision(precision, device=None) -> str:
    """``precision`` (one of :data:`PRECISIONS`, else a ``ValueError``), or
    fp32 with a warning where ``device`` does not run bf16."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision == "bf16" and device is not None and not bf16_supported(device):
        warnings.warn(
            f"precision='bf16' is not supported on {device}; training in fp32 "
            "instead (precision_='fp32').",
            UserWarning,
            stacklevel=7,  # the user's fit, through skorch's initialize
        )
        return "fp32"
    return precision


@functools.cache
def bf16_supported(device="cpu") -> bool:
    """Whether ``torch.autocast`` runs bfloat16 on ``device``: the CPU always,
    a CUDA device where it does so natively (Ampere or newer).

    Examples
    --------
    >>> bf16_supported("cpu")
    True
    """
    device = torch.device("cpu" if device is None else device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return device.type == "cpu"
    index = torch.cuda.current_device() if device.index is None else device.index
    with torch.cuda.device(index):
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def autocast(precision: str, device: torch.device):
    """bf16 ``torch.autocast`` on ``device`` where ``precision`` is bf16 and
    runs there (a bf16 model may be loaded elsewhere); else no context."""
    if precision == "bf16" and bf16_supported(device):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def as_float32(output):
    """bf16/fp16 tensors (also inside tuples and lists) as float32."""
    if torch.is_tensor(output):
        low = output.dtype in (torch.bfloat16, torch.float16)
        return output.float() if low else output
    if type(output) in (tuple, list):
        return type(output)(as_float32(item) for item in output)
    return output
