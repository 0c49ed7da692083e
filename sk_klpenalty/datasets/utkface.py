"""UTKFace: the face images you downloaded, labelled by the age in each name."""

import os
import warnings
from pathlib import Path

import numpy as np

from ..validation import check_int, is_int
from .cache import cache_key, read_cache, resolve_cache_dir, write_cache

__all__ = ["load_utkface"]

_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
# UTKFace ages are 0..116; a larger first field is e.g. a timestamp, not an age.
_MAX_AGE = 150
_SKIP_REASONS = {
    "not_image": "not an image file (extension other than .jpg/.jpeg/.png)",
    "no_age": "no age in the file name",
    "unreadable": "unreadable or corrupt image",
}
_N_EXAMPLES = 3


def _check_folder(path) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike folder, got {path!r}.")
    folder = Path(path).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"path: no such folder: {str(folder)!r}.")
    if not folder.is_dir():
        raise NotADirectoryError(
            f"path must be a folder of UTKFace images, got the file {str(folder)!r}."
        )
    return folder.resolve()


def _check_age_range(age_range) -> tuple[int, int] | None:
    if age_range is None:
        return None
    message = (
        f"age_range must be None or two ints (lo, hi) with lo <= hi, got {age_range!r}."
    )
    if not isinstance(age_range, tuple | list) or len(age_range) != 2:
        raise TypeError(message)
    if not all(is_int(bound) for bound in age_range):
        raise TypeError(message)
    lo, hi = age_range
    if lo > hi:
        raise ValueError(message)
    return int(lo), int(hi)


def _parse_utkface_name(name: str) -> tuple[int, int, int] | None:
    """Parse ``[age]_[gender]_[race]_[date].jpg[.chip.jpg]``.

    Returns ``(age, gender, race)`` with -1 for a gender or race that does not
    parse, or None when the name holds no age.
    """
    stem = name[: -len(".chip.jpg")] if name.lower().endswith(".chip.jpg") else name
    fields = os.path.splitext(stem)[0].split("_")
    age_field = fields[0]
    if not (age_field.isascii() and age_field.isdigit()):
        return None
    age = int(age_field)
    if age > _MAX_AGE:
        return None
    # Gender and race are single digits: a date that moved up into the race
    # slot (name with a missing field) is a long digit string and is rejected.
    gender = int(fields[1]) if len(fields) > 1 and fields[1] in ("0", "1") else -1
    race = (
        int(fields[2])
        if len(fields) > 2 and fields[2] in ("0", "1", "2", "3", "4")
        else -1
    )
    return age, gender, race


def _scan_folder(folder: Path) -> list[tuple[str, int, int]]:
    """(name, size, mtime_ns) of the files directly in ``folder``, by name."""
    with os.scandir(folder) as entries:
        files = [entry for entry in entries if entry.is_file()]
    stats = [(entry.name, entry.stat()) for entry in files]
    return sorted((name, st.st_size, st.st_mtime_ns) for name, st in stats)


def _select_candidates(
    names: list[str], age_range: tuple[int, int] | None
) -> tuple[list[tuple[str, int, int, int]], dict[str, list[str]], int]:
    """Split names into decodable candidates, skipped names and out-of-range ones."""
    candidates = []
    skipped: dict[str, list[str]] = {reason: [] for reason in _SKIP_REASONS}
    n_outside = 0
    for name in names:
        if not name.lower().endswith(_IMAGE_EXTENSIONS):
            skipped["not_image"].append(name)
            continue
        parsed = _parse_utkface_name(name)
        if parsed is None:
            # Never give such a file a default age: that silently mislabels it.
            skipped["no_age"].append(name)
            continue
        if age_range is not None and not age_range[0] <= parsed[0] <= age_range[1]:
            n_outside += 1
            continue
        candidates.append((name, *parsed))
    return candidates, skipped, n_outside


def _decode_image(path: Path, image_size: int) -> np.ndarray:
    """Decode one image file to uint8 RGB of shape (3, image_size, image_size).

    Raises whatever Pillow raises for an unreadable file.
    """
    from PIL import Image  # lazy: keeps `import sk_klpenalty` light

    with Image.open(path) as image:
        rgb = image.convert("RGB").resize(
            (image_size, image_size), Image.Resampling.BILINEAR
        )
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)


