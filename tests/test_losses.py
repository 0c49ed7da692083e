"""The criterion: targets, exactness against a per-sample reference, caching."""

import functools
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import requires_cuda

from sk_klpenalty.losses import (
    CEKLLoss,
    PermutedGaussianKLLoss,
    UniformSmoothingKLLoss,
    ce_kl_loss,
    gaussian_targets,
    smoothing_for_entropy,
)


def reference_losses(logits, target, alpha, sigma, class_values):
    """The seed's formula, one sample at a time, in float64 (no epsilon)."""
    logits = logits.double().numpy()
    values = np.asarray(class_values, dtype=np.float64)
    losses = []
    for z, t in zip(logits, target.numpy(), strict=False):
        log_q = z - z.max() - np.log(np.exp(z - z.max()).sum())
        if sigma == 0:  # the limit: a one-hot target
            p = (values == values[t]).astype(np.float64)
        else:
            p = np.exp(-0.5 * ((values - values[t]) / sigma) ** 2)
        p /= p.sum()
        nonzero = p > 0
        kl = np.sum(p[nonzero] * (np.log(p[nonzero]) - log_q[nonzero]))
        losses.append(-log_q[t] + alpha * kl)
    return np.array(losses)


def reference_loss(logits, target, alpha, sigma, class_values, sample_weight=None):
    """Mean of :func:`reference_losses`, weighted: sum w_i l_i / sum w_i."""
    losses = reference_losses(logits, target, alpha, sigma, class_values)
    weights = np.ones(len(losses)) if sample_weight is None else sample_weight
    return float(np.sum(weights * losses) / np.sum(weights))


def test_gaussian_rows_sum_to_one_and_use_label_units():
    values = torch.tensor([21.0, 22.0, 25.0, 60.0])
    p = gaussian_targets(values, torch.tensor([22.0, 60.0]), sigma=2.0)
    assert p.shape == (2, 4)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(2))
    # Distances in years: 21 and 22 are 1 apart, 25 is 3 from 22.
    weights = np.exp(-0.5 * (np.array([-1.0, 0.0, 3.0, 38.0]) / 2.0) ** 2)
    np.testing.assert_allclose(
        p[0].numpy(), weights / weights.sum(), rtol=1e-6, atol=1e-30
    )


def test_gaussian_is_symmetric_around_the_label():
    values = torch.arange(11.0)
    p = gaussian_targets(values, torch.tensor([5.0]), sigma=1.7)[0]
    torch.testing.assert_close(p, p.flip(0))


@pytest.mark.parametrize("sigma", [1e-6, 0.3, 10.0, 1e6])
def test_gaussian_extreme_sigmas_stay_distributions(sigma):
    values = torch.arange(50.0)
    p = gaussian_targets(values, values, sigma=sigma)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p.sum(dim=1), torch.ones(50))


def test_alpha_zero_is_exactly_cross_entropy():
    logits, target = torch.randn(32, 7), torch.randint(0, 7, (32,))
    loss = ce_kl_loss(logits, target, alpha=0.0, sigma=2.0)
    assert torch.equal(loss, F.cross_entropy(logits, target))
    assert torch.equal(CEKLLoss(alpha=0.0)(logits, target), loss)


def test_matches_per_sample_reference_seed_setup():
    torch.manual_seed(0)
    logits = torch.randn(256, 117) * 3
    target = torch.randint(0, 117, (256,))
    expected = reference_loss(logits, target, 1.0, 10.0, np.arange(117))
    functional = ce_kl_loss(logits, target, alpha=1.0, sigma=10.0)
    module = CEKLLoss(alpha=1.0, sigma=10.0)(logits, target)
    assert functional.item() == pytest.approx(expected, rel=1e-5)
    assert module.item() == pytest.approx(expected, rel=1e-5)


def test_matches_reference_with_gapped_class_values_and_many_classes():
    torch.manual_seed(1)
    values = np.sort(np.random.RandomState(0).choice(5000, 2100, replace=False))
    logits, target = torch.randn(16, 2100), torch.randint(0, 2100, (16,))
    expected = reference_loss(logits, target, 0.5, 30.0, values)
    loss = CEKLLoss(alpha=0.5, sigma=30.0, class_values=values)(logits, target)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_kl_is_zero_when_prediction_equals_target_and_positive_otherwise():
    values = torch.arange(9.0)
    target = torch.tensor([0, 4, 8])
    p = gaussian_targets(values, values[target], sigma=1.5)
    logits = torch.log(p)
    ce = F.cross_entropy(logits, target)
    penalised = ce_kl_loss(logits, target, alpha=1.0, sigma=1.5)
    assert (penalised - ce).item() == pytest.approx(0.0, abs=1e-6)
    other = ce_kl_loss(logits.roll(1, dims=1), target, alpha=1.0, sigma=1.5)
    assert (other - F.cross_entropy(logits.roll(1, dims=1), target)).item() > 0.1


