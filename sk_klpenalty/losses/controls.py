"""The report's two controls: the penalty's smoothing without the order of the
classes (uniform), and its shape over a shuffled order (permuted). If the
penalty's gain is ordinal, neither matches it."""

import functools
import math

import torch

from .cekl import CEKLLoss, negative_entropy
from .targets import kernel_targets

__all__ = ["PermutedGaussianKLLoss", "UniformSmoothingKLLoss", "smoothing_for_entropy"]


class UniformSmoothingKLLoss(CEKLLoss):
    """Control: KL to uniform label smoothing as spread out as the kernel.

    Class ``k``'s target is ``(1 - eps) * onehot_k + eps / K``, its entropy the
    mean entropy of the kernel's rows: as much smoothing as the penalty, but no
    order. Parameters as :class:`CEKLLoss`.

    Examples
    --------
    >>> values, index = torch.arange(5.0), torch.tensor([0])
    >>> rows = UniformSmoothingKLLoss().target_distribution(values, index)
    >>> bool(rows[0, 1] == rows[0, 4])  # no preference for neighbours
    True
    """

    def target_distribution(self, values, index):
        n_classes, device = len(values), values.device
        eps = _uniform_eps(self.kernel, tuple(values.tolist()), float(self.sigma))
        rows = torch.full((len(index), n_classes), eps / n_classes, device=device)
        rows[torch.arange(len(index), device=device), index] += 1.0 - eps
        return rows


@functools.lru_cache(maxsize=64)
def _uniform_eps(kernel: str, values: tuple, sigma: float) -> float:
    """The smoothing of the kernel's mean entropy (cached: once per sigma)."""
    values = torch.tensor(values)
    rows = kernel_targets(kernel, values, values, sigma)
    return smoothing_for_entropy(-negative_entropy(rows).mean().item(), len(values))


def smoothing_for_entropy(entropy: float, n_classes: int) -> float:
    """Label smoothing ``eps`` whose ``(1-eps)*onehot + eps/K`` has ``entropy``.

    Parameters
    ----------
    entropy, n_classes : float, int
        The entropy in nats, clipped to ``[0, log K]``, and ``K``.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> smoothing_for_entropy(math.log(4), 4), round(smoothing_for_entropy(0.5, 4), 4)
    (1.0, 0.1605)
    """
    from scipy.optimize import brentq
    from scipy.special import xlogy

    def excess(eps: float) -> float:
        top, rest = 1.0 - eps + eps / n_classes, eps / n_classes
        return -(xlogy(top, top) + (n_classes - 1) * xlogy(rest, rest)) - entropy

    if entropy <= 0:
        return 0.0
    if entropy >= math.log(n_classes):
        return 1.0
    return brentq(excess, 0.0, 1.0)  # the entropy grows monotonically with eps


class PermutedGaussianKLLoss(CEKLLoss):
    """Control: the kernel penalty over a fixed random order of the classes.

    Class ``k`` takes the value of class ``perm[k]``: each target spreads as in
    :class:`CEKLLoss`, onto neighbours in the shuffled order only.

    Parameters
    ----------
    alpha, sigma, class_values, kernel, ce_weight :
        As in :class:`CEKLLoss`.
    seed : int, default=0
        Seeds the permutation.

    Examples
    --------
    >>> criterion = PermutedGaussianKLLoss(seed=0)
    >>> rows = criterion.target_distribution(torch.arange(6.0), torch.arange(6))
    >>> torch.allclose(rows.sum(dim=1), torch.ones(6))
    True
    """

    def __init__(
        self,
        alpha=1.0,
        sigma=1.0,
        class_values=None,
        seed=0,
        kernel="gaussian",
        ce_weight=1.0,
    ) -> None:
        super().__init__(alpha, sigma, class_values, kernel, ce_weight)
        self.seed = seed

    def permutation(self, n_classes: int) -> torch.Tensor:
        """The permutation ``perm`` of ``0..n_classes-1`` that ``seed`` fixes."""
        generator = torch.Generator().manual_seed(int(self.seed))
        return torch.randperm(n_classes, generator=generator)

    def target_distribution(self, values, index):
        permuted = values[self.permutation(len(values)).to(values.device)]
        return kernel_targets(self.kernel, permuted, permuted[index], self.sigma)
