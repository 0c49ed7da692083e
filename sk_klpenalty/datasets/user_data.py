"""Your own data: arrays in an ``.npz``, or images in one folder per class."""

import math
import os
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..validation import check_int
from . import _images

__all__ = ["load_image_folder", "load_npz"]

# torchvision's ImageFolder extensions (IMG_EXTENSIONS), any case.
_EXTENSIONS = tuple(".bmp .jpeg .jpg .pgm .png .ppm .tif .tiff .webp".split())
_NOT_IMAGE = "not an image file (extension other than " + "/".join(_EXTENSIONS) + ")"


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
    y : ndarray of shape (n_samples,)
    groups : ndarray of shape (n_samples,) or None

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


def _class_order(folder: Path, classes) -> tuple[list[str], np.ndarray]:
    """The class folders in class order, and their labels."""
    found = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())
    found = [name for name in found if name[0] != "."]  # e.g. .ipynb_checkpoints
    if len(found) < 2:
        raise ValueError(f"path: needs 2 or more class folders, found {found}.")
    if classes is not None:
        if isinstance(classes, str) or not all(isinstance(c, str) for c in classes):
            raise TypeError(f"classes must be a list of folder names, got {classes!r}.")
        if sorted(classes) != found:
            unknown, unnamed = set(classes) - set(found), set(found) - set(classes)
            raise ValueError(
                f"classes must name each class folder once: no folder {sorted(unknown)}"
                f", not named {sorted(unnamed)}, in classes={list(classes)}."
            )
        return list(classes), np.asarray(classes, dtype=str)
    try:  # numbers are ordered, and returned, as numbers
        values = np.array(found, dtype=np.float64)
    except ValueError:
        values = np.array(np.nan)
    if not np.isfinite(values).all():
        raise ValueError(f"classes=[...] is needed: not all numbers, e.g. {found[:3]}.")
    order = np.argsort(values, kind="stable")
    integral = (values % 1 == 0).all()
    return [found[i] for i in order], values[order].astype("i8" if integral else "f8")


def _check_filled(names: list[str], index: list[int]) -> None:
    """Raise if a class folder holds no usable image."""
    present = set(index)
    if empty := [name for k, name in enumerate(names) if k not in present]:
        raise ValueError(f"path: the class folders {empty} hold no readable image.")


def load_image_folder(
    path: str | os.PathLike,
    image_size: int = 64,
    *,
    classes: list[str] | None = None,
    cache_dir: str | os.PathLike | None | bool = None,
    dtype: str = "uint8",
    mmap: bool = False,
) -> tuple:
    """Load images stored one subfolder per class (torchvision's ImageFolder).

    Folder names that are all numbers are ordered, and returned, as numbers
    (int if integral); otherwise ``classes`` gives the order and ``y`` holds
    the names (give the estimator the same ``classes``). Samples come class by
    class (hidden folders are ignored), each folder's files (subfolders too)
    in name order. Files that are no image or that Pillow cannot decode are
    skipped with one UserWarning.

    Parameters
    ----------
    path : str or os.PathLike
        The folder of class folders.
    image_size : int, default=64
        Side of the square images (RGB, bilinear resize), at least 8.
    classes : list of str, default=None
        Every class folder's name, in class order.
    cache_dir : str, os.PathLike, None or False, default=None
        The uint8 cache, as for :func:`load_utkface` (False: none).
    dtype : {"uint8", "float32"}, default="uint8"
    mmap : bool, default=False
        Return a read-only ``np.memmap`` of the cache (needs uint8 and a cache).

    Returns
    -------
    X : ndarray of shape (n_images, 3, image_size, image_size)
    y : ndarray of shape (n_images,)
        Numbers (int64 or float64) or folder names.

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for grade in ["2", "10", "1"]:
    ...     os.mkdir(f"{tmp.name}/{grade}")
    ...     Image.new("RGB", (20, 20)).save(f"{tmp.name}/{grade}/a.png")
    >>> X, y = load_image_folder(tmp.name, 16, cache_dir=False)
    >>> X.shape, X.dtype, y.tolist()
    ((3, 3, 16, 16), dtype('uint8'), [1, 2, 10])
    >>> tmp.cleanup()
    """
    folder = _images.check_folder(path, "class folders")
    image_size = check_int(image_size, "image_size", 8)
    root, as_uint8 = _images.check_cache(cache_dir, dtype, mmap)
    names, labels = _class_order(folder, classes)

    files, index, not_images = [], [], []
    for k, name in enumerate(names):
        for file in sorted(p for p in (folder / name).rglob("*") if p.is_file()):
            relative = file.relative_to(folder).as_posix()
            if relative.lower().endswith(_EXTENSIONS):
                files.append(relative)
                index.append(k)
            else:
                not_images.append(relative)
    _check_filled(names, index)
    images, failed = _images.load_images(folder, files, image_size, root, mmap, "dir")
    unreadable = set(failed)
    index = [k for k, file in zip(index, files, strict=True) if file not in unreadable]
    _check_filled(names, index)
    skipped = {_NOT_IMAGE: not_images, "unreadable or corrupt image": failed}
    n_files = len(files) + len(not_images)
    _images.warn_skipped("load_image_folder", folder, n_files, skipped)
    X = images if as_uint8 else np.divide(images, 255, dtype=np.float32)
    return X, labels[np.array(index, dtype=np.int64)]
