"""In-memory arrays served to the training loop a whole mini-batch at a time."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.utils.data import Dataset
from torch.utils.data.dataloader import default_collate

__all__ = ["ArrayDataset", "BatchAwareCollate"]


class _Batch(tuple):
    """A whole mini-batch ``(X, y)`` returned by ``ArrayDataset.__getitems__``."""

    def samples(self) -> list:
        """The batch as a list of per-sample ``(X_i, y_i)``, for a collate_fn."""
        return list(zip(*self, strict=False))


class ArrayDataset(Dataset):
    """In-memory arrays served a whole mini-batch at a time.

    ``DataLoader`` calls ``__getitems__`` with the batch's indices, so a batch
    costs one tensor index instead of one ``__getitem__`` and one collate per
    sample. ``KLPenaltyClassifier``'s loaders pass these batches through
    unchanged and hand per-sample lists to a user-supplied ``collate_fn``.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Shared with the tensor where possible (no copy for float32 arrays).
    y : array-like of shape (n_samples,), optional
        Labels; a zero placeholder per sample when omitted (as in skorch).
        Numbers become a tensor; other labels (strings, ...) stay a numpy
        array, and a batch's labels are a numpy array too.

    Examples
    --------
    >>> import numpy as np
    >>> data = ArrayDataset(np.zeros((5, 2), dtype=np.float32), np.arange(5))
    >>> X, y = data.__getitems__([4, 0])
    >>> tuple(X.shape), y.tolist()
    ((2, 2), [4, 0])
    """

    def __init__(self, X, y=None) -> None:
        self.X = _shared_tensor(X)
        self.y = None if y is None else _labels(y)
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(
                f"X and y have different lengths: {len(self.X)} and {len(self.y)}."
            )

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index):
        y = torch.zeros(()) if self.y is None else self.y[index]
        return self.X[index], y

    def __getitems__(self, indices) -> _Batch:
        index = torch.as_tensor(indices, dtype=torch.long)
        if self.y is None:
            y = torch.zeros(len(index))
        else:
            y = self.y[index if torch.is_tensor(self.y) else index.numpy()]
        return _Batch((self.X[index], y))


def _shared_tensor(array) -> torch.Tensor:
    """A tensor sharing the array's memory, read-only arrays included.

    joblib hands workers large arrays as read-only memory maps; the dataset
    only ever reads them, so torch's warning about non-writable arrays does
    not apply and copying them would double the memory.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not")
        return torch.as_tensor(array)


def _labels(y):
    """Numeric labels as a tensor; any others (strings, ...) as a numpy array."""
    if torch.is_tensor(y):
        return y
    array = np.asarray(y)
    return _shared_tensor(array) if array.dtype.kind in "biuf" else array


class BatchAwareCollate:
    """Pass ready-made batches through; give other collate functions samples.

    Parameters
    ----------
    collate_fn : callable
        The loader's collate function for per-sample lists (the user's, or
        torch's ``default_collate``).
    """

    def __init__(self, collate_fn) -> None:
        self.collate_fn = collate_fn

    def __call__(self, data):
        if not isinstance(data, _Batch):
            return self.collate_fn(data)
        if self.collate_fn is default_collate:
            return list(data)
        return self.collate_fn(data.samples())
