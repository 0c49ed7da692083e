"""UTKFace: the face images you downloaded, labelled by the age in each name."""

import os

import numpy as np

from ..validation import check_int, is_int
from . import _images

__all__ = ["load_utkface"]

# UTKFace ages are 0..116; a larger first field is e.g. a timestamp, not an age.
_MAX_AGE = 150
_NOT_IMAGE = "not an image file (extension other than .jpg/.jpeg/.png)"


def _parse_utkface_name(name: str) -> tuple[int, int, int] | None:
    """``(age, gender, race)`` of ``[age]_[gender]_[race]_[date].jpg[.chip.jpg]``."""
    stem = name[: -len(".chip.jpg")] if name.lower().endswith(".chip.jpg") else name
    age, gender, race, *_ = [*os.path.splitext(stem)[0].split("_"), "", ""]
    if not (age.isascii() and age.isdigit()) or int(age) > _MAX_AGE:
        return None
    # Gender and race are single digits (-1 if not): the date of a name that
    # lacks a field moves into the race slot and is rejected.
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

    UTKFace (https://susanqq.github.io/UTKFace/) names its images
    ``[age]_[gender]_[race]_[date&time].jpg`` (often ``.jpg.chip.jpg``). The
    files directly in ``path`` are read in name order. A file is skipped if it
    is not a .jpg/.jpeg/.png, its name has no age (0..150; never a default) or
    Pillow cannot decode it: one UserWarning counts them, with examples.
    Gender (0/1) and race (0..4) are -1 where the name lacks them (a date is
    never a race; with three fields the second is the gender).

    Parameters
    ----------
    path : str or os.PathLike
        The folder of images (e.g. ``UTKFace/``).
    image_size : int, default=64
        Side of the square images (RGB, bilinear resize), at least 8.
    age_range : (int, int), default=None
        Keep only ages ``lo <= age <= hi``; the others are not reported.
    cache_dir : str, os.PathLike, None or False, default=None
        Where images are cached as uint8, keyed by the folder, each file's name,
        size and mtime and the options. None: ``$SK_KLPENALTY_CACHE``, else
        ``$XDG_CACHE_HOME/sk_klpenalty``, else ``~/.cache/sk_klpenalty``.
    return_meta : bool, default=False
        Also return ``{"file": [...], "gender": ..., "race": ...}``.
    dtype : {"float32", "uint8"}, default="float32"
        float32 in [0, 1], or the cached uint8 pixels (a quarter the memory).
    mmap : bool, default=False
        Return a read-only ``np.memmap`` of the cache (needs uint8 and a cache).

    Returns
    -------
    X : ndarray of shape (n_images, 3, image_size, image_size)
    y : ndarray of shape (n_images,)
        int64 ages.
    meta : dict of equal-length lists/arrays, only if ``return_meta``

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
    >>> X, y = load_utkface("UTKFace/", dtype="uint8", mmap=True)  # doctest: +SKIP
    """
    folder = _images.check_folder(path, "UTKFace images")
    image_size = check_int(image_size, "image_size", 8)
    message = f"age_range must be None or ints (lo, hi), lo <= hi: {age_range!r}."
    pair = isinstance(age_range, tuple | list) and len(age_range) == 2
    if age_range is not None and not (pair and all(map(is_int, age_range))):
        raise TypeError(message)
    if age_range is not None and age_range[0] > age_range[1]:
        raise ValueError(message)
    root, as_uint8 = _images.check_cache(cache_dir, dtype, mmap)

    with os.scandir(folder) as entries:
        names = sorted(entry.name for entry in entries if entry.is_file())
    skipped = {_NOT_IMAGE: [], "no age in the file name": []}
    rows, n_outside = {}, 0
    for name in names:
        parsed = _parse_utkface_name(name)
        if not name.lower().endswith((".jpg", ".jpeg", ".png")):
            skipped[_NOT_IMAGE].append(name)
        elif parsed is None:
            skipped["no age in the file name"].append(name)
        elif age_range and not age_range[0] <= parsed[0] <= age_range[1]:
            n_outside += 1
        else:
            rows[name] = parsed
    images, failed = _images.load_images(folder, [*rows], image_size, root, mmap, "utk")
    skipped["unreadable or corrupt image"] = failed
    for name in failed:
        del rows[name]
    if not rows:
        outside = f"{n_outside} outside age_range={age_range}" if n_outside else ""
        detail = "; ".join(filter(None, [outside, _images.summary(skipped)]))
        raise ValueError(f"no usable image in {str(folder)!r}: {detail or 'no file'}.")
    _images.warn_skipped("load_utkface", folder, len(names), skipped)

    X = images if as_uint8 else np.divide(images, 255, dtype=np.float32)
    age, gender, race = np.array(list(rows.values()), dtype=np.int64).T
    if not return_meta:
        return X, age
    return X, age, {"file": list(rows), "gender": gender, "race": race}
