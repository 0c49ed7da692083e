"""Problem sizes of a bench run: the seed's (full) and a quick variant."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "QUICK", "Sizes"]


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
    mlp_samples, mlp_features :
        The tabular data set of the fit measurement's MLP case.
    memory_images : int
        uint8 images 3x32x32 of the in-memory RSS measurement.
    memmap_factor : float
        The memory-mapped data set's size, in multiples of the in-memory
        bound (1.2 x data + footprint); the issue's target uses 4.
    throughput_images : int
        Images of the uint8 vs float32 throughput measurement.
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
    mlp_samples: int = 20_000
    mlp_features: int = 20
    memory_images: int = 38_400
    memmap_factor: float = 4.0
    throughput_images: int = 1024
    repeats: int = 5


FULL = Sizes()
QUICK = Sizes(
    loss_iterations=50,
    seed_iterations=3,
    cnn_size=64,
    cnn_batch=64,
    fit_samples=1024,
    fit_epochs=1,
    mlp_samples=5_000,
    memory_images=4_800,
    memmap_factor=0.5,
    throughput_images=256,
    repeats=3,
)


def describe_sizes(sizes: Sizes) -> str:
    return (
        f"loss B={sizes.loss_batch} K={sizes.loss_classes} "
        f"sigma={sizes.loss_sigma:g}; CNN step 3x{sizes.cnn_size}x{sizes.cnn_size} "
        f"batch {sizes.cnn_batch} K={sizes.cnn_classes}; fit {sizes.fit_samples} "
        f"images 1x{sizes.fit_size}x{sizes.fit_size} K={sizes.fit_classes} batch "
        f"{sizes.fit_batch} x {sizes.fit_epochs} epoch(s), and MLP on "
        f"{sizes.mlp_samples}x{sizes.mlp_features}; memory: {sizes.memory_images} "
        f"uint8 images 3x32x32, memmap {sizes.memmap_factor:g}x the in-memory "
        f"bound; median of {sizes.repeats} repeat(s) after a warm-up"
    )
