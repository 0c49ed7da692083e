"""Target distributions over the class values, and the checks of the loss's
weights."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = ["KERNELS", "gaussian_targets", "kernel_targets", "laplace_targets"]

#: The target kernels over the class values: ``sigma`` is the Gaussian's
#: standard deviation, or the Laplace scale ``b``, in label units.
KERNELS = ("gaussian", "laplace")


def _check_weight(value, name: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return value


def check_sigma(sigma: float) -> float:
    """``sigma`` as a float >= 0; 0 is the limit sigma -> 0 (one-hot targets).

    A sigma schedule (``sigma * sigma_decay**epoch``) underflows to 0.0 after
    enough epochs; the loss then takes its limit instead of failing.
    """
    return _check_weight(sigma, "sigma")


def check_weights(alpha: float, ce_weight: float) -> tuple[float, float]:
    """``alpha`` and ``ce_weight`` as floats >= 0, not both 0."""
    alpha = _check_weight(alpha, "alpha")
    ce_weight = _check_weight(ce_weight, "ce_weight")
    if alpha == 0 and ce_weight == 0:
        raise ValueError(
            "ce_weight and alpha are both 0: at least one of the two loss terms "
            "must have a positive weight."
        )
    return alpha, ce_weight


def check_kernel(kernel) -> str:
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}.")
    return kernel


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
        Standard deviation, in label units (>= 0).

    Returns
    -------
    tensor of shape (B, K)
        Row ``i`` is ``p_k ∝ exp(-(v_k - y_i)^2 / (2 sigma^2))``; each row
        sums to 1. ``sigma=0`` (or a sigma below ``torch.finfo(dtype).tiny``)
        is the limit: all mass on the nearest class (split evenly between
        equally near ones).

    Examples
    --------
    >>> import torch
    >>> p = gaussian_targets(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0]), 1.0)
    >>> p.sum().item()
    1.0
    >>> bool(p[0, 0] == p[0, 2])
    True
    """
    return _kernel_rows(class_values, y_values, sigma, lambda z: -0.5 * z * z)


def laplace_targets(
    class_values: torch.Tensor, y_values: torch.Tensor, scale: float
) -> torch.Tensor:
    """Discretised Laplace target distributions over the class values.

    The target of SORD (Diaz & Marathe 2019) with its default distance
    ``|v_k - y|``: heavier tails than the Gaussian. Row ``i`` is
    ``p_k ∝ exp(-|v_k - y_i| / scale)``; SORD's ``alpha`` is ``1 / scale``
    for class values ``0..K-1``. Parameters as :func:`gaussian_targets`.

    Examples
    --------
    >>> import torch
    >>> p = laplace_targets(torch.arange(3.0), torch.tensor([0.0]), 1.0)
    >>> bool(torch.isclose(p[0, 1] / p[0, 0], torch.exp(torch.tensor(-1.0))))
    True
    """
    return _kernel_rows(class_values, y_values, scale, lambda z: -z.abs())


def kernel_targets(
    kernel: str, class_values: torch.Tensor, y_values: torch.Tensor, sigma: float
) -> torch.Tensor:
    """:func:`gaussian_targets` or :func:`laplace_targets`, by name."""
    if check_kernel(kernel) == "laplace":
        return laplace_targets(class_values, y_values, sigma)
    return gaussian_targets(class_values, y_values, sigma)


def _kernel_rows(
    class_values: torch.Tensor,
    y_values: torch.Tensor,
    sigma: float,
    log_kernel: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Rows ``softmax(log_kernel((v_k - y_i) / sigma))`` on the values' device."""
    sigma = check_sigma(sigma)
    values = torch.as_tensor(class_values)
    if not values.is_floating_point():
        values = values.float()
    centres = torch.as_tensor(y_values, device=values.device, dtype=values.dtype)
    difference = values.unsqueeze(0) - centres.unsqueeze(1)
    if sigma < torch.finfo(values.dtype).tiny:
        # Dividing by a sigma that is 0 in this dtype would give NaN: the limit.
        distance = difference.abs()
        nearest = distance == distance.min(dim=1, keepdim=True).values
        nearest = nearest.to(values.dtype)
        return nearest / nearest.sum(dim=1, keepdim=True)
    # Dividing before squaring keeps tiny sigmas finite; softmax normalises
    # stably (the label's own class has logit 0).
    return torch.softmax(log_kernel(difference / sigma), dim=1)


def negative_entropy(p: torch.Tensor) -> torch.Tensor:
    """``sum_k p_k log p_k`` of each row (``0 log 0 = 0``)."""
    return torch.special.xlogy(p, p).sum(dim=1)


def class_values_or_range(
    class_values: torch.Tensor | None, logits: torch.Tensor
) -> torch.Tensor:
    """``class_values`` as float32 on the logits' device, or ``0..K-1``."""
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
