"""Integer images stay integers until the device: same results as float32 / max."""

import numpy as np
import pytest
import torch
from conftest import requires_cuda

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty import pixels as pixels_module
from sk_klpenalty.pixels import is_pixel_dtype, pixels_to_float


@pytest.fixture(scope="module")
def pixel_images():
    """uint8 images whose label is the row of a bright bar, and their labels."""
    rng = np.random.RandomState(0)
    y = rng.randint(0, 4, 120)
    X = rng.randint(0, 60, size=(120, 1, 12, 12)).astype(np.uint8)
    for i, label in enumerate(y):
        X[i, 0, 2 + 2 * label] = 240
    return X, y


def _fit(X, y, **params):
    params = {"max_epochs": 2, "batch_size": 32, "random_state": 0, **params}
    return KLPenaltyClassifier(**params).fit(X, y)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_images_train_like_float32_divided_by_the_dtype_max(
    pixel_images, dtype
):
    X8, y = pixel_images
    scale = np.iinfo(dtype).max
    X_int = (X8.astype(np.uint32) * (scale // 255)).astype(dtype)
    X_float = X_int.astype(np.float32) / scale
    from_int, from_float = _fit(X_int, y), _fit(X_float, y)
    proba = from_int.predict_proba(X_int)
    np.testing.assert_array_equal(proba, from_float.predict_proba(X_float))
    # Each model accepts either form of the same images.
    np.testing.assert_array_equal(from_int.predict_proba(X_float), proba)
    np.testing.assert_array_equal(from_float.predict_proba(X_int), proba)
    np.testing.assert_array_equal(from_int.predict(X_int), from_float.predict(X_float))


def test_uint8_features_of_an_mlp_are_scaled_too(pixel_images):
    X8, y = pixel_images
    flat = X8.reshape(len(X8), -1)
    flat_float = flat.astype(np.float32) / 255
    np.testing.assert_array_equal(
        _fit(flat, y).predict_proba(flat), _fit(flat_float, y).predict_proba(flat_float)
    )


def test_other_integer_dtypes_are_numbers_not_pixels(ordinal_tabular):
    X, y = ordinal_tabular
    counts = np.round(X * 3).astype(np.int64)
    np.testing.assert_array_equal(
        _fit(counts, y).predict_proba(counts),
        _fit(counts.astype(np.float32), y).predict_proba(counts.astype(np.float32)),
    )


@pytest.fixture
def arrivals(monkeypatch):
    """(dtype, device type) of every batch that reaches the forward pass."""
    seen = []
    original = pixels_module.pixels_to_float

    def spy(x):
        seen.append((x.dtype, x.device.type))
        return original(x)

    monkeypatch.setattr(pixels_module, "pixels_to_float", spy)
    return seen


def test_training_keeps_uint8_until_the_forward_pass(pixel_images, arrivals):
    X8, y = pixel_images
    model = _fit(X8, y, max_epochs=1)
    model.predict_proba(X8)
    # 4 training batches, then 4 prediction batches: all uint8 on arrival.
    assert arrivals == [(torch.uint8, "cpu")] * 8


def test_partial_fit_continues_on_uint8(pixel_images):
    X8, y = pixel_images
    from_int = _fit(X8, y, max_epochs=1).partial_fit(X8, y)
    X_float = X8.astype(np.float32) / 255
    from_float = _fit(X_float, y, max_epochs=1).partial_fit(X_float, y)
    np.testing.assert_array_equal(
        from_int.predict_proba(X8), from_float.predict_proba(X_float)
    )


def test_pixels_to_float_divides_like_numpy():
    values = np.arange(256, dtype=np.uint8)
    converted = pixels_to_float(torch.as_tensor(values)).numpy()
    assert converted.dtype == np.float32
    np.testing.assert_array_equal(converted, values.astype(np.float32) / 255)
    floats = torch.rand(3)
    assert pixels_to_float(floats) is floats
    assert pixels_to_float({"x": torch.tensor([255], dtype=torch.uint8)})["x"] == 1.0
    assert [is_pixel_dtype(d) for d in ("u1", "u2", "i1", "u4", "f4")] == [
        True,
        True,
        False,
        False,
        False,
    ]


@requires_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_receives_uint8_batches_and_converts_them_there(
    pixel_images, arrivals, precision
):
    X8, y = pixel_images
    model = _fit(X8, y, max_epochs=1, device="cuda", precision=precision)
    proba = model.predict_proba(X8)
    assert model.precision_ == precision
    assert set(arrivals) == {(torch.uint8, "cuda")}
    # Inference is deterministic on the GPU: the float32 / 255 form of the
    # same images gives the same probabilities.
    np.testing.assert_array_equal(
        model.predict_proba(X8.astype(np.float32) / 255), proba
    )
