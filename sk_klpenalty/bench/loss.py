"""Measurement 1: the loss against the seed's per-sample loop and plain CE."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..losses import CEKLLoss, ce_kl_loss
from .sizes import Sizes
from .table import Measurement
from .timing import seconds, synchronizer

__all__ = ["measure_loss", "seed_style_loss"]


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
    sync = synchronizer(device)
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
        seconds(step, sync, n=max(1, calls[name] // 5))
    for _ in range(sizes.repeats):
        for name, step in losses.items():
            times[name].append(seconds(step, sync, n=calls[name]))

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
