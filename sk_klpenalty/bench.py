"""``sk-klpenalty bench``: the performance ratios of the issue, measured in one run.

Four measurements, each the median of ``--repeats`` repeats after a warm-up
(with the min-max over the repeats), interleaved so that a drift of the
machine's speed hits both sides of a ratio alike:

1. **Loss**: forward + backward of the criterion at B=256, K=117, sigma=10:
   the seed's per-sample loop (a numpy Gaussian per sample, copied to the
   device, ``p + 1e-8``, ``sum p * log(p / q)``), :func:`ce_kl_loss`,
   :class:`CEKLLoss` and plain ``F.cross_entropy``. Targets: seed / ours
   >= 100, ours / cross-entropy <= 3.
2. **Penalty overhead**: one training step of the seed CNN
   (:class:`SeedCNN`, 117 classes) through :class:`KLPenaltyClassifier`
   with alpha=1 against alpha=0, same batch and same module. Target <= 1.01.
   A step varies by more than 1% from one repeat to the next on most
   machines, so the table adds the same ratio derived from the loss timings,
   ``1 + (CEKLLoss - cross-entropy) / step``: the only work alpha=1 adds.
3. **Estimator overhead**: ``KLPenaltyClassifier.fit`` on in-memory arrays
   against a bare torch loop with the same module, data, batch size, epochs,
   optimizer, shuffling and no validation. Target <= 1.10.
4. **bf16**: training throughput (images/s) of the seed CNN with
   ``precision="bf16"`` against fp32. Target >= 2.5 where the device runs
   bf16 natively, n/a elsewhere.

Full sizes are the seed's (3x128x128 images, batch 256); ``--quick``
shrinks the CNN measurements (3x64x64, batch 64) and the fitted data set so
that the whole run takes well under a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .estimator import KLPenaltyClassifier, bf16_supported
from .losses import CEKLLoss, ce_kl_loss
from .modules import SeedCNN

__all__ = ["add_arguments", "run", "seed_style_loss"]


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one bench run.

    Attributes
    ----------
    loss_batch, loss_classes, loss_sigma :
        The loss measurement (the seed's B=256, K=117, sigma=10).
    loss_iterations, seed_iterations :
        Calls of the fast losses and of the seed's loop per timed repeat.
    cnn_size, cnn_batch, cnn_classes :
        The seed CNN's image side, batch size and classes (training steps).
    fit_samples, fit_size, fit_classes, fit_batch, fit_epochs :
        The data set (1-channel images) and schedule of the fit measurement.
    repeats : int
        Timed repeats of every measurement (after one warm-up).
    """

    loss_batch: int = 256
    loss_classes: int = 117
    loss_sigma: float = 10.0
    loss_iterations: int = 200
    seed_iterations: int = 10
    cnn_size: int = 128
    cnn_batch: int = 256
    cnn_classes: int = 117
    fit_samples: int = 4096
    fit_size: int = 28
    fit_classes: int = 24
    fit_batch: int = 64
    fit_epochs: int = 2
    repeats: int = 5


FULL = Sizes()
QUICK = Sizes(
    loss_iterations=50,
    seed_iterations=3,
    cnn_size=64,
    cnn_batch=64,
    fit_samples=1024,
    fit_epochs=1,
    repeats=3,
)


@dataclass
class Measurement:
    """One row of the bench table.

    Attributes
    ----------
    name : str
        What was measured.
    unit : str
        ``"ms"``, ``"s"``, ``"img/s"`` or ``"x"`` (a ratio).
    values : list of float
        One value per repeat; empty when the measurement is n/a.
    target : str or None
        ``">= 100"``, ``"<= 3"``, ...; None for rows that only inform.
    note : str
        Why a target is n/a, or "".
    """

    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def met(self) -> bool | None:
        """Whether the median meets the target (None: no target, or n/a)."""
        if self.target is None or not self.values:
            return None
        operator, bound = self.target.split()
        if operator == ">=":
            return self.median >= float(bound)
        return self.median <= float(bound)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": self.median,
            "min": min(self.values) if self.values else None,
            "max": max(self.values) if self.values else None,
            "values": list(self.values),
            "target": self.target,
            "met": self.met,
            "note": self.note,
        }


