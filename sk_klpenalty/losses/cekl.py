"""Cross-entropy plus ``alpha`` times KL to a Gaussian over the class values.

For logits ``z`` with true classes ``t``, class values ``v`` and target rows
``p_i = p_sigma(v[t_i])``, the loss of sample ``i`` is

    ce_weight * CE(z_i, t_i) + alpha * KL(p_i || softmax(z_i))
      = -sum_k w_ik log q_ik + alpha * sum_k p_ik log p_ik,
        w_i = ce_weight * onehot(t_i) + alpha * p_i

one soft-target cross-entropy plus a constant of the target: O(B*K) time and
memory per batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .targets import (
    check_kernel,
    check_sigma,
    check_weights,
    class_values_or_range,
    kernel_targets,
    negative_entropy,
)
from .weighting import row_scale

__all__ = ["CEKLLoss", "ce_kl_loss", "soft_target_loss"]


def soft_target_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    p: torch.Tensor,
    *,
    alpha: float,
    ce_weight: float = 1.0,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Batch mean of ``ce_weight * CE + alpha * KL(p || softmax(logits))``.

    The functional core that every criterion of the package shares: ``p``
    holds one target row per sample (rows summing to 1). With
    ``sample_weight``, the weighted mean ``sum_i w_i l_i / sum_i w_i``.
    ``alpha=0`` is exactly ``ce_weight * F.cross_entropy(logits, target)``.

    Examples
    --------
    >>> import torch
    >>> logits, target = torch.zeros(1, 2), torch.tensor([0])
    >>> p = torch.tensor([[0.5, 0.5]])  # KL(p || uniform) = 0
    >>> soft_target_loss(logits, target, p, alpha=1.0)  # CE = log 2
    tensor(0.6931)
    """
    logits = logits.float()
    scale = row_scale(sample_weight, logits)
    if alpha == 0 or len(logits) == 0:  # an empty batch: nan, as in torch
        if scale is None:
            loss = F.cross_entropy(logits, target)
        else:
            loss = (F.cross_entropy(logits, target, reduction="none") * scale).sum()
        return loss if ce_weight == 1 else ce_weight * loss
    log_q = torch.log_softmax(logits, dim=1)
    weights = alpha * p  # then + ce_weight * onehot(t)
    weights.scatter_add_(
        1, target.unsqueeze(1), torch.full_like(weights[:, :1], ce_weight)
    )
    if scale is None:
        # Scaled by -1/B before the sum: one product and two sums (each extra
        # op is an autograd node that costs as much as the arithmetic here).
        n = len(logits)
        weights.mul_(-1.0 / n)
        return (weights * log_q).sum() + (negative_entropy(p) * (alpha / n)).sum()
    per_row = alpha * negative_entropy(p) - (weights * log_q).sum(dim=1)
    return (per_row * scale).sum()


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
    """Cross-entropy plus ``alpha`` times the KL penalty, averaged over the batch.

    ``ce_weight * CE(logits, t) + alpha * KL(p_sigma(v[t]) || softmax(logits))``.

    Parameters
    ----------
    logits : tensor of shape (B, K)
        Unnormalised scores; computed in float32 whatever their dtype.
    target : tensor of shape (B,)
        True class indices in ``0..K-1``.
    alpha : float
        Weight of the KL penalty (>= 0). ``alpha=0`` (with ``ce_weight=1``)
        is exactly ``F.cross_entropy(logits, target)``.
    sigma : float
        Width of the target in units of ``class_values``: the Gaussian's
        standard deviation, or the Laplace scale (>= 0; 0 is the one-hot
        limit, where the loss is ``(ce_weight + alpha) * CE``).
    class_values : tensor of shape (K,), optional
        Numeric value of each class; defaults to ``0..K-1``.
    sample_weight : tensor of shape (B,), optional
        Non-negative weights: the loss is ``sum_i w_i l_i / sum_i w_i``.
    kernel : {"gaussian", "laplace"}, default="gaussian"
        ``p_k ∝ exp(-(v_k - y)^2 / (2 sigma^2))`` or ``exp(-|v_k - y| / sigma)``.
    ce_weight : float, default=1.0
        Weight of the cross-entropy term (>= 0). 0 trains on the soft target
        alone (DLDL, SORD); it and ``alpha`` cannot both be 0.

    Returns
    -------
    scalar tensor

    Examples
    --------
    >>> import torch
    >>> import torch.nn.functional as F
    >>> logits, target = torch.randn(4, 5), torch.tensor([0, 1, 2, 4])
    >>> loss = ce_kl_loss(logits, target, alpha=0.0, sigma=1.0)
    >>> bool(loss == F.cross_entropy(logits, target))
    True
    >>> bool(ce_kl_loss(logits, target, alpha=1.0, sigma=1.0) > loss)
    True
    """
    alpha, ce_weight = check_weights(alpha, ce_weight)
    sigma, kernel = check_sigma(sigma), check_kernel(kernel)
    p = None
    if alpha != 0:
        values = class_values_or_range(class_values, logits)
        p = kernel_targets(kernel, values, values[target], sigma)
    return soft_target_loss(
        logits,
        target,
        p,
        alpha=alpha,
        ce_weight=ce_weight,
        sample_weight=sample_weight,
    )