def _decode_folder(
    folder: Path, names: list[str], image_size: int, age_range: tuple[int, int] | None
) -> dict[str, np.ndarray | dict]:
    """Decode every usable image; return arrays and the skip summary."""
    from PIL import Image

    # What Pillow raises for corrupt, truncated or unsupported files.
    decode_errors = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
    candidates, skipped, n_outside = _select_candidates(names, age_range)
    images = np.empty((len(candidates), 3, image_size, image_size), dtype=np.uint8)
    kept = []
    for name, age, gender, race in candidates:
        try:
            images[len(kept)] = _decode_image(folder / name, image_size)
        except decode_errors:
            skipped["unreadable"].append(name)
            continue
        kept.append((name, age, gender, race))
    summary = {
        reason: {"count": len(found), "examples": found[:_N_EXAMPLES]}
        for reason, found in skipped.items()
        if found
    }
    files, ages, genders, races = zip(*kept, strict=True) if kept else ([],) * 4
    return {
        "images": images[: len(kept)],
        "age": np.asarray(ages, dtype=np.int64),
        # "names", not "file": np.savez takes its path as a `file` argument.
        "names": np.asarray(files, dtype=str),
        "gender": np.asarray(genders, dtype=np.int64),
        "race": np.asarray(races, dtype=np.int64),
        "skipped": summary,
        "n_outside": n_outside,
    }


