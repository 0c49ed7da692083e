"""Target distributions over the class values, and the checks they share."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = ["gaussian_targets", "laplace_targets", "KERNELS", "kernel_targets"]

#: The target kernels over the class values: ``sigma`` is the Gaussian's
#: standard deviation, or the Laplace scale ``b``, in label units.
KERNELS = ("gaussian", "laplace")


def check_sigma(sigma: float) -> float:
    """``sigma`` as a float >= 0; 0 is the limit sigma -> 0 (one-hot targets).

    A sigma schedule (``sigma * sigma_decay**epoch``) underflows to 0.0 after
    enough epochs; the loss then takes its limit instead of failing.
    """
    sigma = float(sigma)
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}.")
    return sigma


def check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}.")
    return alpha


def check_kernel(kernel) -> str:
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}.")
    return kernel


def check_ce_weight(ce_weight: float, alpha: float) -> float:
    ce_weight = float(ce_weight)
    if not (math.isfinite(ce_weight) and ce_weight >= 0):
        raise ValueError(f"ce_weight must be a finite number >= 0, got {ce_weight!r}.")
    if ce_weight == 0 and alpha == 0:
        raise ValueError(
            "ce_weight and alpha are both 0: at least one of the two loss terms "
            "must have a positive weight."
        )
    return ce_weight


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
        sums to 1. A tiny ``sigma`` gives a one-hot row, a huge one a uniform
        row; ``sigma=0`` (or a sigma too small for the values' dtype, below
        ``torch.finfo(dtype).tiny``) is the limit: all mass on the nearest
        class (split evenly between equally near ones).

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
    ``|v_k - y|``: heavier tails than the Gaussian, and a peak at the label.

    Parameters
    ----------
    class_values : tensor of shape (K,)
        Numeric value of each class; distances are in these units.
    y_values : tensor of shape (B,)
        The label value at the centre of each row.
    scale : float
        The scale ``b``, in label units (>= 0; 0 is the one-hot limit).
        SORD's ``alpha`` is ``1 / b`` for class values ``0..K-1``.

    Returns
    -------
    tensor of shape (B, K)
        Row ``i`` is ``p_k ∝ exp(-|v_k - y_i| / b)``; each row sums to 1.

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
        # sigma -> 0 (a decaying schedule gets there): dividing by a sigma
        # that is 0 in the values' dtype would give NaN, so take the limit.
        distance = difference.abs()
        nearest = (distance == distance.min(dim=1, keepdim=True).values).to(
            values.dtype
        )
        return nearest / nearest.sum(dim=1, keepdim=True)
    # Dividing before squaring keeps tiny sigmas finite for small distances;
    # softmax then normalises stably (the row's own class has logit 0).
    return torch.softmax(log_kernel(difference / sigma), dim=1)


def negative_entropy(p: torch.Tensor) -> torch.Tensor:
    # xlogy(0, 0) == 0 exactly: classes far from the label contribute nothing.
    return torch.special.xlogy(p, p).sum(dim=1)


def class_values_or_range(
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
