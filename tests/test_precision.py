"""precision="bf16": autocast, channels_last, fp32 loss, fallback, pickling.

torch runs bf16 autocast on every CPU, so these tests run it for real; a GPU
without bf16 (the fallback) is simulated.
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty import data as data_module
from sk_klpenalty.data import bf16_supported
from sk_klpenalty.modules import SimpleCNN

FAST = {"max_epochs": 3, "batch_size": 32, "random_state": 0}


def fit_recording_warnings(clf, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    return [w for w in caught if issubclass(w.category, UserWarning)]


@pytest.fixture
def no_bf16(monkeypatch):
    """A device without bf16 (a GPU older than Ampere)."""
    monkeypatch.setattr(data_module, "bf16_supported", lambda device="cpu": False)


def test_bf16_fits_and_predicts_on_this_machine(tiny_images):
    X, y = tiny_images
    clf = KLPenaltyClassifier(precision="bf16", **FAST)
    caught = fit_recording_warnings(clf, X, y)
    assert clf.precision_ == "bf16" and not caught  # torch runs it on any CPU
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert np.isfinite(clf.history[:, "train_loss"]).all()


def test_unsupported_bf16_falls_back_to_fp32_with_one_warning(no_bf16, tiny_images):
    X, y = tiny_images
    clf = KLPenaltyClassifier(precision="bf16", **FAST)
    caught = fit_recording_warnings(clf, X, y)
    assert len(caught) == 1
    assert "bf16" in str(caught[0].message) and "fp32" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the caller's fit
    assert clf.precision_ == "fp32"
    # Exactly the model precision="fp32" trains, in the same memory layout.
    reference = KLPenaltyClassifier(precision="fp32", **FAST).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    conv, reference_conv = clf.module_.features[3], reference.module_.features[3]
    layout = torch.channels_last  # 32 input channels: the formats differ
    assert conv.weight.is_contiguous(
        memory_format=layout
    ) == reference_conv.weight.is_contiguous(memory_format=layout)
    # Resolved once per (re)initialisation: continued training says nothing new.
    clf.set_params(max_epochs=1)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        clf.partial_fit(X, y)
    assert not [w for w in again if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("precision", ["fp16", "BF16", "float32", None, 16])
def test_invalid_precision_fails_before_training(tiny_images, precision):
    X, y = tiny_images
    clf = KLPenaltyClassifier(precision=precision, max_epochs=1)
    with pytest.raises(
        ValueError, match=r"precision must be one of \('fp32', 'bf16'\)"
    ):
        clf.fit(X, y)
    assert not getattr(clf, "initialized_", False)


def test_precision_is_a_plain_parameter():
    clf = KLPenaltyClassifier(precision="bf16")
    assert clf.get_params()["precision"] == "bf16"
    assert clone(clf).precision == "bf16"
    assert KLPenaltyClassifier().precision == "fp32"


def test_bf16_images_run_under_autocast_in_channels_last(tiny_images):
    X, y = tiny_images
    seen = []

    def record(module, inputs, output):
        seen.append(
            (
                inputs[0].is_contiguous(memory_format=torch.channels_last),
                output.dtype,
            )
        )

    clf = KLPenaltyClassifier(precision="bf16", **FAST).fit(X, y)
    assert clf.precision_ == "bf16"
    conv = clf.module_.features[3]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    clf.module_.features[3].register_forward_hook(record)
    proba = clf.predict_proba(X[:40])
    assert seen and all(seen_cl for seen_cl, _ in seen)
    assert {dtype for _, dtype in seen} == {torch.bfloat16}
    # The loss side is float32: logits leave infer as float32.
    logits = clf.infer(torch.as_tensor(X[:8]))
    assert logits.dtype == torch.float32
    assert clf.get_loss(logits, y[:8]).dtype == torch.float32
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_bf16_tabular_uses_autocast_without_channels_last(ordinal_tabular):
    X, y = ordinal_tabular
    clf = KLPenaltyClassifier(precision="bf16", **FAST).fit(X, y)
    dtypes = []
    clf.module_.layers[0].register_forward_hook(
        lambda module, inputs, output: dtypes.append(output.dtype)
    )
    proba = clf.predict_proba(X)
    assert dtypes == [torch.bfloat16] * len(dtypes) and dtypes
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_initialised_without_fit_is_in_channels_last_and_trains():
    clf = KLPenaltyClassifier(
        module=SimpleCNN,
        module__in_channels=1,
        module__input_size=8,
        module__n_classes=3,
        classes=[0, 1, 2],
        precision="bf16",
    ).initialize()  # no fit: the input shape is unknown here
    conv = clf.module_.features[3]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    step = clf.train_step((torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 1])))
    assert step["y_pred"].dtype == torch.float32


def test_bf16_model_pickles_and_loads_with_identical_predictions(tiny_images):
    X, y = tiny_images
    clf = KLPenaltyClassifier(precision="bf16", **FAST).fit(X, y)
    expected = clf.predict_proba(X)
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.precision_ == "bf16"
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    conv = loaded.module_.features[3]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_bf16_model_loaded_where_bf16_is_unsupported_predicts_in_fp32(
    monkeypatch, tiny_images
):
    X, y = tiny_images
    clf = KLPenaltyClassifier(precision="bf16", **FAST).fit(X, y)
    expected = clf.predict_proba(X)
    data = pickle.dumps(clf)
    monkeypatch.setattr(data_module, "bf16_supported", lambda device="cpu": False)
    loaded = pickle.loads(data)
    proba = loaded.predict_proba(X)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba, expected, atol=0.05)  # bf16 vs fp32 rounding


def test_the_cpu_runs_bf16_and_other_devices_may_not():
    assert bf16_supported("cpu") is True and bf16_supported(None) is True
    assert bf16_supported("meta") is False
    if not torch.cuda.is_available():
        assert bf16_supported("cuda") is False


class _ViewsItsInput(torch.nn.Module):
    """A user's module that flattens with ``view``: fails on channels_last."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.linear = torch.nn.Linear(4 * 8 * 8, n_classes)

    def forward(self, x):
        return self.linear(self.conv(x).view(len(x), -1))


def test_fp32_on_the_cpu_keeps_a_users_module_and_its_input_as_given():
    # channels_last speeds up the seed CNN; a user's module may need its input
    # contiguous (view), so in fp32 it gets the batch as the loader built it.
    rng = np.random.RandomState(0)
    X = rng.rand(40, 1, 8, 8).astype(np.float32)
    y = np.arange(40) % 3
    clf = KLPenaltyClassifier(module=_ViewsItsInput, precision="fp32", **FAST)
    clf.fit(X, y)
    assert clf.predict_proba(X).shape == (40, 3)
