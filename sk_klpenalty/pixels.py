"""Integer images stay integers until their batch is on the device.

uint8 images take a quarter of the memory of float32 ones, on the host and on
the way to a GPU. The estimators keep them as they are (memory maps
included) and :class:`PixelScalingMixin` converts each batch to float32 in
[0, 1] *after* it has been moved to the device: uint8 values are divided by
255 and uint16 values by 65535, the largest value of the dtype. Other dtypes
are left alone: floats are used as given, and the remaining integer dtypes
(int8 ... int64, uint32, uint64) are read as plain numbers, converted to
float32 without scaling up front, since numpy's default int64 usually holds
counts or codes rather than pixels.

The division is the same float32 division that ``X.astype(np.float32) / 255``
does in numpy (correctly rounded on both), so the same seed gives the same
predictions from uint8 images as from those images given as float32 / 255.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from skorch.utils import to_tensor

__all__ = [
    "PIXEL_SCALES",
    "PixelScalingMixin",
    "is_pixel_dtype",
    "pixels_to_float",
    "to_device",
]

#: The integer dtypes read as pixel intensities, and the value that maps to 1.0.
PIXEL_SCALES = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
_TORCH_SCALES = {torch.uint8: 255.0, torch.uint16: 65535.0}


def is_pixel_dtype(dtype) -> bool:
    """Whether arrays of ``dtype`` are scaled to [0, 1] batch by batch.

    Examples
    --------
    >>> import numpy as np
    >>> is_pixel_dtype(np.uint8), is_pixel_dtype(np.int64), is_pixel_dtype("f4")
    (True, False, False)
    """
    return np.dtype(dtype) in PIXEL_SCALES


def pixels_to_float(x):
    """A uint8 or uint16 tensor as float32 in [0, 1], on the tensor's device.

    Other tensors, and anything that is not a tensor, come back unchanged;
    so do the values of a dict of inputs (skorch's multi-input modules).

    Examples
    --------
    >>> import torch
    >>> pixels_to_float(torch.tensor([0, 51, 255], dtype=torch.uint8))
    tensor([0.0000, 0.2000, 1.0000])
    """
    if torch.is_tensor(x):
        scale = _TORCH_SCALES.get(x.dtype)
        if scale is None:
            return x
        # Keeps the memory format (channels_last for the seed CNN, see precision).
        return x.to(torch.float32).div_(scale)
    if isinstance(x, Mapping):
        return {key: pixels_to_float(value) for key, value in x.items()}
    return x


def to_device(x, device):
    """skorch's ``to_tensor(x, device=device)``, but a tensor already on
    ``device`` comes back as it is.

    torch's ``.to()`` returns such a tensor unchanged too, yet costs ~10 us a
    call on a 2-core VM (it parses its arguments): a small network's batch
    went through it twice.

    Examples
    --------
    >>> x = torch.zeros(2)
    >>> to_device(x, "cpu") is x, to_device(np.array([1, 2]), "cpu").tolist()
    (True, [1, 2])
    """
    if torch.is_tensor(x) and device is not None and x.device == torch.device(device):
        return x
    return to_tensor(x, device=device)


class PixelScalingMixin:
    """A skorch net whose forward pass takes uint8/uint16 batches.

    skorch's training step, validation step and ``forward_iter`` (hence
    ``predict_proba``) all run a batch through ``infer``; this moves the batch
    to the device as it is and converts pixels there, so the host-to-device
    copy carries 1 (uint8) or 2 (uint16) bytes per value instead of 4.
    """

    def infer(self, x, **fit_params):
        x = pixels_to_float(to_device(x, self.device))
        if torch.is_tensor(x):
            # skorch's infer would only move it (done above) and call the module.
            return self.module_(x, **fit_params)
        return super().infer(x, **fit_params)
