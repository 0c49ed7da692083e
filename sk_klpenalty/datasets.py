"""Ordinal image data sets for trying out ordinal classifiers.

Two loaders are provided:

* :func:`load_rotated_digits` builds an offline ordinal benchmark from the
  scikit-learn digits: the label is the (binned) rotation angle of a digit.
* :func:`load_utkface` reads a UTKFace folder that the user downloaded
  themselves; the label is the age parsed from each file name.

Only numpy, scipy, scikit-learn and the standard library are imported here;
Pillow is imported inside the UTKFace functions so that ``import sk_klpenalty``
stays light.
"""

import contextlib
import hashlib
import json
import numbers
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

__all__ = ["load_rotated_digits", "load_utkface"]


# --------------------------------------------------------------------------
# Shared validation helpers
# --------------------------------------------------------------------------


def _check_int(value, name: str, minimum: int) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _check_max_angle(max_angle) -> float:
    if isinstance(max_angle, bool) or not isinstance(max_angle, numbers.Real):
        raise TypeError(
            f"max_angle must be a number in (0, 180] degrees, got {max_angle!r}."
        )
    # Written so that NaN fails too.
    if not 0 < max_angle <= 180:
        raise ValueError(
            f"max_angle must be a number in (0, 180] degrees, got {max_angle!r}."
        )
    return float(max_angle)


def _check_random_state(random_state) -> np.random.RandomState:
    allowed = "None, an int in [0, 2**32 - 1] or a numpy.random.RandomState"
    if random_state is not None and (
        isinstance(random_state, bool)
        or not isinstance(random_state, numbers.Integral | np.random.RandomState)
    ):
        raise TypeError(f"random_state must be {allowed}, got {random_state!r}.")
    try:
        return check_random_state(random_state)
    except ValueError as exc:  # e.g. a negative seed
        raise ValueError(
            f"random_state must be {allowed}, got {random_state!r}."
        ) from exc


# --------------------------------------------------------------------------
# Rotated digits
# --------------------------------------------------------------------------


def _centred_digits(image_size: int) -> np.ndarray:
    """Digits scaled to [0, 1], upscaled and centred on a blank square canvas.

    The digit square has side <= image_size / sqrt(2), so even its corners stay
    inside the canvas at any rotation, and the same parity as ``image_size``, so
    it is exactly centred on the rotation centre.
    """
    images = load_digits().images / 16.0  # pixels are 0..16
    inner = int(image_size / np.sqrt(2))
    inner -= (image_size - inner) % 2
    # One zoom call for all digits: axis 0 (the digit index) is not scaled.
    zoomed = ndimage.zoom(images, (1, inner / 8, inner / 8), order=1)
    canvas = np.zeros((len(images), image_size, image_size))
    start = (image_size - inner) // 2
    canvas[:, start : start + inner, start : start + inner] = zoomed
    return canvas


def _draw_angles(
    rng: np.random.RandomState, shape: tuple[int, int], max_angle: float
) -> np.ndarray:
    angles = rng.uniform(-max_angle, max_angle, size=shape)
    # numpy documents that `high` may come out through rounding; keep the
    # interval half-open so that every angle has exactly one bin.
    return np.minimum(angles, np.nextafter(max_angle, 0.0))


def _angle_bins(angles: np.ndarray, n_classes: int, max_angle: float) -> np.ndarray:
    edges = np.linspace(-max_angle, max_angle, n_classes + 1)
    # side="right": an angle equal to an edge belongs to the bin it starts.
    return (np.searchsorted(edges, angles, side="right") - 1).astype(np.int64)