# ------------------------------------------------------------------ CLI


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
    from .cli import UserError

    device = _check_device(args.device, UserError)
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        sizes = Sizes(**{**sizes.__dict__, "repeats": args.repeats})
    machine = machine_info(device)
    print(f"sk-klpenalty bench{' --quick' if args.quick else ''}")
    for key, value in machine.items():
        shown = ("yes" if value else "no") if isinstance(value, bool) else value
        print(f"  {key + ':':<14}{shown}")
    print(f"  {'sizes:':<14}{_describe_sizes(sizes)}")
    print(flush=True)

    measurements = run_measurements(device, sizes)
    print(format_table(measurements))
    if not machine["bf16"]:
        print(f"\nbf16 not supported on this {_device_kind(device)}: bf16 row n/a.")
    with_target = [m for m in measurements if m.met is not None]
    met = sum(bool(m.met) for m in with_target)
    print(f"\ntargets met: {met} of {len(with_target)}")
    if args.json:
        report = {
            "machine": machine,
            "sizes": sizes.__dict__,
            "quick": bool(args.quick),
            "measurements": [m.as_dict() for m in measurements],
            "all_targets_met": met == len(with_target),
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


def _describe_sizes(sizes: Sizes) -> str:
    return (
        f"loss B={sizes.loss_batch} K={sizes.loss_classes} "
        f"sigma={sizes.loss_sigma:g}; CNN step 3x{sizes.cnn_size}x{sizes.cnn_size} "
        f"batch {sizes.cnn_batch} K={sizes.cnn_classes}; fit {sizes.fit_samples} "
        f"images 1x{sizes.fit_size}x{sizes.fit_size} K={sizes.fit_classes} batch "
        f"{sizes.fit_batch} x {sizes.fit_epochs} epoch(s); median of "
        f"{sizes.repeats} repeat(s) after a warm-up"
    )


# -------------------------------------------------------------- machine


def machine_info(device: torch.device) -> dict:
    """The machine a bench ran on.

    Parameters
    ----------
    device : torch.device

    Returns
    -------
    dict
        ``cpu`` (model), ``cpus`` (logical CPUs), ``threads`` (torch's intra-op
        threads), ``torch``, ``python``, ``device`` (with the GPU's name on
        CUDA) and ``bf16`` (native bf16 support of the device).
    """
    info = {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["device"] = f"{device} ({torch.cuda.get_device_name(device)})"
    info["bf16"] = bool(bf16_supported(device))
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _device_kind(device: torch.device) -> str:
    return "GPU" if device.type == "cuda" else "CPU"


# --------------------------------------------------------------- timing


def _synchronizer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def _seconds(fn: Callable[[], object], sync: Callable[[], None], n: int = 1) -> float:
    """Mean wall time of ``n`` calls of ``fn`` (device work included)."""
    sync()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - start) / n


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
    ]


# ----------------------------------------------------------------- loss


def seed_style_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float,
    sigma: float,
    class_values: np.ndarray,
) -> torch.Tensor:
    """The seed's loss: a Python loop with one numpy Gaussian per sample.

    The reference that :func:`ce_kl_loss` replaces, kept here only to be
    timed: each target row is built in numpy, copied to the logits' device,
    shifted by ``1e-8`` and compared with ``softmax(logits)`` through
    ``sum p * log(p / q)``.

    Parameters
    ----------
    logits : tensor of shape (B, K)
    target : tensor of shape (B,)
        Class indices.
    alpha, sigma : float
    class_values : ndarray of shape (K,)

    Returns
    -------
    scalar tensor
    """
    probabilities = torch.softmax(logits, dim=1)
    kl = logits.new_zeros(())
    for i in range(len(target)):
        label = class_values[int(target[i])]
        p = np.exp(-((class_values - label) ** 2) / (2 * sigma**2))
        p = p / p.sum()
        p = torch.tensor(p, dtype=torch.float32, device=logits.device) + 1e-8
        kl = kl + torch.sum(p * torch.log(p / probabilities[i]))
    return F.cross_entropy(logits, target) + alpha * kl / len(target)


