"""``sk-klpenalty compare``: the cross-validated report from the command line.

User errors (bad arguments, missing data) end with a one-line message on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import __version__
from .compare import defaults

__all__ = ["build_parser", "main"]

# The research script's UTKFace setup (a GPU job).
SEED_PRESET = {
    "image_size": 128,
    "classes": tuple(range(117)),
    "sigmas": (10.0,),
    "sigma_decays": (0.95,),
    "lr": 1e-4,
    "lr_schedule": "constant",
    "batch_size": 256,
    "epochs": 75,
}


class UserError(Exception):
    """A problem with the command line or the data, reported in one line."""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, where it has one that is not a switch."""

    def _get_help_string(self, action):
        if action.default in (None, False, argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


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
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected JSON, got {text!r}: {error}"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _join(values) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sk-klpenalty",
        description="Cross-entropy vs cross-entropy + Gaussian KL penalty for "
        "ordered labels.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser(
        "compare",
        formatter_class=_Formatter,
        help="cross-validated baseline-vs-penalty report (the main job)",
        description="Fit cross-entropy (alpha=0), the KL penalty settings and two "
        "controls on the same stratified folds; print and save a report with 95%% "
        "confidence intervals and corrected resampled t-tests.",
    )
    add_arguments(compare)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        default="rotated-digits",
        help="rotated-digits (built in), utkface:PATH (your UTKFace folder), "
        "npz:PATH (arrays X, y and optionally groups) or folder:PATH (one "
        "subfolder of images per class)",
    )
    data.add_argument(
        "--image-size",
        type=int,
        help="image side in pixels (default: 12 for rotated-digits, 64 for images)",
    )
    data.add_argument(
        "--classes",
        type=_names,
        help="folder: the class subfolders in order, e.g. mild,moderate,severe "
        "(numbers are ordered as numbers without it)",
    )
    data.add_argument(
        "--groups",
        choices=["auto", "none"],
        default="auto",
        help="auto: keep each group (a digit's rotated copies, the npz's groups) "
        "on one side of every split; none: plain stratified folds",
    )
    data.add_argument(
        "--rotations", type=int, default=6, help="rotated copies of each digit"
    )
    data.add_argument(
        "--max-samples", type=int, help="use a stratified subsample of this many"
    )
    grid = parser.add_argument_group("configurations")
    grid.add_argument(
        "--alphas", type=_numbers, default=defaults.ALPHAS, help="KL weights"
    )
    grid.add_argument(
        "--sigmas", type=_numbers, default=defaults.SIGMAS, help="target widths"
    )
    grid.add_argument(
        "--sigma-decays",
        type=_numbers,
        default=defaults.SIGMA_DECAYS,
        help="per-epoch factors of sigma",
    )
    grid.add_argument(
        "--decodes",
        type=_names,
        default=defaults.DECODES,
        help="decodes the tables show, of argmax,mean,median",
    )
    grid.add_argument(
        "--no-controls",
        action="store_true",
        help="skip the uniform-smoothing and permuted-order controls",
    )
    grid.add_argument(
        "--within", type=float, default=1.0, help="k of 'within ±k' (label units)"
    )
    grid.add_argument(
        "--peers",
        type=_names,
        default=(),
        help="add methods a user would otherwise pick: all, or some of "
        "regression,soft-labels,laplace,corn",
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
        help="add the penalty tuned by nested cross-validation (needs at least two "
        "settings, e.g. --sigmas 1,2,3)",
    )
    grid.add_argument("--inner-cv", type=int, default=3, help="--nested: inner folds")
    grid.add_argument(
        "--inner-scoring",
        default="neg_mean_squared_error",
        help="--nested: the inner search's scikit-learn scoring",
    )
    grid.add_argument(
        "--train-sizes",
        type=_numbers,
        default=(1.0,),
        help="learning curve: fractions of each training fold, e.g. 0.1,0.3,1",
    )
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=int, default=defaults.EPOCHS, help="epochs")
    training.add_argument(
        "--batch-size", type=int, default=defaults.BATCH_SIZE, help="batch size"
    )
    training.add_argument(
        "--lr", type=float, default=defaults.LR, help="Adam's learning rate"
    )
    training.add_argument(
        "--lr-schedule",
        choices=["cosine", "constant"],
        default="cosine",
        help="cosine: decay the learning rate to 0 over the epochs",
    )
    training.add_argument("--device", default="cpu", help="cpu or cuda")
    training.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        default="fp32",
        help="bf16: forward passes under torch.autocast(bfloat16)",
    )
    training.add_argument(
        "--backbone",
        metavar="LIBRARY:NAME",
        help="the network, e.g. torchvision:resnet18 or timm:resnet18, with its "
        "output layer sized to the classes (needs RGB images)",
    )
    training.add_argument(
        "--weights",
        metavar="FILE",
        help="--backbone: a local state_dict of the model's own layout, loaded "
        "before the head is sized; batches are normalised as in its pretraining",
    )
    training.add_argument(
        "--freeze-epochs",
        type=int,
        default=0,
        help="train only the output layer for this many epochs, then all",
    )
    training.add_argument(
        "--backbone-lr",
        type=float,
        help="--backbone: a learning rate for all but the output layer (--lr)",
    )
    training.add_argument(
        "--preset",
        choices=["seed"],
        help="seed: the research script's UTKFace setup (117 classes, 128 px, "
        "sigma 10, decay 0.95, Adam 1e-4 constant, batch 256, 75 epochs; a GPU job)",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--cv", type=int, default=defaults.FOLDS, help="folds")
    run.add_argument("--repeats", type=int, default=defaults.REPEATS, help="repeats")
    run.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="fits at a time through joblib (-1: one per core)",
    )
    cluster = run.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the fits on this dask.distributed scheduler, e.g. "
        "tls://10.0.0.5:8786 (needs sk_klpenalty[dask])",
    )
    cluster.add_argument(
        "--dask-local",
        type=int,
        metavar="N",
        help="run the fits on a local dask cluster of N one-thread processes",
    )
    for option, what in (
        ("--tls-ca-file", "the CA certificate that signed the scheduler's"),
        ("--tls-cert", "this client's certificate"),
        ("--tls-key", "this client's private key"),
    ):
        run.add_argument(
            option, metavar="FILE", help=f"with a tls:// --scheduler: {what} (PEM)"
        )
    run.add_argument("--random-state", type=int, default=0, help="seeds everything")
    run.add_argument("--out", default="sk-klpenalty-report", help="output folder")
    run.add_argument(
        "--resume",
        action="store_true",
        help="keep the finished fits in OUT, run the rest",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--no-estimate",
        action="store_true",
        help="accepted for old scripts; the projected time now costs nothing",
    )