def load_rotated_digits(
    n_classes: int = 24,
    max_angle: float = 120.0,
    n_rotations: int = 3,
    image_size: int = 28,
    random_state: int | np.random.RandomState | None = 0,
    return_angles: bool = False,
) -> tuple[np.ndarray, ...]:
    """Load an offline ordinal benchmark: how far is a digit rotated?

    Built from :func:`sklearn.datasets.load_digits` (1797 images of 8x8
    pixels, shipped with scikit-learn, so nothing is downloaded). Each digit is
    scaled to [0, 1], upscaled (bilinear) into a centred square of side about
    ``image_size / sqrt(2)`` on a blank ``image_size`` x ``image_size`` canvas,
    so that no rotation cuts it, and copied ``n_rotations`` times. Each copy is
    rotated about the canvas centre by an angle drawn uniformly in
    ``[-max_angle, max_angle)`` degrees (counter-clockwise as displayed with
    row 0 at the top, as :func:`scipy.ndimage.rotate`; bilinear).

    The label is how far the digit is rotated, not which digit it is: the
    interval ``[-max_angle, max_angle)`` is split into ``n_classes`` bins of
    equal width, and class ``k`` holds the angles in ``[edges[k], edges[k+1])``
    with ``edges = np.linspace(-max_angle, max_angle, n_classes + 1)``.
    Neighbouring classes are neighbouring angles and look alike, while distant
    classes look different: the classes are ordered, which is what makes this
    an ordinal task.

    Samples are in digit-major order: sample ``k * n_rotations + r`` is copy
    ``r`` of digit ``k`` of ``load_digits()``. Copies of one digit are alike
    apart from the angle; pass ``groups=np.arange(len(y)) // n_rotations`` to a
    group splitter (e.g. :class:`sklearn.model_selection.GroupKFold`) to keep
    them on one side of a split.

    Parameters
    ----------
    n_classes : int, default=24
        Number of angle bins (classes), at least 2.
    max_angle : float, default=120.0
        Largest absolute rotation in degrees, in (0, 180]. With 180 the
        classes wrap around (-180 and +180 degrees look the same).
    n_rotations : int, default=3
        Number of rotated copies per digit, at least 1.
    image_size : int, default=28
        Side of the square output images in pixels, at least 8.
    random_state : int, RandomState instance or None, default=0
        Seeds the angles. An int gives the same arrays on every call.
    return_angles : bool, default=False
        If True, also return the exact angle of every sample.

    Returns
    -------
    X : ndarray of shape (1797 * n_rotations, 1, image_size, image_size)
        float32 images with values in [0, 1] (one channel, as for a CNN).
    y : ndarray of shape (1797 * n_rotations,)
        int64 class (angle bin) in ``0 .. n_classes - 1``.
    angles : ndarray of shape (1797 * n_rotations,)
        float64 rotation angles in degrees, only if ``return_angles=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_klpenalty.datasets import load_rotated_digits
    >>> X, y = load_rotated_digits()
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((5391, 1, 28, 28), dtype('float32'), (5391,), dtype('int64'))
    >>> X, y, angles = load_rotated_digits(
    ...     n_classes=4, n_rotations=1, image_size=16, return_angles=True
    ... )
    >>> edges = np.linspace(-120, 120, 4 + 1)
    >>> bool(np.all((edges[y] <= angles) & (angles < edges[y + 1])))
    True
    """
    n_classes = _check_int(n_classes, "n_classes", 2)
    max_angle = _check_max_angle(max_angle)
    n_rotations = _check_int(n_rotations, "n_rotations", 1)
    image_size = _check_int(image_size, "image_size", 8)
    rng = _check_random_state(random_state)

    digits = _centred_digits(image_size)
    angles = _draw_angles(rng, (len(digits), n_rotations), max_angle)
    # One scipy call per image is fast enough (~0.3 s for the defaults) and
    # simpler than a batched map_coordinates, which measured slower.
    X = np.empty((angles.size, 1, image_size, image_size), dtype=np.float32)
    for k, (digit, digit_angles) in enumerate(zip(digits, angles, strict=True)):
        for r, angle in enumerate(digit_angles):
            X[k * n_rotations + r, 0] = ndimage.rotate(
                digit, angle, reshape=False, order=1
            )
    # Bilinear interpolation stays within [0, 1] up to rounding; make it exact.
    np.clip(X, 0.0, 1.0, out=X)
    angles = angles.ravel()
    y = _angle_bins(angles, n_classes, max_angle)
    if return_angles:
        return X, y, angles
    return X, y


# --------------------------------------------------------------------------
# UTKFace
# --------------------------------------------------------------------------

# Bump when the cache content or the decoding changes, to invalidate old files.
_UTKFACE_CACHE_VERSION = 1
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
    if not all(_is_int(bound) for bound in age_range):
        raise TypeError(message)
    lo, hi = age_range
    if lo > hi:
        raise ValueError(message)
    return int(lo), int(hi)


