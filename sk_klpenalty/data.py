"""Arrays served to the training loop a whole mini-batch at a time, without
copying them: in memory, memory-mapped from disk, or a fold's rows of either.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.data.dataloader import default_collate

from .memmap import MemmapRows

__all__ = [
    "ArrayDataset",
    "BatchAwareCollate",
    "RowView",
    "WholeBatchLoader",
    "WholeBatches",
    "loader_kwargs",
    "stack_batches",
    "take_rows",
]


class _Batch(tuple):
    """A whole mini-batch ``(X, y)`` returned by ``ArrayDataset.__getitems__``."""

    def samples(self) -> list:
        """The batch as a list of per-sample ``(X_i, y_i)``, for a collate_fn."""
        return list(zip(*self, strict=False))


class RowView:
    """The rows ``base[rows]`` of an array, gathered only when read.

    ``compare`` hands each fit its fold as a view, so that a fold of a large
    (or memory-mapped) array is never copied as a whole:
    :class:`ArrayDataset` gathers each batch through ``rows``. Anything else
    that asks for an array (``np.asarray``) gets the copy.

    Parameters
    ----------
    base : ndarray of shape (n_samples, ...)
    rows : array-like of int
        Row indices into ``base``.

    Examples
    --------
    >>> import numpy as np
    >>> view = RowView(np.arange(10).reshape(5, 2), [4, 1])
    >>> view.shape, view[1].tolist(), np.asarray(view).tolist()
    ((2, 2), [2, 3], [[8, 9], [2, 3]])
    >>> view[:, np.newaxis].shape  # still a view
    (2, 1, 2)
    """

    def __init__(self, base: np.ndarray, rows) -> None:
        self.base = base
        self.rows = np.asarray(rows, dtype=np.intp)
        if self.rows.ndim != 1:
            raise ValueError(f"rows must be 1-D, got shape {self.rows.shape}.")

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.base.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.base.dtype

    @property
    def ndim(self) -> int:
        return self.base.ndim

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            if _keeps_rows(key):  # e.g. view[:, np.newaxis]: still a view
                return RowView(self.base[key], self.rows)
            return np.asarray(self)[key]
        return self.base[self.rows[key]]

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a RowView cannot be an array without a copy.")
        rows = self.base[self.rows]
        return rows if dtype is None else rows.astype(dtype, copy=False)


def _keeps_rows(key: tuple) -> bool:
    """All rows, and basic indexing (a view of the base) on the other axes."""
    return (
        len(key) > 0
        and isinstance(key[0], slice)
        and key[0] == slice(None)
        and all(part is None or isinstance(part, slice) for part in key[1:])
    )


def take_rows(X, rows, *, lazy: bool):
    """``X[rows]``: a :class:`RowView` of an ndarray if ``lazy``, else a copy.

    Estimators of this library read views batch by batch; other estimators
    (scikit-learn's) get scikit-learn's own indexing.
    """
    if lazy and isinstance(X, np.ndarray) and X.ndim >= 2:
        return RowView(X, rows)
    from sklearn.utils import _safe_indexing

    return _safe_indexing(X, rows)


class ArrayDataset(Dataset):
    """Arrays served a whole mini-batch at a time, never copied as a whole.

    ``DataLoader`` calls ``__getitems__`` with the batch's indices, so a batch
    costs one tensor index instead of one ``__getitem__`` and one collate per
    sample. ``KLPenaltyClassifier``'s loaders pass these batches through
    unchanged and hand per-sample lists to a user-supplied ``collate_fn``.
    ``X`` keeps its dtype (uint8 images stay uint8 until the device). A
    read-only memory map is read from its file batch by batch, without
    keeping what was read resident (:class:`~sk_klpenalty.memmap.MemmapRows`).

    Parameters
    ----------
    X : array-like of shape (n_samples, ...) or RowView
        Shared with the tensor where possible (no copy for numeric arrays,
        memory maps included); a :class:`RowView` is gathered per batch.
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
        rows = None
        if isinstance(X, RowView):
            X, rows = X.base, X.rows
        # A read-only memory map is read from its file, batch by batch.
        self._disk = MemmapRows.of(X)
        self.X = _shared_tensor(X) if self._disk is None else None
        self._n = len(X)
        # A copy: the indices may be a read-only array (from joblib).
        self.rows = None if rows is None else torch.tensor(rows, dtype=torch.long)
        self.y = None if y is None else _labels(y)
        if self.y is not None and len(self.y) != len(self):
            raise ValueError(
                f"X and y have different lengths: {len(self)} and {len(self.y)}."
            )

    def __len__(self) -> int:
        return self._n if self.rows is None else len(self.rows)

    def _take(self, index: torch.Tensor) -> torch.Tensor:
        if self.rows is not None:
            index = self.rows.index_select(0, index)
        if self._disk is not None:
            return torch.from_numpy(self._disk.take(index.numpy()))
        # index_select, not X[index]: the same rows, but indexing goes through
        # torch's general advanced-indexing kernel, which copies element by
        # element: a batch of 256 uint8 images 3x128x128 took 8.4 ms that
        # way and 1.3 ms this way (2-core CPU, 2026-11-29).
        return self.X.index_select(0, index)

    def __getitem__(self, index):
        y = torch.zeros(()) if self.y is None else self.y[index]
        if self._disk is None and self.rows is None:
            return self.X[index], y
        return self._take(torch.as_tensor([index], dtype=torch.long))[0], y

    def __getitems__(self, indices) -> _Batch:
        index = torch.as_tensor(indices, dtype=torch.long)
        if self.y is None:
            y = torch.zeros(len(index))
        elif torch.is_tensor(self.y):
            y = self.y.index_select(0, index)
        else:
            y = self.y[index.numpy()]
        return _Batch((self._take(index), y))


class WholeBatches(Sampler):
    """The batches of ``RandomSampler`` (or ``SequentialSampler``) +
    ``BatchSampler``, as index tensors instead of lists of ints.

    Same random draws, so the same batches for the same seed, without
    building and converting a Python list per batch (a few % of a small
    network's step).

    Parameters
    ----------
    n_samples, batch_size : int
    shuffle : bool
        A new random order every epoch, drawn as ``RandomSampler`` does.
    generator : torch.Generator, optional
        Draws the order (the loader's ``generator``), as in
        ``RandomSampler``; by default a seed is drawn from torch's global one.

    Examples
    --------
    >>> [batch.tolist() for batch in WholeBatches(5, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self,
        n_samples: int,
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator | None = None,
    ) -> None:
        self.n_samples = n_samples
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return -(-self.n_samples // self.batch_size)

    def __iter__(self):
        if self.shuffle:  # exactly RandomSampler's draws
            generator = self.generator
            if generator is None:
                seed = int(torch.empty((), dtype=torch.int64).random_().item())
                generator = torch.Generator()
                generator.manual_seed(seed)
            order = torch.randperm(self.n_samples, generator=generator)
        else:
            order = torch.arange(self.n_samples)
        yield from order.split(self.batch_size)


class WholeBatchLoader(DataLoader):
    """torch's ``DataLoader``, without its per-batch machinery where it has
    nothing to do.

    With :class:`WholeBatches` over a dataset that serves whole batches
    (``__getitems__``), in this process (``num_workers=0``) and not pinned,
    each batch is what the ``DataLoader`` yields, ``collate_fn(
    dataset.__getitems__(index))``, without its profiler scope and
    bookkeeping around it: 2-3% of a 2x128 MLP's step on a 2-core CPU
    (batch 64, 1.4-1.7 ms). Anything else iterates as the ``DataLoader`` does.
    """

    def __iter__(self):
        if (
            self.num_workers == 0
            and not self.pin_memory
            and isinstance(self.batch_sampler, WholeBatches)
            and callable(getattr(self.dataset, "__getitems__", None))
        ):
            # The one draw torch's iterator makes when it starts (a base seed
            # for workers): the same random numbers follow, so the same
            # batches and dropout masks for the same seed.
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
            return self._whole_batches()
        return super().__iter__()

    def _whole_batches(self):
        for index in self.batch_sampler:
            yield self.collate_fn(self.dataset.__getitems__(index))


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


def stack_batches(batches, n_rows: int | None) -> np.ndarray:
    """Per-batch output arrays, stacked into one array filled as they come.

    Keeping a list of small per-batch arrays (and concatenating at the end)
    interleaves long-lived small allocations with the large, freed batch
    buffers, which fragments glibc's heap: predicting a few hundred MB of
    images grew a process by hundreds of MB. One array allocated up front
    (``n_rows`` rows, when known) avoids that.

    Examples
    --------
    >>> import numpy as np
    >>> stack_batches(iter([np.ones((2, 3)), np.zeros((1, 3))]), 3).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    out, done, rest = None, 0, []
    for batch in batches:
        if out is None and n_rows is not None:
            out = np.empty((n_rows, *batch.shape[1:]), dtype=batch.dtype)
        if out is not None and done + len(batch) <= len(out) and not rest:
            out[done : done + len(batch)] = batch
            done += len(batch)
        else:  # more rows than announced: collect the rest
            rest.append(batch)
    parts = ([] if out is None else [out[:done]]) + rest
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts, 0)


def loader_kwargs(dataset, kwargs: dict, training: bool) -> dict:
    """A ``DataLoader``'s keyword arguments with this library's defaults.

    Training batches are shuffled unless ``kwargs`` say otherwise; an
    :class:`ArrayDataset` is batched by :class:`WholeBatches` (same draws as
    ``shuffle=True``) unless a sampler or ``drop_last`` is given; whole
    batches pass through the collate step (:class:`BatchAwareCollate`).
    """
    kwargs = dict(kwargs)
    if isinstance(dataset, ArrayDataset) and not {
        "sampler",
        "batch_sampler",
        "drop_last",
    } & set(kwargs):
        shuffle = kwargs.pop("shuffle", training)
        size = kwargs.pop("batch_size")
        kwargs["batch_sampler"] = WholeBatches(
            len(dataset), size, shuffle, kwargs.get("generator")
        )
    elif training and not {"shuffle", "sampler", "batch_sampler"} & set(kwargs):
        kwargs["shuffle"] = True
    kwargs["collate_fn"] = BatchAwareCollate(
        kwargs.get("collate_fn") or default_collate
    )
    return kwargs
