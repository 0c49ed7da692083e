"""Target distributions over the class values, and the loss's parameter checks."""

import math

import torch

__all__ = ["KERNELS", "gaussian_targets", "kernel_targets", "laplace_targets"]

#: The target kernels (``sigma``: the Gaussian's standard deviation, Laplace scale).
KERNELS = ("gaussian", "laplace")


def check_nonnegative(value, name: str) -> float:
    """``value`` as a finite float >= 0, or a ValueError naming ``name``."""
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return value


def check_weights(alpha, ce_weight) -> tuple[float, float]:
    """``alpha`` and ``ce_weight`` as floats >= 0, not both 0."""
    alpha = check_nonnegative(alpha, "alpha")
    ce_weight = check_nonnegative(ce_weight, "ce_weight")
    if alpha == ce_weight == 0:
        raise ValueError("ce_weight and alpha are both 0: at least one must be > 0.")
    return alpha, ce_weight


def check_kernel(kernel) -> str:
    """``kernel`` if it is one of :data:`KERNELS`, else a ValueError."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}.")
    return kernel


def gaussian_targets(class_values, y_values, sigma: float) -> torch.Tensor:
    """Discretised Gaussian rows ``p_ik ∝ exp(-(v_k - y_i)^2 / (2 sigma^2))``.

    ``sigma=0`` is the limit: all mass on the nearest class (split between
    equally near ones).

    Parameters
    ----------
    class_values, y_values : tensors of shape (K,) and (B,)
        The value of each class (e.g. ages 21, 22, 25, 60); each row's centre.
    sigma : float
        Standard deviation, in label units (>= 0).

    Returns
    -------
    tensor of shape (B, K)
        The target distributions; each row sums to 1.

    Examples
    --------
    >>> p = gaussian_targets(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0]), 1.0)
    >>> p.sum().item(), bool(p[0, 0] == p[0, 2])
    (1.0, True)
    """
    return kernel_targets("gaussian", class_values, y_values, sigma)


def laplace_targets(class_values, y_values, scale: float) -> torch.Tensor:
    """Discretised Laplace rows ``p_ik ∝ exp(-|v_k - y_i| / scale)`` (SORD's).

    Parameters
    ----------
    class_values, y_values : tensors of shape (K,) and (B,)
        As for :func:`gaussian_targets`.
    scale : float
        The Laplace scale, in label units (>= 0); SORD's ``alpha`` is
        ``1 / scale`` for class values ``0..K-1``.

    Returns
    -------
    tensor of shape (B, K)
        The target distributions.

    Examples
    --------
    >>> p = laplace_targets(torch.arange(3.0), torch.tensor([0.0]), 1.0)
    >>> bool(torch.isclose(p[0, 1] / p[0, 0], torch.exp(torch.tensor(-1.0))))
    True
    """
    return kernel_targets("laplace", class_values, y_values, scale)


def kernel_targets(kernel: str, class_values, y_values, sigma: float) -> torch.Tensor:
    """The targets of ``kernel``, on the class values' device."""
    kernel, sigma = check_kernel(kernel), check_nonnegative(sigma, "sigma")
    values = torch.as_tensor(class_values)
    values = values if values.is_floating_point() else values.float()
    centres = torch.as_tensor(y_values, device=values.device, dtype=values.dtype)
    difference = values.unsqueeze(0) - centres.unsqueeze(1)
    if sigma < torch.finfo(values.dtype).tiny:  # dividing would give NaN
        distance = difference.abs()
        nearest = (distance == distance.min(dim=1, keepdim=True).values).float()
        return (nearest / nearest.sum(dim=1, keepdim=True)).to(values.dtype)
    # Divided before squaring, so tiny sigmas stay finite; softmax normalises.
    z = difference / sigma
    log_kernel = -z.abs() if kernel == "laplace" else -0.5 * z * z
    return torch.softmax(log_kernel, dim=1)
