"""Subject-exclusive folds: with groups, no group is on both sides of any outer
fold, inner fold or learning-curve subsample."""

import numpy as np
import pytest
from conftest import FITS, RecordingClassifier
from sklearn.model_selection import StratifiedKFold

from sk_klpenalty.compare import compare_penalty
from sk_klpenalty.compare.configs import NESTED
from sk_klpenalty.compare.folds import (
    RepeatedStratifiedGroupKFold,
    fold_seed,
    make_splits,
)


@pytest.fixture(scope="module")
def grouped_run(stamped):
    X, y = stamped  # pixel 0 holds each sample's id
    groups = np.arange(len(y)) // 3  # three samples a subject
    FITS.clear()
    result = compare_penalty(
        X, y, groups=groups, cv=3, sigmas=(1.0, 3.0), tune="nested", inner_cv=2,
        train_sizes=(0.5, 1.0), controls=False, progress=False,
        estimator=RecordingClassifier(max_epochs=1, batch_size=32),
    )  # fmt: skip
    cv = RepeatedStratifiedGroupKFold(3, 1, random_state=0)
    splits = list(cv.split(X, y, groups))
    return result, splits, list(FITS), groups


def test_no_group_is_on_both_sides_of_any_fit(grouped_run):
    result, splits, fits, groups = grouped_run
    for fold, (train, test) in enumerate(splits):
        assert not set(groups[train]) & set(groups[test])
        trained = [ids for state, ids in fits if state == fold_seed(0, 0, fold)]
        # baseline and 2 settings at 2 sizes, then the nested search at 2
        # sizes: 2 settings x 2 inner folds + the refit, each.
        assert len(trained) == 3 * 2 + (2 * 2 + 1) * 2
        for ids in trained:
            ids = np.array(sorted(ids))
            assert set(ids) <= set(train.tolist())  # never the outer test fold
            # Whole groups only: every subject is in or out, in every fit,
            # inner folds and learning-curve subsamples included.
            kept = set(groups[ids])
            assert all(set(np.flatnonzero(groups == g)) <= set(ids) for g in kept)


def test_the_grouped_report_says_so_and_has_its_nested_row(grouped_run):
    result, splits, _, _ = grouped_run
    text = result.to_markdown()
    assert "Groups: no group is on both sides of any split." in text
    assert f"| {NESTED} | argmax |" in text
    assert result.job["test_train_ratio"] == pytest.approx(
        np.mean([len(test) / len(train) for train, test in splits])
    )


def test_repeats_shuffle_the_groups_anew_and_keep_them_apart():
    y = np.tile([0, 1, 2], 40)
    groups = np.arange(120) // 4
    cv = RepeatedStratifiedGroupKFold(n_splits=4, n_repeats=2, random_state=0)
    splits, ids = make_splits(cv, np.zeros((120, 1)), y, groups)
    assert ids == [(r, f) for r in range(2) for f in range(4)]
    assert not np.array_equal(splits[0][1], splits[4][1])
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])


def test_a_splitter_that_splits_a_group_is_refused(stamped):
    X, y = stamped
    with pytest.raises(ValueError, match="on both sides of a split"):
        compare_penalty(
            X, y, groups=np.arange(len(y)) // 3, progress=False,
            cv=StratifiedKFold(3, shuffle=True, random_state=0),
        )  # fmt: skip
    with pytest.raises(ValueError, match="groups must have one entry per sample"):
        compare_penalty(X, y, groups=np.arange(5), progress=False)
