"""Per-sample weights in a loss: the weighted mean ``sum_i w_i l_i / sum_i w_i``
as a per-row scale, shared by every criterion of the package."""

from __future__ import annotations

import torch

__all__ = ["row_scale", "weighted_mean"]


def row_scale(sample_weight, rows: torch.Tensor) -> torch.Tensor | None:
    """``w_i / sum(w)`` per row of ``rows`` (zeros if every weight is 0), or ``None``.

    No check of the values: that would synchronise with the host on a GPU.

    Examples
    --------
    >>> row_scale(torch.tensor([1.0, 3.0]), torch.zeros(2, 5))
    tensor([0.2500, 0.7500])
    """
    if sample_weight is None:
        return None
    dtype = rows.dtype if rows.is_floating_point() else torch.float32
    weight = torch.as_tensor(sample_weight, device=rows.device, dtype=dtype)
    if weight.shape != (len(rows),):
        raise ValueError(
            f"sample_weight must have shape ({len(rows)},), one weight per row "
            f"of the logits, got {tuple(weight.shape)}."
        )
    return weight / weight.sum().clamp_min(torch.finfo(dtype).tiny)


def weighted_mean(per_row: torch.Tensor, sample_weight=None) -> torch.Tensor:
    """The mean of ``per_row``, or its weighted mean with ``sample_weight``.

    Examples
    --------
    >>> weighted_mean(torch.tensor([1.0, 3.0]), torch.tensor([3.0, 1.0]))
    tensor(1.5000)
    """
    scale = row_scale(sample_weight, per_row)
    return per_row.mean() if scale is None else (per_row * scale).sum()
