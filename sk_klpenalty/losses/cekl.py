"""Cross-entropy plus ``alpha`` times KL to a Gaussian: the criterion and its
functional form, with the per-class tables that make the penalty one gather
on top of the cross-entropy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .tables import (
    _MAX_FUNCTIONAL_TABLE_CLASSES,
    functional_table,
    table_loss,
    weight_table,
)
from .targets import (
    check_alpha,
    check_ce_weight,
    check_kernel,
    check_sigma,
    class_values_or_range,
    kernel_targets,
    negative_entropy,
)
from .weighting import row_scale

__all__ = ["ce_kl_loss", "CEKLLoss"]

# Up to this many classes CEKLLoss keeps a (K, K) table of target rows, and
# one of soft cross-entropy rows per batch size (a training run sees two or
# three: the full batch and the last ones), up to _MAX_BATCH_SIZES of them;
# 16 MB a table at the limit. Above it the rows are built per batch, which is
# O(B*K) too.
_MAX_TABLE_CLASSES = 2048
_MAX_BATCH_SIZES = 4


def _weighted_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    scale: torch.Tensor | None,
    ce_weight: float = 1.0,
) -> torch.Tensor:
    """``ce_weight * CE`` (alpha=0): exactly ``F.cross_entropy`` at weight 1."""
    if scale is None:
        loss = F.cross_entropy(logits, target)
    else:
        loss = (F.cross_entropy(logits, target, reduction="none") * scale).sum()
    return loss if ce_weight == 1 else ce_weight * loss


def _ce_kl_from_targets(
    logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float,
    p: torch.Tensor,
    neg_entropy: torch.Tensor,
    scale: torch.Tensor | None = None,
    ce_weight: float = 1.0,
) -> torch.Tensor:
    """Batch mean of ce_weight*CE + alpha*KL given per-sample target rows ``p``.

    With ``scale`` (:func:`row_scale`), the weighted mean instead.
    """
    weights = alpha * p
    weights.scatter_add_(
        1, target.unsqueeze(1), torch.full_like(weights[:, :1], ce_weight)
    )  # ce_weight * onehot(t) + alpha * p
    if scale is None:
        return F.cross_entropy(logits, weights) + alpha * neg_entropy.mean()
    per_row = F.cross_entropy(logits, weights, reduction="none")
    return ((per_row + alpha * neg_entropy) * scale).sum()


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
        Unnormalised scores. Computed in float32 whatever their dtype (so the
        loss is exact under bf16 autocast).
    target : tensor of shape (B,)
        True class indices in ``0..K-1``.
    alpha : float
        Weight of the KL penalty (>= 0). ``alpha=0`` (with ``ce_weight=1``)
        returns exactly ``F.cross_entropy(logits, target)``.
    sigma : float
        Width of the target, in units of ``class_values``: the Gaussian's
        standard deviation, or the Laplace scale ``b`` (> 0; 0 is the limit
        sigma -> 0, where the target is one-hot and the loss
        ``(ce_weight + alpha) * CE``).
    class_values : tensor of shape (K,), optional
        Numeric value of each class; defaults to ``0..K-1``.
    sample_weight : tensor of shape (B,), optional
        Non-negative per-sample weights: the loss is then the weighted mean
        ``sum_i w_i * loss_i / sum_i w_i`` (0 if every weight is 0).
    kernel : {"gaussian", "laplace"}, default="gaussian"
        ``p_k ∝ exp(-(v_k - y)^2 / (2 sigma^2))`` or ``exp(-|v_k - y| / sigma)``.
    ce_weight : float, default=1.0
        Weight of the cross-entropy term (>= 0). ``ce_weight=0`` trains on the
        soft target alone (DLDL, SORD); ``ce_weight`` and ``alpha`` cannot
        both be 0.

    Returns
    -------
    scalar tensor

    Notes
    -----
    With the default class values and up to 1024 classes, the (K, K) table of
    target rows is cached per ``(sigma, alpha, K, batch size, device, kernel,
    ce_weight)`` (the last 8 combinations), so a call costs one gather on top
    of the cross-entropy.
    Otherwise the B target rows are built per call (O(B*K) as well).

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
    alpha = check_alpha(alpha)
    ce_weight = check_ce_weight(ce_weight, alpha)
    kernel = check_kernel(kernel)
    logits = logits.float()
    scale = row_scale(sample_weight, logits)
    if alpha == 0 or len(logits) == 0:  # an empty batch: nan, as in torch
        return _weighted_cross_entropy(logits, target, scale, ce_weight)
    sigma = check_sigma(sigma)
    n_classes = logits.shape[1]
    if class_values is None and n_classes <= _MAX_FUNCTIONAL_TABLE_CLASSES:
        table_rows = len(logits) if scale is None else 1
        weights, offsets = functional_table(
            sigma, alpha, n_classes, table_rows, logits.device, kernel, ce_weight
        )
        return table_loss(logits, target, weights, offsets, scale)
    values = class_values_or_range(class_values, logits)
    p = kernel_targets(kernel, values, values[target], sigma)
    neg_entropy = negative_entropy(p)
    return _ce_kl_from_targets(logits, target, alpha, p, neg_entropy, scale, ce_weight)


class CEKLLoss(nn.Module):
    """Cross-entropy plus ``alpha`` times KL to a Gaussian over the class values.

    The module form of :func:`ce_kl_loss`. ``alpha``, ``sigma``, ``kernel``,
    ``ce_weight`` and ``class_values`` are plain attributes that may be changed
    between batches or epochs (the estimator's sigma schedule does); the
    criterion holds no learnable parameters, so the optimizer never has to be
    re-created.

    For up to 2048 classes the target rows for every class are computed once
    per ``(sigma, kernel, class_values)`` (and combined with the one-hot rows
    once per ``alpha``, ``ce_weight`` and batch size) and looked up per batch.

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the KL penalty (>= 0).
    sigma : float, default=1.0
        Width of the target in label units: the Gaussian's standard deviation,
        or the Laplace scale ``b`` (> 0; 0 is the one-hot limit, which a
        decaying schedule may reach).
    class_values : array-like of shape (K,), optional
        Numeric value of each class; defaults to ``0..K-1``.
    kernel : {"gaussian", "laplace"}, default="gaussian"
        The target's shape over the class values (see :func:`ce_kl_loss`).
    ce_weight : float, default=1.0
        Weight of the cross-entropy term (>= 0); 0 trains on the soft target
        alone. ``ce_weight`` and ``alpha`` cannot both be 0.

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
        self._table_key: tuple | None = None
        self._table: tuple[torch.Tensor, torch.Tensor] | None = None
        self._weights_key: tuple | None = None
        self._weights: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The loss of a batch; with ``sample_weight`` its weighted mean.

        Parameters
        ----------
        logits : tensor of shape (B, K)
        target : tensor of shape (B,)
            Class indices.
        sample_weight : tensor of shape (B,), optional
            Non-negative weights: ``sum_i w_i * loss_i / sum_i w_i``.
        """
        alpha = check_alpha(self.alpha)
        ce_weight = check_ce_weight(self.ce_weight, alpha)
        logits = logits.float()
        scale = row_scale(sample_weight, logits)
        if alpha == 0 or len(logits) == 0:  # an empty batch: nan, as in torch
            return _weighted_cross_entropy(logits, target, scale, ce_weight)
        if logits.shape[1] > _MAX_TABLE_CLASSES:
            values = class_values_or_range(self.class_values, logits)
            p = self.target_distribution(values, target)
            neg_entropy = negative_entropy(p)
            return _ce_kl_from_targets(
                logits, target, alpha, p, neg_entropy, scale, ce_weight
            )
        table_rows = len(logits) if scale is None else 1
        weights, offsets = self._weight_table(logits, alpha, table_rows, ce_weight)
        return table_loss(logits, target, weights, offsets, scale)

    def _weight_table(
        self, logits: torch.Tensor, alpha: float, batch_size: int, ce_weight: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`weight_table` of the cached target table, per weights and B."""
        table = self._target_table(logits)
        cached = getattr(self, "_weights_key", None)  # absent in older pickles
        key = (alpha, ce_weight)
        if cached is None or not (cached[:2] == key and cached[2] is table):
            self._weights_key = (*key, table)
            self._weights = {}
        weights = self._weights.get(batch_size)
        if weights is None:
            if len(self._weights) >= _MAX_BATCH_SIZES:
                self._weights.clear()
            with torch.no_grad():
                weights = weight_table(*table, alpha, batch_size, ce_weight)
            self._weights[batch_size] = weights
        return weights

    def target_distribution(
        self, values: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        """Target rows of the KL term for the classes ``index``.

        The one method a variant of the penalty overrides (see the controls
        below). Here: the kernel over ``values`` centred on ``values[index]``.

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

    def _cache_params(self) -> tuple:
        """Everything besides the class values that the target rows depend on."""
        return (float(self.sigma), self.kernel)

    def _target_table(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Target rows and their negative entropies for every class, cached.

        Rebuilt only when sigma, the class values (replaced or modified in
        place), the number of classes or the device change: once per epoch
        under a sigma schedule, never per batch.
        """
        values = self.class_values
        key = (
            *self._cache_params(),
            logits.shape[1],
            logits.device,
            values,  # a tensor: compared by identity in _same_key
            None if values is None else values._version,
        )
        if not _same_key(key, self._table_key):
            with torch.no_grad():
                values = class_values_or_range(values, logits)
                index = torch.arange(len(values), device=values.device)
                p = self.target_distribution(values, index)
                self._table = (p, negative_entropy(p))
            self._table_key = key
        return self._table

    def __getstate__(self) -> dict:
        # The table is a cache: rebuilt on demand, not worth pickling.
        state = self.__dict__.copy()
        state["_table_key"] = None
        state["_table"] = None
        state["_weights_key"] = None
        state["_weights"] = {}
        return state

    def extra_repr(self) -> str:
        text = f"alpha={self.alpha}, sigma={self.sigma}"
        if self.kernel != "gaussian":
            text += f", kernel={self.kernel!r}"
        if self.ce_weight != 1:
            text += f", ce_weight={self.ce_weight}"
        return text


def _same_key(a: tuple | None, b: tuple | None) -> bool:
    if a is None or b is None:
        return False
    return all(
        x is y or (not torch.is_tensor(x) and x == y)
        for x, y in zip(a, b, strict=False)
    )
