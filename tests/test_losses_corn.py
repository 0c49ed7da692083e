"""The CORN loss and its class probabilities, against direct formulas and
against coral-pytorch's reference implementation."""

import pytest
import torch
import torch.nn.functional as F
from conftest import no_host_sync, requires_cuda

from sk_klpenalty.losses import CORNLoss, corn_loss, corn_probabilities


def direct_corn_loss(logits, y, n_classes):
    """Task by task, over the samples each task conditions on (the paper)."""
    total, count = 0.0, 0
    for task in range(n_classes - 1):
        members = y >= task
        if members.any():
            above = (y[members] > task).float()
            total += F.binary_cross_entropy_with_logits(
                logits[members, task], above, reduction="sum"
            )
            count += int(members.sum())
    return total / count


@pytest.mark.parametrize("n_classes", [2, 5, 117])
def test_loss_matches_the_task_by_task_formula(n_classes):
    torch.manual_seed(n_classes)
    logits = torch.randn(50, n_classes - 1) * 2
    y = torch.randint(0, n_classes, (50,))
    expected = direct_corn_loss(logits, y, n_classes)
    torch.testing.assert_close(corn_loss(logits, y, n_classes), expected)
    torch.testing.assert_close(CORNLoss()(logits, y), expected)


@pytest.mark.parametrize("n_classes", [2, 5, 117])
def test_loss_and_gradient_equal_coral_pytorch(n_classes):
    losses = pytest.importorskip("coral_pytorch.losses")
    torch.manual_seed(n_classes)
    base = torch.randn(64, n_classes - 1) * 3
    y = torch.randint(0, n_classes, (64,))
    ours, theirs = base.clone().requires_grad_(), base.clone().requires_grad_()
    loss = corn_loss(ours, y, n_classes)
    reference = losses.corn_loss(theirs, y, n_classes)
    loss.backward()
    reference.backward()
    torch.testing.assert_close(loss, reference, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.grad, theirs.grad, atol=1e-5, rtol=0)


def test_probabilities_follow_the_conditional_chain():
    logits = torch.tensor([[2.0, -1.0, 0.5], [-30.0, 4.0, 4.0]])
    conditional = torch.sigmoid(logits)
    above = torch.cumprod(conditional, dim=1)  # P(y > k)
    proba = corn_probabilities(logits)
    torch.testing.assert_close(proba[:, 0], 1 - above[:, 0])
    torch.testing.assert_close(proba[:, 1:3], above[:, :2] - above[:, 1:])
    torch.testing.assert_close(proba[:, 3], above[:, 2])
    torch.testing.assert_close(proba.sum(1), torch.ones(2))


def test_probabilities_stay_distributions_at_extreme_logits():
    logits = torch.tensor([[1e4, -1e4, 1e4], [-1e4] * 3, [1e4] * 3, [0.0] * 3])
    proba = corn_probabilities(logits.to(torch.bfloat16))
    assert proba.dtype == torch.float32
    assert (proba >= 0).all() and torch.isfinite(proba).all()
    torch.testing.assert_close(proba.sum(1), torch.ones(4))
    assert proba.argmax(1).tolist() == [1, 0, 3, 0]


def test_the_median_of_the_chain_is_corns_count_of_confident_tasks():
    """CORN predicts sum_k [P(y > k) > 1/2]: the median of these probabilities."""
    torch.manual_seed(0)
    logits = torch.randn(200, 6) * 3
    count = (torch.cumprod(torch.sigmoid(logits), 1) > 0.5).sum(1)
    cumulative = torch.cumsum(corn_probabilities(logits), 1)
    median = (cumulative < 0.5).sum(1)
    assert torch.equal(median, count)


def test_wrong_number_of_outputs_is_a_clear_error():
    with pytest.raises(ValueError, match="n_classes - 1 = 4 outputs"):
        corn_loss(torch.randn(3, 5), torch.tensor([0, 1, 2]), n_classes=5)
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        corn_loss(torch.randn(3, 0), torch.tensor([0, 0, 0]), n_classes=1)


@requires_cuda
def test_cuda_corn_matches_the_cpu_and_never_waits_for_the_host():
    torch.manual_seed(0)
    logits, y = torch.randn(64, 29) * 3, torch.randint(0, 30, (64,))
    results = {}
    for device in ("cpu", "cuda"):
        z = logits.clone().to(device).requires_grad_(True)
        with no_host_sync(device):
            loss = CORNLoss()(z, y.to(device))
            loss.backward()
            proba = corn_probabilities(z.detach())
        results[device] = (loss.detach().cpu(), z.grad.cpu(), proba.cpu())
    for cuda, cpu in zip(results["cuda"], results["cpu"], strict=True):
        torch.testing.assert_close(cuda, cpu, rtol=1e-4, atol=1e-6)


def test_sample_weights_count_each_pair_of_a_sample_that_many_times():
    torch.manual_seed(0)
    logits, y = torch.randn(12, 4), torch.randint(0, 5, (12,))
    weight = torch.randint(0, 3, (12,)).float()
    weight[0] = 1.0  # at least one sample counts
    repeated = weight.long()
    expected = direct_corn_loss(
        logits.repeat_interleave(repeated, 0), y.repeat_interleave(repeated), 5
    )
    torch.testing.assert_close(corn_loss(logits, y, 5, sample_weight=weight), expected)
    torch.testing.assert_close(
        CORNLoss()(logits, y, sample_weight=torch.ones(12)), corn_loss(logits, y, 5)
    )
