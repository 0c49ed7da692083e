"""Arrays on disk (``np.memmap``, ``np.load(..., mmap_mode="r")``) read in place.

Indexing a memory map makes the pages read part of the process's resident
memory (RSS) until the kernel needs them back, and more than the rows asked
for: a page fault maps the whole page-cache folio or fault-around window
around it (64 kB to 2 MB on current Linux). A shuffled batch of 256 small
rows can thus make tens of MB resident, and an epoch the whole file.

:class:`MemmapRows` reads the rows of a *read-only* memory map batch by
batch without that: rows of at least :data:`PREAD_MIN_ROW_BYTES` (images)
are read with ``os.preadv`` straight from the file into the batch, never
mapped; smaller rows (tabular features, where a call per row would cost more
than the model) are indexed through a map whose pages are handed back after
each batch (``madvise(MADV_DONTNEED)``). Either way the data go through the
page cache, which the kernel shrinks as needed, and the process holds little
more than the batch. Writable and copy-on-write maps are not handled here.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator

import numpy as np

__all__ = ["MemmapRows", "iter_row_chunks", "read_rows"]

#: Rows of at least this many bytes are read with one ``preadv`` call each.
PREAD_MIN_ROW_BYTES = 1024
#: Rows per chunk of a full pass (``iter_row_chunks``): about this many bytes.
CHUNK_BYTES = 32 * 2**20


def _root_memmap(array) -> np.memmap | None:
    """The ``np.memmap`` that created the map behind ``array``, else None."""
    for _ in range(64):
        if array is None:
            return None
        if isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap):
            return array
        array = getattr(array, "base", None)
    return None


def _mapped_inode(address: int) -> int | None:
    """Inode of the file mapped at ``address`` (Linux), else None."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                fields = line.split()
                low, high = (int(part, 16) for part in fields[0].split("-"))
                if low <= address < high:
                    return int(fields[4])
    except (OSError, ValueError, IndexError):
        pass
    return None


class MemmapRows:
    """Batches of rows of a read-only memory-mapped array, read from its file.

    Use :meth:`of`, which returns None for arrays it does not handle
    (in memory, writable or copy-on-write maps, rows not contiguous).

    Parameters
    ----------
    path : str
    start : int
        File offset of the first row.
    shape : tuple of int
    dtype : numpy dtype

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "x.npy")
    >>> np.save(path, np.arange(4096, dtype=np.uint8).reshape(4, 1024))
    >>> rows = MemmapRows.of(np.load(path, mmap_mode="r"))
    >>> rows.take(np.array([3, 0]))[:, :3].tolist()
    [[0, 1, 2], [0, 1, 2]]
    >>> MemmapRows.of(np.zeros((4, 2))) is None
    True
    >>> del rows; folder.cleanup()
    """

    def __init__(self, path: str, start: int, shape: tuple, dtype) -> None:
        self.path = path
        self.start = int(start)
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.row_bytes = self.dtype.itemsize * int(np.prod(self.shape[1:]))
        self._fd: int | None = None
        self._map: np.memmap | None = None

    @classmethod
    def of(cls, array) -> MemmapRows | None:
        """A reader of ``array``'s rows if it is a read-only memory map."""
        root = _root_memmap(array)
        if root is None or root.mode != "r" or root.filename is None:
            return None
        array = np.asarray(array)
        if array.ndim < 1 or not array.flags.c_contiguous or array.size == 0:
            return None
        start = root.offset + (array.ctypes.data - root.ctypes.data)
        rows = cls(root.filename, start, array.shape, array.dtype)
        try:
            fd = rows._file()
        except OSError:  # the file is gone: read through the map
            return None
        if _mapped_inode(array.ctypes.data) not in (None, os.fstat(fd).st_ino):
            return None  # the path now names another file than the map's
        return rows

    def take(self, rows) -> np.ndarray:
        """``array[rows]`` as a new in-memory array (rows: non-negative ints)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.shape[0]):
            raise IndexError(f"row index out of range for {self.shape[0]} rows.")
        if self.row_bytes < PREAD_MIN_ROW_BYTES or not hasattr(os, "preadv"):
            return self._take_mapped(rows)
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        flat = out.reshape(len(rows), -1).view(np.uint8)
        fd = self._file()
        for i, row in enumerate(rows.tolist()):
            position = self.start + row * self.row_bytes
            if os.preadv(fd, [flat[i]], position) != self.row_bytes:
                raise OSError(f"{self.path!r} is shorter than its array.")
        return out

    def _take_mapped(self, rows: np.ndarray) -> np.ndarray:
        if self._map is None:
            self._map = np.memmap(
                self.path, self.dtype, mode="r", offset=self.start, shape=self.shape
            )
        batch = self._map[rows]
        if hasattr(self._map._mmap, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            self._map._mmap.madvise(mmap.MADV_DONTNEED)
        return batch

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        return self._fd

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def __getstate__(self) -> dict:
        # A DataLoader worker opens the file itself.
        return {**self.__dict__, "_fd": None, "_map": None}


def iter_row_chunks(n_rows: int, row_bytes: int) -> Iterator[slice]:
    """Slices of about :data:`CHUNK_BYTES` each over ``n_rows`` rows.

    Examples
    --------
    >>> [(s.start, s.stop) for s in iter_row_chunks(5, 16 * 2**20)]
    [(0, 2), (2, 4), (4, 5)]
    """
    step = max(1, CHUNK_BYTES // max(1, row_bytes))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def read_rows(array, rows) -> np.ndarray:
    """``array[rows]`` in memory; a read-only memory map's rows come from its
    file, so that none of its pages stay resident (see the module's note).

    Examples
    --------
    >>> import numpy as np
    >>> read_rows(np.arange(6).reshape(3, 2), np.array([2, 0])).tolist()
    [[4, 5], [0, 1]]
    """
    disk = MemmapRows.of(array)
    return np.asarray(array[rows]) if disk is None else disk.take(rows)
