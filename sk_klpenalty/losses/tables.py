"""The per-class tables that make the penalty one gather on top of the
cross-entropy: target rows turned into soft cross-entropy weights for a batch
size, and the functional form's cache of them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from .targets import kernel_targets, negative_entropy

__all__ = ["functional_table", "table_loss", "weight_table"]

# ce_kl_loss (the functional form) caches its tables for the default class
# values 0..K-1, for up to this many classes (4 MB a table) and this many
# (sigma, alpha, K, batch size, device, kernel, ce_weight) combinations
# (least recently used dropped first).
_MAX_FUNCTIONAL_TABLE_CLASSES = 1024
_FUNCTIONAL_CACHE_SIZE = 8
_functional_tables: OrderedDict[tuple, tuple[torch.Tensor, torch.Tensor]] = (
    OrderedDict()
)
_functional_tables_lock = threading.Lock()


def table_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor,
    offsets: torch.Tensor,
    scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Batch mean of CE + alpha*KL from the tables of :func:`weight_table`.

    The tables are already scaled for this batch size, so the loss is one
    product and two sums: on the CPU each extra op (a negation, a division
    by B) is an autograd node that costs about as much as the arithmetic.
    With ``scale`` (sample weights, :func:`row_scale`), the tables are the
    unscaled ones (batch size 1) and each row is scaled by its weight.
    """
    log_q = torch.log_softmax(logits, dim=1)
    rows = weights.index_select(0, target)
    if scale is None:
        return (rows * log_q).sum() + offsets.index_select(0, target).sum()
    per_row = (rows * log_q).sum(dim=1) + offsets.index_select(0, target)
    return (per_row * scale).sum()


def weight_table(
    p: torch.Tensor,
    neg_entropy: torch.Tensor,
    alpha: float,
    batch_size: int,
    ce_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class soft cross-entropy rows and constants, scaled for a batch.

    The mean loss of a batch of ``batch_size`` samples of classes ``t`` is
    ``sum_i (sum_k weights[t_i, k] * log_q_ik + offsets[t_i])`` with
    ``weights = -(ce_weight * onehot + alpha*p) / B`` and
    ``offsets = alpha * neg_entropy / B``.
    """
    weights = alpha * p
    weights.diagonal().add_(ce_weight)
    weights.mul_(-1.0 / batch_size)
    return weights, neg_entropy * (alpha / batch_size)


def functional_table(
    sigma: float,
    alpha: float,
    n_classes: int,
    batch_size: int,
    device: torch.device,
    kernel: str = "gaussian",
    ce_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached :func:`weight_table` for the class values ``0..K-1``."""
    key = (sigma, alpha, n_classes, batch_size, device, kernel, ce_weight)
    # One lock: fits in threads (joblib's threading backend, dask workers)
    # share this cache, and a lookup must not race another thread's eviction.
    with _functional_tables_lock:
        table = _functional_tables.get(key)
        if table is not None:
            _functional_tables.move_to_end(key)
            return table
        with torch.no_grad():
            values = torch.arange(n_classes, device=device, dtype=torch.float32)
            p = kernel_targets(kernel, values, values, sigma)
            table = weight_table(p, negative_entropy(p), alpha, batch_size, ce_weight)
        _functional_tables[key] = table
        while len(_functional_tables) > _FUNCTIONAL_CACHE_SIZE:
            _functional_tables.popitem(last=False)
    return table
