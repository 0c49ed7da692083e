"""Per-sample weights: the weighted mean ``sum_i w_i l_i / sum_i w_i``."""

import torch

__all__ = ["row_scale", "weighted_mean"]


def row_scale(sample_weight, rows: torch.Tensor) -> torch.Tensor | None:
    """``w_i / sum(w)`` per row (zeros if every weight is 0), or ``None``.

    Parameters
    ----------
    sample_weight, rows : tensors of shape (B,) (or None) and (B, ...)
        Not checked (that would wait for a GPU); the rows give device and dtype.

    Returns
    -------
    tensor of shape (B,), or None

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
    """The mean of ``per_row`` (B,), weighted by ``sample_weight`` (B,) if given.

    Examples
    --------
    >>> weighted_mean(torch.tensor([1.0, 3.0]), torch.tensor([3.0, 1.0]))
    tensor(1.5000)
    """
    scale = row_scale(sample_weight, per_row)
    return per_row.mean() if scale is None else (per_row * scale).sum()
