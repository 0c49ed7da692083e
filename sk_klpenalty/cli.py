"""``sk-klpenalty compare``: the cross-validated report from the command line.
User errors (bad arguments, missing data) get one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack, contextmanager

import numpy as np

from . import __version__
from .compare import defaults, setup

__all__ = ["build_parser", "main"]

# The research script's UTKFace setup (a GPU job); "seed" is its old name.
PRESETS = ("research", "seed")
RESEARCH_PRESET = dict(
    image_size=128, classes=tuple(range(117)), sigmas=(10.0,), sigma_decays=(0.95,),
    lr=1e-4, lr_schedule="constant", batch_size=256, epochs=75,
)  # fmt: skip
DATA_KINDS = ("rotated-digits", "utkface", "npz", "folder")
DASK_MISSING = 'needs dask.distributed: pip install "sk_klpenalty[dask]"'


class _Formatter(argparse.HelpFormatter):
    """Each option's default as it would be typed (``0,1`` for a tuple)."""

    def _get_help_string(self, action):
        value = action.default
        if value is None or isinstance(value, bool) or value is argparse.SUPPRESS:
            return action.help  # no value: a switch, or unset unless given
        if isinstance(value, tuple):
            value = ",".join(map(_typed, value)) or "none"
        return f"{action.help} (default: {_typed(value).replace('%', '%%')})"


