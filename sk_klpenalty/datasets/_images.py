"""The image loaders' core: decode each file once, cache it as uint8 in
``TAG-KEY.npy`` (mappable) and ``TAG-KEY.json`` (the unreadable files, written
last: a readable .json means complete images). KEY hashes the folder, each
file's name, size and mtime and the image size: any change decodes again."""

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

# Bump when the cache content or the decoding changes: old entries get other
# names and are ignored. 3: one format for UTKFace and image folders.
_CACHE_VERSION = 3


def check_folder(path, what: str) -> Path:
    """``path`` as an absolute folder, or raise naming ``path``."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike folder, got {path!r}.")
    folder = Path(path).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"path: no such folder: {str(folder)!r}.")
    if not folder.is_dir():
        raise NotADirectoryError(f"path must be a folder of {what}: {str(folder)!r}.")
    return folder.resolve()


def check_cache(cache_dir, dtype, mmap) -> tuple[Path | None, bool]:
    """The cache folder (None: none) and whether to return uint8 images."""
    if cache_dir is None:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        # The XDG spec says to ignore a relative XDG_CACHE_HOME.
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
        cache_dir = os.environ.get("SK_KLPENALTY_CACHE") or base / "sk_klpenalty"
    if not isinstance(cache_dir, str | os.PathLike) and cache_dir is not False:
        raise TypeError(f"cache_dir must be None, a folder or False: {cache_dir!r}.")
    try:
        as_uint8 = {np.float32: False, np.uint8: True}[np.dtype(dtype).type]
    except (TypeError, KeyError):
        raise ValueError(f'dtype must be "float32" or "uint8": {dtype!r}.') from None
    if not isinstance(mmap, bool):
        raise TypeError(f"mmap must be True or False, got {mmap!r}.")
    if mmap and not as_uint8:
        raise ValueError('mmap=True maps the cached uint8 images: pass dtype="uint8".')
    if mmap and cache_dir is False:
        raise ValueError("mmap=True maps the on-disk cache: it needs cache_dir!=False.")
    return None if cache_dir is False else Path(cache_dir).expanduser(), as_uint8


def summary(skipped: dict[str, list[str]]) -> str:
    """Per reason (a key): how many files, and three of their names."""
    return "; ".join(
        f"{len(names)} {reason}, e.g. {', '.join(map(repr, names[:3]))}"
        for reason, names in skipped.items()
        if names
    )


def warn_skipped(loader: str, folder: Path, n_files: int, skipped: dict) -> None:
    """One UserWarning for all the skipped files, if any."""
    if n_skipped := sum(map(len, skipped.values())):
        where = f"{n_skipped} of {n_files} files in {str(folder)!r}"
        message = f"{loader} skipped {where}: {summary(skipped)}."
        warnings.warn(message, UserWarning, stacklevel=3)


def load_images(folder: Path, names: list[str], image_size: int, root, mmap, tag):
    """The readable files' uint8 images (cached in ``root``), the others' names."""
    files = [(name, (folder / name).stat()) for name in names]
    files = [(name, st.st_size, st.st_mtime_ns) for name, st in files]
    # json escapes undecodable file names (ensure_ascii), so this encodes.
    key = json.dumps([_CACHE_VERSION, str(folder), files, image_size]).encode()
    entry = root and root / f"{tag}-{hashlib.sha256(key).hexdigest()}"
    if cached := entry and _read_entry(entry, len(names), mmap):
        return cached
    from PIL import Image  # lazy: keeps `import sk_klpenalty` light

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
        _write_atomically(entry.with_suffix(".npy"), lambda f: np.save(f, images))
        index = json.dumps({"failed": failed}).encode()
        _write_atomically(entry.with_suffix(".json"), lambda f: f.write(index))
    except OSError as exc:  # the images are fine, only caching failed
        mapped = "; mmap=True returns the images in memory" if mmap else ""
        message = f"could not write the cache {str(entry)!r}: {exc}{mapped}."
        warnings.warn(f"{message} Pass cache_dir=False to silence this.", stacklevel=3)
        return images, failed
    # mmap: return the fresh entry, mapped, and free the decoded copy.
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
