"""The folds of a compare job, the seed of each fit on them, and their sizes.

Without ``groups`` the folds are a repeated stratified K-fold; with
``groups`` (several photos of one person, scans of one patient, rotated
copies of one digit) a stratified *group* K-fold, repeated with different
shuffles, so that no group is on both sides of a split.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import (
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    check_cv,
)

__all__ = ["fold_seed", "make_splits", "split_ratio"]


def fold_seed(random_state: int, repeat: int, fold: int) -> int:
    """The seed of every fit on a fold: the same for every configuration, so
    that the comparison is paired in initialisation and shuffling too."""
    return int(
        np.random.SeedSequence([random_state, repeat, fold]).generate_state(1)[0]
    )


class RepeatedStratifiedGroupKFold:
    """``StratifiedGroupKFold`` repeated ``n_repeats`` times with different
    shuffles (scikit-learn has no repeated form of it).

    Examples
    --------
    >>> cv = RepeatedStratifiedGroupKFold(n_splits=2, n_repeats=2, random_state=0)
    >>> y, groups = np.array([0, 0, 1, 1] * 3), np.arange(12) // 2
    >>> len(list(cv.split(np.zeros(12), y, groups)))
    4
    """

    def __init__(self, n_splits: int = 5, n_repeats: int = 1, random_state=None):
        self.n_splits = n_splits
        self.n_repeats = n_repeats
        self.random_state = random_state

    def split(self, X, y, groups):
        rng = np.random.RandomState(self.random_state)
        for _ in range(self.n_repeats):
            seed = rng.randint(np.iinfo(np.int32).max)
            folds = StratifiedGroupKFold(self.n_splits, shuffle=True, random_state=seed)
            yield from folds.split(X, y, groups)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits * self.n_repeats

    def __repr__(self) -> str:
        return (
            f"RepeatedStratifiedGroupKFold(n_repeats={self.n_repeats}, "
            f"n_splits={self.n_splits}, random_state={self.random_state})"
        )


def resolve_cv(cv, random_state: int, groups=None, n_splits=4, n_repeats=1):
    """``cv`` as a splitter: None is ``n_splits`` folds x ``n_repeats``
    (grouped with ``groups``), an int that many shuffled folds once, anything
    else what scikit-learn's ``check_cv`` makes of it."""
    if isinstance(cv, int) and not isinstance(cv, bool):
        if groups is not None:
            return RepeatedStratifiedGroupKFold(cv, 1, random_state)
        return StratifiedKFold(cv, shuffle=True, random_state=random_state)
    if cv is not None:
        return check_cv(cv, classifier=True)
    if groups is not None:
        return RepeatedStratifiedGroupKFold(n_splits, n_repeats, random_state)
    return RepeatedStratifiedKFold(
        n_splits=n_splits, n_repeats=n_repeats, random_state=random_state
    )


def make_splits(cv, X, y, groups=None) -> tuple[list, list]:
    """The splits of ``cv`` and their ``(repeat, fold)`` ids; with ``groups``,
    checked to keep every group on one side."""
    splits = list(cv.split(X, y, groups))
    per_repeat = len(splits) // max(1, int(getattr(cv, "n_repeats", 1) or 1))
    ids = [(i // per_repeat, i % per_repeat) for i in range(len(splits))]
    if groups is not None:
        for train, test in splits:
            shared = np.intersect1d(groups[train], groups[test])
            if len(shared):
                raise ValueError(
                    f"cv={cv!r} puts group {shared[0]!r} on both sides of a split; "
                    "with groups, use a group splitter (e.g. StratifiedGroupKFold)."
                )
    return splits, ids


def split_ratio(splits) -> float:
    """``n_test / n_train`` of the splits as they came out, for the
    corrected resampled t-test (grouped folds are not all the same size)."""
    return float(np.mean([len(test) / len(train) for train, test in splits]))
