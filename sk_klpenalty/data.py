"""Arrays served a whole mini-batch at a time without copying them: in memory,
memory-mapped, or a fold's rows of either.

uint8/uint16 *images* (3-D or more) stay integers until their batch is on the
device (:func:`pixels_to_float`); integer *tables* (2-D) become float32 unscaled.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, default_collate

__all__ = [
    "PRECISIONS",
    "ArrayDataset",
    "RowView",
    "as_float32",
    "bf16_supported",
    "collate_batch",
    "resolve_precision",
    "is_pixel_array",
    "pixels_to_float",
    "serves_batches",
    "take_rows",
]

#: The integer dtypes of images, and the value that maps to 1.0.
PIXEL_SCALES = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
_TORCH_SCALES = {torch.uint8: 255.0, torch.uint16: 65535.0}


def is_pixel_array(X) -> bool:
    """Whether ``X`` holds uint8/uint16 images (3-D or more; a 2-D table: no)."""
    return np.dtype(X.dtype) in PIXEL_SCALES and len(X.shape) >= 3


def pixels_to_float(x):
    """uint8/uint16 images (3-D or more; also a dict's) as float32 in [0, 1]."""
    if isinstance(x, Mapping):
        return {key: pixels_to_float(value) for key, value in x.items()}
    if torch.is_tensor(x) and x.dim() >= 3 and x.dtype in _TORCH_SCALES:
        return x.to(torch.float32).div_(_TORCH_SCALES[x.dtype])  # keeps the layout
    return x


def normalize_images(x: torch.Tensor, mean_std=None, *, channels_last=False):
    """An image batch ``(x - mean) / std`` per channel, channels_last if asked."""
    if mean_std is not None:
        mean, std = (torch.tensor(v, device=x.device).view(-1, 1, 1) for v in mean_std)
        x = (x - mean) / std
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


#: The values of the estimators' ``precision``.
PRECISIONS = ("fp32", "bf16")


def resolve_precision(precision, device=None) -> str:
    """``precision`` checked; fp32 with a warning where ``device`` lacks bf16."""
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
    """Whether autocast runs bfloat16 on ``device``: a CPU, a CUDA GPU natively."""
    device = torch.device(device or "cpu")
    if device.type != "cuda" or not torch.cuda.is_available():
        return device.type == "cpu"
    with torch.cuda.device(device.index):  # None: the current one
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def as_float32(output):
    """bf16/fp16 tensors (also inside tuples and lists) as float32."""
    if torch.is_tensor(output) and output.dtype in (torch.bfloat16, torch.float16):
        return output.float()
    if type(output) in (tuple, list):
        return type(output)(as_float32(item) for item in output)
    return output


class RowView:
    """The rows ``base[rows]`` of an array (a fold), gathered only when read:
    :class:`ArrayDataset` gathers batch by batch; ``np.asarray`` copies.

    Examples
    --------
    >>> view = RowView(np.arange(10).reshape(5, 2), [4, 1])
    >>> view.shape, view[1].tolist(), np.asarray(view).tolist()
    ((2, 2), [2, 3], [[8, 9], [2, 3]])
    """

    def __init__(self, base: np.ndarray, rows) -> None:
        self.base = base
        self.rows = np.asarray(rows, dtype=np.intp)
        if self.rows.ndim != 1:
            raise ValueError(f"rows must be 1-D, got shape {self.rows.shape}.")

    shape = property(lambda self: (len(self.rows), *self.base.shape[1:]))
    dtype = property(lambda self: self.base.dtype)
    ndim = property(lambda self: self.base.ndim)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            return self.base[self.rows[key]]
        if key[:1] == (slice(None),) and all(
            part is None or isinstance(part, slice) for part in key[1:]
        ):  # e.g. view[:, np.newaxis]: a view of the base, still a RowView
            return RowView(self.base[key], self.rows)
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a RowView cannot be an array without a copy.")
        rows = self.base[self.rows]
        return rows if dtype is None else rows.astype(dtype, copy=False)


def take_rows(X, rows, *, lazy: bool):
    """``X[rows]``: a :class:`RowView` of an ndarray if ``lazy``, else a copy."""
    if isinstance(X, np.ndarray) and X.ndim >= 2 and lazy:
        return RowView(X, rows)
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    if isinstance(X, list):
        return [X[i] for i in rows]
    return X[np.asarray(rows)]


def _shared_tensor(array: np.ndarray) -> torch.Tensor:
    # joblib's read-only memory maps are only read here: torch's warning does
    # not apply, and a copy would double the memory.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not")
        return torch.as_tensor(array)


class ArrayDataset(Dataset):
    """Arrays served a whole mini-batch at a time (``DataLoader`` calls
    ``__getitems__``: one ``index_select``), shared with ``X``, never copied.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...) or RowView
        float32 and uint8/uint16 images as they are, else float32.
    y : array-like of shape (n_samples,), optional
        Labels (zeros when omitted, as in skorch); numbers as a tensor.

    Examples
    --------
    >>> data = ArrayDataset(np.zeros((5, 2), dtype=np.float32), np.arange(5))
    >>> X, y = data.__getitems__([4, 0])
    >>> tuple(X.shape), y.tolist()
    ((2, 2), [4, 0])
    """

    def __init__(self, X, y=None) -> None:
        X, rows = (X.base, X.rows) if isinstance(X, RowView) else (X, None)
        X = np.asarray(X)
        if X.dtype != np.float32 and not is_pixel_array(X):
            X = X.astype(np.float32)
        self.X = _shared_tensor(X)
        # A copy: the indices may be a read-only array (from joblib).
        self.rows = None if rows is None else torch.tensor(rows, dtype=torch.long)
        if y is not None:
            y = np.asarray(y)
            y = _shared_tensor(y) if y.dtype.kind in "biuf" else y
            if len(y) != len(self):
                raise ValueError(
                    f"X and y have different lengths: {len(self)} and {len(y)}."
                )
        self.y = y

    def __len__(self) -> int:
        return len(self.X) if self.rows is None else len(self.rows)

    def __getitem__(self, index):
        X, y = self.__getitems__([index])
        return X[0], y[0]

    def __getitems__(self, indices) -> tuple:
        index = torch.as_tensor(indices, dtype=torch.long)
        if self.y is None:
            y = torch.zeros(len(index))
        elif torch.is_tensor(self.y):
            y = self.y.index_select(0, index)
        else:
            y = self.y[index.numpy()]
        if self.rows is not None:
            index = self.rows.index_select(0, index)
        # index_select, not X[index]: torch's advanced indexing copies element
        # by element (256 uint8 images 3x128x128: 8.4 against 1.3 ms).
        return self.X.index_select(0, index), y


def serves_batches(dataset) -> bool:
    """Whether ``dataset`` (or one it wraps) is an :class:`ArrayDataset`."""
    while isinstance(dataset, Subset) or hasattr(dataset, "sample_weight"):
        dataset = dataset.dataset
    return isinstance(dataset, ArrayDataset)


def collate_batch(batch, collate_fn=None):
    """Whole batches passed through, or split into samples for a ``collate_fn``."""
    if collate_fn in (None, default_collate):
        return list(batch)
    X, y = batch
    if isinstance(X, Mapping):  # per-sample dicts (weighted samples)
        X = [type(X)(zip(X, row, strict=True)) for row in zip(*X.values(), strict=True)]
    return collate_fn(list(zip(X, y, strict=True)))
