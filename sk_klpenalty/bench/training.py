"""Measurements 2-4: penalty overhead per training step, bf16 throughput, and
the estimator's overhead over a bare torch loop (seed CNN and MLP)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..estimator import KLPenaltyClassifier
from ..losses import CEKLLoss
from ..modules import MLP, SeedCNN
from ..precision import bf16_supported
from .sizes import Sizes
from .table import Measurement
from .timing import device_kind, interleaved_seconds, seconds, synchronizer

__all__ = ["measure_fit_overhead", "measure_training_steps"]


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
    sync = synchronizer(device)
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
            seconds(warm_up, sync)
    times: dict[str, list[float]] = {"alpha0": [], "alpha1": [], "bf16": []}
    for repeat in range(sizes.repeats):
        # Alternate the order so a drift of the machine's speed cancels out.
        order = [("alpha0", alpha0), ("alpha1", alpha1)]
        for name, fn in order if repeat % 2 == 0 else order[::-1]:
            times[name].append(seconds(fn, sync))
        if bf16_step is not None:
            times["bf16"].append(seconds(bf16_step, sync))

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
        note = f"bf16 not supported on this {device_kind(device)}"
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
    """``KLPenaltyClassifier.fit`` against a bare torch loop doing the same:
    the seed CNN on small images, and a 2x128 MLP on tabular features (where
    the estimator's per-batch bookkeeping weighs most)."""
    rng = np.random.RandomState(2)
    n, side, n_classes = sizes.fit_samples, sizes.fit_size, sizes.fit_classes
    images = rng.rand(n, 1, side, side).astype(np.float32)
    cnn = {"in_channels": 1, "n_classes": n_classes, "input_size": side}
    rows = _fit_against_bare_loop(
        device, sizes, SeedCNN, cnn, images, rng.randint(0, n_classes, n), ""
    )
    n, features = sizes.mlp_samples, sizes.mlp_features
    table = rng.randn(n, features).astype(np.float32)
    mlp = {"n_features": features, "n_classes": n_classes}
    label = f" (MLP 2x128, {n}x{features})"
    return rows + _fit_against_bare_loop(
        device, sizes, MLP, mlp, table, rng.randint(0, n_classes, n), label
    )


def _fit_against_bare_loop(device, sizes, module_class, module_kwargs, X, y, label):
    sync = synchronizer(device)
    n, n_classes = len(X), module_kwargs["n_classes"]
    lr, alpha, sigma = 1e-3, 1.0, 2.0

    def estimator() -> None:
        KLPenaltyClassifier(
            module=module_class,
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
        module = module_class(**module_kwargs).to(device)
        optimizer = torch.optim.Adam(module.parameters(), lr=lr)
        criterion = CEKLLoss(alpha=alpha, sigma=sigma).to(device)
        inputs, labels = torch.as_tensor(X), torch.as_tensor(y)
        # The same memory layout as the estimator's (channels_last for the
        # seed CNN on the CPU), so that only the bookkeeping differs.
        layout = torch.contiguous_format
        if module_class is SeedCNN and device.type == "cpu":
            layout = torch.channels_last
            module = module.to(memory_format=layout)
        module.train()
        for _ in range(sizes.fit_epochs):
            order = torch.randperm(n)
            for start in range(0, n, sizes.fit_batch):
                index = order[start : start + sizes.fit_batch]
                optimizer.zero_grad()
                logits = module(
                    inputs[index].to(device).contiguous(memory_format=layout)
                )
                loss = criterion(logits, labels[index].to(device))
                loss.backward()
                optimizer.step()

    times = interleaved_seconds(
        {"bare": bare_loop, "fit": estimator}, sync, sizes.repeats
    )
    overhead = "estimator overhead" + (" (MLP)" if label else "")
    return [
        Measurement(f"fit{label}: bare torch loop", "s", times["bare"]),
        Measurement(f"fit{label}: KLPenaltyClassifier.fit", "s", times["fit"]),
        Measurement(
            f"{overhead}: fit / bare loop",
            "x",
            [a / b for a, b in zip(times["fit"], times["bare"], strict=True)],
            "<= 1.10",
        ),
    ]
