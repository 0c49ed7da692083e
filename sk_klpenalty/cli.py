"""``sk-klpenalty compare``: the cross-validated report from the command line.

User errors (bad arguments, missing data) end with a one-line message on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack, contextmanager

from . import __version__
from .compare import defaults

__all__ = ["build_parser", "main"]

DASK_MISSING = 'needs dask.distributed: pip install "sk_klpenalty[dask]"'
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
DATA_DEFAULTS = {"rotated-digits": {"image_size": 12}, "utkface": {"image_size": 64}}


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
        help="rotated-digits (built in) or utkface:PATH (your UTKFace folder)",
    )
    data.add_argument(
        "--image-size",
        type=int,
        help="image side in pixels (default: 12 for rotated-digits, 64 for utkface)",
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


def _settings(args, argv: Sequence[str]) -> tuple[str, dict]:
    """The data kind and the settings: explicit options over the preset."""
    given = {arg.split("=")[0] for arg in argv if arg.startswith("--")}
    if args.data == "rotated-digits":
        kind = args.data
    elif args.data.startswith("utkface:") and len(args.data) > len("utkface:"):
        kind = "utkface"
    else:
        raise UserError(
            f"--data must be rotated-digits or utkface:PATH, got {args.data!r}"
        )
    settings = {**vars(args), **DATA_DEFAULTS[kind], "classes": None}
    if args.image_size is not None:
        settings["image_size"] = args.image_size
    if args.preset == "seed":
        if kind != "utkface":
            raise UserError("--preset seed needs --data utkface:PATH")
        explicit = {option[2:].replace("-", "_") for option in given}
        settings.update({k: v for k, v in SEED_PRESET.items() if k not in explicit})
    if kind != "rotated-digits" and "--rotations" in given:
        raise UserError("--rotations applies to --data rotated-digits only")
    for name in ("cv", "repeats", "epochs", "batch_size", "image_size", "rotations"):
        if settings[name] < (2 if name == "cv" else 1):
            low = 2 if name == "cv" else 1
            raise UserError(f"--{name.replace('_', '-')} must be >= {low}")
    return kind, settings


def _load_data(kind: str, settings: dict):
    from . import datasets

    if kind == "rotated-digits":
        X, y = datasets.load_rotated_digits(
            n_rotations=settings["rotations"],
            image_size=settings["image_size"],
            random_state=settings["random_state"],
        )
    else:
        path = settings["data"].split(":", 1)[1]
        try:  # uint8 from a memory map of the cache: read batch by batch
            X, y = datasets.load_utkface(
                path, image_size=settings["image_size"], dtype="uint8", mmap=True
            )
        except (FileNotFoundError, NotADirectoryError) as error:
            raise UserError(str(error)) from None
    n = settings["max_samples"]
    if n is not None and n < len(y):
        from sklearn.model_selection import train_test_split

        try:
            X, _, y, _ = train_test_split(
                X, y, train_size=n, stratify=y, random_state=settings["random_state"]
            )
        except ValueError as error:
            raise UserError(f"--max-samples: {error}") from None
    return X, y


def _describe(kind: str, settings: dict, n_samples: int) -> str:
    """The report's line on what was trained on what."""
    size = settings["image_size"]
    if kind == "rotated-digits":
        data = (
            f"built-in rotated digits, `load_rotated_digits(n_rotations="
            f"{settings['rotations']}, image_size={size})`: each of the 1797 digits "
            f"rotated {settings['rotations']} times on a {size}×{size} canvas; "
            "rotated copies of one digit can fall in both the training and the "
            "test folds (the label is the angle bin, not the digit)"
        )
    else:
        data = f"UTKFace images from {settings['data'].split(':', 1)[1]}, {size}×{size}"
    if settings["max_samples"] == n_samples:
        data += f", stratified subsample of {n_samples}"
    schedule = ", cosine decay to 0" if settings["lr_schedule"] == "cosine" else ""
    return (
        f"{data}. Training: Adam, lr {settings['lr']:g}{schedule}, "
        f"{settings['epochs']} epochs, batch {settings['batch_size']}, "
        f"device {settings['device']}."
    )


