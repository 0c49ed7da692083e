"""Seeded fits that leave the global torch random generator as it was."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral

import torch
from sklearn.utils import check_random_state

__all__ = ["seeded"]

# torch has one global random generator per process: seeded fits that share a
# process (threading backend, multi-threaded dask workers) run one at a time.
_SEEDED_FITS = threading.RLock()


@contextmanager
def seeded(random_state, device: torch.device, epochs_done: int = 0) -> Iterator[None]:
    """Run the block with torch's global RNG seeded from ``random_state``
    (``None``: left alone) and restored afterwards; continued training
    (``epochs_done > 0``) gets a new seed, not the first epochs' shuffles.

    Examples
    --------
    >>> with seeded(0, torch.device("cpu")):
    ...     a = torch.rand(2)
    >>> with seeded(0, torch.device("cpu")):
    ...     b = torch.rand(2)
    >>> bool((a == b).all())
    True
    """
    if random_state is None:
        yield
        return
    if isinstance(random_state, Integral):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(2**31 - 1))
    cuda = [device.index or 0] if device.type == "cuda" else []
    with _SEEDED_FITS, torch.random.fork_rng(devices=cuda):
        torch.manual_seed((seed + epochs_done) % 2**63)
        yield
