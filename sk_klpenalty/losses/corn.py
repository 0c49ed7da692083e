"""CORN: rank-consistent ordinal regression from conditional binary outputs
(Shi, Cao & Raschka 2021, the method of coral-pytorch).

A network with ``K - 1`` outputs ``z_0..z_{K-2}``. Output ``k`` models the
conditional probability ``P(y > k | y > k - 1) = sigmoid(z_k)``, and is
trained only on the samples for which that condition holds (``y >= k``).
The chain rule gives the unconditional ``P(y > k) = prod_{j <= k}
sigmoid(z_j)``, which never increases with ``k``: the predicted ranks are
consistent by construction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["corn_loss", "corn_probabilities", "CORNLoss"]


def corn_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    n_classes: int,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """The CORN loss: mean binary cross-entropy over the conditional tasks.

    Task ``k`` (``0 <= k <= K-2``) asks "is ``y > k``?" of the samples with
    ``y >= k``. The loss sums the binary cross-entropies of every task over
    its samples and divides by the number of (sample, task) pairs, as
    ``coral_pytorch.losses.corn_loss`` does.

    Parameters
    ----------
    logits : tensor of shape (B, K - 1)
        One conditional logit per task. Computed in float32.
    y : tensor of shape (B,)
        True class indices in ``0..K-1``.
    n_classes : int
        ``K``, at least 2.
    sample_weight : tensor of shape (B,), optional
        Non-negative per-sample weights: each (sample, task) pair counts
        ``w_i`` times, in the sum and in the number of pairs it is divided by.

    Returns
    -------
    scalar tensor

    Examples
    --------
    >>> import torch
    >>> logits = torch.zeros(3, 4)  # every conditional probability 1/2
    >>> loss = corn_loss(logits, torch.tensor([0, 2, 4]), n_classes=5)
    >>> round(loss.item(), 4)  # log 2
    0.6931
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
    in_task = y >= tasks  # the condition y > k - 1 of task k
    above = (y > tasks).float()
    bce = F.binary_cross_entropy_with_logits(logits, above, reduction="none")
    if sample_weight is None:
        return torch.where(in_task, bce, 0.0).sum() / in_task.sum()
    weight = torch.as_tensor(sample_weight, device=logits.device, dtype=logits.dtype)
    pairs = in_task * weight.unsqueeze(1)
    return (bce * pairs).sum() / pairs.sum().clamp_min(torch.finfo(logits.dtype).tiny)


def corn_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Class probabilities from CORN's conditional logits, in float32.

    ``P(y > k) = prod_{j <= k} sigmoid(z_j)`` and
    ``P(y = k) = P(y > k - 1) - P(y > k)``, with ``P(y > -1) = 1`` and
    ``P(y > K - 1) = 0``. Computed in log space; the rows are non-negative
    and sum to 1.

    Parameters
    ----------
    logits : tensor of shape (B, K - 1)

    Returns
    -------
    tensor of shape (B, K)

    Examples
    --------
    >>> import torch
    >>> corn_probabilities(torch.zeros(1, 2))  # P(y>0) = 1/2, P(y>1) = 1/4
    tensor([[0.5000, 0.2500, 0.2500]])
    """
    logits = logits.float()
    # A sum of non-positive terms never grows, so the survival function is
    # non-increasing in floating point too and every difference is >= 0.
    survival = torch.exp(torch.cumsum(F.logsigmoid(logits), dim=1))
    ones = torch.ones_like(survival[:, :1])
    above = torch.cat([ones, survival, torch.zeros_like(ones)], dim=1)
    return above[:, :-1] - above[:, 1:]


class CORNLoss(nn.Module):
    """The module form of :func:`corn_loss`, for a skorch ``criterion``.

    ``K`` is the number of outputs plus one.

    Examples
    --------
    >>> import torch
    >>> loss = CORNLoss()(torch.randn(8, 4), torch.randint(0, 5, (8,)))
    >>> loss.shape
    torch.Size([])
    """

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return corn_loss(logits, target, logits.shape[1] + 1, sample_weight)
