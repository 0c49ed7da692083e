"""Property-based and extreme-value checks of the criterion (hypothesis)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sk_klpenalty.losses import CEKLLoss, ce_kl_loss, gaussian_targets

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def batches(draw):
    n_classes = draw(st.integers(2, 40))
    batch = draw(st.integers(1, 16))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.floats(0.01, 1e4))
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, n_classes, generator=generator) * scale
    target = torch.randint(0, n_classes, (batch,), generator=generator)
    sigma = draw(st.floats(1e-3, 1e3))
    return logits, target, sigma


@SETTINGS
@given(batches(), st.floats(0.0, 10.0))
def test_kl_part_is_never_negative(batch, alpha):
    logits, target, sigma = batch
    penalised = ce_kl_loss(logits, target, alpha=alpha, sigma=sigma)
    ce = F.cross_entropy(logits, target)
    assert penalised.item() >= ce.item() - 1e-4 * max(1.0, abs(ce.item()))


@SETTINGS
@given(batches(), st.floats(-1e3, 1e3))
def test_adding_a_constant_to_all_logits_changes_nothing(batch, shift):
    logits, target, sigma = batch
    criterion = CEKLLoss(alpha=1.0, sigma=sigma)
    base = criterion(logits, target)
    shifted = criterion(logits + shift, target)
    assert shifted.item() == pytest.approx(base.item(), rel=1e-3, abs=1e-2)


@SETTINGS
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=50, unique=True),
    st.floats(1e-6, 1e6),
)
def test_target_rows_sum_to_one(values, sigma):
    values = torch.tensor(sorted(values), dtype=torch.float32)
    p = gaussian_targets(values, values, sigma)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p.sum(dim=1), torch.ones(len(values)))


@SETTINGS
@given(st.integers(1, 30), st.floats(1e-2, 1e2))
def test_gaussian_is_symmetric_around_the_label(half_width, sigma):
    values = torch.arange(2 * half_width + 1, dtype=torch.float32)
    p = gaussian_targets(values, torch.tensor([float(half_width)]), sigma)[0]
    torch.testing.assert_close(p, p.flip(0))


@pytest.mark.parametrize("n_classes", [2, 117, 1000])
@pytest.mark.parametrize("sigma", [1e-6, 1.0, 1e6])
@pytest.mark.parametrize("scale", [1.0, 1e4])
@pytest.mark.parametrize("autocast", [False, True])
def test_loss_and_gradient_stay_finite_at_extremes(n_classes, sigma, scale, autocast):
    generator = torch.Generator().manual_seed(n_classes)
    weights = torch.randn(8, n_classes, generator=generator)
    features = torch.sign(torch.randn(4, 8, generator=generator)) * scale
    target = torch.randint(0, n_classes, (4,), generator=generator)
    weights.requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        logits = features @ weights  # bf16 under autocast, as in a bf16 model
        loss = CEKLLoss(alpha=1.0, sigma=sigma)(logits, target)
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(weights.grad).all()


def test_limits_hold_for_many_classes():
    logits, target = torch.randn(6, 1000), torch.randint(0, 1000, (6,))
    ce = F.cross_entropy(logits, target)
    torch.testing.assert_close(CEKLLoss(alpha=2.0, sigma=1e-6)(logits, target), 3 * ce)
    log_q = F.log_softmax(logits, dim=1)
    uniform_kl = (-np.log(1000) - log_q.mean(dim=1)).mean()
    torch.testing.assert_close(
        CEKLLoss(alpha=2.0, sigma=1e6)(logits, target), ce + 2 * uniform_kl
    )