def test_gradient_is_finite_and_module_matches_functional():
    logits = (torch.randn(64, 30) * 100).requires_grad_()
    target = torch.randint(0, 30, (64,))
    ce_kl_loss(logits, target, alpha=2.0, sigma=3.0).backward()
    expected = logits.grad.clone()
    logits.grad = None
    CEKLLoss(alpha=2.0, sigma=3.0)(logits, target).backward()
    assert torch.isfinite(logits.grad).all()
    torch.testing.assert_close(logits.grad, expected)


def test_tiny_and_huge_sigma_limits():
    logits, target = torch.randn(20, 6), torch.randint(0, 6, (20,))
    ce = F.cross_entropy(logits, target)
    tiny = ce_kl_loss(logits, target, alpha=0.5, sigma=1e-6)
    torch.testing.assert_close(tiny, 1.5 * ce)  # one-hot target: KL == CE
    huge = ce_kl_loss(logits, target, alpha=0.5, sigma=1e6)
    log_q = F.log_softmax(logits, dim=1)
    kl_uniform = (-math.log(6) - log_q.mean(dim=1)).mean()
    torch.testing.assert_close(huge, ce + 0.5 * kl_uniform)


def test_changing_sigma_or_class_values_between_epochs_takes_effect():
    logits, target = torch.randn(10, 5), torch.randint(0, 5, (10,))
    criterion = CEKLLoss(alpha=1.0, sigma=1.0)
    first = criterion(logits, target)
    criterion.sigma = 2.5
    torch.testing.assert_close(
        criterion(logits, target), ce_kl_loss(logits, target, alpha=1.0, sigma=2.5)
    )
    criterion.class_values = torch.tensor([0.0, 1.0, 2.0, 10.0, 20.0])
    torch.testing.assert_close(
        criterion(logits, target),
        ce_kl_loss(
            logits, target, alpha=1.0, sigma=2.5, class_values=criterion.class_values
        ),
    )
    criterion.sigma, criterion.class_values = 1.0, None
    torch.testing.assert_close(criterion(logits, target), first)


def test_bf16_logits_give_a_float32_loss_close_to_fp32():
    logits, target = torch.randn(16, 12), torch.randint(0, 12, (16,))
    loss16 = CEKLLoss(alpha=1.0, sigma=2.0)(logits.bfloat16(), target)
    assert loss16.dtype == torch.float32
    reference = ce_kl_loss(logits.bfloat16().float(), target, alpha=1.0, sigma=2.0)
    torch.testing.assert_close(loss16, reference)


def test_criterion_pickles():
    criterion = CEKLLoss(alpha=1.0, sigma=2.0, class_values=[1, 2, 4])
    logits, target = torch.randn(4, 3), torch.tensor([0, 1, 2, 2])
    before = criterion(logits, target)
    restored = pickle.loads(pickle.dumps(criterion))
    torch.testing.assert_close(restored(logits, target), before)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": -1.0, "sigma": 1.0}, "alpha"),
        ({"alpha": float("nan"), "sigma": 1.0}, "alpha"),
        ({"alpha": 1.0, "sigma": -1.0}, "sigma"),
        ({"alpha": 1.0, "sigma": float("inf")}, "sigma"),
    ],
)
def test_invalid_alpha_or_sigma_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ce_kl_loss(torch.randn(2, 3), torch.tensor([0, 1]), **kwargs)


def test_class_values_must_match_the_number_of_logits():
    with pytest.raises(ValueError, match="class_values"):
        ce_kl_loss(
            torch.randn(2, 3),
            torch.tensor([0, 1]),
            alpha=1.0,
            sigma=1.0,
            class_values=torch.arange(4.0),
        )


def entropy(rows):
    rows = np.asarray(rows, dtype=np.float64)
    safe = np.where(rows > 0, rows, 1.0)
    return -(rows * np.log(safe)).sum(axis=-1)


def test_uniform_control_matches_the_gaussian_entropy_without_order():
    values = torch.tensor([21.0, 22.0, 25.0, 40.0, 60.0, 61.0])
    control = UniformSmoothingKLLoss(alpha=1.0, sigma=3.0)
    rows = control.target_distribution(values, torch.arange(6)).numpy()
    gaussian = gaussian_targets(values, values, 3.0).numpy()
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(entropy(rows), entropy(gaussian).mean(), rtol=1e-4)
    off_label = rows[0, 1:]
    np.testing.assert_allclose(off_label, off_label[0])  # neighbours not favoured
    assert rows[0, 0] == rows.max()


