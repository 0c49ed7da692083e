"""early_stopping with MLPClassifier's names: split, score, sign, best weights."""

import copy
import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.data import ArrayDataset
from sk_klpenalty.early_stopping import HoldOut


@pytest.fixture
def task():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3).astype(np.float32)
    y = np.digitize(X[:, 0] + 0.3 * rng.randn(200), [-0.5, 0.5])
    return X, y


class Snapshots(Callback):
    """The module's weights at the end of every epoch."""

    def initialize(self):
        self.weights = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.weights.append(copy.deepcopy(net.module_.state_dict()))


def score_peaking_at_epoch_4(estimator, X, y):
    """A negative score, best (highest) in epoch 4: skorch #765's trap."""
    return -10.0 - abs(len(estimator.history) - 4)


def test_stops_on_a_higher_is_better_score_and_keeps_the_best_epoch(task):
    X, y = task
    snapshots = Snapshots()
    clf = KLPenaltyClassifier(
        early_stopping=True,
        scoring=score_peaking_at_epoch_4,
        n_iter_no_change=3,
        max_epochs=50,
        random_state=0,
        callbacks=[snapshots],
    ).fit(X, y)
    assert clf.history[:, "valid_score"] == [-13, -12, -11, -10, -11, -12, -13]
    assert (clf.n_iter_, clf.best_epoch_) == (7, 4)
    kept = clf.module_.state_dict()
    for name, tensor in snapshots.weights[3].items():  # epoch 4's weights
        assert bool((kept[name] == tensor).all()), name
    assert not all(
        bool((kept[name] == tensor).all())
        for name, tensor in snapshots.weights[-1].items()
    )


def test_default_monitors_the_validation_loss_lower_is_better(task):
    X, y = task
    clf = KLPenaltyClassifier(
        early_stopping=True, n_iter_no_change=2, tol=0.0, max_epochs=200, random_state=0
    ).fit(X, y)
    losses = clf.history[:, "valid_loss"]
    assert clf.n_iter_ < 200 and clf.n_iter_ == len(losses)
    assert clf.best_epoch_ == int(np.argmin(losses)) + 1
    assert clf.n_iter_ - clf.best_epoch_ == 2


def test_improvements_below_tol_do_not_count(task):
    X, y = task
    clf = KLPenaltyClassifier(
        early_stopping=True,
        scoring=lambda est, X, y: 1e-5 * len(est.history),  # rises by 1e-5 an epoch
        tol=1e-4,
        n_iter_no_change=4,
        max_epochs=50,
    ).fit(X, y)
    assert (clf.n_iter_, clf.best_epoch_) == (5, 1)


def test_scorer_names_score_labels_with_the_weights_of_the_validation_part(task):
    X, y = task
    names = np.array(["low", "mid", "high"])[y]
    weights = np.arange(len(y), dtype=float) % 4
    received = []

    def weighted_accuracy(estimator, X, y, sample_weight=None):
        received.append(sample_weight)
        predicted = estimator.predict(X)
        assert set(predicted) <= {"low", "mid", "high"}  # labels, as y
        return float(np.average(predicted == y, weights=sample_weight))

    KLPenaltyClassifier(
        classes=["low", "mid", "high"],
        early_stopping=True,
        validation_fraction=0.25,
        scoring=weighted_accuracy,
        max_epochs=2,
        random_state=0,
    ).fit(X, names, sample_weight=weights)
    assert len(received) == 2 and len(received[0]) == 50
    assert set(received[0]) <= set(weights) and received[0].sum() > 0
    named = KLPenaltyClassifier(
        classes=["low", "mid", "high"],
        early_stopping=True,
        scoring="accuracy",
        max_epochs=2,
        random_state=0,
    ).fit(X, names, sample_weight=weights)
    assert 0 <= named.history[-1, "valid_score"] <= 1