def _typed(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _numbers(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        values = None
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers: {text!r}")
    return values


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


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
        "controls on the same stratified folds; print and save a report with 95% "
        "confidence intervals and corrected resampled t-tests.",
    )
    for group, options in _OPTIONS.items():
        arguments = compare.add_argument_group(group)
        cluster = arguments.add_mutually_exclusive_group() if group == "run" else None
        for flag, help_, settings in options:
            where = cluster if flag in ("--scheduler", "--dask-local") else arguments
            where.add_argument(flag, help=help_, **settings)
    return parser


# Each option: its flag, its help and add_argument's other settings.
_OPTIONS = {
    "data": [
        ("--data", "rotated-digits (built in), utkface:PATH (your UTKFace "
         "folder), npz:PATH (arrays X, y and optionally groups) or folder:PATH "
         "(one subfolder of images per class)", {"default": "rotated-digits"}),
        ("--image-size", "image side in pixels (default: 12 for rotated-digits, "
         "64 for images)", {"type": int}),
        ("--classes", "folder: the class subfolders in order, e.g. "
         "mild,moderate,severe (numbers are ordered as numbers without it)",
         {"type": _names}),
        ("--groups", "auto: keep each group (a digit's rotated copies, the npz's "
         "groups) on one side of every split; none: plain stratified folds",
         {"choices": ["auto", "none"], "default": "auto"}),
        ("--rotations", "rotated copies of each digit", {"type": int, "default": 6}),
        ("--max-samples", "use a stratified subsample of this many", {"type": int}),
    ],
    "configurations": [
        ("--alphas", "KL weights", {"type": _numbers, "default": defaults.ALPHAS}),
        ("--sigmas", "target widths", {"type": _numbers, "default": defaults.SIGMAS}),
        ("--sigma-decays", "per-epoch factors of sigma",
         {"type": _numbers, "default": defaults.SIGMA_DECAYS}),
        ("--decodes", "decodes the tables show, of argmax,mean,median",
         {"type": _names, "default": defaults.DECODES}),
        ("--no-controls", "skip the uniform-smoothing and permuted-order controls",
         {"action": "store_true"}),
        ("--within", "k of 'within ±k' (label units)", {"type": float, "default": 1.0}),
        ("--peers", "add methods a user would otherwise pick: all, or some of "
         "regression,soft-labels,laplace,corn", {"type": _names, "default": ()}),
        ("--peer-params", "settings of the peers, e.g. "
         '\'{"soft-labels": {"kernel": "gaussian"}}\'',
         {"type": _json_object, "metavar": "JSON"}),
        ("--nested", "add the penalty tuned by nested cross-validation (needs at "
         "least two settings, e.g. --sigmas 1,2,3)", {"action": "store_true"}),
        ("--inner-cv", "--nested: inner folds", {"type": int, "default": 3}),
        ("--inner-scoring", "--nested: the inner search's scikit-learn scoring",
         {"default": "neg_mean_squared_error"}),
        ("--train-sizes", "learning curve: fractions of each training fold, e.g. "
         "0.1,0.3,1", {"type": _numbers, "default": (1.0,)}),
    ],
    "training": [
        ("--epochs", "epochs", {"type": int, "default": defaults.EPOCHS}),
        ("--batch-size", "batch size", {"type": int, "default": defaults.BATCH_SIZE}),
        ("--lr", "Adam's learning rate", {"type": float, "default": defaults.LR}),
        ("--lr-schedule", "cosine: decay the learning rate to 0 over the epochs",
         {"choices": ["cosine", "constant"], "default": "cosine"}),
        ("--device", "cpu or cuda", {"default": "cpu"}),
        ("--precision", "bf16: forward passes under torch.autocast(bfloat16)",
         {"choices": ["fp32", "bf16"], "default": "fp32"}),
        ("--backbone", "the network, e.g. torchvision:resnet18 or timm:resnet18, "
         "with its output layer sized to the classes (needs RGB images)",
         {"metavar": "LIBRARY:NAME"}),
        ("--weights", "--backbone: a local state_dict of the model's own layout, "
         "loaded before the head is sized; batches are normalised as in its "
         "pretraining", {"metavar": "FILE"}),
        ("--freeze-epochs", "train only the output layer for this many epochs, "
         "then all", {"type": int, "default": 0}),
        ("--backbone-lr", "--backbone: a learning rate for all but the output "
         "layer (--lr)", {"type": float}),
        ("--preset", "research: the research script's UTKFace setup (117 "
         "classes, 128 px, sigma 10, decay 0.95, Adam 1e-4 constant, batch 256, "
         "75 epochs; a GPU job); seed: its old name", {"choices": PRESETS}),
    ],
    "run": [
        ("--cv", "folds", {"type": int, "default": defaults.FOLDS}),
        ("--repeats", "repeats", {"type": int, "default": defaults.REPEATS}),
        ("--n-jobs", "fits at a time through joblib (-1: one per core)",
         {"type": int, "default": -1}),
        ("--scheduler", "run the fits on this dask.distributed scheduler, e.g. "
         "tls://10.0.0.5:8786 (needs sk_klpenalty[dask])", {"metavar": "ADDRESS"}),
        ("--dask-local", "run the fits on a local dask cluster of N one-thread "
         "processes", {"type": int, "metavar": "N"}),
        *(
            (option, f"with a tls:// --scheduler: {what} (PEM)", {"metavar": "FILE"})
            for option, what in (
                ("--tls-ca-file", "the CA certificate that signed the scheduler's"),
                ("--tls-cert", "this client's certificate"),
                ("--tls-key", "this client's private key"),
            )
        ),
        ("--random-state", "seeds everything", {"type": int, "default": 0}),
        ("--out", "output folder", {"default": "sk-klpenalty-report"}),
        ("--resume", "keep the finished fits in OUT, run the rest",
         {"action": "store_true"}),
        ("--quiet", "no progress bar", {"action": "store_true"}),
        ("--no-estimate", "accepted for old scripts; the projected time now costs "
         "nothing", {"action": "store_true"}),
    ],
}  # fmt: skip


def _settings(args, argv: Sequence[str]) -> tuple[str, str | None, dict]:
    """The data kind and path, and the settings (explicit options over a preset)."""
    kind, _, path = args.data.partition(":")
    if args.data != "rotated-digits" and (kind not in DATA_KINDS[1:] or not path):
        raise ValueError(
            "--data must be rotated-digits, utkface:PATH, npz:PATH (arrays X, y "
            f"and optionally groups) or folder:PATH (a folder per class), got "
            f"{args.data!r}"
        )
    given = {arg.split("=")[0] for arg in argv if arg.startswith("--")}
    settings = vars(args).copy()
    if args.preset in PRESETS:
        if kind != "utkface":
            raise ValueError(f"--preset {args.preset} needs --data utkface:PATH")
        explicit = {option[2:].replace("-", "_") for option in given}
        settings.update({k: v for k, v in RESEARCH_PRESET.items() if k not in explicit})
    if kind != "rotated-digits" and "--rotations" in given:
        raise ValueError("--rotations applies to --data rotated-digits only")
    if kind != "folder" and args.classes is not None:
        raise ValueError("--classes applies to --data folder:PATH only")
    lows = dict.fromkeys(["repeats", "epochs", "batch_size", "image_size"], 1)
    lows |= {"cv": 2, "rotations": 1, "freeze_epochs": 0}
    for name, low in lows.items():
        if settings[name] is not None and settings[name] < low:
            raise ValueError(f"--{name.replace('_', '-')} must be >= {low}")
    settings["image_size"] = settings["image_size"] or setup.IMAGE_SIZES.get(kind)
    return kind, path or None, settings


def _estimator(args, settings: dict, X):
    """The job's estimator: the default network, or ``--backbone``."""
    params = {"device": args.device, "precision": args.precision}
    params["freeze_epochs"] = args.freeze_epochs
    if settings["classes"] is not None:
        params["classes"] = np.asarray(settings["classes"])
    if args.backbone is not None:
        if np.ndim(X) != 4 or X.shape[1] != 3:
            raise ValueError(
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
        raise ValueError("--weights and --backbone-lr need --backbone")
    lr = settings["lr"] if args.backbone_lr is None else args.backbone_lr
    cosine = settings["lr_schedule"] == "cosine"
    epochs, batch_size = settings["epochs"], settings["batch_size"]
    return defaults.estimator(epochs, lr, cosine, batch_size=batch_size, **params)


def _tls(args) -> dict:
    """The certificate options as ``distributed.security.Security``'s, checked."""
    files = {"--tls-ca-file": args.tls_ca_file, "--tls-cert": args.tls_cert}
    files |= {"--tls-key": args.tls_key}
    given = [option for option, path in files.items() if path is not None]
    if not given:
        return {}
    if args.scheduler is None:
        raise ValueError(f"{given[0]} is only used with --scheduler tls://HOST:PORT")
    for option, path in files.items():
        if path is None:
            raise ValueError(
                f"TLS needs all three certificate options; missing {option}"
            )
        if not os.path.isfile(path):
            raise ValueError(f"{option}: no such file: {path!r}")
    keys = ("tls_ca_file", "tls_client_cert", "tls_client_key")
    return {"require_encryption": True, **dict(zip(keys, files.values(), strict=True))}


@contextmanager
def fits_backend(args):
    """joblib's default backend, or dask on ``--scheduler``/``--dask-local``."""
    tls = _tls(args)  # certificate options: checked first
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
            cluster = distributed.LocalCluster(
                n_workers=args.dask_local, threads_per_worker=1, host="127.0.0.1",
                dashboard_address=None, silence_logs=40,
            )  # fmt: skip
            client = distributed.Client(stack.enter_context(cluster))
        else:
            try:
                security = distributed.Security(**tls)
                client = distributed.Client(args.scheduler, security=security)
            except (OSError, TimeoutError, ValueError, TypeError) as error:
                reason = f"{args.scheduler!r}: {setup.first_line(error)}"
                raise ValueError(f"--scheduler: cannot connect to {reason}") from None
        stack.enter_context(client)
        try:
            client.wait_for_workers(1, timeout=30)
        except TimeoutError:
            raise ValueError("--scheduler: no dask worker joined within 30 s") from None
        stack.enter_context(joblib.parallel_config(backend="dask", n_jobs=-1))
        yield


def _compare(args, argv: Sequence[str]):
    """The report of the job the command line describes."""
    from .compare import compare_penalty
    from .compare.folds import resolve_cv

    kind, path, settings = _settings(args, argv)
    on_dask = args.scheduler is not None or args.dask_local is not None
    same = ["decodes", "within", "peers", "peer_params", "inner_cv", "inner_scoring"]
    same += ["train_sizes", "random_state", "resume"]
    preset = {name: settings[name] for name in ("alphas", "sigmas", "sigma_decays")}
    with fits_backend(args):
        X, y, groups = setup.load_data(kind, path, settings)
        return compare_penalty(
            X,
            y,
            estimator=_estimator(args, settings, X),
            groups=groups,
            **preset,
            **{name: getattr(args, name) for name in same},
            cv=resolve_cv(None, args.random_state, groups, args.cv, args.repeats),
            controls=not args.no_controls,
            tune="nested" if args.nested else None,
            n_jobs=None if on_dask else args.n_jobs,
            progress=not args.quiet,
            out_dir=args.out,
            description=setup.describe(kind, path, settings, len(y), groups),
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sk-klpenalty``; user errors print one line and return 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        result = _compare(args, argv)
    except (ValueError, TypeError) as error:  # bad arguments or data
        print(f"sk-klpenalty {args.command}: error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # e.g. a worker process killed mid-job
        print(f"sk-klpenalty {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sk-klpenalty {args.command}: interrupted", file=sys.stderr)
        return 130
    print(result.to_markdown())
    paths = result.save(args.out)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
