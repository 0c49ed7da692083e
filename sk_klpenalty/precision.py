"""``precision="bf16"``: whether the hardware runs bf16, and the estimator's
autocast forward pass.

:func:`bf16_supported` decides whether a device runs bfloat16 natively;
:class:`PrecisionMixin` gives an estimator ``precision_`` and runs its forward
passes under bf16 autocast (images in channels_last) with float32 outputs, so
the loss and ``predict_proba`` stay float32.
"""

from __future__ import annotations

import functools
import platform
import warnings

import torch

from .modules import SeedCNN
from .pixels import to_device

__all__ = ["PRECISIONS", "PrecisionMixin", "bf16_supported", "check_precision"]

PRECISIONS = ("fp32", "bf16")
LOW_PRECISION = (torch.bfloat16, torch.float16)


def check_precision(precision) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a ``ValueError``."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    return precision


def bf16_supported(device="cpu") -> bool:
    """Whether ``device`` runs bfloat16 natively (what ``precision="bf16"`` needs).

    Parameters
    ----------
    device : str, torch.device or None, default="cpu"
        A CUDA device: ``torch.cuda.is_bf16_supported()`` without emulation
        (Ampere or newer). The CPU: the ``avx512_bf16`` or ``amx_bf16`` flag
        (x86) or ``bf16`` (Arm) in ``/proc/cpuinfo``, else torch's own CPU
        capability check. ``None`` means the CPU. Any other device: False.

    Returns
    -------
    bool

    Examples
    --------
    >>> isinstance(bf16_supported("cpu"), bool)
    True
    """
    device = torch.device("cpu" if device is None else device)
    if device.type == "cuda":
        return _cuda_supports_bf16(device.index)
    if device.type == "cpu":
        return _cpu_supports_bf16()
    return False


@functools.cache
def _cuda_supports_bf16(index: int | None) -> bool:
    if not torch.cuda.is_available():
        return False
    with torch.cuda.device(index if index is not None else torch.cuda.current_device()):
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # torch < 2.3 has no emulation argument
            return bool(torch.cuda.is_bf16_supported())


@functools.lru_cache(maxsize=1)
def _cpu_supports_bf16() -> bool:
    flags = _cpu_flags()
    if flags & {"avx512_bf16", "amx_bf16"}:
        return True
    if platform.machine().lower() in ("aarch64", "arm64") and "bf16" in flags:
        return True
    if flags:  # /proc/cpuinfo was readable and names no bf16 instructions
        return False
    for check in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        supported = getattr(getattr(torch, "cpu", None), check, None)
        try:
            if supported is not None and supported():
                return True
        except Exception:  # a private torch helper: never let it break fit
            pass
    return False


def _cpu_flags() -> set[str]:
    """CPU feature flags from /proc/cpuinfo (empty where it is unavailable)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip().lower() in ("flags", "features"):
                    return set(value.split())
    except OSError:
        pass
    return set()


def device_description(device: torch.device) -> str:
    """How a warning names a device without native bf16."""
    if device.type == "cuda" and torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return "CPU (no AVX512-BF16, AMX or Arm BF16 instructions)"
    return f"device ({device})"


def as_float32(output):
    """bf16/fp16 tensors (also inside tuples and lists) as float32."""
    if torch.is_tensor(output):
        return output.float() if output.dtype in LOW_PRECISION else output
    if type(output) in (tuple, list):
        return type(output)(as_float32(item) for item in output)
    return output


class PrecisionMixin:
    """``precision`` for a skorch net: ``precision_`` and a bf16 forward pass.

    The net sets ``precision_ = self._resolve_precision()`` in ``initialize``
    and calls :meth:`_channels_last_module` after building its module.
    """

    def _resolve_precision(self, stacklevel: int = 5) -> str:
        """The precision to train in: ``precision``, or fp32 with one warning.

        The default stacklevel points at the caller of ``fit``.
        """
        precision = check_precision(self.precision)
        if precision == "bf16" and not bf16_supported(self._torch_device()):
            warnings.warn(
                f"precision='bf16' is not supported natively on this "
                f"{device_description(self._torch_device())}; training in fp32 "
                "instead (precision_='fp32').",
                UserWarning,
                stacklevel=stacklevel,
            )
            return "fp32"
        return precision

    def _torch_device(self) -> torch.device:
        return torch.device(self.device) if self.device else torch.device("cpu")

    def _uses_bf16(self) -> bool:
        return getattr(self, "precision_", "fp32") == "bf16" and bf16_supported(
            self._torch_device()
        )

    def _wants_channels_last(self) -> bool:
        """Images in channels_last: under bf16 (any module), and for the seed
        CNN in fp32 on the CPU, where its convolutions and pooling ran
        1.2-1.8x faster that way on a 2-core x86 VM. Not for a user's
        module in fp32: one that ``.view()``s its input would fail on it.
        """
        if getattr(self, "precision_", "fp32") == "bf16":
            return True
        module = getattr(self, "module_", None)
        return isinstance(module, SeedCNN) and self._torch_device().type == "cpu"

    def _channels_last_module(self) -> None:
        """Images in channels_last (see :meth:`_wants_channels_last`)."""
        shape = getattr(self, "input_shape_", None)
        self._channels_last_ = (
            self._wants_channels_last() and shape is not None and len(shape) == 3
        )
        if self._channels_last_:
            self.module_ = self.module_.to(memory_format=torch.channels_last)

    def infer(self, x, **fit_params):
        """Forward pass of a batch, under bf16 autocast when ``precision_`` is bf16.

        Images (4-D tensors) are made channels_last first where
        :meth:`_wants_channels_last`, and so is the module if it could not be
        at initialisation (the input shape was unknown then). Floating outputs
        come back as float32, so the loss and ``predict_proba`` are float32.
        """
        if self._wants_channels_last():
            x = to_device(x, self.device)
            if torch.is_tensor(x) and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
                if not getattr(self, "_channels_last_", False):
                    self.module_.to(memory_format=torch.channels_last)
                    self._channels_last_ = True
        if not self._uses_bf16():
            return super().infer(x, **fit_params)
        with torch.autocast(
            device_type=self._torch_device().type, dtype=torch.bfloat16
        ):
            y_pred = super().infer(x, **fit_params)
        return as_float32(y_pred)
