"""ArrayDataset: whole batches by tensor indexing, without copying the arrays."""

import numpy as np
import torch
from torch.utils.data.dataloader import default_collate

from sk_klpenalty.data import (
    ArrayDataset,
    BatchAwareCollate,
    RowView,
    stack_batches,
    take_rows,
)


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
