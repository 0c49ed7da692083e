"""ArrayDataset: whole batches by tensor indexing, without copying the arrays."""

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler
from torch.utils.data.dataloader import default_collate

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.data import (
    ArrayDataset,
    BatchAwareCollate,
    RowView,
    WholeBatches,
    WholeBatchLoader,
    loader_kwargs,
    stack_batches,
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
    X, y = BatchAwareCollate(default_collate)(batch)
    assert torch.equal(X, torch.tensor([[0.0, 1.0], [4.0, 5.0]]))
    seen = []
    BatchAwareCollate(lambda samples: seen.extend(samples))(batch)
    assert [int(label) for _, label in seen] == [5, 7]


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


def test_stack_batches_fills_one_array_and_copes_with_miscounts():
    batches = [np.full((2, 3), i, dtype=np.float32) for i in range(3)]
    stacked = stack_batches(iter(batches), 6)
    np.testing.assert_array_equal(stacked, np.concatenate(batches))
    for n_rows in (None, 2, 9):  # unknown, too few, too many rows announced
        np.testing.assert_array_equal(
            stack_batches(iter(batches), n_rows), np.concatenate(batches)
        )


def _epochs(loader_class, dataset, kwargs, training, seed=0, epochs=2):
    torch.manual_seed(seed)
    loader = loader_class(dataset, **loader_kwargs(dataset, kwargs, training))
    return [[list(batch) for batch in loader] for _ in range(epochs)]


def _assert_same_batches(ours, theirs):
    assert len(ours) == len(theirs)
    for epoch, other in zip(ours, theirs, strict=True):
        assert len(epoch) == len(other)
        for (X, y), (X_other, y_other) in zip(epoch, other, strict=True):
            torch.testing.assert_close(X, X_other, rtol=0, atol=0)
            np.testing.assert_array_equal(np.asarray(y), np.asarray(y_other))


@pytest.mark.parametrize("training", [True, False])  # shuffled / in order
@pytest.mark.parametrize("kind", ["array", "view", "memmap", "strings", "no labels"])
def test_whole_batch_loader_yields_the_data_loaders_batches(tmp_path, kind, training):
    X = np.random.default_rng(0).integers(0, 256, (23, 3, 4, 4), dtype=np.uint8)
    y = np.arange(23) % 4
    if kind == "view":
        X = RowView(X, np.arange(22, -1, -1))
    elif kind == "memmap":
        np.save(tmp_path / "X.npy", X)
        X = np.load(tmp_path / "X.npy", mmap_mode="r")
    elif kind == "strings":
        y = np.array(["a", "b", "c"])[y % 3]
    dataset = ArrayDataset(X, None if kind == "no labels" else y)
    kwargs = {"batch_size": 5}
    ours = _epochs(WholeBatchLoader, dataset, kwargs, training)
    _assert_same_batches(ours, _epochs(DataLoader, dataset, kwargs, training))
    if training:  # a new order each epoch, set by the seed
        assert not torch.equal(ours[0][0][0], ours[1][0][0])
        _assert_same_batches(ours, _epochs(WholeBatchLoader, dataset, kwargs, True))
        other = _epochs(WholeBatchLoader, dataset, kwargs, True, seed=1)
        assert not torch.equal(ours[0][0][0], other[0][0][0])


def test_whole_batches_draw_from_the_loaders_generator_as_random_sampler_does():
    def batches(sampler):
        return [torch.as_tensor(batch).tolist() for batch in sampler]

    for seed in (0, 1):
        ours = WholeBatches(23, 5, True, torch.Generator().manual_seed(seed))
        theirs = BatchSampler(
            RandomSampler(range(23), generator=torch.Generator().manual_seed(seed)),
            5,
            drop_last=False,
        )
        assert batches(ours) == batches(theirs)
    dataset = ArrayDataset(np.arange(40, dtype=np.float32).reshape(20, 2))

    def order(seed, generator_seed=None):
        kwargs = {"batch_size": 20}
        if generator_seed is not None:
            kwargs["generator"] = torch.Generator().manual_seed(generator_seed)
        return _epochs(WholeBatchLoader, dataset, kwargs, True, seed=seed)

    _assert_same_batches(order(0, 3), order(1, 3))  # the generator decides
    assert not torch.equal(order(0, 3)[0][0][0], order(0, 4)[0][0][0])
    assert not torch.equal(order(0, 3)[0][0][0], order(0)[0][0][0])


def test_other_loaders_and_datasets_iterate_as_the_data_loader_does():
    X, y = np.ones((10, 2), dtype=np.float32), np.arange(10) % 2
    weighted = WeightedDataset(ArrayDataset(X, y), np.linspace(0.5, 2.0, 10))
    kwargs = {"batch_size": 4, "sampler": range(9, -1, -1)}  # a user's sampler
    for dataset, options in [
        (ArrayDataset(X, y), kwargs),
        (weighted, {"batch_size": 4}),
    ]:
        loader = WholeBatchLoader(dataset, **loader_kwargs(dataset, options, False))
        plain = DataLoader(dataset, **loader_kwargs(dataset, options, False))
        for ours, theirs in zip(loader, plain, strict=True):
            assert repr(ours) == repr(theirs)


class PlainLoader(DataLoader):
    """A user's own loader class: iterated by torch's DataLoader machinery."""


def test_a_fit_is_the_same_with_the_whole_batch_loader_as_with_torchs(tiny_images):
    X, y = tiny_images
    params = {"max_epochs": 2, "batch_size": 16, "random_state": 0}
    ours = KLPenaltyClassifier(**params).fit(X, y)
    theirs = KLPenaltyClassifier(
        iterator_train=PlainLoader, iterator_valid=PlainLoader, **params
    ).fit(X, y)
    assert isinstance(ours.get_iterator(ours.get_dataset(X, y)), WholeBatchLoader)
    np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(X))
    assert ours.history[:, "train_loss"] == theirs.history[:, "train_loss"]


def test_loader_worker_processes_give_the_same_fit(tiny_images):
    # With workers, torch's own iteration runs (the batches cross processes).
    X, y = tiny_images
    params = {"max_epochs": 2, "batch_size": 16, "random_state": 0}
    in_process = KLPenaltyClassifier(**params).fit(X, y)
    workers = KLPenaltyClassifier(iterator_train__num_workers=1, **params).fit(X, y)
    np.testing.assert_array_equal(in_process.predict_proba(X), workers.predict_proba(X))