def _skip_summary(skipped: dict) -> str:
    return "; ".join(
        f"{info['count']} {_SKIP_REASONS[reason]}, e.g. "
        + ", ".join(repr(name) for name in info["examples"])
        for reason, info in skipped.items()
    )


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

    UTKFace (https://susanqq.github.io/UTKFace/) is a set of face images named
    ``[age]_[gender]_[race]_[date&time].jpg``, often followed by ``.chip.jpg``
    (e.g. ``25_0_1_20170116174525125.jpg.chip.jpg``). Nothing is downloaded:
    pass the folder that holds the images (e.g. ``UTKFace/`` or
    ``crop_part1/``).

    The files directly in ``path`` (not in subfolders) are read in file-name
    order (Python string order). The age is the first ``_``-separated field
    of the name and must be an integer in 0..150. Files are skipped, and
    counted, if

    * their extension is not .jpg, .jpeg or .png (any case; ``.jpg.chip.jpg``
      counts as .jpg),
    * their name holds no age (such a file is never given a default age), or
    * Pillow cannot decode them.

    One :class:`UserWarning` then summarises the skipped files per reason,
    with a few example names (also when the data come from the cache).

    Gender (0 or 1) and race (0..4) are parsed where the name holds them and
    are -1 otherwise. A name with a missing field, such as
    ``[age]_[gender]_[date].jpg.chip.jpg``, keeps its age and gender; its date
    is never taken for a race, as a race is a single digit. With only three
    fields the name cannot tell a gender from a race: the second field is read
    as gender.

    The decoded images are cached as uint8 in an ``.npy`` file (labels and
    names in an ``.npz`` beside it) whose name is a hash of the folder's
    absolute path, the name, size and modification time of every file in it,
    ``image_size`` and ``age_range``. An identical second call thus decodes
    nothing, and any change to the folder decodes it again. Old cache files
    are not deleted; remove the cache folder to free space.

    ``dtype="uint8"`` returns the images as the cache holds them, a quarter
    of the float32 memory; the estimators scale each batch to [0, 1] on the
    device, with the same results as the float32 images. ``mmap=True``
    returns a read-only memory map of the cache file instead of reading it:
    the estimators and ``compare_penalty`` read it batch by batch, so data
    sets larger than memory train.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding the UTKFace images.
    image_size : int, default=64
        Images are resized (bilinear) to ``image_size`` x ``image_size``
        pixels, at least 8. Faces are not square-cropped first: UTKFace images
        are already square.
    age_range : tuple of two ints (lo, hi), default=None
        If given, keep only the images with ``lo <= age <= hi`` (e.g.
        ``(21, 60)``). Images outside the range are neither decoded nor
        reported as skipped.
    cache_dir : str, os.PathLike, None or False, default=None
        Where to cache the decoded images. None uses ``$SK_KLPENALTY_CACHE``
        if set, else ``$XDG_CACHE_HOME/sk_klpenalty``, else
        ``~/.cache/sk_klpenalty``; False disables the cache.
    return_meta : bool, default=False
        If True, also return a dict of per-image information.
    dtype : {"float32", "uint8"}, default="float32"
        float32 values in [0, 1], or the uint8 pixels 0..255.
    mmap : bool, default=False
        Return a read-only ``np.memmap`` of the cache (needs
        ``dtype="uint8"`` and a cache). If the cache cannot be written, the
        images are returned in memory, with a warning.

    Returns
    -------
    X : ndarray of shape (n_images, 3, image_size, image_size)
        RGB images: float32 in [0, 1], about ``n_images * image_size**2 * 12``
        bytes (1.2 GB for the 23708 images of UTKFace at 64 pixels); or uint8,
        a quarter of that (0.29 GB; 1.16 GB at 128 pixels), and no memory
        but the pages being read with ``mmap=True``.
    y : ndarray of shape (n_images,)
        int64 ages in years.
    meta : dict, only if ``return_meta=True``
        Equal-length entries (``pandas.DataFrame(meta)`` works): ``"file"``
        (list of file names), ``"gender"`` and ``"race"`` (int64 arrays, -1
        where the name does not give them).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (NotADirectoryError if it is a file).
    ValueError
        If no usable image is left, or for an invalid parameter.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from sk_klpenalty.datasets import load_utkface
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name)
    >>> for name in ["25_0_1_20170116174525125.jpg.chip.jpg", "61_1_3_2017.jpg"]:
    ...     Image.new("RGB", (200, 200), "gray").save(folder / name)
    >>> X, y, meta = load_utkface(folder, image_size=32, cache_dir=False,
    ...                           return_meta=True)
    >>> X.shape, X.dtype, y.tolist()
    ((2, 3, 32, 32), dtype('float32'), [25, 61])
    >>> meta["gender"].tolist(), meta["race"].tolist()
    ([0, 1], [1, 3])
    >>> X8, _ = load_utkface(folder, image_size=32, cache_dir=False, dtype="uint8")
    >>> X8.dtype, bool((X8.astype("float32") / 255 == X).all())
    (dtype('uint8'), True)
    >>> tmp.cleanup()

    With the real data set, keeping adults only:

    >>> X, y = load_utkface("UTKFace/", age_range=(21, 60))  # doctest: +SKIP

    The seed's 128-pixel images, read from disk batch by batch:

    >>> X, y = load_utkface("UTKFace/", 128, dtype="uint8", mmap=True)  # doctest: +SKIP
    """
    folder = _check_folder(path)
    image_size = check_int(image_size, "image_size", 8)
    age_range = _check_age_range(age_range)
    cache_root = resolve_cache_dir(cache_dir)
    as_uint8 = _check_dtype_and_mmap(dtype, mmap, cache_root)

    files = _scan_folder(folder)
    key = cache_key(folder, files, image_size, age_range)
    cache_file = None if cache_root is None else cache_root / f"utkface-{key}.npz"
    data = None if cache_file is None else read_cache(cache_file, key, mmap)
    if data is None:
        data = _decode_folder(folder, [f[0] for f in files], image_size, age_range)
        if len(data["age"]) == 0:
            raise ValueError(_no_image_message(folder, data, age_range))
        if cache_file is not None:
            try:
                write_cache(cache_file, key, data)
            except OSError as exc:  # the data are fine, only caching failed
                warnings.warn(
                    f"load_utkface could not write its cache {str(cache_file)!r}: "
                    f"{exc}. Pass cache_dir=False to silence this"
                    f"{'; mmap=True returns the images in memory' if mmap else ''}.",
                    UserWarning,
                    stacklevel=2,
                )
            else:
                if mmap:  # the fresh entry, mapped; the decoded copy is freed
                    data = read_cache(cache_file, key, mmap) or data

    if data["skipped"]:
        n_skipped = sum(info["count"] for info in data["skipped"].values())
        warnings.warn(
            f"load_utkface skipped {n_skipped} of {len(files)} files in "
            f"{str(folder)!r}: {_skip_summary(data['skipped'])}.",
            UserWarning,
            stacklevel=2,
        )

    if as_uint8:
        X = data["images"]
    else:
        X = data["images"].astype(np.float32)
        X /= 255.0
    y = data["age"].astype(np.int64)
    if not return_meta:
        return X, y
    meta = {
        "file": data["names"].tolist(),
        "gender": data["gender"].astype(np.int64),
        "race": data["race"].astype(np.int64),
    }
    return X, y, meta


def _check_dtype_and_mmap(dtype, mmap, cache_root) -> bool:
    """Whether to return uint8 images; raise for a bad dtype or mmap."""
    allowed = {np.dtype(np.float32): False, np.dtype(np.uint8): True}
    try:
        as_uint8 = allowed[np.dtype(dtype)]
    except (TypeError, KeyError):
        message = f'dtype must be "float32" or "uint8", got {dtype!r}.'
        raise ValueError(message) from None
    if not isinstance(mmap, bool):
        raise TypeError(f"mmap must be True or False, got {mmap!r}.")
    if mmap and not as_uint8:
        raise ValueError(
            'mmap=True maps the cached uint8 images: pass dtype="uint8" as well '
            "(the estimators scale them to [0, 1] batch by batch)."
        )
    if mmap and cache_root is None:
        raise ValueError("mmap=True maps the on-disk cache: it needs cache_dir!=False.")
    return as_uint8


def _no_image_message(folder: Path, data: dict, age_range) -> str:
    reasons = []
    if data["n_outside"]:
        reasons.append(f"{data['n_outside']} outside age_range={age_range}")
    if data["skipped"]:
        reasons.append(_skip_summary(data["skipped"]))
    detail = "; ".join(reasons) if reasons else "the folder holds no file"
    return f"no usable image in {str(folder)!r}: {detail}."
