"""The loss's kernels (Gaussian, Laplace) and its cross-entropy weight
(``ce_weight``, soft labels only at 0), against direct per-sample formulas and
against SORD as dlordinal implements it."""

import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from conftest import no_host_sync, requires_cuda

from sk_klpenalty.losses import (
    CEKLLoss,
    PermutedGaussianKLLoss,
    UniformSmoothingKLLoss,
    ce_kl_loss,
    laplace_targets,
)


def direct_loss(logits, target, *, alpha, sigma, values, kernel, ce_weight):
    """ce_weight*CE + alpha*KL(p||q), one sample at a time, no tables."""
    losses = []
    for z, t in zip(logits, target, strict=True):
        distance = (values - values[t]).abs() / sigma
        shape = distance if kernel == "laplace" else 0.5 * distance**2
        p = torch.softmax(-shape, dim=0)
        log_q = torch.log_softmax(z, dim=0)
        kl = torch.sum(torch.special.xlogy(p, p) - p * log_q)
        losses.append(ce_weight * -log_q[t] + alpha * kl)
    return torch.stack(losses).mean()


# The functional form with the default or given class values, the module.
PATHS = ("functional", "functional with values", "module")


def path_loss(path, logits, target, values, **params):
    if path == "functional":
        return ce_kl_loss(logits, target, **params)
    if path == "functional with values":
        return ce_kl_loss(logits, target, class_values=values, **params)
    return CEKLLoss(class_values=values, **params)(logits, target)


def test_laplace_rows_decay_exponentially_in_label_units():
    values = torch.tensor([21.0, 22.0, 25.0, 60.0])
    p = laplace_targets(values, torch.tensor([22.0]), 2.0)[0]
    assert p.sum().item() == pytest.approx(1.0)
    assert (p[2] / p[1]).item() == pytest.approx(math.exp(-3 / 2))
    assert (p[0] / p[1]).item() == pytest.approx(math.exp(-1 / 2))
    assert p.argmax().item() == 1


@pytest.mark.parametrize("kernel", ["gaussian", "laplace"])
@pytest.mark.parametrize("ce_weight", [0.0, 0.5, 1.0])
def test_every_path_matches_the_per_sample_formula(kernel, ce_weight):
    torch.manual_seed(0)
    logits, target = torch.randn(12, 7), torch.randint(0, 7, (12,))
    values = torch.arange(7.0)
    params = {"alpha": 0.8, "sigma": 1.5, "kernel": kernel, "ce_weight": ce_weight}
    expected = direct_loss(logits, target, values=values, **params)
    for path in PATHS:
        loss = path_loss(path, logits, target, values, **params)
        torch.testing.assert_close(loss, expected, msg=path)


def test_the_laplace_kernel_uses_gapped_class_values_and_large_k():
    torch.manual_seed(0)
    n_classes = 2100
    values = torch.cumsum(torch.rand(n_classes) + 0.5, 0)
    logits, target = torch.randn(4, n_classes), torch.randint(0, n_classes, (4,))
    params = {"alpha": 1.0, "sigma": 3.0, "kernel": "laplace", "ce_weight": 0.0}
    expected = direct_loss(logits, target, values=values, **params)
    loss = CEKLLoss(class_values=values, **params)(logits, target)
    torch.testing.assert_close(loss, expected)


def test_alpha_zero_ce_weight_one_is_exactly_cross_entropy_for_both_kernels():
    logits, target = torch.randn(9, 5), torch.randint(0, 5, (9,))
    reference = F.cross_entropy(logits, target)
    for kernel in ("gaussian", "laplace"):
        assert ce_kl_loss(logits, target, alpha=0, sigma=1, kernel=kernel) == reference
        assert CEKLLoss(alpha=0.0, kernel=kernel)(logits, target) == reference
    doubled = ce_kl_loss(logits, target, alpha=0, sigma=1, ce_weight=2.0)
    torch.testing.assert_close(doubled, 2 * reference)


def test_module_follows_kernel_and_ce_weight_changes_between_epochs():
    logits, target = torch.randn(8, 6), torch.randint(0, 6, (8,))
    criterion = CEKLLoss(alpha=1.0, sigma=1.0)
    gaussian = criterion(logits, target)
    criterion.kernel = "laplace"
    laplace = criterion(logits, target)
    criterion.ce_weight = 0.0
    soft_only = criterion(logits, target)
    expected = ce_kl_loss(
        logits, target, alpha=1.0, sigma=1.0, kernel="laplace", ce_weight=0.0
    )
    assert gaussian != laplace != soft_only
    torch.testing.assert_close(soft_only, expected)


