"""What ``sk-klpenalty compare`` trains on: the data named by ``--data``, a
backbone named by ``--backbone``, and the report's line describing both.

Errors are ``ValueError``s with one line, which the command line prints.
"""

from __future__ import annotations

import functools
import os
from contextlib import ExitStack, contextmanager

import numpy as np

__all__ = [
    "DATA_KINDS",
    "backbone",
    "describe",
    "fits_backend",
    "load_data",
    "parse_data",
]

DASK_MISSING = 'needs dask.distributed: pip install "sk_klpenalty[dask]"'

#: ``--data`` forms: the built-in task, or a path of one of these kinds.
DATA_KINDS = ("rotated-digits", "utkface", "npz", "folder")
#: The image side each kind is loaded at unless ``--image-size`` says.
IMAGE_SIZES = {"rotated-digits": 12, "utkface": 64, "folder": 64}
#: torchvision's pretrained models expect inputs normalised with these.
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def parse_data(spec: str) -> tuple[str, str | None]:
    """``"npz:data.npz"`` -> ``("npz", "data.npz")``; ``"rotated-digits"``."""
    if spec == "rotated-digits":
        return spec, None
    kind, _, path = spec.partition(":")
    if kind not in DATA_KINDS[1:] or not path:
        raise ValueError(
            "--data must be rotated-digits, utkface:PATH, npz:PATH (arrays X, y "
            f"and optionally groups) or folder:PATH (a folder per class), got {spec!r}"
        )
    return kind, path


def load_data(kind: str, path, settings: dict):
    """``(X, y, groups)`` of the data; ``groups`` None where it has none (or
    ``groups="none"``), and a stratified subsample with ``max_samples``."""
    from .. import datasets

    size = settings["image_size"] or IMAGE_SIZES.get(kind)
    groups = None
    try:
        if kind == "rotated-digits":
            X, y, groups = datasets.load_rotated_digits(
                n_rotations=settings["rotations"],
                image_size=size,
                random_state=settings["random_state"],
                return_groups=True,
            )
        elif kind == "utkface":  # uint8, mapped from its cache: read per batch
            X, y = datasets.load_utkface(path, size, dtype="uint8", mmap=True)
        elif kind == "npz":
            X, y, groups = datasets.load_npz(path)
        else:
            classes = settings["classes"]
            X, y = datasets.load_image_folder(path, size, classes=classes, mmap=True)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise ValueError(str(error)) from None
    if settings["groups"] == "none":
        groups = None
    n = settings["max_samples"]
    if n is not None and n < len(y):
        from sklearn.model_selection import train_test_split

        try:
            keep, _ = train_test_split(
                np.arange(len(y)),
                train_size=n,
                stratify=y,
                random_state=settings["random_state"],
            )
        except ValueError as error:
            raise ValueError(f"--max-samples: {error}") from None
        keep = np.sort(keep)
        X, y = X[keep], y[keep]
        groups = None if groups is None else groups[keep]
    return X, y, groups


def describe(kind: str, path, settings: dict, n_samples: int, groups) -> str:
    """The report's line on what was trained on what."""
    size = settings["image_size"] or IMAGE_SIZES.get(kind)
    if kind == "rotated-digits":
        data = (
            f"built-in rotated digits, `load_rotated_digits(n_rotations="
            f"{settings['rotations']}, image_size={size})`: each of the 1797 digits "
            f"rotated {settings['rotations']} times on a {size}×{size} canvas"
        )
        if groups is not None:
            data += "; grouped by digit, so no digit is on both sides of a split"
        else:
            data += (
                "; rotated copies of one digit can fall in both the training and "
                "the test folds (the label is the angle bin, not the digit)"
            )
    elif kind == "npz":
        data = f"arrays from {path}" + ("" if groups is None else ", grouped")
    else:
        data = f"{'UTKFace images' if kind == 'utkface' else 'images'} from {path}"
        data += f", {size}×{size}"
    if settings["max_samples"] == n_samples:
        data += f", stratified subsample of {n_samples}"
    schedule = ", cosine decay to 0" if settings["lr_schedule"] == "cosine" else ""
    network = ""
    if settings.get("backbone"):
        weights = settings.get("weights") or "no pretrained weights"
        network = f"Network: {settings['backbone']} ({weights}). "
    return (
        f"{data}. {network}Training: Adam, lr {settings['lr']:g}{schedule}, "
        f"{settings['epochs']} epochs, batch {settings['batch_size']}, "
        f"device {settings['device']}."
    )