def _settings(args, argv: Sequence[str]) -> tuple[str, str | None, dict]:
    """The data kind and path, and the settings: explicit options over the
    preset."""
    from .compare.setup import parse_data

    given = {arg.split("=")[0] for arg in argv if arg.startswith("--")}
    try:
        kind, path = parse_data(args.data)
    except ValueError as error:
        raise UserError(str(error)) from None
    settings = {**vars(args), "classes": args.classes}
    if args.preset == "seed":
        if kind != "utkface":
            raise UserError("--preset seed needs --data utkface:PATH")
        explicit = {option[2:].replace("-", "_") for option in given}
        settings.update({k: v for k, v in SEED_PRESET.items() if k not in explicit})
    if kind != "rotated-digits" and "--rotations" in given:
        raise UserError("--rotations applies to --data rotated-digits only")
    if kind != "folder" and args.classes is not None:
        raise UserError("--classes applies to --data folder:PATH only")
    for name in ("cv", "repeats", "epochs", "batch_size", "image_size", "rotations"):
        low = 2 if name == "cv" else 1
        if settings[name] is not None and settings[name] < low:
            raise UserError(f"--{name.replace('_', '-')} must be >= {low}")
    if args.freeze_epochs < 0:
        raise UserError("--freeze-epochs must be >= 0")
    return kind, path, settings


def _estimator(args, settings: dict, X):
    """The job's estimator: the default network, or ``--backbone``."""
    import numpy as np

    from .compare import setup

    params = {"device": args.device, "precision": args.precision}
    params["freeze_epochs"] = args.freeze_epochs
    classes = settings["classes"]
    if settings["preset"] == "seed" or classes is not None:
        classes = SEED_PRESET["classes"] if classes is None else classes
        params["classes"] = np.asarray(classes)
    if args.backbone is not None:
        if np.ndim(X) != 4 or X.shape[1] != 3:
            raise UserError(
                f"--backbone needs RGB images (n, 3, height, width), got shape "
                f"{tuple(np.shape(X))}"
            )
        module, params["normalize"] = setup.backbone(args.backbone, args.weights)
        params["module"] = module
        if args.backbone_lr is not None:
            from torch import nn

            from .modules import head_name

            head = head_name(module if isinstance(module, nn.Module) else module())
            params["optimizer__param_groups"] = [(f"{head}.*", {"lr": settings["lr"]})]
    elif args.weights is not None or args.backbone_lr is not None:
        raise UserError("--weights and --backbone-lr need --backbone")
    lr = settings["lr"] if args.backbone_lr is None else args.backbone_lr
    return defaults.estimator(
        epochs=settings["epochs"],
        lr=lr,
        cosine=settings["lr_schedule"] == "cosine",
        batch_size=settings["batch_size"],
        **params,
    )


def run_compare(args, argv: Sequence[str]) -> int:
    from .compare import compare_penalty, setup
    from .compare.folds import resolve_cv

    kind, path, settings = _settings(args, argv)
    try:
        with setup.fits_backend(args):
            X, y, groups = setup.load_data(kind, path, settings)
            estimator = _estimator(args, settings, X)
            cv = resolve_cv(None, args.random_state, groups, args.cv, args.repeats)
            on_dask = args.scheduler is not None or args.dask_local is not None
            result = compare_penalty(
                X,
                y,
                estimator=estimator,
                groups=groups,
                alphas=settings["alphas"],
                sigmas=settings["sigmas"],
                sigma_decays=settings["sigma_decays"],
                decodes=args.decodes,
                within=args.within,
                cv=cv,
                controls=not args.no_controls,
                peers=args.peers,
                peer_params=args.peer_params,
                tune="nested" if args.nested else None,
                inner_cv=args.inner_cv,
                inner_scoring=args.inner_scoring,
                train_sizes=args.train_sizes,
                n_jobs=None if on_dask else args.n_jobs,
                random_state=args.random_state,
                progress=not args.quiet,
                out_dir=args.out,
                resume=args.resume,
                description=setup.describe(kind, path, settings, len(y), groups),
            )
    except (ValueError, TypeError) as error:
        raise UserError(str(error)) from None
    print(result.to_markdown())
    paths = result.save(args.out)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        return run_compare(args, argv)
    except UserError as error:
        print(f"sk-klpenalty {args.command}: error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # e.g. a worker process killed mid-job
        print(f"sk-klpenalty {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sk-klpenalty {args.command}: interrupted", file=sys.stderr)
        return 130
