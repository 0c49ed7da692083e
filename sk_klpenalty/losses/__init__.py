"""Pure torch criteria (no skorch): cross-entropy plus the KL penalty, the
report's two controls, and the peers' losses (CORN, a weighted MSE)."""

from .cekl import CEKLLoss, ce_kl_loss, soft_target_loss
from .controls import (
    PermutedGaussianKLLoss,
    UniformSmoothingKLLoss,
    smoothing_for_entropy,
)
from .corn import CORNLoss, corn_loss, corn_probabilities
from .regression import MSELoss
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
    "soft_target_loss",
]
