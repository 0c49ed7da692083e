"""What ``sk-klpenalty compare`` trains: the data of ``--data``, the network of
``--backbone``, and the report's line on both. Errors are one-line ``ValueError``s."""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["IMAGE_SIZES", "backbone", "describe", "first_line", "load_data"]

#: The image side each kind is loaded at unless ``--image-size`` says.
IMAGE_SIZES = {"rotated-digits": 12, "utkface": 64, "folder": 64}
#: torchvision's pretrained models expect inputs normalised with these.
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def load_data(kind: str, path, settings: dict):
    """``(X, y, groups)`` of ``--data``, ``--groups`` and ``--max-samples``."""
    from sklearn.model_selection import train_test_split

    from .. import datasets

    size, seed, groups = settings["image_size"], settings["random_state"], None
    try:
        if kind == "rotated-digits":
            X, y, groups = datasets.load_rotated_digits(
                n_rotations=settings["rotations"], image_size=size,
                random_state=seed, return_groups=True,
            )  # fmt: skip
        elif kind == "utkface":  # uint8, mapped from its cache: read per batch
            X, y = datasets.load_utkface(path, size, dtype="uint8", mmap=True)
        elif kind == "npz":
            X, y, groups = datasets.load_npz(path)
        else:
            classes = settings["classes"]
            X, y = datasets.load_image_folder(path, size, classes=classes, mmap=True)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise ValueError(str(error)) from None
    groups = None if settings["groups"] == "none" else groups
    n = settings["max_samples"]
    if n is not None and n < len(y):
        try:
            keep, _ = train_test_split(
                np.arange(len(y)), train_size=n, stratify=y, random_state=seed
            )
        except ValueError as error:
            raise ValueError(f"--max-samples: {error}") from None
        keep = np.sort(keep)
        X, y = X[keep], y[keep]
        groups = None if groups is None else groups[keep]
    return X, y, groups


def describe(kind: str, path, settings: dict, n_samples: int, groups) -> str:
    """The report's line on what was trained on what."""
    size, rotations = settings["image_size"], settings["rotations"]
    if kind == "rotated-digits":
        data = (
            f"built-in rotated digits, `load_rotated_digits(n_rotations={rotations}, "
            f"image_size={size})`: each of the 1797 digits rotated {rotations} "
            f"times on a {size}×{size} canvas; "
        )
        data += (
            "grouped by digit, so no digit is on both sides of a split"
            if groups is not None
            else "rotated copies of one digit can be on both sides of a split"
        )
    elif kind == "npz":
        data = f"arrays from {path}" + ("" if groups is None else ", grouped")
    else:
        images = "UTKFace images" if kind == "utkface" else "images"
        data = f"{images} from {path}, {size}×{size}"
    if settings["max_samples"] == n_samples:
        data += f", stratified subsample of {n_samples}"
    schedule = ", cosine decay to 0" if settings["lr_schedule"] == "cosine" else ""
    network = ""
    if settings["backbone"]:
        weights = settings["weights"] or "no pretrained weights"
        network = f"Network: {settings['backbone']} ({weights}). "
    return (
        f"{data}. {network}Training: Adam, lr {settings['lr']:g}{schedule}, "
        f"{settings['epochs']} epochs, batch {settings['batch_size']}, "
        f"device {settings['device']}."
    )


def backbone(spec: str, weights=None) -> tuple[object, object]:
    """The module (or factory) of ``--backbone``, and its input normalisation."""
    library, _, name = spec.partition(":")
    if library not in ("torchvision", "timm") or not name:
        raise ValueError(
            f"--backbone must be torchvision:NAME or timm:NAME, got {spec!r}"
        )
    try:
        if library == "torchvision":
            from torchvision.models import get_model as make
        else:
            from timm import create_model as make
    except ImportError as error:
        raise ValueError(
            f"--backbone {spec} needs {library}, which cannot be imported here "
            f"({error}); install it (pip install {library}) beside a torch it runs on"
        ) from None
    factory = functools.partial(make, name)
    try:
        module = factory()
    except (KeyError, ValueError, RuntimeError) as error:
        raise ValueError(
            f"--backbone: {library} has no model {name!r} ({error})"
        ) from None
    if weights is None:
        return factory, None
    import torch

    try:
        module.load_state_dict(
            torch.load(weights, map_location="cpu", weights_only=True)
        )
    except (OSError, RuntimeError, TypeError, ValueError) as error:
        reason = first_line(error)
        message = f"--weights: cannot load {weights!r} into {spec}: {reason}"
        raise ValueError(message) from None
    return module, ("auto" if library == "timm" else IMAGENET)


def first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
