"""Pure torch criteria (no skorch): cross-entropy plus the KL penalty, the
report's two controls, and the peers' losses (CORN, a weighted MSE)."""

from .cekl import (
    CEKLLoss,
    MSELoss,
    PermutedGaussianKLLoss,
    UniformSmoothingKLLoss,
    ce_kl_loss,
    smoothing_for_entropy,
)
from .corn import CORNLoss, corn_loss, corn_probabilities
from .targets import KERNELS, gaussian_targets, kernel_targets, laplace_targets

__all__ = [
    "CEKLLoss",
    "CORNLoss",
    "KERNELS",
    "MSELoss",
    "PermutedGaussianKLLoss",
    "UniformSmoothingKLLoss",
    "ce_kl_loss",
    "corn_loss",
    "corn_probabilities",
    "gaussian_targets",
    "kernel_targets",
    "laplace_targets",
    "smoothing_for_entropy",
]
