"""The folds of a compare job (grouped or not), their training-size
subsamples and the seed of each fit on them."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import (
    BaseCrossValidator,
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    check_cv,
    train_test_split,
)

__all__ = ["check_train_sizes", "fold_seed", "make_splits", "make_tasks"]


def fold_seed(random_state: int, *key) -> int:
    """The seed of every configuration's fit on a fold (``key``: repeat, fold)."""
    return int(np.random.SeedSequence([random_state, *key]).generate_state(1)[0])


class RepeatedStratifiedGroupKFold(BaseCrossValidator):
    """``StratifiedGroupKFold`` repeated with different shuffles."""

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


def resolve_cv(cv, random_state: int, groups=None, n_splits=4, n_repeats=1):
    """``cv`` as a splitter; None: ``n_splits`` x ``n_repeats`` (grouped) folds."""
    if isinstance(cv, int) and not isinstance(cv, bool):
        if groups is None:
            return StratifiedKFold(cv, shuffle=True, random_state=random_state)
        n_splits, n_repeats, cv = cv, 1, None
    if cv is not None:
        return check_cv(cv, classifier=True)
    if groups is not None:
        return RepeatedStratifiedGroupKFold(n_splits, n_repeats, random_state)
    return RepeatedStratifiedKFold(
        n_splits=n_splits, n_repeats=n_repeats, random_state=random_state
    )


def make_splits(cv, X, y, groups=None) -> tuple[list, list]:
    """The splits of ``cv`` (checked to keep groups apart), ``(repeat, fold)`` ids."""
    splits = list(cv.split(X, y, groups))
    per_repeat = len(splits) // int(getattr(cv, "n_repeats", 1) or 1)
    for train, test in splits if groups is not None else ():
        shared = np.intersect1d(groups[train], groups[test])
        if len(shared):
            raise ValueError(
                f"cv={cv!r} puts group {shared[0]!r} on both sides of a split; "
                "with groups, use a group splitter (e.g. StratifiedGroupKFold)."
            )
    return splits, [divmod(i, per_repeat) for i in range(len(splits))]


def check_train_sizes(train_sizes) -> tuple[float, ...]:
    """Sorted, distinct fractions in (0, 1], else a ``ValueError``/``TypeError``.

    Examples
    --------
    >>> check_train_sizes([1, 0.3, 0.1])
    (0.1, 0.3, 1.0)
    """
    allowed = "fractions of each training fold in (0, 1], e.g. (0.1, 0.3, 1.0)"
    try:
        sizes = np.atleast_1d(np.asarray(train_sizes, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(
            f"train_sizes must be {allowed}; got {train_sizes!r}."
        ) from None
    if not sizes.size or not np.all((sizes > 0) & (sizes <= 1)):  # NaN fails too
        raise ValueError(f"train_sizes must be {allowed}; got {train_sizes!r}.")
    return tuple(sorted(set(sizes.tolist())))


def _subsample(train, y, groups, size: float, seed: int) -> np.ndarray:
    """A stratified share ``size`` of ``train``'s samples, or of its groups."""
    if groups is None:
        kept, _ = train_test_split(
            train, train_size=size, stratify=y[train], random_state=seed
        )
        return np.sort(kept)
    names, first = np.unique(groups[train], return_index=True)
    kept, _ = train_test_split(
        names, train_size=size, stratify=y[train][first], random_state=seed
    )
    return np.sort(train[np.isin(groups[train], kept)])


def make_tasks(
    splits, split_ids, y, groups, train_sizes, random_state, sample_weight=None
) -> list:
    """One task per split and size: ``key``, rows, ``seed``, groups, fit params."""
    tasks = []
    for split_id, (train, test) in zip(split_ids, splits, strict=True):
        for size in train_sizes:
            subset = train
            if size < 1.0:  # the same subsample for every configuration
                seed = fold_seed(random_state, *split_id, round(size * 1_000_000))
                try:
                    subset = _subsample(train, y, groups, size, seed)
                except ValueError as error:
                    raise ValueError(
                        f"train_sizes: {size:g} of a training fold of {len(train)} "
                        f"samples cannot be stratified over its classes ({error}); "
                        "use larger fractions."
                    ) from None
            key = {"repeat": split_id[0], "fold": split_id[1], "train_size": size}
            task = {"key": key, "train": subset, "test": test, "fit_params": {}}
            task["seed"] = fold_seed(random_state, *split_id)
            task["groups"] = None if groups is None else groups[subset]
            if sample_weight is not None:
                task["fit_params"]["sample_weight"] = sample_weight[subset]
            tasks.append(task)
    return tasks
