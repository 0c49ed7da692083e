"""The on-disk cache of decoded UTKFace arrays (one file per folder and options)."""

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["cache_key", "read_cache", "resolve_cache_dir", "write_cache"]

# Bump when the cache content or the decoding changes, to invalidate old files.
_UTKFACE_CACHE_VERSION = 1


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


def read_cache(cache_file: Path, key: str) -> dict | None:
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


def write_cache(cache_file: Path, key: str, data: dict) -> None:
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