def _is_int(value) -> bool:
    # bool is an Integral, but n_classes=True is a bug, not a request for 1.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _default_cache_dir() -> Path:
    """``$SK_KLPENALTY_CACHE``, else ``$XDG_CACHE_HOME/sk_klpenalty``, else
    ``~/.cache/sk_klpenalty``."""
    env = os.environ.get("SK_KLPENALTY_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec says to ignore a relative XDG_CACHE_HOME.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "sk_klpenalty"


def _resolve_cache_dir(cache_dir) -> Path | None:
    if cache_dir is False:
        return None
    if cache_dir is None:
        return _default_cache_dir()
    if isinstance(cache_dir, str | os.PathLike):
        return Path(cache_dir).expanduser()
    raise TypeError(
        "cache_dir must be None (default cache folder), a folder path or False "
        f"(no cache), got {cache_dir!r}."
    )


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


def _cache_key(
    folder: Path,
    files: list[tuple[str, int, int]],
    image_size: int,
    age_range: tuple[int, int] | None,
) -> str:
    payload = json.dumps(
        [_UTKFACE_CACHE_VERSION, str(folder), files, image_size, age_range],
        separators=(",", ":"),
    )
    # ensure_ascii (json default) escapes undecodable file names, so this encodes.
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


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


def _read_cache(cache_file: Path, key: str) -> dict | None:
    """Return the cached data, or None if absent, stale or damaged."""
    try:
        with np.load(cache_file, allow_pickle=False) as npz:
            if str(npz["key"]) != key:
                return None
            arrays = ("images", "age", "names", "gender", "race")
            data = {name: npz[name] for name in arrays}
            data["skipped"] = json.loads(str(npz["skipped"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        # A damaged cache file is simply decoded again and overwritten.
        return None
    return data


def _write_cache(cache_file: Path, key: str, data: dict) -> None:
    """Write atomically: readers see the old file or the complete new one."""
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=cache_file.parent, prefix=cache_file.name, suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as tmp:
            np.savez(
                tmp,
                key=np.asarray(key),
                images=data["images"],
                age=data["age"],
                names=data["names"],
                gender=data["gender"],
                race=data["race"],
                # json in a str array, so that np.load never needs pickle.
                skipped=np.asarray(json.dumps(data["skipped"])),
            )
        os.replace(tmp_name, cache_file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def load_utkface(
    path: str | os.PathLike,
    image_size: int = 64,
    age_range: tuple[int, int] | None = None,
    cache_dir: str | os.PathLike | None | bool = None,
    return_meta: bool = False,
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

    The decoded images are cached as uint8 in an ``.npz`` file whose name is a
    hash of the folder's absolute path, the name, size and modification time
    of every file in it, ``image_size`` and ``age_range``. An identical second
    call thus decodes nothing, and any change to the folder decodes it again.
    Old cache files are not deleted; remove the cache folder to free space.

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

    Returns
    -------
    X : ndarray of shape (n_images, 3, image_size, image_size)
        float32 RGB images with values in [0, 1]. Memory: about
        ``n_images * image_size**2 * 12`` bytes (1.2 GB for the 23708 images
        of UTKFace at 64 pixels).
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
    >>> tmp.cleanup()

    With the real data set, keeping adults only:

    >>> X, y = load_utkface("UTKFace/", age_range=(21, 60))  # doctest: +SKIP
    """
    folder = _check_folder(path)
    image_size = _check_int(image_size, "image_size", 8)
    age_range = _check_age_range(age_range)
    cache_root = _resolve_cache_dir(cache_dir)

    files = _scan_folder(folder)
    key = _cache_key(folder, files, image_size, age_range)
    cache_file = None if cache_root is None else cache_root / f"utkface-{key}.npz"
    data = None if cache_file is None else _read_cache(cache_file, key)
    if data is None:
        data = _decode_folder(folder, [f[0] for f in files], image_size, age_range)
        if len(data["age"]) == 0:
            raise ValueError(_no_image_message(folder, data, age_range))
        if cache_file is not None:
            try:
                _write_cache(cache_file, key, data)
            except OSError as exc:  # the data are fine, only caching failed
                warnings.warn(
                    f"load_utkface could not write its cache {str(cache_file)!r}: "
                    f"{exc}. Pass cache_dir=False to silence this.",
                    UserWarning,
                    stacklevel=2,
                )

    if data["skipped"]:
        n_skipped = sum(info["count"] for info in data["skipped"].values())
        warnings.warn(
            f"load_utkface skipped {n_skipped} of {len(files)} files in "
            f"{str(folder)!r}: {_skip_summary(data['skipped'])}.",
            UserWarning,
            stacklevel=2,
        )

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


def _no_image_message(folder: Path, data: dict, age_range) -> str:
    reasons = []
    if data["n_outside"]:
        reasons.append(f"{data['n_outside']} outside age_range={age_range}")
    if data["skipped"]:
        reasons.append(_skip_summary(data["skipped"]))
    detail = "; ".join(reasons) if reasons else "the folder holds no file"
    return f"no usable image in {str(folder)!r}: {detail}."
