"""Real torchvision and timm models as module=, fine-tuned as practitioners do.

They need the torch build torchvision's wheels are made for (CI's third
environment installs torch 2.14.1, torchvision 0.29.1 and timm); elsewhere
these tests are skipped. No weights are downloaded: pretrained weights come
from a state_dict file the test writes.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.cli import main
from sk_klpenalty.compare import compare_penalty

torchvision = pytest.importorskip("torchvision")
timm = pytest.importorskip("timm")

FAST = {"max_epochs": 1, "batch_size": 16, "random_state": 0}


@pytest.fixture(scope="module")
def faces():
    """uint8 RGB images 32x32 of 5 ordered classes (brightness), 3 per subject."""
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(5), 12)
    X = rng.randint(0, 60, (60, 3, 32, 32)).astype(np.uint8)
    X += (y * 40)[:, None, None, None].astype(np.uint8)
    return X, y, np.arange(60) // 3


def _resnet18():
    return torchvision.models.resnet18(weights=None)


def _timm_model():
    return timm.create_model("resnet10t", pretrained=False)


@pytest.mark.parametrize("make", [_resnet18, _timm_model], ids=["torchvision", "timm"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_backbone_trains_is_sized_and_pickles(faces, make, precision):
    X, y, _ = faces
    clf = KLPenaltyClassifier(module=make(), precision=precision, **FAST).fit(X, y)
    assert clf.module_.eval()(torch.zeros(1, 3, 32, 32)).shape == (1, 5)
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 5) and np.isfinite(proba).all()
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(X), proba, rtol=1e-5, atol=1e-6)


def test_a_torchvision_class_gets_num_classes(faces):
    X, y, _ = faces
    clf = KLPenaltyClassifier(module=torchvision.models.resnet18, **FAST).fit(X, y)
    assert clf.module_.fc.out_features == 5


def test_weights_from_a_local_file_reproduce_the_saved_models_outputs(faces, tmp_path):
    X, y, _ = faces
    saved = _resnet18().eval()
    torch.save(saved.state_dict(), tmp_path / "resnet18.pt")
    model = _resnet18()
    model.load_state_dict(torch.load(tmp_path / "resnet18.pt", weights_only=True))
    clf = KLPenaltyClassifier(module=model, max_epochs=0).fit(X, y)
    trunk = torch.nn.Sequential(*list(clf.module_.children())[:-1]).eval()
    reference = torch.nn.Sequential(*list(saved.children())[:-1])
    batch = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(trunk(batch), reference(batch))


def test_frozen_epochs_keep_the_backbone_then_train_it(faces):
    X, y, _ = faces
    start = _resnet18()
    clf = KLPenaltyClassifier(
        module=start, freeze_epochs=1, max_epochs=1, batch_size=16, random_state=0
    ).fit(X, y)
    torch.testing.assert_close(clf.module_.conv1.weight, start.conv1.weight)
    assert not torch.equal(clf.module_.fc.weight[:5], start.fc.weight[:5])
    clf.partial_fit(X, y)  # epoch 2: everything trains
    assert not torch.equal(clf.module_.conv1.weight, start.conv1.weight)


def test_grid_search_and_grouped_compare_with_a_backbone(faces):
    X, y, groups = faces
    search = GridSearchCV(
        KLPenaltyClassifier(module=_timm_model(), normalize="auto", **FAST),
        {"alpha": [0.0, 1.0]},
        cv=2,
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    result = compare_penalty(
        X, y, groups=groups, cv=2, controls=False, progress=False,
        estimator=KLPenaltyClassifier(module=_resnet18(), **FAST),
    )  # fmt: skip
    assert "Groups: no group is on both sides" in result.to_markdown()


def test_the_command_line_fine_tunes_a_backbone_from_a_weights_file(tmp_path, capsys):
    torch.save(_resnet18().state_dict(), tmp_path / "resnet18.pt")
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.randint(0, 255, (60, 3, 32, 32)).astype(np.uint8)
    np.savez(tmp_path / "data.npz", X=X, y=y, groups=np.arange(60) // 2)
    args = ["compare", "--data", f"npz:{tmp_path / 'data.npz'}", "--epochs", "1"]
    args += ["--cv", "2", "--no-controls", "--quiet", "--n-jobs", "1"]
    args += [
        "--backbone",
        "torchvision:resnet18",
        "--weights",
        str(tmp_path / "resnet18.pt"),
    ]
    args += [
        "--freeze-epochs",
        "1",
        "--backbone-lr",
        "1e-4",
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Network: torchvision:resnet18" in printed and "resnet18.pt" in printed
    assert (
        main([*args[:-2], "--backbone", "timm:resnet10t", "--out", str(tmp_path)]) == 2
    )
    assert "--weights: cannot load" in capsys.readouterr().err
