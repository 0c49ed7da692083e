"""Cross-entropy plus ``alpha`` times KL to a kernel over the class values,
the report's two controls, and the regression peer's weighted MSE."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .targets import check_kernel, check_nonnegative, check_weights, kernel_targets

__all__ = [
    "CEKLLoss",
    "MSELoss",
    "PermutedGaussianKLLoss",
    "UniformSmoothingKLLoss",
    "ce_kl_loss",
    "smoothing_for_entropy",
]


def weighted_mean(per_row: torch.Tensor, sample_weight=None) -> torch.Tensor:
    """The mean of ``per_row`` (B,), or ``sum_i w_i l_i / sum_i w_i``."""
    if sample_weight is None:
        return per_row.mean()
    weight = torch.as_tensor(sample_weight, device=per_row.device, dtype=per_row.dtype)
    if weight.shape != (len(per_row),):
        raise ValueError(
            f"sample_weight must have shape ({len(per_row)},), one weight per "
            f"sample, got {tuple(weight.shape)}."
        )
    total = weight.sum().clamp_min(torch.finfo(per_row.dtype).tiny)
    return (per_row * weight).sum() / total  # 0 if every weight is 0


def ce_kl_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float,
    sigma: float,
    class_values: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    kernel: str = "gaussian",
    ce_weight: float = 1.0,
) -> torch.Tensor:
    """Batch mean of ``ce_weight * CE + alpha * KL(p_sigma(v[t]) || softmax(logits))``.

    Parameters
    ----------
    logits, target : tensors of shape (B, K) and (B,)
        Scores (the loss is computed in float32) and class indices.
    alpha, ce_weight : float
        Weights of the KL penalty and the cross-entropy, >= 0, not both 0.
    sigma : float
        Width of the target (>= 0; 0 is one-hot) in units of ``class_values``.
    class_values : tensor of shape (K,), optional
        Numeric value of each class; defaults to ``0..K-1``.
    sample_weight : tensor of shape (B,), optional
        Weights ``w``: the loss is ``sum_i w_i l_i / sum_i w_i``.
    kernel : {"gaussian", "laplace"}, default="gaussian"
        The target's shape (:func:`gaussian_targets`, :func:`laplace_targets`).

    Returns
    -------
    scalar tensor
        The (weighted) batch mean.

    Examples
    --------
    >>> logits, target = torch.randn(4, 5), torch.tensor([0, 1, 2, 4])
    >>> loss = ce_kl_loss(logits, target, alpha=0.0, sigma=1.0)
    >>> bool(loss == F.cross_entropy(logits, target))
    True
    """
    criterion = CEKLLoss(alpha, check_nonnegative(sigma, "sigma"), class_values)
    criterion.kernel, criterion.ce_weight = check_kernel(kernel), ce_weight
    return criterion(logits, target, sample_weight)


class CEKLLoss(nn.Module):
    """:func:`~sk_klpenalty.losses.ce_kl_loss` as a skorch ``criterion`` (the
    sigma schedule sets ``sigma`` between epochs).

    A parameter set on it takes effect at the next batch; the class values by
    assigning a new tensor (an in-place change is not seen).

    Parameters
    ----------
    alpha, sigma, class_values, kernel, ce_weight :
        As in :func:`ce_kl_loss`.

    Examples
    --------
    >>> criterion = CEKLLoss(alpha=1.0, sigma=2.0, class_values=[21, 22, 25, 60])
    >>> criterion(torch.randn(8, 4), torch.randint(0, 4, (8,))).shape
    torch.Size([])
    """

    # Defaults for criteria pickled before these parameters existed (0.1.0).
    kernel = "gaussian"
    ce_weight = 1.0

    def __init__(
        self, alpha=1.0, sigma=1.0, class_values=None, kernel="gaussian", ce_weight=1.0
    ) -> None:
        super().__init__()
        self.alpha, self.sigma = alpha, sigma
        self.kernel, self.ce_weight = check_kernel(kernel), ce_weight
        if class_values is not None:
            class_values = torch.as_tensor(class_values).float()
        self.register_buffer("class_values", class_values)

    def forward(self, logits, target, sample_weight=None) -> torch.Tensor:
        """The (weighted) mean loss of a batch of logits and class indices."""
        alpha, ce_weight = check_weights(self.alpha, self.ce_weight)
        logits = logits.float()
        if alpha == 0 and sample_weight is None:  # exactly torch's cross-entropy
            return ce_weight * F.cross_entropy(logits, target)
        weights, constants = self._weight_table(logits, alpha, ce_weight)
        log_q = torch.log_softmax(logits, dim=1)
        per_row = constants[target] - (weights[target] * log_q).sum(dim=1)
        return weighted_mean(per_row, sample_weight)

    @torch.no_grad()
    def _weight_table(self, logits, alpha, ce_weight) -> tuple:
        """Per class ``w`` (K, K) and ``alpha * sum_k p_k log p_k`` (K,): batches
        gather rows, so the penalty costs what cross-entropy does."""
        key = (repr(self), logits.device, logits.shape[1])
        table = getattr(self, "_table", None)  # (absent in 0.1.0's pickles)
        if table is None or table[0] != key or table[1] is not self.class_values:
            n_classes, device = logits.shape[1], logits.device
            values = self.class_values
            if values is None:
                values = torch.arange(n_classes, dtype=torch.float32)
            if values.shape != (n_classes,):
                raise ValueError(
                    f"class_values has shape {tuple(values.shape)}, but the logits "
                    f"have {n_classes} classes."
                )
            values = values.to(device, torch.float32)
            classes = torch.arange(n_classes, device=device)
            onehot = torch.eye(n_classes, device=device)
            p = self.target_distribution(values, classes) if alpha else 0 * onehot
            w = alpha * p + ce_weight * onehot
            constants = alpha * torch.special.xlogy(p, p).sum(dim=1)
            self._table = key, self.class_values, (w, constants)
        return self._table[2]

    def target_distribution(self, values, index) -> torch.Tensor:
        """Target rows (B, K) of class indices ``index`` given ``values`` (K,)."""
        return kernel_targets(self.kernel, values, values[index], self.sigma)

    def extra_repr(self) -> str:  # every parameter: the table's key
        return (
            f"alpha={self.alpha}, sigma={self.sigma}, kernel={self.kernel!r}, "
            f"ce_weight={self.ce_weight}"
        )

    def __getstate__(self) -> dict:
        return {**super().__getstate__(), "_table": None}  # a cache


class UniformSmoothingKLLoss(CEKLLoss):
    """Control: label smoothing ``(1 - eps) * onehot + eps / K`` as entropic as
    the kernel's rows on average: as much smoothing, no order.

    Examples
    --------
    >>> values, index = torch.arange(5.0), torch.tensor([0])
    >>> rows = UniformSmoothingKLLoss().target_distribution(values, index)
    >>> bool(rows[0, 1] == rows[0, 4])  # no preference for neighbours
    True
    """

    def target_distribution(self, values, index):
        eps = _uniform_eps(self.kernel, values, float(self.sigma))
        onehot = F.one_hot(index, len(values)).to(values.dtype)
        return (1.0 - eps) * onehot + eps / len(values)


def _uniform_eps(kernel: str, values: torch.Tensor, sigma: float) -> float:
    """The smoothing of the kernel's mean entropy (the loss's table calls it
    once per parameter change)."""
    rows = kernel_targets(kernel, values, values, sigma)
    entropy = -torch.special.xlogy(rows, rows).sum(dim=1).mean().item()
    return smoothing_for_entropy(entropy, len(values))


def smoothing_for_entropy(entropy: float, n_classes: int) -> float:
    """Label smoothing ``eps`` whose ``(1-eps)*onehot + eps/K`` has ``entropy``.

    Parameters
    ----------
    entropy, n_classes : float, int
        The entropy in nats (clipped to ``[0, log K]``), and ``K``.

    Returns
    -------
    float
        The smoothing, in [0, 1].

    Examples
    --------
    >>> smoothing_for_entropy(math.log(4), 4), round(smoothing_for_entropy(0.5, 4), 4)
    (1.0, 0.1605)
    """
    from scipy.optimize import brentq
    from scipy.stats import entropy as entropy_of

    def excess(eps: float) -> float:
        rest = eps / n_classes
        return entropy_of([1.0 - eps + rest] + [rest] * (n_classes - 1)) - entropy

    if entropy <= 0:
        return 0.0
    if entropy >= math.log(n_classes):
        return 1.0
    return brentq(excess, 0.0, 1.0)  # the entropy grows monotonically with eps


class PermutedGaussianKLLoss(CEKLLoss):
    """Control: the kernel penalty over the classes in a fixed random order
    (class ``k`` takes the value of class ``perm[k]``; ``seed`` fixes ``perm``).

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

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, seed={self.seed}"

    def permutation(self, n_classes: int) -> torch.Tensor:
        """The permutation ``perm`` of ``0..n_classes-1``."""
        generator = torch.Generator().manual_seed(int(self.seed))
        return torch.randperm(n_classes, generator=generator)

    def target_distribution(self, values, index):
        permuted = values[self.permutation(len(values)).to(values.device)]
        return kernel_targets(self.kernel, permuted, permuted[index], self.sigma)


class MSELoss(nn.MSELoss):
    """torch's ``MSELoss``, with optional per-sample weights.

    Examples
    --------
    >>> x, y, w = torch.tensor([0.0, 2.0]), torch.zeros(2), torch.tensor([3.0, 1.0])
    >>> MSELoss()(x, y).item(), MSELoss()(x, y, sample_weight=w).item()
    (2.0, 1.0)
    """

    def forward(self, input, target, sample_weight=None) -> torch.Tensor:
        if sample_weight is None:
            return super().forward(input, target)
        return weighted_mean(F.mse_loss(input, target, reduction="none"), sample_weight)
