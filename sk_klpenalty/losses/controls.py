"""The report's two controls: the penalty's amount of smoothing without the
order of the classes (uniform smoothing), and its shape over a shuffled order
(permuted Gaussian). If the penalty's gain is ordinal, neither matches it.
"""

from __future__ import annotations

import functools
import math

import torch

from .cekl import CEKLLoss
from .targets import kernel_targets, negative_entropy

__all__ = ["PermutedGaussianKLLoss", "UniformSmoothingKLLoss", "smoothing_for_entropy"]


class UniformSmoothingKLLoss(CEKLLoss):
    """Control: KL to uniform label smoothing as spread out as the Gaussian.

    The target row of class ``k`` is ``(1 - eps) * onehot_k + eps / K``, with
    ``eps`` chosen so that its entropy equals the mean entropy of the kernel's
    rows over all classes. It smooths as much as the penalty but ignores the
    order of the classes. Same parameters as :class:`CEKLLoss`.

    Examples
    --------
    >>> import torch
    >>> criterion = UniformSmoothingKLLoss(alpha=1.0, sigma=2.0)
    >>> rows = criterion.target_distribution(torch.arange(5.0), torch.tensor([0]))
    >>> bool(rows[0, 1] == rows[0, 4])  # no preference for neighbours
    True
    """

    def target_distribution(
        self, values: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        n_classes = len(values)
        eps = _uniform_eps(self.kernel, tuple(values.tolist()), float(self.sigma))
        rows = torch.full(
            (len(index), n_classes), eps / n_classes, device=values.device
        )
        rows[torch.arange(len(index), device=values.device), index] += 1.0 - eps
        return rows


@functools.lru_cache(maxsize=64)
def _uniform_eps(kernel: str, values: tuple, sigma: float) -> float:
    """The smoothing of the kernel's mean entropy (once per epoch's sigma)."""
    values = torch.tensor(values)
    rows = kernel_targets(kernel, values, values, sigma)
    entropy = -negative_entropy(rows).mean().item()
    return smoothing_for_entropy(entropy, len(values))


def smoothing_for_entropy(entropy: float, n_classes: int) -> float:
    """Label-smoothing ``eps`` whose target ``(1-eps)*onehot + eps/K`` has ``entropy``.

    The entropy grows monotonically from 0 (``eps=0``) to ``log K``
    (``eps=1``); values outside that range are clipped to it.

    Examples
    --------
    >>> import math
    >>> smoothing_for_entropy(math.log(4), 4)
    1.0
    >>> round(smoothing_for_entropy(0.5, 4), 4)
    0.1605
    """
    from scipy.optimize import brentq
    from scipy.special import xlogy

    def smoothed_entropy(eps: float) -> float:
        top, rest = 1.0 - eps + eps / n_classes, eps / n_classes
        return -(xlogy(top, top) + (n_classes - 1) * xlogy(rest, rest))

    if entropy <= 0:
        return 0.0
    if entropy >= math.log(n_classes):
        return 1.0
    return brentq(lambda eps: smoothed_entropy(eps) - entropy, 0.0, 1.0)


class PermutedGaussianKLLoss(CEKLLoss):
    """Control: the Gaussian penalty over a fixed random order of the classes.

    Class ``k`` gets the value of class ``perm[k]`` for a random permutation
    fixed by ``seed`` before the target rows are built: each target spreads
    as in :class:`CEKLLoss`, onto classes that are neighbours only in the
    shuffled order.

    Parameters
    ----------
    alpha, sigma, class_values, kernel, ce_weight :
        As in :class:`CEKLLoss`.
    seed : int, default=0
        Seeds the permutation.

    Examples
    --------
    >>> import torch
    >>> criterion = PermutedGaussianKLLoss(alpha=1.0, sigma=1.0, seed=0)
    >>> rows = criterion.target_distribution(torch.arange(6.0), torch.arange(6))
    >>> torch.allclose(rows.sum(dim=1), torch.ones(6))
    True
    """

    def __init__(
        self,
        alpha: float = 1.0,
        sigma: float = 1.0,
        class_values: torch.Tensor | None = None,
        seed: int = 0,
        kernel: str = "gaussian",
        ce_weight: float = 1.0,
    ) -> None:
        super().__init__(alpha, sigma, class_values, kernel, ce_weight)
        self.seed = seed

    def permutation(self, n_classes: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(int(self.seed))
        return torch.randperm(n_classes, generator=generator)

    def target_distribution(
        self, values: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        permuted = values[self.permutation(len(values)).to(values.device)]
        return kernel_targets(self.kernel, permuted, permuted[index], self.sigma)
