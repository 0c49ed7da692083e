"""ArrayDataset: whole batches by tensor indexing, without copying the arrays;
uint8 images stay integers until the device; memory maps are read in place."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import requires_cuda
from torch.utils.data import DataLoader, default_collate

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty import data as data_module
from sk_klpenalty.data import (
    ArrayDataset,
    RowView,
    collate_batch,
    is_pixel_array,
    pixels_to_float,
    serves_batches,
    take_rows,
)
from sk_klpenalty.weights import WeightedDataset


def test_array_dataset_serves_whole_batches():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10) * 10
    dataset = ArrayDataset(X, y)
    Xb, yb = dataset.__getitems__([3, 1, 7])
    np.testing.assert_array_equal(Xb.numpy(), X[[3, 1, 7]])
    np.testing.assert_array_equal(yb.numpy(), y[[3, 1, 7]])
    assert torch.equal(dataset[2][0], torch.tensor([4.0, 5.0]))


def test_array_dataset_shares_float32_memory_and_fills_in_missing_labels():
    X = np.zeros((4, 3), dtype=np.float32)
    dataset = ArrayDataset(X)
    X[2, 1] = 7.0  # a view, not a copy
    assert dataset.__getitems__([2])[0][0, 1].item() == 7.0
    assert dataset.__getitems__([0, 1])[1].tolist() == [0.0, 0.0]


def test_collate_passes_batches_through_and_gives_user_collates_samples():
    dataset = ArrayDataset(np.arange(6, dtype=np.float32).reshape(3, 2), [5, 6, 7])
    batch = dataset.__getitems__([0, 2])
    X, y = collate_batch(batch, default_collate)
    assert torch.equal(X, torch.tensor([[0.0, 1.0], [4.0, 5.0]]))
    seen = []
    collate_batch(batch, lambda samples: seen.extend(samples))
    assert [int(label) for _, label in seen] == [5, 7]
    weighted = WeightedDataset(dataset, [1.0, 2.0, 3.0])
    seen.clear()
    collate_batch(weighted.__getitems__([2]), seen.extend)
    assert seen[0][0]["sample_weight"].item() == 3.0 and int(seen[0][1]) == 7


def test_which_datasets_serve_whole_batches():
    dataset = ArrayDataset(np.zeros((4, 2), dtype=np.float32), [0, 1, 0, 1])
    subset = torch.utils.data.Subset(dataset, [0, 2])
    assert serves_batches(dataset) and serves_batches(subset)
    assert serves_batches(WeightedDataset(subset, [1.0, 2.0]))
    tensors = torch.utils.data.TensorDataset(torch.zeros(4, 2))
    assert not serves_batches(tensors)


def test_row_view_reads_its_rows_without_copying_the_base():
    base = np.arange(40, dtype=np.float32).reshape(10, 4)
    view = RowView(base, [7, 2, 2])
    assert view.shape == (3, 4) and len(view) == 3 and view.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(view), base[[7, 2, 2]])
    np.testing.assert_array_equal(view[1:], base[[2, 2]])
    channel = view[:, np.newaxis]
    assert isinstance(channel, RowView) and np.shares_memory(channel.base, base)
    assert channel.shape == (3, 1, 4)
    np.testing.assert_array_equal(view[:, [0, 3]], base[[7, 2, 2]][:, [0, 3]])


def test_array_dataset_gathers_a_view_batch_by_batch():
    base = np.arange(30, dtype=np.float32).reshape(10, 3)
    dataset = ArrayDataset(RowView(base, [9, 4, 0, 5]), np.array([1, 2, 3, 4]))
    assert len(dataset) == 4
    X, y = dataset.__getitems__([3, 0])
    np.testing.assert_array_equal(X.numpy(), base[[5, 9]])
    assert y.tolist() == [4, 1]
    np.testing.assert_array_equal(dataset[1][0].numpy(), base[4])
    assert dataset.X.data_ptr() == base.ctypes.data  # shared, not copied


def test_take_rows_is_lazy_only_for_arrays_when_asked():
    X = np.zeros((6, 2))
    assert isinstance(take_rows(X, [1, 2], lazy=True), RowView)
    assert type(take_rows(X, [1, 2], lazy=False)) is np.ndarray
    assert type(take_rows(X.tolist(), [1, 2], lazy=True)) is list


class PlainLoader(DataLoader):
    """A user's own loader class, given per-sample lists as torch does."""


def test_whole_batches_fit_exactly_as_torchs_per_sample_loader(tiny_images):
    X, y = tiny_images
    params = {"max_epochs": 2, "batch_size": 16, "random_state": 0}
    ours = KLPenaltyClassifier(**params).fit(X, y)
    tensors = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    theirs = KLPenaltyClassifier(classes=np.unique(y), **params).fit(tensors, None)
    np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(X))
    assert ours.history[:, "train_loss"] == theirs.history[:, "train_loss"]


def test_loader_worker_processes_give_the_same_fit(tiny_images):
    X, y = tiny_images
    params = {"max_epochs": 2, "batch_size": 16, "random_state": 0}
    in_process = KLPenaltyClassifier(**params).fit(X, y)
    workers = KLPenaltyClassifier(iterator_train__num_workers=1, **params).fit(X, y)
    np.testing.assert_array_equal(in_process.predict_proba(X), workers.predict_proba(X))