class CEKLLoss(nn.Module):
    """Cross-entropy plus ``alpha`` times KL to a Gaussian over the class values.

    The module form of :func:`ce_kl_loss`, for a skorch ``criterion``.
    ``alpha``, ``sigma``, ``kernel``, ``ce_weight`` and ``class_values`` are
    plain attributes that may change between batches (the estimator's sigma
    schedule sets them every epoch); there are no learnable parameters.

    Parameters
    ----------
    alpha, sigma, class_values, kernel, ce_weight :
        As in :func:`ce_kl_loss`.

    Examples
    --------
    >>> import torch
    >>> criterion = CEKLLoss(alpha=1.0, sigma=2.0, class_values=[21, 22, 25, 60])
    >>> loss = criterion(torch.randn(8, 4), torch.randint(0, 4, (8,)))
    >>> loss.shape
    torch.Size([])
    """

    # Defaults for criteria pickled before these parameters existed (0.1.0).
    kernel = "gaussian"
    ce_weight = 1.0

    def __init__(
        self,
        alpha: float = 1.0,
        sigma: float = 1.0,
        class_values: torch.Tensor | None = None,
        kernel: str = "gaussian",
        ce_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.alpha = alpha
        self.sigma = sigma
        self.kernel = check_kernel(kernel)
        self.ce_weight = ce_weight
        # A buffer, so that .to(device) moves it and state_dict saves it.
        self.register_buffer(
            "class_values",
            None if class_values is None else torch.as_tensor(class_values).float(),
        )

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The loss of a batch of logits and class indices; with
        ``sample_weight``, its weighted mean."""
        alpha, ce_weight = check_weights(self.alpha, self.ce_weight)
        p = None
        if alpha != 0:
            values = class_values_or_range(self.class_values, logits)
            with torch.no_grad():
                p = self.target_distribution(values, target)
        return soft_target_loss(
            logits,
            target,
            p,
            alpha=alpha,
            ce_weight=ce_weight,
            sample_weight=sample_weight,
        )

    def target_distribution(
        self, values: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        """Target rows of the KL term for the classes ``index``.

        The one method a variant of the penalty overrides (the report's
        controls do). Here: the kernel over ``values`` centred on
        ``values[index]``.

        Parameters
        ----------
        values : tensor of shape (K,)
            Float class values on the logits' device.
        index : tensor of shape (B,)
            Class indices.

        Returns
        -------
        tensor of shape (B, K), rows summing to 1
        """
        return kernel_targets(self.kernel, values, values[index], self.sigma)

    def extra_repr(self) -> str:
        return (
            f"alpha={self.alpha}, sigma={self.sigma}, kernel={self.kernel!r}, "
            f"ce_weight={self.ce_weight}"
        )