def measure_loss(device: torch.device, sizes: Sizes) -> list[Measurement]:
    """Forward + backward of the seed's loop, our two losses and plain CE."""
    sync = _synchronizer(device)
    generator = torch.Generator().manual_seed(0)
    batch, n_classes, sigma = sizes.loss_batch, sizes.loss_classes, sizes.loss_sigma
    logits = (torch.randn(batch, n_classes, generator=generator) * 3).to(device)
    logits.requires_grad_()
    target = torch.randint(0, n_classes, (batch,), generator=generator).to(device)
    class_values = np.arange(n_classes, dtype=np.float64)
    criterion = CEKLLoss(alpha=1.0, sigma=sigma).to(device)

    def backward(loss_fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def step() -> None:
            logits.grad = None
            loss_fn().backward()

        return step

    losses = {
        "seed": backward(
            lambda: seed_style_loss(
                logits, target, alpha=1.0, sigma=sigma, class_values=class_values
            )
        ),
        "ce_kl_loss": backward(
            lambda: ce_kl_loss(logits, target, alpha=1.0, sigma=sigma)
        ),
        "CEKLLoss": backward(lambda: criterion(logits, target)),
        "cross_entropy": backward(lambda: F.cross_entropy(logits, target)),
    }
    calls = {name: sizes.loss_iterations for name in losses}
    calls["seed"] = sizes.seed_iterations
    times: dict[str, list[float]] = {name: [] for name in losses}
    for name, step in losses.items():  # warm-up (and builds the cached tables)
        _seconds(step, sync, n=max(1, calls[name] // 5))
    for _ in range(sizes.repeats):
        for name, step in losses.items():
            times[name].append(_seconds(step, sync, n=calls[name]))

    def ratios(top: str, bottom: str) -> list[float]:
        return [a / b for a, b in zip(times[top], times[bottom], strict=True)]

    label = f"B={batch}, K={n_classes}"
    return [
        Measurement(
            f"loss fwd+bwd: seed per-sample loop ({label})",
            "ms",
            [t * 1e3 for t in times["seed"]],
        ),
        Measurement(
            "loss fwd+bwd: ce_kl_loss", "ms", [t * 1e3 for t in times["ce_kl_loss"]]
        ),
        Measurement(
            "loss fwd+bwd: CEKLLoss", "ms", [t * 1e3 for t in times["CEKLLoss"]]
        ),
        Measurement(
            "loss fwd+bwd: F.cross_entropy",
            "ms",
            [t * 1e3 for t in times["cross_entropy"]],
        ),
        Measurement(
            "loss speed-up: seed loop / ce_kl_loss",
            "x",
            ratios("seed", "ce_kl_loss"),
            ">= 100",
        ),
        Measurement(
            "loss speed-up: seed loop / CEKLLoss",
            "x",
            ratios("seed", "CEKLLoss"),
            ">= 100",
        ),
        Measurement(
            "loss cost: ce_kl_loss / F.cross_entropy",
            "x",
            ratios("ce_kl_loss", "cross_entropy"),
            "<= 3",
        ),
        Measurement(
            "loss cost: CEKLLoss / F.cross_entropy",
            "x",
            ratios("CEKLLoss", "cross_entropy"),
            "<= 3",
        ),
    ]


# ------------------------------------------------------- training steps


def _step_net(device: torch.device, sizes: Sizes, precision: str):
    """An initialised estimator around the seed CNN, ready for ``train_step``."""
    net = KLPenaltyClassifier(
        module=SeedCNN,
        module__in_channels=3,
        module__n_classes=sizes.cnn_classes,
        module__input_size=sizes.cnn_size,
        classes=np.arange(sizes.cnn_classes),
        alpha=1.0,
        sigma=10.0,
        lr=1e-4,
        batch_size=sizes.cnn_batch,
        precision=precision,
        device=str(device),
        random_state=0,
    )
    net.input_shape_ = (3, sizes.cnn_size, sizes.cnn_size)
    torch.manual_seed(0)
    return net.initialize()


def measure_training_steps(device: torch.device, sizes: Sizes) -> list[Measurement]:
    """Penalty overhead (alpha=1 vs 0) and bf16 vs fp32 throughput of the CNN."""
    sync = _synchronizer(device)
    generator = torch.Generator().manual_seed(1)
    shape = (sizes.cnn_batch, 3, sizes.cnn_size, sizes.cnn_size)
    X = torch.rand(shape, generator=generator)
    y = torch.randint(0, sizes.cnn_classes, (sizes.cnn_batch,), generator=generator)
    batch = (X, y)  # on the host, as the data loader hands it to the net

    fp32 = _step_net(device, sizes, "fp32")
    use_bf16 = bf16_supported(device)
    bf16 = _step_net(device, sizes, "bf16") if use_bf16 else None

    def step(net, alpha: float) -> Callable[[], None]:
        def one_step() -> None:
            net.criterion_.alpha = alpha
            net.train_step(batch)

        return one_step

    alpha0, alpha1 = step(fp32, 0.0), step(fp32, 1.0)
    bf16_step = step(bf16, 1.0) if bf16 is not None else None
    for warm_up in (alpha0, alpha1, bf16_step):
        if warm_up is not None:
            _seconds(warm_up, sync)
    times: dict[str, list[float]] = {"alpha0": [], "alpha1": [], "bf16": []}
    for repeat in range(sizes.repeats):
        # Alternate the order so a drift of the machine's speed cancels out.
        order = [("alpha0", alpha0), ("alpha1", alpha1)]
        for name, fn in order if repeat % 2 == 0 else order[::-1]:
            times[name].append(_seconds(fn, sync))
        if bf16_step is not None:
            times["bf16"].append(_seconds(bf16_step, sync))

    images = sizes.cnn_batch
    fp32_rate = [images / t for t in times["alpha1"]]
    rows = [
        Measurement("train step (seed CNN, fp32): alpha=0", "s", times["alpha0"]),
        Measurement("train step (seed CNN, fp32): alpha=1", "s", times["alpha1"]),
        Measurement(
            "penalty overhead: step alpha=1 / alpha=0",
            "x",
            [a / b for a, b in zip(times["alpha1"], times["alpha0"], strict=True)],
            "<= 1.01",
        ),
        Measurement("train throughput (seed CNN): fp32", "img/s", fp32_rate),
    ]
    if bf16_step is None:
        note = f"bf16 not supported on this {_device_kind(device)}"
        rows += [
            Measurement("train throughput (seed CNN): bf16", "img/s", note=note),
            Measurement("bf16 speed-up: bf16 / fp32 img/s", "x", [], ">= 2.5", note),
        ]
    else:
        rows += [
            Measurement(
                "train throughput (seed CNN): bf16",
                "img/s",
                [images / t for t in times["bf16"]],
            ),
            Measurement(
                "bf16 speed-up: bf16 / fp32 img/s",
                "x",
                [a / b for a, b in zip(times["alpha1"], times["bf16"], strict=True)],
                ">= 2.5",
            ),
        ]
    return rows


# ------------------------------------------------------------------ fit


def measure_fit_overhead(device: torch.device, sizes: Sizes) -> list[Measurement]:
    """``KLPenaltyClassifier.fit`` against a bare torch loop doing the same."""
    sync = _synchronizer(device)
    rng = np.random.RandomState(2)
    n, side, n_classes = sizes.fit_samples, sizes.fit_size, sizes.fit_classes
    X = rng.rand(n, 1, side, side).astype(np.float32)
    y = rng.randint(0, n_classes, n)
    module_kwargs = {"in_channels": 1, "n_classes": n_classes, "input_size": side}
    lr, alpha, sigma = 1e-3, 1.0, 2.0

    def estimator() -> None:
        KLPenaltyClassifier(
            module=SeedCNN,
            **{f"module__{key}": value for key, value in module_kwargs.items()},
            classes=np.arange(n_classes),
            alpha=alpha,
            sigma=sigma,
            lr=lr,
            batch_size=sizes.fit_batch,
            max_epochs=sizes.fit_epochs,
            device=str(device),
            random_state=0,
        ).fit(X, y)

    def bare_loop() -> None:
        torch.manual_seed(0)
        module = SeedCNN(**module_kwargs).to(device)
        optimizer = torch.optim.Adam(module.parameters(), lr=lr)
        criterion = CEKLLoss(alpha=alpha, sigma=sigma).to(device)
        inputs, labels = torch.as_tensor(X), torch.as_tensor(y)
        module.train()
        for _ in range(sizes.fit_epochs):
            order = torch.randperm(n)
            for start in range(0, n, sizes.fit_batch):
                index = order[start : start + sizes.fit_batch]
                optimizer.zero_grad()
                logits = module(inputs[index].to(device))
                loss = criterion(logits, labels[index].to(device))
                loss.backward()
                optimizer.step()

    _seconds(bare_loop, sync)
    _seconds(estimator, sync)
    times: dict[str, list[float]] = {"fit": [], "bare": []}
    for repeat in range(sizes.repeats):
        order = [("bare", bare_loop), ("fit", estimator)]
        for name, fn in order if repeat % 2 == 0 else order[::-1]:
            times[name].append(_seconds(fn, sync))
    return [
        Measurement("fit: bare torch loop", "s", times["bare"]),
        Measurement("fit: KLPenaltyClassifier.fit", "s", times["fit"]),
        Measurement(
            "estimator overhead: fit / bare loop",
            "x",
            [a / b for a, b in zip(times["fit"], times["bare"], strict=True)],
            "<= 1.10",
        ),
    ]


# ---------------------------------------------------------------- table


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if value >= 0.1 else f"{value:.4f}"


def format_table(measurements: Sequence[Measurement]) -> str:
    """The bench table: measurement, median, min-max, target, met.

    Parameters
    ----------
    measurements : sequence of Measurement

    Returns
    -------
    str
    """
    header = ("measurement", "median", "min-max", "target", "met")
    rows = []
    for m in measurements:
        if m.values:
            median = f"{_number(m.median)} {m.unit}"
            spread = f"{_number(min(m.values))}-{_number(max(m.values))}"
        else:
            median, spread = "n/a", "n/a"
        if m.target is None:
            met = ""
        elif m.met is None:
            met = "n/a"
        else:
            met = "yes" if m.met else "no"
        rows.append((m.name, median, spread, m.target or "", met))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(5)]
    lines = []
    for row in (header, *rows):
        right = [
            cell.rjust(width) for cell, width in zip(row[1:4], widths[1:4], strict=True)
        ]
        lines.append("  ".join([row[0].ljust(widths[0]), *right, row[4]]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
