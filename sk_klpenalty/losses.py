"""Cross-entropy plus a Gaussian KL penalty for ordered class labels.

Pure torch (no skorch import). The loss for a batch of logits ``z`` with true
class indices ``t`` is

    mean_i [ CE(z_i, t_i) + alpha * KL(p_sigma(v[t_i]) || softmax(z_i)) ]

where ``v`` holds the numeric value of every class and ``p_sigma(y)`` is the
discretised Gaussian ``p_k ∝ exp(-(v_k - y)^2 / (2 sigma^2))``.

Because ``KL(p || q) = sum_k p_k log p_k - sum_k p_k log q_k``, the first term
(the negative entropy of the target) depends only on the true class, and the
whole loss of sample ``i`` is

    -sum_k w_ik log q_ik + alpha * sum_k p_ik log p_ik,   w_i = onehot(t_i) + alpha p_i

one soft-target cross-entropy plus a per-class constant. For fixed ``sigma``
and class values the rows ``w`` and the constants are a (K, K) table and a
(K,) vector, computed once and indexed per batch: the penalty costs one gather
on top of the cross-entropy, O(B*K) time and memory.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "gaussian_targets",
    "ce_kl_loss",
    "CEKLLoss",
    "UniformSmoothingKLLoss",
    "PermutedGaussianKLLoss",
]

# Up to this many classes CEKLLoss keeps a (K, K) table of target rows, and
# one of soft cross-entropy rows per batch size (a training run sees two or
# three: the full batch and the last ones), up to _MAX_BATCH_SIZES of them;
# 16 MB a table at the limit. Above it the rows are built per batch, which is
# O(B*K) too.
_MAX_TABLE_CLASSES = 2048
_MAX_BATCH_SIZES = 4
# ce_kl_loss (the functional form) caches its tables for the default class
# values 0..K-1, for up to this many classes (4 MB a table) and this many
# (sigma, alpha, K, batch size, device) combinations (least recently used
# dropped first).
_MAX_FUNCTIONAL_TABLE_CLASSES = 1024
_FUNCTIONAL_CACHE_SIZE = 8
_functional_tables: OrderedDict[tuple, tuple[torch.Tensor, torch.Tensor]] = (
    OrderedDict()
)
_functional_tables_lock = threading.Lock()


def _check_sigma(sigma: float) -> float:
    sigma = float(sigma)
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}.")
    return sigma


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}.")
    return alpha


def gaussian_targets(
    class_values: torch.Tensor, y_values: torch.Tensor, sigma: float
) -> torch.Tensor:
    """Discretised Gaussian target distributions over the class values.

    Parameters
    ----------
    class_values : tensor of shape (K,)
        Numeric value of each class (e.g. the ages 21, 22, 25, 60); distances
        are measured in these units, not in class-index steps.
    y_values : tensor of shape (B,)
        The label value at the centre of each row.
    sigma : float
        Standard deviation, in label units (> 0).

    Returns
    -------
    tensor of shape (B, K)
        Row ``i`` is ``p_k ∝ exp(-(v_k - y_i)^2 / (2 sigma^2))``; each row
        sums to 1. A tiny ``sigma`` gives a one-hot row, a huge one a uniform
        row.

    Examples
    --------
    >>> import torch
    >>> p = gaussian_targets(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0]), 1.0)
    >>> p.sum().item()
    1.0
    >>> bool(p[0, 0] == p[0, 2])
    True
    """
    sigma = _check_sigma(sigma)
    values = torch.as_tensor(class_values)
    if not values.is_floating_point():
        values = values.float()
    centres = torch.as_tensor(y_values, device=values.device, dtype=values.dtype)
    # Dividing before squaring keeps tiny sigmas finite for small distances;
    # softmax then normalises stably (the row's own class has logit 0).
    z = (values.unsqueeze(0) - centres.unsqueeze(1)) / sigma
    return torch.softmax(-0.5 * z * z, dim=1)


def _negative_entropy(p: torch.Tensor) -> torch.Tensor:
    # xlogy(0, 0) == 0 exactly: classes far from the label contribute nothing.
    return torch.special.xlogy(p, p).sum(dim=1)


def _ce_kl_from_targets(
    logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float,
    p: torch.Tensor,
    neg_entropy: torch.Tensor,
) -> torch.Tensor:
    """Batch mean of CE + alpha*KL given per-sample target rows ``p``."""
    weights = alpha * p
    weights.scatter_add_(
        1, target.unsqueeze(1), torch.ones_like(weights[:, :1])
    )  # onehot(t) + alpha * p
    return F.cross_entropy(logits, weights) + alpha * neg_entropy.mean()


def _ce_kl_from_table(
    logits: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor,
    offsets: torch.Tensor,
) -> torch.Tensor:
    """Batch mean of CE + alpha*KL from the tables of :func:`_weight_table`.

    The tables are already scaled for this batch size, so the loss is one
    product and two sums: on the CPU each extra op (a negation, a division
    by B) is an autograd node that costs about as much as the arithmetic.
    """
    log_q = torch.log_softmax(logits, dim=1)
    rows = weights.index_select(0, target)
    return (rows * log_q).sum() + offsets.index_select(0, target).sum()


def _weight_table(
    p: torch.Tensor, neg_entropy: torch.Tensor, alpha: float, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class soft cross-entropy rows and constants, scaled for a batch.

    The mean loss of a batch of ``batch_size`` samples of classes ``t`` is
    ``sum_i (sum_k weights[t_i, k] * log_q_ik + offsets[t_i])`` with
    ``weights = -(onehot + alpha*p) / B`` and
    ``offsets = alpha * neg_entropy / B``.
    """
    weights = alpha * p
    weights.diagonal().add_(1.0)
    weights.mul_(-1.0 / batch_size)
    return weights, neg_entropy * (alpha / batch_size)


