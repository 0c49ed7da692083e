"""The regression peer's weighted MSE."""

import torch
import torch.nn.functional as F

from sk_klpenalty.losses import MSELoss


def test_without_weights_it_is_torchs_mse():
    x, y = torch.randn(9), torch.randn(9)
    assert MSELoss()(x, y) == F.mse_loss(x, y)


def test_weights_give_the_weighted_mean_of_squared_errors():
    x, y = torch.randn(9, dtype=torch.float64), torch.randn(9, dtype=torch.float64)
    w = torch.rand(9, dtype=torch.float64)
    w[3] = 0.0
    expected = (w * (x - y) ** 2).sum() / w.sum()
    torch.testing.assert_close(MSELoss()(x, y, sample_weight=w), expected)