def test_the_validation_part_is_stratified_and_seeded():
    y = np.repeat([0, 1, 2, 3], [40, 30, 20, 10])
    dataset = ArrayDataset(np.zeros((100, 2), dtype=np.float32), y)
    train, valid = HoldOut(0.2, random_state=0)(dataset, y)
    assert len(valid) == 20 and len(train) == 80
    np.testing.assert_array_equal(np.bincount(y[valid.indices]), [8, 6, 4, 2])
    again = HoldOut(0.2, random_state=0)(dataset, y)[1]
    other = HoldOut(0.2, random_state=1)(dataset, y)[1]
    assert list(valid.indices) == list(again.indices) != list(other.indices)


def test_a_class_too_rare_to_stratify_gives_a_plain_split_and_a_warning():
    y = np.array([0] * 30 + [1] * 29 + [2])
    dataset = ArrayDataset(np.zeros((60, 2), dtype=np.float32), y)
    with pytest.warns(UserWarning, match="not stratified"):
        train, valid = HoldOut(0.1, random_state=0)(dataset, y)
    assert len(valid) == 6


def test_same_random_state_same_early_stopped_model(task):
    X, y = task
    params = {"early_stopping": True, "max_epochs": 6, "random_state": 5}
    first = KLPenaltyClassifier(**params).fit(X, y)
    second = KLPenaltyClassifier(**params).fit(X, y)
    assert first.history[:, "valid_loss"] == second.history[:, "valid_loss"]
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_without_early_stopping_everything_trains_to_max_epochs(task):
    X, y = task
    clf = KLPenaltyClassifier(max_epochs=3).fit(X, y)
    assert clf.train_split is None and "valid_loss" not in clf.history[-1]
    assert (clf.n_iter_, clf.best_epoch_) == (3, 3)
    clf.partial_fit(X, y)
    assert (clf.n_iter_, clf.best_epoch_) == (6, 6)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"early_stopping": "yes"}, TypeError, "early_stopping"),
        ({"validation_fraction": 0.0}, ValueError, "validation_fraction"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
        ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change"),
        ({"n_iter_no_change": 2.5}, TypeError, "n_iter_no_change"),
        ({"tol": -1e-3}, ValueError, "tol"),
        ({"scoring": "accuracyy"}, ValueError, "scoring='accuracyy'"),
        ({"scoring": ["accuracy"]}, TypeError, "scoring"),
        (
            {"early_stopping": True, "train_split": ValidSplit(5)},
            ValueError,
            "train_split",
        ),
    ],
)
def test_bad_early_stopping_parameters_fail_before_training(task, params, error, match):
    X, y = task
    clf = KLPenaltyClassifier(max_epochs=1, **params)
    with pytest.raises(error, match=match):
        clf.fit(X, y)
    assert not clf.initialized_


def test_too_few_samples_for_a_validation_part(task):
    X, y = task
    with pytest.raises(ValueError, match="validation_fraction=0.99"):
        KLPenaltyClassifier(
            early_stopping=True, validation_fraction=0.99, max_epochs=1
        ).fit(X[:20], y[:20])


def test_early_stopping_in_a_pipeline_and_grid_search(task):
    X, y = task
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stratification fallback needed here
        search = GridSearchCV(
            make_pipeline(
                StandardScaler(),
                KLPenaltyClassifier(early_stopping=True, max_epochs=30, random_state=0),
            ),
            {"klpenaltyclassifier__n_iter_no_change": [1, 3]},
            cv=2,
        ).fit(X, y)
    assert search.best_estimator_[-1].n_iter_ <= 30


def test_a_scorer_without_sample_weight_is_unweighted_with_one_warning(task):
    X, y = task
    clf = KLPenaltyClassifier(
        early_stopping=True,
        scoring=lambda est, X, y: float(np.mean(est.predict(X) == y)),
        max_epochs=3,
    )
    with pytest.warns(UserWarning, match="unweighted") as record:
        clf.fit(X, y, sample_weight=np.arange(len(y)) % 3)
    assert sum("unweighted" in str(w.message) for w in record) == 1
