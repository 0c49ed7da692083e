"""Image folders: UTKFace, and one subfolder per class (torchvision's layout).

Files are decoded once (Pillow) into a uint8 cache ``TAG-KEY.npy``, then
``TAG-KEY.json`` (the unreadable files); KEY hashes the folder, the files'
names, sizes and mtimes and the image size: any change decodes again.
"""

import hashlib
import json
import os
import uuid
import warnings
from pathlib import Path

import numpy as np

from ..validation import check_int, is_int

__all__ = ["load_image_folder", "load_utkface"]

_CACHE_VERSION = 3  # bump when the cache's content or the decoding changes
_MAX_AGE = 150  # UTKFace ages are 0..116; a larger first field is no age
# torchvision's ImageFolder extensions (IMG_EXTENSIONS), any case.
_EXTENSIONS = tuple(".bmp .jpeg .jpg .pgm .png .ppm .tif .tiff .webp".split())
_UNREADABLE = "unreadable or corrupt image"
_NOT_IMAGE = "not an image file (extension other than {})"


def _check_args(path, image_size, cache_dir, dtype, mmap):
    """The folder, image size, cache folder (None: none) and whether uint8."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike folder, got {path!r}.")
    folder = Path(path).expanduser().resolve()
    if not folder.exists():
        raise FileNotFoundError(f"path: no such folder: {str(folder)!r}.")
    if not folder.is_dir():
        raise NotADirectoryError(f"path must be a folder: {str(folder)!r}.")
    image_size = check_int(image_size, "image_size", 8)
    if cache_dir is None:
        xdg = Path(os.environ.get("XDG_CACHE_HOME", ""))  # ignored if relative (XDG)
        base = xdg if xdg.is_absolute() else Path.home() / ".cache"
        cache_dir = os.environ.get("SK_KLPENALTY_CACHE") or base / "sk_klpenalty"
    if not isinstance(cache_dir, str | os.PathLike) and cache_dir is not False:
        raise TypeError(f"cache_dir must be None, a folder or False: {cache_dir!r}.")
    try:
        as_uint8 = {np.float32: False, np.uint8: True}[np.dtype(dtype).type]
    except (TypeError, KeyError):
        raise ValueError(f'dtype must be "float32" or "uint8": {dtype!r}.') from None
    if not isinstance(mmap, bool):
        raise TypeError(f"mmap must be True or False, got {mmap!r}.")
    if mmap and (not as_uint8 or cache_dir is False):
        raise ValueError(
            'mmap=True maps the uint8 cache: pass dtype="uint8" and a cache_dir.'
        )
    root = None if cache_dir is False else Path(cache_dir).expanduser()
    return folder, image_size, root, as_uint8


def _summary(skipped: dict[str, list[str]]) -> str:
    return "; ".join(  # per reason: how many files, and three of their names
        f"{len(names)} {reason}, e.g. {', '.join(map(repr, names[:3]))}"
        for reason, names in skipped.items()
        if names
    )


def _warn_skipped(loader: str, folder: Path, n_files: int, skipped: dict) -> None:
    if n_skipped := sum(map(len, skipped.values())):
        where = f"{n_skipped} of {n_files} files in {str(folder)!r}"
        message = f"{loader} skipped {where}: {_summary(skipped)}."
        warnings.warn(message, UserWarning, stacklevel=3)


def _load_images(folder: Path, names: list[str], image_size: int, root, mmap, tag):
    """The readable files' uint8 images (cached in ``root``), the others' names."""
    files = [(name, (folder / name).stat()) for name in names]
    files = [(name, st.st_size, st.st_mtime_ns) for name, st in files]
    # json escapes undecodable file names (ensure_ascii), so this encodes.
    key = json.dumps([_CACHE_VERSION, str(folder), files, image_size]).encode()
    entry = root and root / f"{tag}-{hashlib.sha256(key).hexdigest()}"
    if cached := entry and _read_entry(entry, len(names), mmap):
        return cached
    from PIL import Image

    # What Pillow raises for corrupt, truncated or unsupported files.
    errors = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
    images = np.empty((len(names), 3, image_size, image_size), dtype=np.uint8)
    failed = []
    for i, name in enumerate(names):
        try:  # the readable ones fill images from the front
            images[i - len(failed)] = _decode_image(folder / name, image_size)
        except errors:
            failed.append(name)
    images = images[: len(images) - len(failed)]
    if not entry or not len(images):  # nothing worth caching
        return images, failed
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(entry.with_suffix(".npy"), lambda f: np.save(f, images))
        index = json.dumps({"failed": failed}).encode()
        _write_atomically(entry.with_suffix(".json"), lambda f: f.write(index))
    except OSError as exc:  # the images are fine, only caching failed
        mapped = "; mmap=True returns the images in memory" if mmap else ""
        message = f"could not write the cache {str(entry)!r}: {exc}{mapped}."
        warnings.warn(f"{message} Pass cache_dir=False to silence this.", stacklevel=3)
        return images, failed
    return (mmap and _read_entry(entry, len(names), mmap)) or (images, failed)


def _decode_image(path: Path, image_size: int) -> np.ndarray:
    """One file as uint8 RGB (3, image_size, image_size); Pillow's errors pass."""
    from PIL import Image

    with Image.open(path) as image:
        size = (image_size, image_size)
        rgb = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)