def _functional_table(
    sigma: float, alpha: float, n_classes: int, batch_size: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached :func:`_weight_table` for the class values ``0..K-1``."""
    key = (sigma, alpha, n_classes, batch_size, device)
    # One lock: fits in threads (joblib's threading backend, dask workers)
    # share this cache, and a lookup must not race another thread's eviction.
    with _functional_tables_lock:
        table = _functional_tables.get(key)
        if table is not None:
            _functional_tables.move_to_end(key)
            return table
        with torch.no_grad():
            values = torch.arange(n_classes, device=device, dtype=torch.float32)
            p = gaussian_targets(values, values, sigma)
            table = _weight_table(p, _negative_entropy(p), alpha, batch_size)
        _functional_tables[key] = table
        while len(_functional_tables) > _FUNCTIONAL_CACHE_SIZE:
            _functional_tables.popitem(last=False)
    return table


def ce_kl_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float,
    sigma: float,
    class_values: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy plus ``alpha`` times the KL penalty, averaged over the batch.

    Parameters
    ----------
    logits : tensor of shape (B, K)
        Unnormalised scores. Computed in float32 whatever their dtype (so the
        loss is exact under bf16 autocast).
    target : tensor of shape (B,)
        True class indices in ``0..K-1``.
    alpha : float
        Weight of the KL penalty (>= 0). ``alpha=0`` returns exactly
        ``F.cross_entropy(logits, target)``.
    sigma : float
        Standard deviation of the Gaussian target, in units of
        ``class_values`` (> 0).
    class_values : tensor of shape (K,), optional
        Numeric value of each class; defaults to ``0..K-1``.

    Returns
    -------
    scalar tensor

    Notes
    -----
    With the default class values and up to 1024 classes, the (K, K) table of
    target rows is cached per ``(sigma, alpha, K, batch size, device)`` (the
    last 8 combinations), so a call costs one gather on top of the
    cross-entropy.
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
    alpha = _check_alpha(alpha)
    logits = logits.float()
    if alpha == 0 or len(logits) == 0:  # an empty batch: nan, as in torch
        return F.cross_entropy(logits, target)
    sigma = _check_sigma(sigma)
    n_classes = logits.shape[1]
    if class_values is None and n_classes <= _MAX_FUNCTIONAL_TABLE_CLASSES:
        weights, offsets = _functional_table(
            sigma, alpha, n_classes, len(logits), logits.device
        )
        return _ce_kl_from_table(logits, target, weights, offsets)
    values = _class_values_or_range(class_values, logits)
    p = gaussian_targets(values, values[target], sigma)
    return _ce_kl_from_targets(logits, target, alpha, p, _negative_entropy(p))


def _class_values_or_range(
    class_values: torch.Tensor | None, logits: torch.Tensor
) -> torch.Tensor:
    n_classes = logits.shape[1]
    if class_values is None:
        return torch.arange(n_classes, device=logits.device, dtype=torch.float32)
    values = torch.as_tensor(class_values, device=logits.device)
    if values.shape != (n_classes,):
        raise ValueError(
            f"class_values must have shape ({n_classes},) to match the logits, "
            f"got {tuple(values.shape)}."
        )
    return values.float()


class CEKLLoss(nn.Module):
    """Cross-entropy plus ``alpha`` times KL to a Gaussian over the class values.

    The module form of :func:`ce_kl_loss`. ``alpha``, ``sigma`` and
    ``class_values`` are plain attributes that may be changed between batches
    or epochs (the estimator's sigma schedule does); the criterion holds no
    learnable parameters, so the optimizer never has to be re-created.

    For up to 2048 classes the target rows for every class are computed once
    per ``(sigma, class_values)`` (and combined with the one-hot rows once per
    ``alpha`` and batch size) and looked up per batch.

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the KL penalty (>= 0).
    sigma : float, default=1.0
        Standard deviation of the Gaussian target in label units (> 0).
    class_values : array-like of shape (K,), optional
        Numeric value of each class; defaults to ``0..K-1``.

    Examples
    --------
    >>> import torch
    >>> criterion = CEKLLoss(alpha=1.0, sigma=2.0, class_values=[21, 22, 25, 60])
    >>> loss = criterion(torch.randn(8, 4), torch.randint(0, 4, (8,)))
    >>> loss.shape
    torch.Size([])
    """

    def __init__(
        self,
        alpha: float = 1.0,
        sigma: float = 1.0,
        class_values: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.alpha = alpha
        self.sigma = sigma
        # A buffer, so that .to(device) moves it and state_dict saves it.
        self.register_buffer(
            "class_values",
            None if class_values is None else torch.as_tensor(class_values).float(),
        )
        self._table_key: tuple | None = None
        self._table: tuple[torch.Tensor, torch.Tensor] | None = None
        self._weights_key: tuple | None = None
        self._weights: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        alpha = _check_alpha(self.alpha)
        logits = logits.float()
        if alpha == 0 or len(logits) == 0:  # an empty batch: nan, as in torch
            return F.cross_entropy(logits, target)
        if logits.shape[1] > _MAX_TABLE_CLASSES:
            values = _class_values_or_range(self.class_values, logits)
            p = self.target_distribution(values, target)
            return _ce_kl_from_targets(logits, target, alpha, p, _negative_entropy(p))
        weights, offsets = self._weight_table(logits, alpha)
        return _ce_kl_from_table(logits, target, weights, offsets)

    def _weight_table(
        self, logits: torch.Tensor, alpha: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`_weight_table` of the cached target table, per alpha and B."""
        table = self._target_table(logits)
        cached = getattr(self, "_weights_key", None)  # absent in older pickles
        if cached is None or not (cached[0] == alpha and cached[1] is table):
            self._weights_key = (alpha, table)
            self._weights = {}
        batch_size = logits.shape[0]
        weights = self._weights.get(batch_size)
        if weights is None:
            if len(self._weights) >= _MAX_BATCH_SIZES:
                self._weights.clear()
            with torch.no_grad():
                weights = _weight_table(*table, alpha, batch_size)
            self._weights[batch_size] = weights
        return weights

    def target_distribution(
        self, values: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        """Target rows of the KL term for the classes ``index``.

        The one method a variant of the penalty overrides (see the controls
        below). Here: the Gaussian over ``values`` centred on ``values[index]``.

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
        return gaussian_targets(values, values[index], self.sigma)

    def _cache_params(self) -> tuple:
        """Everything besides the class values that the target rows depend on."""
        return (float(self.sigma),)

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
                values = _class_values_or_range(values, logits)
                index = torch.arange(len(values), device=values.device)
                p = self.target_distribution(values, index)
                self._table = (p, _negative_entropy(p))
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
        return f"alpha={self.alpha}, sigma={self.sigma}"


def _same_key(a: tuple | None, b: tuple | None) -> bool:
    if a is None or b is None:
        return False
    return all(
        x is y or (not torch.is_tensor(x) and x == y)
        for x, y in zip(a, b, strict=False)
    )


class UniformSmoothingKLLoss(CEKLLoss):
    """Control: KL to uniform label smoothing as spread out as the Gaussian.

    The target row of class ``k`` is ``(1 - eps) * onehot_k + eps / K``, with
    ``eps`` chosen so that its entropy equals the mean entropy of the Gaussian
    rows ``p_sigma`` of :class:`CEKLLoss` over all classes. It smooths as much
    as the penalty but ignores the order of the classes: if the Gaussian
    penalty helps only as generic smoothing, this control helps as much.
    Same parameters as :class:`CEKLLoss`.

    Examples
    --------
    >>> import torch
    >>> criterion = UniformSmoothingKLLoss(alpha=1.0, sigma=2.0)
    >>> rows = criterion.target_distribution(torch.arange(5.0), torch.tensor([0]))
    >>> bool(rows[0, 1] == rows[0, 4])  # no preference for neighbours
    True
    """

    def target_distribution(
        self, values: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        n_classes = len(values)
        gaussian = gaussian_targets(values, values, self.sigma)
        entropy = -_negative_entropy(gaussian).mean().item()
        eps = smoothing_for_entropy(entropy, n_classes)
        rows = torch.full(
            (len(index), n_classes), eps / n_classes, device=values.device
        )
        rows[torch.arange(len(index), device=values.device), index] += 1.0 - eps
        return rows


def smoothing_for_entropy(entropy: float, n_classes: int) -> float:
    """Label-smoothing ``eps`` whose target ``(1-eps)*onehot + eps/K`` has ``entropy``.

    The entropy grows monotonically from 0 (``eps=0``, one-hot) to ``log K``
    (``eps=1``, uniform); values outside that range are clipped to it.

    Examples
    --------
    >>> import math
    >>> smoothing_for_entropy(math.log(4), 4)
    1.0
    >>> round(smoothing_for_entropy(0.5, 4), 4)
    0.1605
    """
    from scipy.optimize import brentq

    def smoothed_entropy(eps: float) -> float:
        top = 1.0 - eps + eps / n_classes
        rest = eps / n_classes
        return -(_xlogx(top) + (n_classes - 1) * _xlogx(rest))

    if entropy <= 0:
        return 0.0
    if entropy >= math.log(n_classes):
        return 1.0
    return brentq(lambda eps: smoothed_entropy(eps) - entropy, 0.0, 1.0)


def _xlogx(x: float) -> float:
    return x * math.log(x) if x > 0 else 0.0


class PermutedGaussianKLLoss(CEKLLoss):
    """Control: the Gaussian penalty over a fixed random order of the classes.

    Class ``k`` is given the value of class ``perm[k]`` for a random
    permutation ``perm`` (fixed by ``seed``) before the Gaussian rows are
    built, so each target spreads exactly as in :class:`CEKLLoss` but onto
    classes that are neighbours only in the shuffled order. If the penalty's
    gain comes from the order of the labels, this control should not help.

    Parameters
    ----------
    alpha, sigma, class_values :
        As in :class:`CEKLLoss`.
    seed : int, default=0
        Seeds the permutation.

    Examples
    --------
    >>> import torch
    >>> criterion = PermutedGaussianKLLoss(alpha=1.0, sigma=1.0, seed=0)
    >>> rows = criterion.target_distribution(torch.arange(6.0), torch.arange(6))
    >>> torch.allclose(rows.sum(dim=1), torch.ones(6))
    True
    """

    def __init__(
        self,
        alpha: float = 1.0,
        sigma: float = 1.0,
        class_values: torch.Tensor | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(alpha=alpha, sigma=sigma, class_values=class_values)
        self.seed = seed

    def permutation(self, n_classes: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(int(self.seed))
        return torch.randperm(n_classes, generator=generator)

    def target_distribution(
        self, values: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        permuted = values[self.permutation(len(values)).to(values.device)]
        return gaussian_targets(permuted, permuted[index], self.sigma)

    def _cache_params(self) -> tuple:
        return (float(self.sigma), int(self.seed))