@pytest.mark.parametrize("target_entropy", [0.01, 0.7, 2.0, math.log(10) - 1e-3])
def test_smoothing_for_entropy_inverts_the_entropy(target_entropy):
    eps = smoothing_for_entropy(target_entropy, 10)
    row = np.full(10, eps / 10)
    row[0] += 1 - eps
    assert entropy(row) == pytest.approx(target_entropy, rel=1e-6)


def test_smoothing_for_entropy_limits():
    assert smoothing_for_entropy(0.0, 5) == 0.0
    assert smoothing_for_entropy(10.0, 5) == 1.0  # uniform


def test_permuted_control_spreads_like_the_gaussian_onto_shuffled_classes():
    values = torch.arange(12.0)
    control = PermutedGaussianKLLoss(alpha=1.0, sigma=1.5, seed=3)
    perm = control.permutation(12).numpy()
    assert not np.array_equal(perm, np.arange(12))
    rows = control.target_distribution(values, torch.arange(12)).numpy()
    gaussian = gaussian_targets(values, values, 1.5).numpy()
    for k in range(12):
        np.testing.assert_allclose(
            np.sort(rows[k]), np.sort(gaussian[perm[k]]), rtol=1e-5
        )
    assert rows[0].argmax() == 0  # each class keeps the most mass itself
    logits, target = torch.randn(8, 12), torch.randint(0, 12, (8,))
    before = control(logits, target)
    control.seed = 4  # a new permutation
    assert not torch.equal(control(logits, target), before)


def test_module_follows_alpha_changes_between_batches():
    logits, target = torch.randn(16, 9), torch.randint(0, 9, (16,))
    criterion = CEKLLoss(alpha=1.0, sigma=2.0)
    for alpha in (1.0, 3.0, 0.0, 0.25):
        criterion.alpha = alpha
        torch.testing.assert_close(
            criterion(logits, target),
            ce_kl_loss(logits, target, alpha=alpha, sigma=2.0),
        )


def test_batches_of_every_size_get_the_mean_loss():
    # A short last batch is averaged over its own size.
    criterion = CEKLLoss(alpha=0.5, sigma=1.5, class_values=[1, 2, 4, 8, 9])
    torch.manual_seed(0)
    for batch in (32, 7, 32, 1, 2, 3, 4, 5, 32):
        logits, target = torch.randn(batch, 5), torch.randint(0, 5, (batch,))
        expected = reference_loss(logits, target, 0.5, 1.5, [1, 2, 4, 8, 9])
        assert criterion(logits, target).item() == pytest.approx(expected, rel=1e-5)
        functional = ce_kl_loss(logits, target, alpha=0.5, sigma=1.5)
        expected = reference_loss(logits, target, 0.5, 1.5, np.arange(5))
        assert functional.item() == pytest.approx(expected, rel=1e-5)


def test_an_empty_batch_gives_nan_like_cross_entropy():
    logits, target = torch.empty(0, 5), torch.empty(0, dtype=torch.long)
    assert F.cross_entropy(logits, target).isnan()
    assert CEKLLoss(alpha=1.0, sigma=1.0)(logits, target).isnan()
    assert ce_kl_loss(logits, target, alpha=1.0, sigma=1.0).isnan()


# ------------------------------------------------------------------ CUDA


