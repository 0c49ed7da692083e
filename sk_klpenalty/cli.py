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
}
DEFAULTS = {
    "rotated-digits": {"image_size": 28},
    "utkface": {"image_size": 64},
    "common": {
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


def _add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        default="rotated-digits",
        help="rotated-digits (built in, default) or utkface:PATH (your UTKFace folder)",
    )
    data.add_argument("--image-size", type=int, help="image side in pixels")
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
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=int)
    training.add_argument("--batch-size", type=int)
    training.add_argument("--lr", type=float)
    training.add_argument("--device", default="cpu", help="cpu or cuda")
    training.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        default="fp32",
        help="bf16: forward passes under bf16 autocast (about 2.5x faster where "
        "the CPU or GPU runs bf16 natively; fp32 elsewhere, with a note)",
    )
    training.add_argument(
        "--preset",
        choices=["seed"],
        help="seed: the seed's UTKFace setup (117 classes 0..116, 128x128, "
        "sigma 10, decay 0.95, Adam lr 1e-4, batch 256, 75 epochs; a GPU job)",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--cv", type=int, default=5, help="folds (default 5)")
    run.add_argument("--repeats", type=int, default=2, help="repeats (default 2)")
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
    for option, what in (
        ("--tls-ca-file", "the CA certificate that signed the scheduler's"),
        ("--tls-cert", "this client's certificate"),
        ("--tls-key", "this client's private key"),
    ):
        run.add_argument(
            option,
            metavar="FILE",
            help=f"with --scheduler tls://HOST:PORT: {what} (PEM); give all three",
        )
    run.add_argument(
        "--no-estimate",
        action="store_true",
        help="skip the timed warm-up that prints the estimated time before the "
        "first fit",
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
            n_rotations=1,
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


def _data_kind(data: str) -> str:
    if data == "rotated-digits":
        return data
    if data.startswith("utkface:") and len(data) > len("utkface:"):
        return "utkface"
    raise UserError(f"--data must be rotated-digits or utkface:PATH, got {data!r}")


def _precision(precision: str, device: str, on_dask: bool) -> str:
    """``--precision``; bf16 falls back to fp32 here (once) where not native.

    On a dask cluster the workers' hardware decides, fit by fit.
    """
    from .precision import bf16_supported

    if precision != "bf16" or on_dask:
        return precision
    try:
        native = bf16_supported(device)
    except (RuntimeError, ValueError):
        return precision  # a bad --device: the estimator's check reports it
    if not native:
        print(
            f"sk-klpenalty compare: note: --precision bf16 is not native on this "
            f"{'GPU' if device.startswith('cuda') else 'CPU'}; training in fp32.",
            file=sys.stderr,
        )
        return "fp32"
    return precision


def run_compare(args: argparse.Namespace) -> int:
    import warnings

    import numpy as np
    from sklearn.model_selection import RepeatedStratifiedKFold

    from .compare import compare_penalty
    from .estimator import KLPenaltyClassifier

    kind = _data_kind(args.data)
    settings = _settings(args, kind)
    for name in ("cv", "repeats", "epochs", "batch_size", "image_size"):
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
    on_dask = args.scheduler is not None or args.dask_local is not None
    estimator = KLPenaltyClassifier(
        max_epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        device=args.device,
        precision=_precision(args.precision, args.device, on_dask),
        classes=None if classes is None else np.asarray(classes),
    )
    cv = RepeatedStratifiedKFold(
        n_splits=args.cv, n_repeats=args.repeats, random_state=args.random_state
    )
    # On dask every worker thread runs fits; n_jobs=1 would run them here.
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
                n_jobs=-1 if on_dask else args.n_jobs,
                random_state=args.random_state,
                progress=not args.quiet,
                out_dir=args.out,
                resume=args.resume,
                estimate_time=not args.no_estimate,
            )
        except (ValueError, TypeError) as error:
            raise UserError(str(error)) from None
    print(result.to_markdown())
    paths = result.save(args.out)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