def _read_entry(entry: Path, n_names: int, mmap: bool):
    """The cached (images, failed), or None if absent, damaged or stale."""
    try:
        failed = json.loads(entry.with_suffix(".json").read_bytes())["failed"]
        images = np.load(entry.with_suffix(".npy"), "r" if mmap else None)
    except (OSError, ValueError, EOFError, KeyError, TypeError):
        return None  # decoded again and overwritten
    ok = images.dtype == np.uint8 and images.ndim == 4
    return (images, failed) if ok and len(images) + len(failed) == n_names else None


def _write_atomically(path: Path, write) -> None:
    """Write via a temporary file and a rename: readers never see half a file."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("wb") as file:
            write(file)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _parse_utkface_name(name: str) -> tuple[int, int, int] | None:
    """``(age, gender, race)`` of ``[age]_[gender]_[race]_[date].jpg[.chip.jpg]``."""
    stem = name[: -len(".chip.jpg")] if name.lower().endswith(".chip.jpg") else name
    age, gender, race, *_ = [*os.path.splitext(stem)[0].split("_"), "", ""]
    if not (age.isascii() and age.isdigit()) or int(age) > _MAX_AGE:
        return None
    # Single digits, else -1: a date in the race slot (a missing field) is no race.
    gender = int(gender) if gender in ("0", "1") else -1
    return int(age), gender, int(race) if race in ("0", "1", "2", "3", "4") else -1


def load_utkface(
    path: str | os.PathLike,
    image_size: int = 64,
    age_range: tuple[int, int] | None = None,
    cache_dir: str | os.PathLike | None | bool = None,
    return_meta: bool = False,
    *,
    dtype: str = "float32",
    mmap: bool = False,
) -> tuple:
    """Load a UTKFace folder that you downloaded yourself (age estimation).

    The files directly in ``path``, ``[age]_[gender]_[race]_[date].jpg[.chip.jpg]``,
    in name order. Files that are no .jpg/.jpeg/.png, have no age (0..150) in
    their name or cannot be decoded are skipped, counted in one UserWarning.

    Parameters
    ----------
    path : str or os.PathLike
        The folder of images (e.g. ``UTKFace/``).
    image_size : int, default=64
        Side of the square images (RGB, bilinear resize), at least 8.
    age_range : (int, int), default=None
        Keep only ages ``lo <= age <= hi``; the others are not reported.
    cache_dir : str, os.PathLike, None or False, default=None
        Where the uint8 images are cached. None: ``$SK_KLPENALTY_CACHE``, else
        ``$XDG_CACHE_HOME/sk_klpenalty``, else ``~/.cache/sk_klpenalty``.
    return_meta : bool, default=False
        Also return ``meta``.
    dtype : {"float32", "uint8"}, default="float32"
        float32 in [0, 1], or the cached uint8 pixels (a quarter the memory).
    mmap : bool, default=False
        Return a read-only ``np.memmap`` of the cache (needs uint8 and a cache).

    Returns
    -------
    X : ndarray of shape (n_images, 3, image_size, image_size)
        The images, as ``dtype`` says.
    y : ndarray of shape (n_images,)
        The ages (int64).
    meta : dict
        Per image: ``"file"``, ``"gender"`` (0/1) and ``"race"`` (0..4), -1
        where missing; returned if ``return_meta``.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for name in ["25_0_1_20170116174525125.jpg.chip.jpg", "61_1_3_2017.jpg"]:
    ...     Image.new("RGB", (200, 200), "gray").save(f"{tmp.name}/{name}")
    >>> X, y, meta = load_utkface(tmp.name, 32, cache_dir=False, return_meta=True)
    >>> X.shape, X.dtype, y.tolist(), meta["race"].tolist()
    ((2, 3, 32, 32), dtype('float32'), [25, 61], [1, 3])
    >>> tmp.cleanup()
    """
    message = f"age_range must be None or ints (lo, hi), lo <= hi: {age_range!r}."
    pair = isinstance(age_range, tuple | list) and len(age_range) == 2
    if age_range is not None and not (pair and all(map(is_int, age_range))):
        raise TypeError(message)
    if age_range is not None and age_range[0] > age_range[1]:
        raise ValueError(message)
    folder, image_size, root, as_uint8 = _check_args(
        path, image_size, cache_dir, dtype, mmap
    )
    names = sorted(file.name for file in folder.iterdir() if file.is_file())
    not_image = _NOT_IMAGE.format(".jpg/.jpeg/.png")
    skipped = {not_image: [], "no age in the file name": []}
    rows, n_outside = {}, 0
    for name in names:
        parsed = _parse_utkface_name(name)
        if not name.lower().endswith((".jpg", ".jpeg", ".png")):
            skipped[not_image].append(name)
        elif parsed is None:
            skipped["no age in the file name"].append(name)
        elif age_range and not age_range[0] <= parsed[0] <= age_range[1]:
            n_outside += 1
        else:
            rows[name] = parsed
    images, failed = _load_images(folder, [*rows], image_size, root, mmap, "utk")
    skipped[_UNREADABLE] = failed
    for name in failed:
        del rows[name]
    if not rows:
        outside = f"{n_outside} outside age_range={age_range}" if n_outside else ""
        detail = "; ".join(filter(None, [outside, _summary(skipped)]))
        raise ValueError(f"no usable image in {str(folder)!r}: {detail or 'no file'}.")
    _warn_skipped("load_utkface", folder, len(names), skipped)
    X = images if as_uint8 else np.divide(images, 255, dtype=np.float32)
    age, gender, race = np.array(list(rows.values()), dtype=np.int64).T
    if not return_meta:
        return X, age
    return X, age, {"file": list(rows), "gender": gender, "race": race}


def _class_order(folder: Path, classes) -> tuple[list[str], np.ndarray]:
    """The class folders in class order, and their labels."""
    # Hidden folders (e.g. .ipynb_checkpoints) are no classes.
    found = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name[0] != ".")
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
    if empty := [names[k] for k in sorted(set(range(len(names))) - set(index))]:
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

    Samples come class by class, each folder's files (subfolders too) in name
    order; hidden folders are ignored. Files that are no image or cannot be
    decoded are skipped, counted in one UserWarning.

    Parameters
    ----------
    path : str or os.PathLike
        The folder of class folders.
    image_size : int, default=64
        Side of the square images (RGB, bilinear resize), at least 8.
    classes : list of str, default=None
        Every class folder's name, in class order. None: the folder names must
        be numbers, ordered and returned as numbers.
    cache_dir : str, os.PathLike, None or False, default=None
        The uint8 cache, as for :func:`load_utkface` (False: none).
    dtype : {"uint8", "float32"}, default="uint8"
        The cached uint8 pixels, or float32 in [0, 1].
    mmap : bool, default=False
        Return a read-only ``np.memmap`` of the cache (needs uint8 and a cache).

    Returns
    -------
    X : ndarray of shape (n_images, 3, image_size, image_size)
        The images, as ``dtype`` says.
    y : ndarray of shape (n_images,)
        The folder names, or their numbers (int64 or float64).

    Examples
    --------
    >>> import tempfile
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
    folder, image_size, root, as_uint8 = _check_args(
        path, image_size, cache_dir, dtype, mmap
    )
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
    images, failed = _load_images(folder, files, image_size, root, mmap, "dir")
    unreadable = set(failed)
    index = [k for k, file in zip(index, files, strict=True) if file not in unreadable]
    _check_filled(names, index)
    skipped = {_NOT_IMAGE.format("/".join(_EXTENSIONS)): not_images}
    skipped[_UNREADABLE] = failed
    n_files = len(files) + len(not_images)
    _warn_skipped("load_image_folder", folder, n_files, skipped)
    X = images if as_uint8 else np.divide(images, 255, dtype=np.float32)
    return X, labels[np.array(index, dtype=np.int64)]