def backbone(spec: str, weights=None) -> tuple[object, object]:
    """The module and the normalisation of ``--backbone LIBRARY:NAME``.

    ``torchvision:resnet18`` is ``torchvision.models.get_model("resnet18")``,
    ``timm:resnet18`` is ``timm.create_model("resnet18")``; each fit sizes its
    output layer. With ``weights`` (a local ``state_dict`` file for the
    model's own head), the module is an instance with them loaded, and image
    batches are normalised as the pretraining did (ImageNet's statistics for
    torchvision, the model's ``pretrained_cfg`` for timm).
    """
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
        reason = _first_line(error)
        message = f"--weights: cannot load {weights!r} into {spec}: {reason}"
        raise ValueError(message) from None
    return module, ("auto" if library == "timm" else IMAGENET)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _security(args):
    """The TLS ``Security`` of the certificate options, or None."""
    files = {"--tls-ca-file": args.tls_ca_file, "--tls-cert": args.tls_cert}
    files |= {"--tls-key": args.tls_key}
    given = [option for option, path in files.items() if path is not None]
    if not given:
        return None
    if args.scheduler is None:
        raise ValueError(f"{given[0]} is only used with --scheduler tls://HOST:PORT")
    missing = [option for option in files if option not in given]
    if missing:
        raise ValueError(
            f"TLS needs all three certificate options; missing {missing[0]}"
        )
    for option, path in files.items():
        if not os.path.isfile(path):
            raise ValueError(f"{option}: no such file: {path!r}")
    try:
        from distributed.security import Security
    except ImportError:
        raise ValueError(f"--scheduler {DASK_MISSING}") from None
    certificates = {"tls_ca_file": args.tls_ca_file, "tls_client_cert": args.tls_cert}
    return Security(
        **certificates, tls_client_key=args.tls_key, require_encryption=True
    )


@contextmanager
def fits_backend(args):
    """joblib's default backend, or dask on ``--scheduler``/``--dask-local``."""
    security = _security(args)  # certificate options: checked first
    if args.scheduler is None and args.dask_local is None:
        yield
        return
    if args.dask_local is not None and args.dask_local < 2:
        raise ValueError("--dask-local needs >= 2 workers (joblib runs 1 in here)")
    try:
        import dask
        import distributed
    except ImportError:
        option = "--scheduler" if args.scheduler else "--dask-local"
        raise ValueError(f"{option} {DASK_MISSING}") from None
    import joblib

    with ExitStack() as stack:
        if args.dask_local is not None:
            # dask's nanny sets MALLOC_TRIM_THRESHOLD_, which makes torch
            # training about 2x slower; and its variables in this process.
            saved = dict(os.environ)
            stack.callback(lambda: (os.environ.clear(), os.environ.update(saved)))
            trim = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
            stack.enter_context(dask.config.set({trim: None}))
            local = {"host": "127.0.0.1", "dashboard_address": None, "silence_logs": 40}
            local |= {"n_workers": args.dask_local, "threads_per_worker": 1}
            cluster = distributed.LocalCluster(**local)
            client = stack.enter_context(
                distributed.Client(stack.enter_context(cluster))
            )
        else:
            try:
                client = distributed.Client(args.scheduler, security=security)
            except (OSError, TimeoutError, ValueError, TypeError) as error:
                reason = f"{args.scheduler!r}: {_first_line(error)}"
                raise ValueError(f"--scheduler: cannot connect to {reason}") from None
            stack.enter_context(client)
        try:
            client.wait_for_workers(1, timeout=30)
        except TimeoutError:
            raise ValueError("--scheduler: no dask worker joined within 30 s") from None
        stack.enter_context(joblib.parallel_config(backend="dask", n_jobs=-1))
        yield
