"""Command line: ``sk-klpenalty compare`` and ``sk-klpenalty bench``.

User errors (bad arguments, missing data) end with a one-line message on
stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .cluster import fits_backend, import_distributed
from .errors import UserError

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
    # Trains a competent baseline in a few CPU minutes: the digits' own 8x8
    # pixels on a 12x12 canvas, 6 rotated copies each, a cosine learning rate.
    "rotated-digits": {
        "image_size": 12,
        "rotations": 6,
        "epochs": 14,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "repeats": 1,
    },
    "utkface": {"image_size": 64},
    "common": {
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sk-klpenalty",
        description="Cross-entropy vs cross-entropy + Gaussian KL penalty for "
        "ordered labels.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    compare_parser = commands.add_parser(
        "compare",
        help="cross-validated baseline-vs-penalty report (the main job)",
        description="Fit cross-entropy (alpha=0), the KL penalty settings and two "
        "controls on the same repeated stratified folds; print and save a report "
        "with 95%% confidence intervals and corrected resampled t-tests.",
    )
    _add_compare_arguments(compare_parser)
    compare_parser.set_defaults(run=run_compare)

    from . import bench

    bench_parser = commands.add_parser(
        "bench", help="measure the performance ratios (loss, penalty, estimator)"
    )
    bench.add_arguments(bench_parser)
    bench_parser.set_defaults(run=bench.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UserError as error:
        print(f"sk-klpenalty {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sk-klpenalty {args.command}: interrupted", file=sys.stderr)
        return 130


# ----------------------------------------------------------------- compare


def _numbers(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _json_object(text: str) -> dict:
    import json

    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected JSON, got {text!r}: {error}"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        default="rotated-digits",
        help="rotated-digits (built in, default) or utkface:PATH (your UTKFace folder)",
    )
    data.add_argument(
        "--image-size", type=int, help="image side in pixels (rotated-digits: 12)"
    )
    data.add_argument(
        "--rotations",
        type=int,
        help="rotated-digits: rotated copies of each digit (default 6)",
    )
    data.add_argument(
        "--max-samples",
        type=int,
        help="use a stratified subsample of this many samples",
    )
    grid = parser.add_argument_group("configurations")
    grid.add_argument("--alphas", type=_numbers, help="e.g. 0,0.5,1 (default 0,1)")
    grid.add_argument("--sigmas", type=_numbers, help="e.g. 1,2,3 (default 2)")
    grid.add_argument("--sigma-decays", type=_numbers, help="e.g. 1,0.95 (default 1)")
    grid.add_argument(
        "--decodes", type=_names, help="argmax,mean,median (default argmax,mean)"
    )
    grid.add_argument(
        "--no-controls",
        action="store_true",
        help="skip the uniform-smoothing and permuted-order controls",
    )
    grid.add_argument(
        "--within", type=float, default=1.0, help="k of 'within +-k' (label units)"
    )
    grid.add_argument(
        "--peers",
        type=_names,
        default=(),
        help="add the methods a user would otherwise pick, one row each: all, or "
        "a comma list of regression,soft-labels,laplace,corn (default: none)",
    )
    grid.add_argument(
        "--peer-params",
        type=_json_object,
        metavar="JSON",
        help='settings of the peers, e.g. \'{"soft-labels": {"kernel": "gaussian"}}\'',
    )
    grid.add_argument(
        "--nested",
        action="store_true",
        help="add the penalty tuned by nested cross-validation: an inner "
        "GridSearchCV on each outer training fold picks among the penalty "
        "settings (at least two, e.g. --sigmas 1,2,3)",
    )
    grid.add_argument(
        "--inner-cv", type=int, default=3, help="--nested: inner folds (default 3)"
    )
    grid.add_argument(
        "--inner-scoring",
        default="neg_mean_squared_error",
        help="--nested: the inner search's scikit-learn scoring "
        "(default neg_mean_squared_error)",
    )
    grid.add_argument(
        "--train-sizes",
        type=_numbers,
        help="learning curve: fractions of each training fold, e.g. 0.1,0.3,1 "
        "(default 1: the whole fold only)",
    )
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=int)
    training.add_argument("--batch-size", type=int)
    training.add_argument("--lr", type=float)
    training.add_argument(
        "--lr-schedule",
        choices=["cosine", "constant"],
        help="cosine: decay the learning rate to 0 over the epochs "
        "(rotated-digits default); constant: Adam's lr throughout",
    )
    training.add_argument("--device", default="cpu", help="cpu or cuda")
    training.add_argument(
        "--preset",
        choices=["seed"],
        help="seed: the seed's UTKFace setup (117 classes 0..116, 128x128, "
        "sigma 10, decay 0.95, Adam lr 1e-4, batch 256, 75 epochs; a GPU job)",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--cv", type=int, default=5, help="folds (default 5)")
    run.add_argument(
        "--repeats", type=int, help="repeats (default: rotated-digits 1, utkface 2)"
    )
    run.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="parallel fits through joblib (default -1: one per core, each with "
        "cores/n-jobs torch threads; not used with --scheduler/--dask-local)",
    )
    cluster = run.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the fits on the dask.distributed cluster of this scheduler, "
        "e.g. tcp://10.0.0.5:8786, through joblib's dask backend (needs "
        "sk_klpenalty[dask]); every worker thread runs fits",
    )
    cluster.add_argument(
        "--dask-local",
        type=int,
        metavar="N",
        help="start a local dask cluster of N one-thread worker processes on "
        "127.0.0.1, run the fits on it and close it (needs sk_klpenalty[dask])",
    )
    run.add_argument("--random-state", type=int, default=0)
    run.add_argument(
        "--out",
        default="sk-klpenalty-report",
        help="output folder (default ./sk-klpenalty-report)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="keep the finished folds in OUT/results.csv and run the rest",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")


def _settings(args: argparse.Namespace, kind: str) -> dict:
    """Explicit options, else the preset, else the defaults."""
    settings = {**DEFAULTS["common"], **DEFAULTS[kind]}
    if args.preset == "seed":
        if kind != "utkface":
            raise UserError("--preset seed needs --data utkface:PATH")
        settings.update(SEED_PRESET)
    for name in (
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


def _load_data(args: argparse.Namespace, kind: str, settings: dict):
    from . import datasets

    if kind == "rotated-digits":
        X, y = datasets.load_rotated_digits(
            n_rotations=settings["rotations"],
            image_size=settings["image_size"],
            random_state=args.random_state,
        )
    else:
        path = args.data.split(":", 1)[1]
        try:
            X, y = datasets.load_utkface(path, image_size=settings["image_size"])
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


def _data_kind(data: str) -> str:
    if data == "rotated-digits":
        return data
    if data.startswith("utkface:") and len(data) > len("utkface:"):
        return "utkface"
    raise UserError(f"--data must be rotated-digits or utkface:PATH, got {data!r}")


def _lr_schedule(settings: dict) -> list | None:
    """``cosine``: skorch's LRScheduler decays the rate to 0 over the epochs."""
    if settings["lr_schedule"] != "cosine":
        return None
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import CosineAnnealingLR

    policy = LRScheduler(CosineAnnealingLR, T_max=settings["epochs"])
    return [("lr_schedule", policy)]