@requires_cuda
@pytest.mark.parametrize(
    "make_loss",
    [
        functools.partial(CEKLLoss, alpha=1.0, sigma=3.0),
        functools.partial(UniformSmoothingKLLoss, alpha=1.0, sigma=3.0),
        functools.partial(PermutedGaussianKLLoss, alpha=1.0, sigma=3.0),
        lambda class_values: functools.partial(ce_kl_loss, alpha=1.0, sigma=3.0),
    ],
    ids=["CEKLLoss", "uniform", "permuted", "ce_kl_loss"],
)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weighted"])
def test_cuda_loss_matches_the_cpu_and_never_waits_for_the_host(make_loss, weighted):
    torch.manual_seed(0)
    logits, target = torch.randn(64, 30) * 3, torch.randint(0, 30, (64,))
    values = torch.linspace(0.0, 58.0, 30)
    weights = torch.rand(64) * (torch.arange(64) % 5 != 0)  # some zeros
    results = {}
    for device in ("cpu", "cuda"):
        loss_fn = make_loss(class_values=values)
        if isinstance(loss_fn, torch.nn.Module):
            loss_fn = loss_fn.to(device)
        if weighted:
            loss_fn = functools.partial(loss_fn, sample_weight=weights.to(device))
        z = logits.detach().clone().to(device).requires_grad_(True)
        t = target.to(device)
        loss_fn(z, t).backward()  # a first call: allocations, kernels
        z.grad = None
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.set_sync_debug_mode("error")  # any host sync raises
        try:
            loss = loss_fn(z, t)
            loss.backward()
        finally:
            if device == "cuda":
                torch.cuda.set_sync_debug_mode("default")
        results[device] = (loss.detach().cpu(), z.grad.cpu())
    (cuda_loss, cuda_grad), (cpu_loss, cpu_grad) = results["cuda"], results["cpu"]
    torch.testing.assert_close(cuda_loss, cpu_loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(cuda_grad, cpu_grad, rtol=1e-4, atol=1e-7)


# Every way the loss is computed: the functional form with the default or
# given class values, and the criterion.
def _functional(logits, target, alpha, sigma, values, **kwargs):
    return ce_kl_loss(logits, target, alpha=alpha, sigma=sigma, **kwargs)


def _functional_with_values(logits, target, alpha, sigma, values, **kwargs):
    return ce_kl_loss(
        logits, target, alpha=alpha, sigma=sigma, class_values=values, **kwargs
    )


def _criterion(logits, target, alpha, sigma, values, **kwargs):
    return CEKLLoss(alpha=alpha, sigma=sigma, class_values=values)(
        logits, target, **kwargs
    )


LOSS_PATHS = [
    _functional,
    _functional_with_values,
    _criterion,
]


@pytest.mark.parametrize("loss_path", LOSS_PATHS)
@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("weights", ["positive", "some zero"])
def test_weighted_loss_is_the_weighted_mean_of_per_sample_losses(
    loss_path, alpha, weights
):
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(12, 7, generator=generator) * 3
    target = torch.randint(0, 7, (12,), generator=generator)
    sample_weight = torch.rand(12, generator=generator) * 5
    if weights == "some zero":
        sample_weight[::3] = 0.0
    values = torch.arange(7.0)
    loss = loss_path(logits, target, alpha, 1.3, values, sample_weight=sample_weight)
    expected = reference_loss(
        logits, target, alpha, 1.3, values.numpy(), sample_weight.double().numpy()
    )
    assert loss.item() == pytest.approx(expected, rel=1e-6, abs=1e-6)
    # Zero weights: those samples do not matter at all.
    if weights == "some zero":
        keep = sample_weight > 0
        subset = loss_path(
            logits[keep],
            target[keep],
            alpha,
            1.3,
            values,
            sample_weight=sample_weight[keep],
        )
        assert loss.item() == pytest.approx(subset.item(), rel=1e-6)


@pytest.mark.parametrize("loss_path", LOSS_PATHS)
def test_equal_weights_give_the_unweighted_loss_and_zero_weights_no_gradient(
    loss_path,
):
    logits = torch.randn(9, 5, requires_grad=True)
    target = torch.randint(0, 5, (9,))
    values = torch.arange(5.0)
    plain = loss_path(logits, target, 1.0, 2.0, values)
    equal = loss_path(
        logits, target, 1.0, 2.0, values, sample_weight=torch.full((9,), 4.0)
    )
    torch.testing.assert_close(equal, plain)
    zero = loss_path(logits, target, 1.0, 2.0, values, sample_weight=torch.zeros(9))
    zero.backward()
    assert zero.item() == 0.0 and bool((logits.grad == 0).all())


def test_sample_weight_must_have_one_weight_per_row():
    with pytest.raises(ValueError, match="sample_weight"):
        ce_kl_loss(
            torch.randn(3, 4),
            torch.tensor([0, 1, 2]),
            alpha=1.0,
            sigma=1.0,
            sample_weight=torch.ones(2),
        )


@pytest.mark.parametrize("loss_path", LOSS_PATHS)
def test_sigma_zero_is_the_one_hot_limit_where_kl_equals_cross_entropy(loss_path):
    # A decaying schedule underflows to sigma = 0.0; the loss takes its limit.
    logits, target = torch.randn(10, 6), torch.randint(0, 6, (10,))
    values = torch.tensor([0.0, 1.0, 2.0, 5.0, 9.0, 20.0])
    loss = loss_path(logits, target, 0.5, 0.0, values)
    ce = F.cross_entropy(logits, target)
    torch.testing.assert_close(loss, 1.5 * ce)
    for tiny in (1e-40, 1e-300):  # on the way there: float32 subnormal, then 0
        approach = loss_path(logits, target, 0.5, tiny, values)
        torch.testing.assert_close(approach, loss)
    torch.testing.assert_close(gaussian_targets(values, values, 0.0), torch.eye(6))


def test_sigma_zero_controls_are_one_hot_too():
    logits, target = torch.randn(10, 6), torch.randint(0, 6, (10,))
    ce = F.cross_entropy(logits, target)
    for control in (UniformSmoothingKLLoss, PermutedGaussianKLLoss):
        loss = control(alpha=1.0, sigma=0.0)(logits, target)
        torch.testing.assert_close(loss, 2.0 * ce, msg=control.__name__)
