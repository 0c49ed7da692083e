"""Cross-entropy plus a Gaussian KL penalty for ordered class labels.

Pure torch (no skorch import). The loss for a batch of logits ``z`` with true
class indices ``t`` is

    mean_i [ CE(z_i, t_i) + alpha * KL(p_sigma(v[t_i]) || softmax(z_i)) ]

where ``v`` holds the numeric value of every class and ``p_sigma(y)`` is the
discretised Gaussian ``p_k ∝ exp(-(v_k - y)^2 / (2 sigma^2))``.

Because ``KL(p || q) = sum_k p_k log p_k - sum_k p_k log q_k``, the first term
(the negative entropy of the target) depends only on the true class, and the
whole loss of sample ``i`` is

    -sum_k w_ik log q_ik + alpha * sum_k p_ik log p_ik,   w_i = onehot(t_i) + alpha p_i

one soft-target cross-entropy plus a per-class constant. For fixed ``sigma``
and class values the rows ``w`` and the constants are a (K, K) table and a
(K,) vector, computed once and indexed per batch: the penalty costs one gather
on top of the cross-entropy, O(B*K) time and memory.

``kernel="laplace"`` replaces the Gaussian by ``p_k ∝ exp(-|v_k - y| / sigma)``
(SORD's distance), and ``ce_weight`` weights the cross-entropy term
(``ce_weight=0``: the soft target alone, as in DLDL and SORD); the table then
holds ``ce_weight * onehot + alpha * p``.

The package holds the target distributions (:mod:`.targets`), the criterion
and its functional form with their cached tables (:mod:`.cekl`), the two
control criteria of the report (:mod:`.controls`), and the loss of the CORN
peer (:mod:`.corn`).
"""

from .cekl import CEKLLoss, ce_kl_loss
from .controls import (
    PermutedGaussianKLLoss,
    UniformSmoothingKLLoss,
    smoothing_for_entropy,
)
from .corn import CORNLoss, corn_loss, corn_probabilities
from .regression import MSELoss
from .targets import KERNELS, gaussian_targets, laplace_targets

__all__ = [
    "MSELoss",
    "KERNELS",
    "gaussian_targets",
    "laplace_targets",
    "ce_kl_loss",
    "CEKLLoss",
    "UniformSmoothingKLLoss",
    "PermutedGaussianKLLoss",
    "smoothing_for_entropy",
    "corn_loss",
    "corn_probabilities",
    "CORNLoss",
]
