"""The on-disk cache of decoded UTKFace arrays (per folder and options).

Two files per entry: ``utkface-KEY.npy`` holds the uint8 images as a plain
``.npy`` (so that it can be memory-mapped, ``np.load(mmap_mode="r")``) and
``utkface-KEY.npz`` the key, labels, names and skip summary. The ``.npz`` is
written last, so an entry with a readable ``.npz`` has its images.
"""

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["cache_key", "images_file", "read_cache", "resolve_cache_dir", "write_cache"]

# Bump when the cache content or the decoding changes, to invalidate old files.
# 2: images moved from the .npz into a memory-mappable .npy beside it.
_UTKFACE_CACHE_VERSION = 2


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


def resolve_cache_dir(cache_dir) -> Path | None:
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


def cache_key(
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


def images_file(cache_file: Path) -> Path:
    """Where the images of the cache entry ``cache_file`` (the .npz) are."""
    return cache_file.with_suffix(".npy")


def read_cache(cache_file: Path, key: str, mmap: bool = False) -> dict | None:
    """Return the cached data, or None if absent, stale or damaged.

    With ``mmap=True`` the images are a read-only ``np.memmap`` of the cache.
    """
    try:
        with np.load(cache_file, allow_pickle=False) as npz:
            if str(npz["key"]) != key:
                return None
            arrays = ("age", "names", "gender", "race")
            data = {name: npz[name] for name in arrays}
            data["skipped"] = json.loads(str(npz["skipped"]))
        images = np.load(
            images_file(cache_file), mmap_mode="r" if mmap else None, allow_pickle=False
        )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        # A damaged cache file is simply decoded again and overwritten.
        return None
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(data["age"]):
        return None
    data["images"] = images
    return data


def write_cache(cache_file: Path, key: str, data: dict) -> None:
    """Write atomically: readers see the old files or the complete new ones.

    The images first, then the .npz that makes the entry valid.
    """
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(images_file(cache_file), np.save, data["images"])
    _write_atomically(
        cache_file,
        np.savez,
        key=np.asarray(key),
        age=data["age"],
        names=data["names"],
        gender=data["gender"],
        race=data["race"],
        # json in a str array, so that np.load never needs pickle.
        skipped=np.asarray(json.dumps(data["skipped"])),
    )


def _write_atomically(path: Path, write, *args, **kwargs) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            write(tmp, *args, **kwargs)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
