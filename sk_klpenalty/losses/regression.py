"""The regression peer's criterion: mean squared error, optionally weighted."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .weighting import weighted_mean

__all__ = ["MSELoss"]


class MSELoss(nn.MSELoss):
    """torch's ``MSELoss`` that also takes per-sample weights.

    Without ``sample_weight`` it is ``torch.nn.MSELoss`` (whatever its
    ``reduction``); with them, the weighted mean of the squared errors,
    ``sum_i w_i (x_i - y_i)^2 / sum_i w_i``.

    Examples
    --------
    >>> import torch
    >>> loss = MSELoss()
    >>> x, y = torch.tensor([0.0, 2.0]), torch.tensor([0.0, 0.0])
    >>> loss(x, y).item(), loss(x, y, sample_weight=torch.tensor([3.0, 1.0])).item()
    (2.0, 1.0)
    """

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if sample_weight is None:
            return super().forward(input, target)
        squared = F.mse_loss(input, target, reduction="none")
        return weighted_mean(squared, sample_weight)
