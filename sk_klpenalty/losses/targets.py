"""Target distributions over the class values, and the loss's parameter checks."""

import math

import torch

__all__ = ["KERNELS", "gaussian_targets", "kernel_targets", "laplace_targets"]

#: The target kernels (``sigma``: the Gaussian's standard deviation, Laplace scale).
KERNELS = ("gaussian", "laplace")


def _nonnegative(value, name: str) -> float:
    """``value`` as a finite float >= 0."""
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return value


def check_sigma(sigma) -> float:
    """``sigma`` as a float >= 0 (0, where a sigma schedule underflows, is one-hot)."""
    return _nonnegative(sigma, "sigma")


def check_weights(alpha, ce_weight) -> tuple[float, float]:
    """``alpha`` and ``ce_weight`` as floats >= 0, not both 0."""
    alpha = _nonnegative(alpha, "alpha")
    ce_weight = _nonnegative(ce_weight, "ce_weight")
    if alpha == ce_weight == 0:
        raise ValueError("ce_weight and alpha are both 0: at least one must be > 0.")
    return alpha, ce_weight


def check_kernel(kernel) -> str:
    """``kernel`` if it is one of :data:`KERNELS`."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}.")
    return kernel


def gaussian_targets(class_values, y_values, sigma: float) -> torch.Tensor:
    """Discretised Gaussian target rows ``p_ik ∝ exp(-(v_k - y_i)^2 / (2 sigma^2))``.

    Distances are in label units, not class-index steps. ``sigma=0`` (or below
    ``torch.finfo(dtype).tiny``) is the limit: all mass on the nearest class,
    split evenly between equally near ones.

    Parameters
    ----------
    class_values, y_values : tensors of shape (K,) and (B,)
        Numeric value of each class (e.g. ages 21, 22, 25, 60); each row's centre.
    sigma : float
        Standard deviation, in label units (>= 0).

    Returns
    -------
    tensor of shape (B, K), rows summing to 1

    Examples
    --------
    >>> p = gaussian_targets(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0]), 1.0)
    >>> p.sum().item(), bool(p[0, 0] == p[0, 2])
    (1.0, True)
    """
    return _kernel_rows(class_values, y_values, sigma, lambda z: -0.5 * z * z)


def laplace_targets(class_values, y_values, scale: float) -> torch.Tensor:
    """Discretised Laplace target rows ``p_ik ∝ exp(-|v_k - y_i| / scale)``.

    SORD's target (Diaz & Marathe 2019); its ``alpha`` is ``1 / scale`` for
    class values ``0..K-1``. Parameters, limit and result as
    :func:`gaussian_targets`.

    Examples
    --------
    >>> p = laplace_targets(torch.arange(3.0), torch.tensor([0.0]), 1.0)
    >>> bool(torch.isclose(p[0, 1] / p[0, 0], torch.exp(torch.tensor(-1.0))))
    True
    """
    return _kernel_rows(class_values, y_values, scale, lambda z: -z.abs())


def kernel_targets(kernel: str, class_values, y_values, sigma: float) -> torch.Tensor:
    """:func:`gaussian_targets` or :func:`laplace_targets`, by name."""
    if check_kernel(kernel) == "laplace":
        return laplace_targets(class_values, y_values, sigma)
    return gaussian_targets(class_values, y_values, sigma)


def _kernel_rows(class_values, y_values, sigma, log_kernel) -> torch.Tensor:
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
