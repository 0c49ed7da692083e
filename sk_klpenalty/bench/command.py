"""``sk-klpenalty bench``: its options, the run, and the order of the rows."""

from __future__ import annotations

import argparse
import json

import torch

from ..errors import UserError
from . import utkface
from .loss import measure_loss
from .memory import measure_memory
from .sizes import FULL, QUICK, Sizes, describe_sizes
from .table import Measurement, format_table
from .timing import device_kind, machine_info
from .training import measure_fit_overhead, measure_training_steps

__all__ = ["add_arguments", "run", "run_measurements"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``bench`` subcommand's parser.
    """
    parser.description = (
        "Measure the performance ratios (loss cost, penalty overhead, estimator "
        "overhead, bf16 speed-up); print them with the machine and whether each "
        "target is met."
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="cpu (default) or cuda (or cuda:N)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller CNN inputs (3x64x64, batch 64) and data set: under a "
        "minute on 2 CPU cores",
    )
    parser.add_argument(
        "--repeats",
        type=_positive_int,
        help=f"timed repeats per measurement (default {FULL.repeats}, "
        f"{QUICK.repeats} with --quick)",
    )
    parser.add_argument(
        "--utkface-size",
        action="store_true",
        help="instead: one epoch of the seed's setup on random uint8 images of "
        "UTKFace's size (23708x3x128x128) from a memory map, with its peak RSS "
        "and the projected time of compare --preset seed (long on a CPU)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write all numbers here")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run the bench, print the machine and the table, optionally write JSON.

    Parameters
    ----------
    args : argparse.Namespace
        ``device``, ``quick``, ``repeats`` and ``json`` from
        :func:`add_arguments`.

    Returns
    -------
    int
        0 (a missed target is a result, not an error).
    """
    device = _check_device(args.device, UserError)
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        sizes = Sizes(**{**sizes.__dict__, "repeats": args.repeats})
    machine = machine_info(device)
    flags = " --quick" * bool(args.quick) + " --utkface-size" * bool(args.utkface_size)
    print(f"sk-klpenalty bench{flags}")
    for key, value in machine.items():
        shown = ("yes" if value else "no") if isinstance(value, bool) else value
        print(f"  {key + ':':<14}{shown}")
    if args.utkface_size:
        shape = "x".join(map(str, utkface.UTKFACE_SHAPE))
        print(f"  {'sizes:':<14}uint8 {shape} memmap, 1 epoch, seed CNN, batch 256")
    else:
        print(f"  {'sizes:':<14}{describe_sizes(sizes)}")
    print(flush=True)

    if args.utkface_size:
        measurements = utkface.measure_utkface_size(device)
    else:
        measurements = run_measurements(device, sizes)
    print(format_table(measurements))
    if not machine["bf16"]:
        rows = "fp32 instead of bf16" if args.utkface_size else "bf16 row n/a"
        print(f"\nbf16 not supported on this {device_kind(device)}: {rows}.")
    with_target = [m for m in measurements if m.met is not None]
    met = sum(bool(m.met) for m in with_target)
    print(f"\ntargets met: {met} of {len(with_target)}")
    unclear = sum(not m.clear for m in with_target)
    if unclear:
        print(
            f"{unclear} of the {len(with_target)} marked yes? or no?: the median "
            "meets or misses the target, but its 95% confidence interval spans "
            "it, so this machine's noise could turn the verdict (more --repeats "
            "narrow it)."
        )
    if args.json:
        report = {
            "machine": machine,
            "sizes": sizes.__dict__,
            "quick": bool(args.quick),
            "utkface_size": bool(args.utkface_size),
            "measurements": [m.as_dict() for m in measurements],
            "all_targets_met": met == len(with_target),
            "unclear_targets": unclear,
        }
        try:
            with open(args.json, "w", encoding="utf-8") as file:
                json.dump(report, file, indent=2)
                file.write("\n")
        except OSError as error:
            raise UserError(f"cannot write {args.json}: {error}") from None
        print(f"wrote {args.json}")
    return 0


def _check_device(text: str, error: type[Exception]) -> torch.device:
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise error(f"--device must be cpu or cuda, got {text!r}") from None
    if device.type not in ("cpu", "cuda"):
        raise error(f"--device must be cpu or cuda, got {text!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise error("--device cuda: no CUDA device is available to torch")
    return device


def run_measurements(device: torch.device, sizes: Sizes) -> list[Measurement]:
    """All four measurements, in table order.

    Parameters
    ----------
    device : torch.device
    sizes : Sizes

    Returns
    -------
    list of Measurement
    """
    loss_rows = measure_loss(device, sizes)
    step_rows = measure_training_steps(device, sizes)
    # The step's own noise (page faults, other processes) is often larger
    # than 1%; the loss timings bound the penalty's share of a step precisely.
    by_name = {row.name: row for row in loss_rows + step_rows}
    penalty_ms = [
        module - ce
        for module, ce in zip(
            by_name["loss fwd+bwd: CEKLLoss"].values,
            by_name["loss fwd+bwd: F.cross_entropy"].values,
            strict=True,
        )
    ]
    step_s = by_name["train step (seed CNN, fp32): alpha=0"].values
    derived = Measurement(
        "penalty overhead from loss timings: 1 + (CEKLLoss - CE) / step",
        "x",
        [1 + ms / 1e3 / s for ms, s in zip(penalty_ms, step_s, strict=True)],
        "<= 1.01",
    )
    split = next(i for i, row in enumerate(step_rows) if row.target) + 1
    return [
        *loss_rows,
        *step_rows[:split],
        derived,
        *step_rows[split:],
        *measure_fit_overhead(device, sizes),
        *measure_memory(device, sizes),
    ]
