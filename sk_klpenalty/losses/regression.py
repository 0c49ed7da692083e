"""The regression peer's criterion: mean squared error, optionally weighted."""

import torch
import torch.nn.functional as F
from torch import nn

from .weighting import weighted_mean

__all__ = ["MSELoss"]


class MSELoss(nn.MSELoss):
    """torch's ``MSELoss`` that also takes per-sample weights.

    With ``sample_weight``: ``sum_i w_i (x_i - y_i)^2 / sum_i w_i``.

    Examples
    --------
    >>> x, y, w = torch.tensor([0.0, 2.0]), torch.zeros(2), torch.tensor([3.0, 1.0])
    >>> MSELoss()(x, y).item(), MSELoss()(x, y, sample_weight=w).item()
    (2.0, 1.0)
    """

    def forward(self, input, target, sample_weight=None) -> torch.Tensor:
        """The loss of ``input`` against ``target``."""
        if sample_weight is None:
            return super().forward(input, target)
        return weighted_mean(F.mse_loss(input, target, reduction="none"), sample_weight)
