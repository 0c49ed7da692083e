"""ArrayDataset: whole batches by tensor indexing, without copying the arrays."""

import numpy as np
import torch
from torch.utils.data.dataloader import default_collate

from sk_klpenalty.data import ArrayDataset, BatchAwareCollate


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
