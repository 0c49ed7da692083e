"""Cross-entropy plus ``alpha`` times KL to a kernel over the class values.

With targets ``p_i = p_sigma(v[t_i])`` and ``q_i = softmax(z_i)``, the loss
``ce_weight * CE + alpha * KL(p_i || q_i)`` is ``-sum_k w_ik log q_ik + alpha *
sum_k p_ik log p_ik``, ``w_i = ce_weight * onehot(t_i) + alpha * p_i``: one
soft-target cross-entropy plus a constant, O(B*K) in time and memory.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .targets import check_kernel, check_sigma, check_weights, kernel_targets
from .weighting import row_scale

__all__ = ["CEKLLoss", "ce_kl_loss", "soft_target_loss"]


def soft_target_loss(
    logits, target, p, *, alpha: float, ce_weight: float = 1.0, sample_weight=None
) -> torch.Tensor:
    """Batch mean of ``ce_weight * CE + alpha * KL(p || softmax(logits))``.

    Parameters
    ----------
    logits, target, sample_weight :
        As in :func:`ce_kl_loss`.
    p : tensor of shape (B, K)
        One target row per sample, summing to 1; unused if ``alpha=0``.
    alpha, ce_weight : float
        The weights of the two terms, >= 0 (not checked here).

    Returns
    -------
    scalar tensor

    Examples
    --------
    >>> logits, target, p = torch.zeros(1, 2), torch.tensor([0]), torch.ones(1, 2) / 2
    >>> soft_target_loss(logits, target, p, alpha=1.0)  # log 2 + KL(p || p)
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


def negative_entropy(p: torch.Tensor) -> torch.Tensor:
    """``sum_k p_k log p_k`` of each row (``0 log 0 = 0``)."""
    return torch.special.xlogy(p, p).sum(dim=1)


def _loss(logits, target, weight, alpha, ce_weight, class_values, rows):
    """:func:`soft_target_loss` with the targets ``rows(values, target)``."""
    alpha, ce_weight = check_weights(alpha, ce_weight)
    p = None
    if alpha != 0:
        k = logits.shape[1]
        if class_values is None:
            class_values = torch.arange(k, device=logits.device, dtype=torch.float32)
        values = torch.as_tensor(class_values, device=logits.device)
        if values.shape != (k,):
            raise ValueError(
                f"class_values has shape {tuple(values.shape)}, but the logits have "
                f"{k} classes."
            )
        with torch.no_grad():
            p = rows(values.float(), target)
    return soft_target_loss(
        logits, target, p, alpha=alpha, ce_weight=ce_weight, sample_weight=weight
    )


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

    ``sigma=0`` is the one-hot limit, ``(ce_weight + alpha) * CE``;
    ``ce_weight=0`` trains on the soft target alone (DLDL, SORD).

    Parameters
    ----------
    logits, target : tensors of shape (B, K) and (B,)
        Scores of any float dtype (the loss is float32) and class indices.
    alpha, ce_weight : float
        Weights of the KL penalty and the cross-entropy, >= 0, not both 0.
    sigma : float
        Width of the target (>= 0) in units of ``class_values``.
    class_values : tensor of shape (K,), optional
        Numeric value of each class; defaults to ``0..K-1``.
    sample_weight : tensor of shape (B,), optional
        Weights ``w``: the loss is ``sum_i w_i l_i / sum_i w_i``.
    kernel : {"gaussian", "laplace"}, default="gaussian"
        The target: see :func:`gaussian_targets`, :func:`laplace_targets`.

    Returns
    -------
    scalar tensor

    Examples
    --------
    >>> logits, target = torch.randn(4, 5), torch.tensor([0, 1, 2, 4])
    >>> loss = ce_kl_loss(logits, target, alpha=0.0, sigma=1.0)
    >>> bool(loss == F.cross_entropy(logits, target))
    True
    """
    sigma, kernel = check_sigma(sigma), check_kernel(kernel)

    def rows(values, index):
        return kernel_targets(kernel, values, values[index], sigma)

    return _loss(logits, target, sample_weight, alpha, ce_weight, class_values, rows)


class CEKLLoss(nn.Module):
    """Cross-entropy plus ``alpha`` times KL to a Gaussian over the class values.

    :func:`ce_kl_loss` as a skorch ``criterion``. The parameters are attributes
    that may change between batches (the sigma schedule sets them each epoch).

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
        # A buffer, so that .to(device) moves it and state_dict saves it.
        self.register_buffer("class_values", class_values)

    def forward(self, logits, target, sample_weight=None) -> torch.Tensor:
        """The (weighted) mean loss of a batch of logits and class indices."""
        params = self.alpha, self.ce_weight, self.class_values
        return _loss(logits, target, sample_weight, *params, self.target_distribution)

    def target_distribution(self, values, index) -> torch.Tensor:
        """Target rows (B, K) for class indices ``index`` (B,) and ``values`` (K,).

        The one method the controls override; ``values`` are float, on the
        logits' device.
        """
        return kernel_targets(self.kernel, values, values[index], self.sigma)

    def extra_repr(self) -> str:
        """The parameters, for ``repr``."""
        return (
            f"alpha={self.alpha}, sigma={self.sigma}, kernel={self.kernel!r}, "
            f"ce_weight={self.ce_weight}"
        )