def test_controls_follow_the_kernel():
    values, index = torch.arange(8.0), torch.arange(8)
    permuted = PermutedGaussianKLLoss(sigma=1.0, kernel="laplace", seed=3)
    order = values[permuted.permutation(8)]
    torch.testing.assert_close(
        permuted.target_distribution(values, index),
        laplace_targets(order, order, 1.0),
    )
    rows = {
        kernel: UniformSmoothingKLLoss(sigma=1.0, kernel=kernel).target_distribution(
            values, index
        )
        for kernel in ("gaussian", "laplace")
    }
    # The Laplace rows are more spread out, so is their uniform control.
    assert rows["laplace"][0, 1] > rows["gaussian"][0, 1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kernel": "cauchy"}, "kernel must be one of"),
        ({"ce_weight": -1.0}, "ce_weight must be"),
        ({"ce_weight": math.nan}, "ce_weight must be"),
        ({"alpha": 0.0, "ce_weight": 0.0}, "at least one"),
    ],
)
def test_invalid_kernel_or_weights_are_refused(kwargs, match):
    logits, target = torch.randn(2, 3), torch.tensor([0, 2])
    params = {"alpha": 1.0, "sigma": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        ce_kl_loss(logits, target, **params)


def test_criteria_pickled_before_kernel_and_ce_weight_existed_still_work():
    criterion = CEKLLoss(alpha=1.0, sigma=2.0)
    state = dict(vars(criterion))
    del state["kernel"], state["ce_weight"]  # as release 0.1.0 pickled them
    old = CEKLLoss.__new__(CEKLLoss)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    logits, target = torch.randn(5, 4), torch.randint(0, 4, (5,))
    assert old(logits, target) == CEKLLoss(alpha=1.0, sigma=2.0)(logits, target)


@pytest.mark.parametrize("n_classes, scale", [(5, 1.0), (24, 2.0), (117, 10.0)])
def test_soft_labels_only_with_laplace_is_sord(n_classes, scale):
    """dlordinal's SORD is -sum p log q; ours adds the constant sum p log p."""
    losses = pytest.importorskip("dlordinal.losses")
    torch.manual_seed(n_classes)
    target = torch.randint(0, n_classes, (64,))
    sord = losses.SORDLoss(alpha=1 / scale, num_classes=n_classes, train_targets=target)
    values = torch.arange(float(n_classes))
    params = {"alpha": 1.0, "sigma": scale, "kernel": "laplace", "ce_weight": 0.0}
    base = torch.randn(64, n_classes) * 3
    reference_logits = base.clone().requires_grad_()
    reference = sord(reference_logits, target)
    reference.backward()
    p = laplace_targets(values, values[target], scale)
    neg_entropy = torch.special.xlogy(p, p).sum(1).mean()
    for path in PATHS:
        logits = base.clone().requires_grad_()
        loss = path_loss(path, logits, target, values, **params)
        loss.backward()
        torch.testing.assert_close(
            logits.grad, reference_logits.grad.float(), atol=1e-5, rtol=0, msg=path
        )
        torch.testing.assert_close(
            loss.double(),
            reference + neg_entropy.double(),
            atol=1e-5,
            rtol=0,
            msg=path,
        )


@requires_cuda
@pytest.mark.parametrize("ce_weight", [0.0, 1.0])
def test_cuda_laplace_loss_matches_the_cpu_and_never_waits_for_the_host(ce_weight):
    torch.manual_seed(0)
    logits, target = torch.randn(64, 30) * 3, torch.randint(0, 30, (64,))
    values = torch.linspace(0.0, 58.0, 30)
    params = {"alpha": 1.0, "sigma": 3.0, "kernel": "laplace", "ce_weight": ce_weight}
    results = {}
    for device in ("cpu", "cuda"):
        criterion = CEKLLoss(class_values=values, **params).to(device)
        z = logits.clone().to(device).requires_grad_(True)
        t = target.to(device)
        criterion(z, t).backward()  # a first call: allocations, kernels
        z.grad = None
        with no_host_sync(device):
            loss = criterion(z, t)
            loss.backward()
        results[device] = (loss.detach().cpu(), z.grad.cpu())
    (cuda_loss, cuda_grad), (cpu_loss, cpu_grad) = results["cuda"], results["cpu"]
    torch.testing.assert_close(cuda_loss, cpu_loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(cuda_grad, cpu_grad, rtol=1e-4, atol=1e-7)
