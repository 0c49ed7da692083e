import contextlib
import os

import numpy as np
import pytest
import torch

from sk_klpenalty import KLPenaltyClassifier

# Two cores on CI: keep torch from oversubscribing them, also when pytest-xdist
# runs several test processes side by side.
_test_processes = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, torch.get_num_threads() // _test_processes)))

AGES = np.array([21, 22, 25, 40, 60])

# Tests of device="cuda": skipped on CPU-only machines (CI); a GPU session runs
# them with `python -m pytest -q -k cuda`.
requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"
)


@pytest.fixture
def ordinal_tabular():
    """An easy ordered task with gapped labels: the grade is a binned feature."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4)
    y = AGES[np.digitize(X[:, 0], [-1.0, -0.3, 0.3, 1.0])]
    return X, y


@pytest.fixture
def tiny_images():
    """Images whose label is the row of a bright bar: ordinal and learnable."""
    return bar_images(160, 4, 12)


def bar_images(n_samples: int, n_classes: int, side: int):
    """``side`` x ``side`` noise with a bright bar in the row of the label."""
    rng = np.random.RandomState(0)
    y = rng.randint(0, n_classes, n_samples)
    X = rng.rand(n_samples, 1, side, side).astype(np.float32) * 0.2
    for i, label in enumerate(y):
        X[i, 0, 2 + 2 * label] += 0.8
    return X, y


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch threads (a worker's count, for a serial
    run whose floating-point results must equal a parallel one's)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def no_host_sync(device):
    """On CUDA, make any operation that waits for the GPU raise an error."""
    if device != "cuda":
        yield
        return
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


# (random_state, ids of the training samples) of every RecordingClassifier fit
FITS = []


class RecordingClassifier(KLPenaltyClassifier):
    """Records which samples each fit trains on (pixel 0 holds the id)."""

    def fit(self, X, y, **fit_params):
        ids = np.rint(np.asarray(X)[:, 0, 0, 0] * 1000).astype(int)
        FITS.append((self.random_state, frozenset(ids.tolist())))
        return super().fit(X, y, **fit_params)


@pytest.fixture(scope="module")
def stamped():
    """An easy 3-class image task whose pixel 0 holds each sample's id."""
    X, y = bar_images(90, 3, 8)
    X[:, 0, 0, 0] = np.arange(len(y)) / 1000  # the sample's id
    return X, y


def recorded_compare(X, y, cv, **kwargs):
    """``compare_penalty`` (1 epoch, no controls) with a RecordingClassifier:
    the result, the outer splits and ``(random_state, ids)`` of every fit."""
    from sk_klpenalty.compare import compare_penalty

    FITS.clear()
    result = compare_penalty(
        X,
        y,
        estimator=RecordingClassifier(max_epochs=1, batch_size=32),
        cv=cv,
        controls=False,
        progress=False,
        **kwargs,
    )
    return result, list(cv.split(X, y)), list(FITS)
