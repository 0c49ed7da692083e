"""Your own arrays in an ``.npz``, ``X`` mapped from the file where it can be."""

import math
import os
import struct
import zipfile

import numpy as np

__all__ = ["load_npz"]


def load_npz(path: str | os.PathLike, *, mmap: bool = True) -> tuple:
    """Load the arrays ``X``, ``y`` and optional ``groups`` of an ``.npz``.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` with ``X`` and ``y`` (same length, 2 or more classes) and
        optionally ``groups`` (one per sample, for a group splitter).
    mmap : bool, default=True
        Return ``X`` as a read-only ``np.memmap`` of the file where it is stored
        uncompressed (``np.savez``; ``np.savez_compressed`` is read into memory).

    Returns
    -------
    X : ndarray or np.memmap of shape (n_samples, ...)
        The samples.
    y : ndarray of shape (n_samples,)
        The labels.
    groups : ndarray of shape (n_samples,) or None
        The groups, where the file has them.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> np.savez(f"{tmp.name}/d.npz", X=np.zeros((4, 3)), y=[0, 1, 2, 1])
    >>> X, y, groups = load_npz(f"{tmp.name}/d.npz")
    >>> type(X).__name__, X.shape, y.tolist(), groups
    ('memmap', (4, 3), [0, 1, 2, 1], None)
    >>> del X; tmp.cleanup()
    """
    if not isinstance(mmap, bool):
        raise TypeError(f"mmap must be True or False, got {mmap!r}.")
    npz = np.load(path, allow_pickle=False)  # FileNotFoundError if missing
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"path: {os.fspath(path)!r} is not an .npz archive.")
    where = os.path.basename(path)
    with npz:
        if missing := [name for name in ("X", "y") if name not in npz.files]:
            raise ValueError(f"{where} holds no array {missing[0]!r} ({npz.files}).")
        X = _map_member(path, npz.zip) if mmap else None
        X = npz["X"] if X is None else X
        y, groups = npz["y"], npz["groups"] if "groups" in npz.files else None
    if X.ndim == 0 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"{where}: X has shape {X.shape} but y {y.shape}; need 1-D y.")
    if groups is not None and groups.shape != y.shape:
        raise ValueError(f"{where}: groups has shape {groups.shape}, y {y.shape}.")
    if len(np.unique(y)) < 2:
        raise ValueError(f"{where}: y has fewer than 2 classes: {np.unique(y)}.")
    return X, y, groups


def _map_member(path, archive: zipfile.ZipFile) -> np.memmap | None:
    """A read-only memmap of the archive's ``X`` if stored uncompressed, else None."""
    info = next(i for i in archive.infolist() if i.filename in ("X.npy", "X"))
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as file:
        # The data follow the 30-byte local header, its file name and extra
        # field (whose length can differ from the central directory's).
        file.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", file.read(4))
        file.seek(name_length + extra_length, os.SEEK_CUR)
        version = np.lib.format.read_magic(file)
        read = f"read_array_header_{min(version[0], 2)}_0"  # 3.0 reads as 2.0
        shape, fortran, dtype = getattr(np.lib.format, read)(file)
        offset = file.tell()
    if dtype.hasobject or math.prod(shape) == 0:  # cannot be mapped
        return None
    order = "F" if fortran else "C"
    return np.memmap(os.fspath(path), dtype, "r", offset, shape, order)
