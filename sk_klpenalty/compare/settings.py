"""What ``sk-klpenalty compare`` trains on: presets, defaults, the data, and
the report's line describing them."""

from __future__ import annotations

import argparse

from ..errors import UserError

__all__ = [
    "DEFAULTS",
    "SEED_PRESET",
    "data_kind",
    "describe_setup",
    "load_data",
    "resolve_settings",
]

# The seed experiment's UTKFace setup (a GPU job).
SEED_PRESET = {
    "image_size": 128,
    "classes": tuple(range(117)),
    "sigmas": (10.0,),
    "sigma_decays": (0.95,),
    "lr": 1e-4,
    "batch_size": 256,
    "epochs": 75,
    "lr_schedule": "constant",
}
DEFAULTS = {
    # Trains a competent baseline (argmax accuracy about 0.76) in under 5
    # minutes on 2 CPU cores: the digits' own 8x8 pixels on a 12x12 canvas, 6
    # rotated copies each, a cosine learning rate, 4 folds (16 fits; 5 folds
    # took 5.5 minutes, fewer epochs fell below 0.75).
    "rotated-digits": {
        "image_size": 12,
        "rotations": 6,
        "epochs": 14,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "cv": 4,
        "repeats": 1,
    },
    "utkface": {"image_size": 64},
    "common": {
        "cv": 5,
        "repeats": 2,
        "lr_schedule": "constant",
        "alphas": (0.0, 1.0),
        "sigmas": (2.0,),
        "sigma_decays": (1.0,),
        "decodes": ("argmax", "mean"),
        "lr": 1e-3,
        "batch_size": 64,
        "epochs": 10,
        "classes": None,
    },
}


def resolve_settings(args: argparse.Namespace, kind: str) -> dict:
    """Explicit options, else the preset, else the defaults."""
    settings = {**DEFAULTS["common"], **DEFAULTS[kind]}
    if args.preset == "seed":
        if kind != "utkface":
            raise UserError("--preset seed needs --data utkface:PATH")
        settings.update(SEED_PRESET)
    for name in (
        "cv",
        "image_size",
        "rotations",
        "repeats",
        "lr_schedule",
        "alphas",
        "sigmas",
        "sigma_decays",
        "decodes",
        "lr",
        "batch_size",
        "epochs",
    ):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    return settings


def load_data(args: argparse.Namespace, kind: str, settings: dict):
    from .. import datasets

    if kind == "rotated-digits":
        X, y = datasets.load_rotated_digits(
            n_rotations=settings["rotations"],
            image_size=settings["image_size"],
            random_state=args.random_state,
        )
    else:
        path = args.data.split(":", 1)[1]
        try:
            # uint8 from a memory map of the cache: the fits read it batch by
            # batch, so the whole data set never has to fit in memory.
            X, y = datasets.load_utkface(
                path, image_size=settings["image_size"], dtype="uint8", mmap=True
            )
        except (FileNotFoundError, NotADirectoryError) as error:
            raise UserError(str(error)) from None
    if args.max_samples is not None and args.max_samples < len(y):
        from sklearn.model_selection import train_test_split

        try:
            X, _, y, _ = train_test_split(
                X,
                y,
                train_size=args.max_samples,
                stratify=y,
                random_state=args.random_state,
            )
        except ValueError as error:
            raise UserError(f"--max-samples: {error}") from None
    return X, y


def data_kind(data: str) -> str:
    if data == "rotated-digits":
        return data
    if data.startswith("utkface:") and len(data) > len("utkface:"):
        return "utkface"
    raise UserError(f"--data must be rotated-digits or utkface:PATH, got {data!r}")


def describe_setup(args, kind: str, settings: dict, n_samples: int) -> str:
    """The report's line on what was trained on what (settings included)."""
    size = settings["image_size"]
    if kind == "rotated-digits":
        data = (
            f"built-in rotated digits, `load_rotated_digits(n_rotations="
            f"{settings['rotations']}, image_size={size})`: each of the 1797 "
            f"digits rotated {settings['rotations']} times on a {size}×{size} "
            "canvas; rotated copies of one digit can fall in both the training "
            "and the test folds (the label is the angle bin, not the digit)"
        )
    else:
        data = f"UTKFace images from {args.data.split(':', 1)[1]}, {size}×{size}"
    if args.max_samples == n_samples:
        data += f", stratified subsample of {args.max_samples}"
    schedule = ", cosine decay to 0" if settings["lr_schedule"] == "cosine" else ""
    return (
        f"{data}. Training: Adam, lr {settings['lr']:g}{schedule}, "
        f"{settings['epochs']} epochs, batch {settings['batch_size']}, "
        f"device {args.device}."
    )
