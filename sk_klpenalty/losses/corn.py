"""CORN (Shi, Cao & Raschka 2023; coral-pytorch): output ``k`` of ``K - 1`` is
``P(y > k | y > k - 1) = sigmoid(z_k)``, trained on the samples with ``y >= k``.
``P(y > k) = prod_{j <= k} sigmoid(z_j)`` never grows with ``k``: rank-consistent.
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["corn_loss", "corn_probabilities", "CORNLoss"]


def corn_loss(logits, y, n_classes: int, sample_weight=None) -> torch.Tensor:
    """The CORN loss: the mean binary cross-entropy of "is ``y > k``?" over the
    (sample, task ``k``) pairs with ``y >= k``, as ``coral_pytorch``'s.

    Parameters
    ----------
    logits, y : tensors of shape (B, K - 1) and (B,)
        One conditional logit per task (computed in float32); class indices.
    n_classes : int
        ``K``, at least 2.
    sample_weight : tensor of shape (B,), optional
        Sample ``i``'s pairs count ``w_i`` times, in the sum and in the count.

    Returns
    -------
    scalar tensor
        The loss.

    Examples
    --------
    >>> corn_loss(torch.zeros(3, 4), torch.tensor([0, 2, 4]), n_classes=5)  # log 2
    tensor(0.6931)
    """
    if int(n_classes) < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes!r}.")
    if logits.ndim != 2 or logits.shape[1] != n_classes - 1:
        raise ValueError(
            f"CORN needs n_classes - 1 = {n_classes - 1} outputs per sample, got "
            f"logits of shape {tuple(logits.shape)}."
        )
    logits = logits.float()
    tasks = torch.arange(n_classes - 1, device=logits.device)
    y = y.to(logits.device).unsqueeze(1)
    above = (y > tasks).float()
    bce = F.binary_cross_entropy_with_logits(logits, above, reduction="none")
    pairs = (y >= tasks).float()  # task k conditions on y > k - 1
    if sample_weight is not None:
        weight = torch.as_tensor(sample_weight, device=logits.device).float()
        pairs = pairs * weight.unsqueeze(1)
    return (bce * pairs).sum() / pairs.sum().clamp_min(torch.finfo(pairs.dtype).tiny)


def corn_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Class probabilities ``P(y > k - 1) - P(y > k)`` (B, K) from CORN's
    logits (B, K - 1), float32.

    Examples
    --------
    >>> corn_probabilities(torch.zeros(1, 2))  # P(y>0) = 1/2, P(y>1) = 1/4
    tensor([[0.5000, 0.2500, 0.2500]])
    """
    # Summed in log space: a sum of non-positive terms never grows, so the
    # survival function never increases in floating point either (no p < 0).
    survival = torch.exp(torch.cumsum(F.logsigmoid(logits.float()), dim=1))
    above = F.pad(F.pad(survival, (1, 0), value=1.0), (0, 1))  # P(y > k - 1)
    return -torch.diff(above, dim=1)


class CORNLoss(nn.Module):
    """:func:`corn_loss` as a skorch ``criterion`` (``K`` = outputs + 1).

    Examples
    --------
    >>> CORNLoss()(torch.randn(8, 4), torch.randint(0, 5, (8,))).shape
    torch.Size([])
    """

    def forward(self, logits, target, sample_weight=None) -> torch.Tensor:
        return corn_loss(logits, target, logits.shape[1] + 1, sample_weight)