def _security(args):
    """The TLS ``Security`` of the certificate options, or None."""
    files = {"--tls-ca-file": args.tls_ca_file, "--tls-cert": args.tls_cert}
    files["--tls-key"] = args.tls_key
    given = [option for option, path in files.items() if path is not None]
    if not given:
        return None
    if args.scheduler is None:
        raise UserError(f"{given[0]} is only used with --scheduler tls://HOST:PORT")
    missing = [option for option in files if option not in given]
    if missing:
        raise UserError(
            f"TLS needs all three certificate options; missing {missing[0]}"
        )
    for option, path in files.items():
        if not os.path.isfile(path):
            raise UserError(f"{option}: no such file: {path!r}")
    try:
        from distributed.security import Security
    except ImportError:
        raise UserError(f"--scheduler {DASK_MISSING}") from None
    return Security(
        tls_ca_file=args.tls_ca_file,
        tls_client_cert=args.tls_cert,
        tls_client_key=args.tls_key,
        require_encryption=True,
    )


@contextmanager
def _fits_backend(args):
    """joblib's default backend, or dask on ``--scheduler``/``--dask-local``."""
    security = _security(args)  # certificate options: checked first
    if args.scheduler is None and args.dask_local is None:
        yield
        return
    if args.dask_local is not None and args.dask_local < 2:
        raise UserError("--dask-local needs >= 2 workers (joblib runs 1 in here)")
    try:
        import dask
        import distributed
    except ImportError:
        option = "--scheduler" if args.scheduler else "--dask-local"
        raise UserError(f"{option} {DASK_MISSING}") from None
    import joblib

    with ExitStack() as stack:
        if args.dask_local is not None:
            # dask's nanny sets MALLOC_TRIM_THRESHOLD_, which makes torch
            # training about 2x slower; and its variables in this process.
            saved = dict(os.environ)
            stack.callback(lambda: (os.environ.clear(), os.environ.update(saved)))
            trim = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
            stack.enter_context(dask.config.set({trim: None}))
            cluster = distributed.LocalCluster(
                n_workers=args.dask_local,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
            )
            client = stack.enter_context(
                distributed.Client(stack.enter_context(cluster))
            )
        else:
            try:
                client = distributed.Client(args.scheduler, security=security)
            except (OSError, TimeoutError, ValueError, TypeError) as error:
                reason = str(error).strip().splitlines()[0] if str(error) else ""
                raise UserError(
                    f"--scheduler: cannot connect to {args.scheduler!r}: "
                    f"{reason or type(error).__name__}"
                ) from None
            stack.enter_context(client)
        try:
            client.wait_for_workers(1, timeout=30)
        except TimeoutError:
            raise UserError("--scheduler: no dask worker joined within 30 s") from None
        stack.enter_context(joblib.parallel_config(backend="dask", n_jobs=-1))
        yield


def run_compare(args, argv: Sequence[str]) -> int:
    import numpy as np

    from .compare import compare_penalty
    from .compare.folds import resolve_cv

    kind, settings = _settings(args, argv)
    with _fits_backend(args):
        X, y = _load_data(kind, settings)
        classes = settings["classes"]
        estimator = defaults.estimator(
            epochs=settings["epochs"],
            lr=settings["lr"],
            cosine=settings["lr_schedule"] == "cosine",
            batch_size=settings["batch_size"],
            device=args.device,
            precision=args.precision,
            classes=None if classes is None else np.asarray(classes),
        )
        on_dask = args.scheduler is not None or args.dask_local is not None
        cv = resolve_cv(None, args.random_state, None, args.cv, args.repeats)
        try:
            result = compare_penalty(
                X,
                y,
                estimator=estimator,
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
                description=_describe(kind, settings, len(y)),
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
