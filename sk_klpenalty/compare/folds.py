"""The folds of a compare job and the seed of each fit on them."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold, check_cv

__all__ = ["fold_seed", "resolve_cv"]


def fold_seed(random_state: int, repeat: int, fold: int) -> int:
    # Same seed for every configuration on a fold: the comparison is paired
    # in the weight initialisation and shuffling too, not only in the data.
    return int(
        np.random.SeedSequence([random_state, repeat, fold]).generate_state(1)[0]
    )


def resolve_cv(cv, random_state: int):
    """``cv`` as a splitter: None is 5 folds x 2 repeats, an int shuffled
    stratified folds, anything else what scikit-learn's ``check_cv`` makes."""
    if cv is None:
        return RepeatedStratifiedKFold(
            n_splits=5, n_repeats=2, random_state=random_state
        )
    if isinstance(cv, int):
        from sklearn.model_selection import StratifiedKFold

        return StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    return check_cv(cv, classifier=True)