# ------------------------------------------------------------ pixels


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
    # Greyscale images without a channel axis (3-D) are pixels too.
    np.testing.assert_array_equal(_fit(X_int[:, 0], y).predict_proba(X_int), proba)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64])
def test_a_2d_integer_table_is_numbers_never_rescaled(ordinal_tabular, dtype):
    X, y = ordinal_tabular
    counts = np.clip(np.round(X * 3 + 5), 0, None).astype(dtype)  # 0..~15
    as_float = counts.astype(np.float32)
    model = _fit(counts, y)
    np.testing.assert_array_equal(
        model.predict_proba(counts), _fit(as_float, y).predict_proba(as_float)
    )
    assert not is_pixel_array(counts)


@pytest.fixture
def arrivals(monkeypatch):
    """(dtype, device type) of every batch that reaches the forward pass."""
    seen = []
    original = data_module.pixels_to_float

    def spy(x):
        seen.append((x.dtype, x.device.type))
        return original(x)

    monkeypatch.setattr(data_module, "pixels_to_float", spy)
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
    values = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    converted = pixels_to_float(torch.as_tensor(values)).numpy()
    assert converted.dtype == np.float32
    np.testing.assert_array_equal(converted, values.astype(np.float32) / 255)
    floats = torch.rand(3, 2, 2)
    assert pixels_to_float(floats) is floats
    table = torch.tensor([[255]], dtype=torch.uint8)
    assert pixels_to_float(table) is table  # 2-D: not images
    image = torch.full((1, 1, 1), 255, dtype=torch.uint8)
    assert pixels_to_float({"x": image})["x"].item() == 1.0


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


# ------------------------------------------------------------ memory maps


def _memmap(tmp_path, array, name="X.npy"):
    np.save(tmp_path / name, array)
    return np.load(tmp_path / name, mmap_mode="r")


_MEMMAP_CHILD = """
import sys, threading
import numpy as np, torch
from sk_klpenalty import KLPenaltyClassifier

def anonymous_rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024

def peak_growth(run):
    start, peak, done = anonymous_rss(), [0], threading.Event()
    def sample():
        while not done.wait(0.01):
            peak[0] = max(peak[0], anonymous_rss() - start)
    thread = threading.Thread(target=sample)
    thread.start()
    try:
        result = run()
    finally:
        done.set()
        thread.join()
    return result, max(peak[0], anonymous_rss() - start)

class TinyNet(torch.nn.Module):  # pool 8x8, then one linear layer: ~free
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.AvgPool2d(8), torch.nn.Flatten(), torch.nn.Linear(64, 3))
    def forward(self, X):
        return self.layers(X)

X = np.load(sys.argv[1], mmap_mode="r")
y = np.random.RandomState(0).randint(0, 3, len(X))
params = {"module": TinyNet, "max_epochs": 1, "batch_size": 256}
warm_up = KLPenaltyClassifier(**params).fit(X[:512], y[:512])
warm_up.predict_proba(X[:512])  # torch's one-time allocations, not measured
# The footprint: the same fit and prediction on a small part of the map (its
# batches, the allocator's slack); then on all of it.
small, n = KLPenaltyClassifier(**params), 2048
small, fit_small = peak_growth(lambda: small.fit(X[:n], y[:n]))
_, predict_small = peak_growth(lambda: small.predict_proba(X[:n]))
model, fit_all = peak_growth(lambda: KLPenaltyClassifier(**params).fit(X, y))
proba, predict_all = peak_growth(lambda: model.predict_proba(X))
assert proba.shape == (len(X), 3)
print(fit_small, fit_all, predict_small, predict_all)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_memmap_is_read_in_place_never_copied_whole(tmp_path):
    # Measured in a fresh process: threads and caches that earlier tests leave
    # in this one (dask, joblib) would move its memory while it is sampled.
    rng = np.random.RandomState(0)
    n, side = 32_000, 64  # 131 MB of uint8 images; a float32 copy: 524 MB
    X = rng.randint(0, 256, (n, 1, side, side), dtype=np.uint8)
    np.save(tmp_path / "X.npy", X)
    child = subprocess.run(
        [sys.executable, "-c", _MEMMAP_CHILD, str(tmp_path / "X.npy")],
        capture_output=True,
        text=True,
        check=True,
    )
    fit_small, fit_all, predict_small, predict_all = map(int, child.stdout.split())
    # A copy of the data would add 100% of it (400% as float32); the rest is
    # the allocator's noise, up to ~15% of it here (benchmarks/ has the number).
    bound = 0.25 * X.nbytes
    assert fit_all - fit_small < bound, f"fit: {fit_small} then {fit_all} bytes"
    assert predict_all - predict_small < bound, (predict_small, predict_all)


def test_memmap_fit_equals_in_memory_fit(tmp_path, tiny_images):
    X, y = tiny_images
    X_map = _memmap(tmp_path, X)
    params = {"max_epochs": 2, "random_state": 0}
    np.testing.assert_array_equal(
        KLPenaltyClassifier(**params).fit(X_map, y).predict_proba(X_map),
        KLPenaltyClassifier(**params).fit(X, y).predict_proba(X),
    )


def test_float32_memmap_is_checked_for_nan_before_training(tmp_path, tiny_images):
    X, y = tiny_images
    X = X.copy()
    X[-1, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        KLPenaltyClassifier(max_epochs=1).fit(_memmap(tmp_path, X), y)
