"""The default networks, and backbones of torchvision's and timm's layouts
given one output per class (on small modules of those layouts defined here;
tests/test_backbones.py runs the real libraries where they are installed)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import Callback
from torch import nn

from sk_klpenalty import CORNClassifier, KLPenaltyClassifier, OrdinalRegressor
from sk_klpenalty.modules import MLP, SeedCNN, SimpleCNN, head_name, size_head


@pytest.mark.parametrize("channels, size", [(1, (8, 8)), (3, (28, 40)), (3, 128)])
def test_simple_cnn_accepts_any_channels_and_size(channels, size):
    net = SimpleCNN(in_channels=channels, n_classes=7, input_size=size)
    height, width = (size, size) if isinstance(size, int) else size
    assert net(torch.zeros(2, channels, height, width)).shape == (2, 7)


def test_simple_cnn_defaults_are_the_research_scripts_network():
    net = SimpleCNN()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert net.classifier[1].in_features == 128 * 16 * 16
    assert net(torch.zeros(1, 3, 128, 128)).shape == (1, 117)
    assert sum(p.numel() for p in net.parameters()) < 10_000_000


def test_simple_cnn_refuses_images_too_small_to_pool():
    with pytest.raises(ValueError, match="input_size"):
        SimpleCNN(input_size=7)


def test_the_old_name_still_works_and_says_it_is_deprecated():
    with pytest.warns(DeprecationWarning, match="SimpleCNN"):
        net = SeedCNN(in_channels=1, n_classes=3, input_size=8)
    assert isinstance(net, SimpleCNN)


def test_mlp_shapes():
    net = MLP(n_features=5, n_classes=3, hidden_units=(8,))
    assert net(torch.zeros(4, 5)).shape == (4, 3)


class ResNetLike(nn.Module):
    """torchvision's ResNet layout: a convolutional trunk and ``fc``."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.fc(self.trunk(x).flatten(1))


class VGGLike(nn.Module):
    """torchvision's VGG/MobileNet layout: ``classifier`` ending in a Linear."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(8, 1000))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class ViTLike(nn.Module):
    """torchvision's ViT layout: ``heads.head``."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 4, stride=4)
        self.heads = nn.Sequential()
        self.heads.add_module("head", nn.Linear(8, 1000))

    def forward(self, x):
        return self.heads(self.proj(x).mean((2, 3)))