def _describe_setup(args, kind: str, settings: dict, n_samples: int) -> str:
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


def run_compare(args: argparse.Namespace) -> int:
    import warnings

    import numpy as np
    from sklearn.model_selection import RepeatedStratifiedKFold

    from .compare import compare_penalty
    from .estimator import KLPenaltyClassifier

    kind = _data_kind(args.data)
    settings = _settings(args, kind)
    if args.rotations is not None and kind != "rotated-digits":
        raise UserError("--rotations applies to --data rotated-digits only")
    for name in ("cv", "repeats", "epochs", "batch_size", "image_size", "rotations"):
        value = settings.get(name, getattr(args, name, None))
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.cv < 2:
        raise UserError(f"--cv must be >= 2 folds, got {args.cv}")
    import_distributed(args)  # fail before loading the data
    with warnings.catch_warnings():
        # The loader's own summary of skipped files is worth showing once.
        warnings.simplefilter("default")
        X, y = _load_data(args, kind, settings)
    classes = settings["classes"]
    estimator = KLPenaltyClassifier(
        max_epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        device=args.device,
        classes=None if classes is None else np.asarray(classes),
        callbacks=_lr_schedule(settings),
    )
    cv = RepeatedStratifiedKFold(
        n_splits=args.cv, n_repeats=settings["repeats"], random_state=args.random_state
    )
    # On dask every worker thread runs fits; n_jobs=1 would run them here.
    on_dask = args.scheduler is not None or args.dask_local is not None
    with fits_backend(args):
        try:
            result = compare_penalty(
                X,
                y,
                estimator=estimator,
                alphas=settings["alphas"],
                sigmas=settings["sigmas"],
                sigma_decays=settings["sigma_decays"],
                decodes=settings["decodes"],
                within=args.within,
                cv=cv,
                controls=not args.no_controls,
                peers=args.peers,
                peer_params=args.peer_params,
                n_jobs=-1 if on_dask else args.n_jobs,
                random_state=args.random_state,
                progress=not args.quiet,
                out_dir=args.out,
                resume=args.resume,
                tune="nested" if args.nested else None,
                inner_cv=args.inner_cv,
                inner_scoring=args.inner_scoring,
                train_sizes=args.train_sizes or (1.0,),
                description=_describe_setup(args, kind, settings, len(y)),
            )
        except (ValueError, TypeError) as error:
            raise UserError(str(error)) from None
    print(result.to_markdown())
    paths = result.save(args.out)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
