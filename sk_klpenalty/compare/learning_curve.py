"""When does the penalty help? Its difference to the baseline by training size.

Each outer training fold is subsampled (stratified, seeded by the split and
the size, so every configuration trains on the same subsample) to each
fraction of ``train_sizes``; the test fold stays whole. The report then
shows each configuration's paired difference to the baseline, with its
corrected resampled t interval, at every size: a gain that only shows at the
small sizes is a small-data effect.
"""

from __future__ import annotations

import numbers

import numpy as np

from .stats import paired_differences

__all__ = ["check_train_sizes", "learning_curve", "sized_splits"]

_ALLOWED = "fractions of each training fold in (0, 1], e.g. (0.1, 0.3, 1.0)"


def check_train_sizes(train_sizes) -> tuple[float, ...]:
    """Sorted, distinct fractions in (0, 1], else a ``ValueError``/``TypeError``.

    Examples
    --------
    >>> check_train_sizes([1, 0.3, 0.1])
    (0.1, 0.3, 1.0)
    """
    if isinstance(train_sizes, numbers.Real):
        train_sizes = (train_sizes,)
    try:
        values = [float(size) for size in train_sizes]
    except (TypeError, ValueError):
        raise TypeError(
            f"train_sizes must be {_ALLOWED}; got {train_sizes!r}."
        ) from None
    bad = [v for v in values if not 0.0 < v <= 1.0]  # also catches NaN
    if not values or bad:
        raise ValueError(f"train_sizes must be {_ALLOWED}; got {train_sizes!r}.")
    return tuple(sorted(set(values)))


def _subsample_seed(random_state: int, split: tuple[int, int], size: float) -> int:
    # The same subsample for every configuration; a fresh one per split and size.
    key = [random_state, *split, round(size * 1_000_000)]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def _subsample(train, y, groups, size: float, seed: int) -> np.ndarray:
    """A stratified share ``size`` of ``train``: of its samples, or of its
    groups (whole groups kept or dropped), stratified by a group's first label."""
    from sklearn.model_selection import train_test_split

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


def sized_splits(splits, split_ids, y, groups, train_sizes, random_state) -> list:
    """One task per split and size: ``{"split", "key", "train", "test"}``.

    ``train`` is a stratified, seeded subsample of the split's training
    indices (all of them at size 1). Raises a ``ValueError`` naming
    ``train_sizes`` when a subsample cannot hold every class.
    """
    tasks = []
    for split_id, (train, test) in zip(split_ids, splits, strict=True):
        for size in train_sizes:
            subset = train
            if size < 1.0:
                seed = _subsample_seed(random_state, split_id, size)
                try:
                    subset = _subsample(train, y, groups, size, seed)
                except ValueError as error:
                    raise ValueError(
                        f"train_sizes: {size:g} of a training fold of {len(train)} "
                        f"samples cannot be stratified over its classes ({error}); "
                        "use larger fractions."
                    ) from None
            key = {"repeat": split_id[0], "fold": split_id[1], "train_size": size}
            tasks.append({"split": split_id, "key": key, "train": subset, "test": test})
    return tasks


def learning_curve(records, baseline_of: dict[str, str], metrics, decode: str):
    """Each configuration minus its baseline at every training size.

    Returns a DataFrame with ``train_size``, ``n_train`` (mean over splits),
    the columns of :func:`~sk_klpenalty.compare.stats.paired_differences`
    and ``baseline_mean`` (the baseline's mean of the metric at that size).
    """
    import pandas as pd

    frames = []
    records = records[records["decode"] == decode]
    for size, group in records.groupby("train_size", sort=True):
        ratio = float(np.mean(group["n_test"] / group["n_train"]))
        frame = paired_differences(group, baseline_of, metrics, ratio)
        means = group.groupby("config")[list(metrics)].mean()
        frame["baseline_mean"] = [
            means.loc[b, m] if b in means.index else np.nan
            for b, m in zip(frame["baseline"], frame["metric"], strict=True)
        ]
        frame.insert(0, "n_train", float(group["n_train"].mean()))
        frame.insert(0, "train_size", size)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
