"""``sk-klpenalty compare``: its options, the data it loads, the run."""

from __future__ import annotations

import argparse
import sys

from ..cluster import fits_backend, import_distributed
from ..errors import UserError
from .settings import data_kind, describe_setup, load_data, resolve_settings
from .workers import release_local_workers

__all__ = ["add_arguments", "run"]


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
    run.add_argument(
        "--cv", type=int, help="folds (default: rotated-digits 4, utkface 5)"
    )
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


def _lr_schedule(settings: dict) -> list | None:
    """``cosine``: skorch's LRScheduler decays the rate to 0 over the epochs."""
    if settings["lr_schedule"] != "cosine":
        return None
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import CosineAnnealingLR

    policy = LRScheduler(CosineAnnealingLR, T_max=settings["epochs"])
    return [("lr_schedule", policy)]


def _precision(precision: str, device: str, on_dask: bool) -> str:
    """``--precision``; bf16 falls back to fp32 here (once) where not native.

    On a dask cluster the workers' hardware decides, fit by fit.
    """
    from ..precision import bf16_supported

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


def run(args: argparse.Namespace) -> int:
    import warnings

    import numpy as np
    from sklearn.model_selection import RepeatedStratifiedKFold

    from ..estimator import KLPenaltyClassifier
    from .runner import compare_penalty

    kind = data_kind(args.data)
    settings = resolve_settings(args, kind)
    if args.rotations is not None and kind != "rotated-digits":
        raise UserError("--rotations applies to --data rotated-digits only")
    for name in ("cv", "repeats", "epochs", "batch_size", "image_size", "rotations"):
        value = settings.get(name, getattr(args, name, None))
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if settings["cv"] < 2:
        raise UserError(f"--cv must be >= 2 folds, got {settings['cv']}")
    import_distributed(args)  # fail before loading the data
    with warnings.catch_warnings():
        # The loader's own summary of skipped files is worth showing once.
        warnings.simplefilter("default")
        X, y = load_data(args, kind, settings)
    classes = settings["classes"]
    on_dask = args.scheduler is not None or args.dask_local is not None
    estimator = KLPenaltyClassifier(
        max_epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        device=args.device,
        precision=_precision(args.precision, args.device, on_dask),
        classes=None if classes is None else np.asarray(classes),
        callbacks=_lr_schedule(settings),
    )
    cv = RepeatedStratifiedKFold(
        n_splits=settings["cv"],
        n_repeats=settings["repeats"],
        random_state=args.random_state,
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
                description=describe_setup(args, kind, settings, len(y)),
                estimate_time=not args.no_estimate,
            )
        except (ValueError, TypeError) as error:
            raise UserError(str(error)) from None
    release_local_workers()
    print(result.to_markdown())
    paths = result.save(args.out)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
