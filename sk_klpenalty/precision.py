"""``precision="bf16"``: the forward passes under ``torch.autocast``.

torch runs bfloat16 autocast on every CPU (natively with AVX512-BF16 or AMX,
emulated and slower elsewhere: whether it is faster on a machine is for
``benchmarks/`` to say) and on CUDA GPUs that support it.
"""

from __future__ import annotations

import functools

import torch

__all__ = ["PRECISIONS", "as_float32", "bf16_supported", "check_precision"]

PRECISIONS = ("fp32", "bf16")


def check_precision(precision) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a ``ValueError``."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    return precision


def bf16_supported(device="cpu") -> bool:
    """Whether ``torch.autocast`` runs bfloat16 on ``device``.

    The CPU: always. A CUDA device: ``torch.cuda.is_bf16_supported()``
    without emulation (Ampere or newer). Any other device: False.

    Examples
    --------
    >>> bf16_supported("cpu")
    True
    """
    device = torch.device("cpu" if device is None else device)
    if device.type == "cpu":
        return True
    return device.type == "cuda" and _cuda_supports_bf16(device.index)


@functools.cache
def _cuda_supports_bf16(index: int | None) -> bool:
    if not torch.cuda.is_available():
        return False
    with torch.cuda.device(index if index is not None else torch.cuda.current_device()):
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def as_float32(output):
    """bf16/fp16 tensors (also inside tuples and lists) as float32."""
    if torch.is_tensor(output):
        low = output.dtype in (torch.bfloat16, torch.float16)
        return output.float() if low else output
    if type(output) in (tuple, list):
        return type(output)(as_float32(item) for item in output)
    return output