class TimmLike(nn.Module):
    """timm's layout: ``get_classifier`` and ``reset_classifier``."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3)
        self.head = nn.Linear(8, 1000)

    def get_classifier(self):
        return self.head

    def reset_classifier(self, num_classes):
        self.head = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.head(self.stem(x).mean((2, 3)))


@pytest.mark.parametrize(
    "make, name", [(ResNetLike, "fc"), (VGGLike, "classifier"), (ViTLike, "heads.head"),
                   (TimmLike, "head")],
)  # fmt: skip
def test_every_layout_gets_the_outputs_asked_for(make, name):
    module = make()
    assert head_name(module) == name
    assert size_head(module, 5)(torch.zeros(2, 3, 16, 16)).shape == (2, 5)


def test_other_layouts_are_a_clear_error():
    with pytest.raises(ValueError, match="Cannot size the output layer of Sequential"):
        size_head(nn.Sequential(nn.Flatten(), nn.Linear(4, 10)), 3)


def _rgb():
    """uint8 RGB images whose label is the brightness of the red channel."""
    rng = np.random.RandomState(0)
    y = rng.randint(0, 5, 100)
    X = rng.randint(0, 40, (100, 3, 16, 16)).astype(np.uint8)
    X[:, 0] += (y * 50)[:, None, None].astype(np.uint8)
    return X, y


@pytest.fixture(scope="module")
def rgb():
    return _rgb()


@pytest.mark.parametrize(
    "estimator, outputs",
    [(KLPenaltyClassifier, 5), (CORNClassifier, 4), (OrdinalRegressor, 1)],
)
def test_a_backbone_class_or_instance_is_sized_for_each_estimator(
    rgb, estimator, outputs
):
    X, y = rgb
    for module in (ResNetLike, ResNetLike(), TimmLike()):
        clf = estimator(module=module, max_epochs=1, random_state=0).fit(X, y)
        assert clf.module_(torch.zeros(1, 3, 16, 16)).shape == (1, outputs)
        assert clf.predict_proba(X[:4]).shape == (4, 5)
    given = ResNetLike()
    estimator(module=given, max_epochs=1).fit(X, y)
    assert given.fc.out_features == 1000  # the parameter stays as given


def test_weights_loaded_into_an_instance_are_where_every_fit_starts(rgb, tmp_path):
    X, y = rgb
    pretrained = ResNetLike()
    torch.save(pretrained.state_dict(), tmp_path / "weights.pt")
    loaded = ResNetLike()
    loaded.load_state_dict(torch.load(tmp_path / "weights.pt", weights_only=True))
    clf = KLPenaltyClassifier(module=loaded, max_epochs=0).fit(X, y)
    batch = torch.rand(2, 3, 16, 16)
    torch.testing.assert_close(clf.module_.trunk(batch), pretrained.trunk(batch))
    again = clone(clf).set_params(max_epochs=0).fit(X, y)
    torch.testing.assert_close(again.module_.trunk(batch), pretrained.trunk(batch))


def test_a_sized_backbone_pickles(rgb):
    X, y = rgb
    clf = KLPenaltyClassifier(module=VGGLike, max_epochs=1).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_frozen_epochs_train_only_the_head_and_then_everything(rgb):
    X, y = rgb
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, net, **kwargs):
            module = net.module_
            snapshots.append((module.trunk[0].weight.clone(), module.fc.weight.clone()))

    clf = KLPenaltyClassifier(
        module=ResNetLike, freeze_epochs=2, max_epochs=4, random_state=0,
        callbacks=[Snapshot()],
    ).fit(X, y)  # fmt: skip
    start = build_start(clf)
    trunks, heads = zip(*snapshots, strict=True)
    assert torch.equal(trunks[0], start) and torch.equal(trunks[1], start)
    assert not torch.equal(heads[0], heads[1])  # the head trains meanwhile
    assert not torch.equal(trunks[2], start) and not torch.equal(trunks[3], trunks[2])


def build_start(clf):
    """The trunk's initial weights: a fit with no epochs, same seed."""
    fresh = clone(clf).set_params(max_epochs=0, callbacks=None).fit(*_rgb())
    return fresh.module_.trunk[0].weight


def test_normalize_scales_each_channel_on_the_device(rgb):
    X, y = rgb
    seen = []

    class Recorder(ResNetLike):
        def forward(self, x):
            seen.append(x.detach().clone())
            return super().forward(x)

    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    clf = KLPenaltyClassifier(module=Recorder, normalize=(mean, std), max_epochs=1)
    clf.fit(X, y)
    seen.clear()
    clf.predict_proba(X[:2])
    expected = torch.as_tensor(X[:2]) / 255.0 - torch.tensor(mean).view(-1, 1, 1)
    expected /= torch.tensor(std).view(-1, 1, 1)
    torch.testing.assert_close(seen[0], expected)
    with pytest.raises(ValueError, match="pretrained_cfg"):
        KLPenaltyClassifier(module=ResNetLike, normalize="auto").fit(X, y)
    with pytest.raises(ValueError, match="normalize"):
        KLPenaltyClassifier(module=ResNetLike, normalize=(0.5,)).fit(X, y)


def test_a_module_with_the_wrong_number_of_outputs_is_a_clear_error(rgb):
    X, y = rgb
    odd = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 7))
    with pytest.raises(ValueError, match="needs 5 outputs per sample"):
        KLPenaltyClassifier(module=odd, max_epochs=1).fit(X, y)
