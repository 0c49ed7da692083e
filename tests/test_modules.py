import pytest
import torch

from sk_klpenalty.modules import MLP, SeedCNN


@pytest.mark.parametrize("channels, size", [(1, (8, 8)), (3, (28, 40)), (3, 128)])
def test_seed_cnn_accepts_any_channels_and_size(channels, size):
    net = SeedCNN(in_channels=channels, n_classes=7, input_size=size)
    height, width = (size, size) if isinstance(size, int) else size
    assert net(torch.zeros(2, channels, height, width)).shape == (2, 7)


def test_seed_cnn_defaults_are_the_seed_network():
    net = SeedCNN()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert net.classifier[1].in_features == 128 * 16 * 16
    assert net(torch.zeros(1, 3, 128, 128)).shape == (1, 117)
    assert sum(p.numel() for p in net.parameters()) < 10_000_000


def test_seed_cnn_refuses_images_too_small_to_pool():
    with pytest.raises(ValueError, match="input_size"):
        SeedCNN(input_size=7)


def test_mlp_shapes():
    assert MLP(n_features=5, n_classes=3, hidden_units=(8,))(
        torch.zeros(4, 5)
    ).shape == (
        4,
        3,
    )
