"""Ordered labels: strings with a given order, ordered Categoricals, numbers."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import DataConversionWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.labels import (
    batch_class_indices,
    check_class_values,
    check_labels,
    check_labels_known,
    class_values,
    label_indices,
    ordered_categories,
    resolve_classes,
)

ORDER = ["low", "mid", "high"]
FAST = {"max_epochs": 12, "batch_size": 32, "random_state": 0}


@pytest.fixture
def graded():
    """An easy ordered task with string labels (their alphabetical order is wrong)."""
    rng = np.random.RandomState(0)
    X = rng.randn(240, 3)
    y = np.array(ORDER)[np.digitize(X[:, 0], [-0.5, 0.5])]
    return X, y


def test_string_labels_follow_the_given_order_and_come_back_as_strings(graded):
    X, y = graded
    clf = KLPenaltyClassifier(classes=ORDER, **FAST).fit(X, y)
    assert clf.classes_.tolist() == ORDER  # not the alphabet's high < low < mid
    np.testing.assert_array_equal(clf.class_values_, [0.0, 1.0, 2.0])
    # The penalty measures distances in positions, in the given order.
    np.testing.assert_array_equal(clf.criterion_.class_values.numpy(), [0, 1, 2])
    predicted = clf.predict(X)
    assert set(predicted) <= set(ORDER) and predicted.dtype.kind == "U"
    assert np.mean(predicted == y) > 0.8
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(predicted, np.array(ORDER)[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_expectation(X), proba @ [0, 1, 2], rtol=1e-6)
    assert clf.score(X, y) == np.mean(predicted == y)


def test_mean_decode_of_string_labels_uses_positions(graded):
    X, y = graded
    clf = KLPenaltyClassifier(classes=ORDER, max_epochs=1, decode="mean").fit(X, y)
    clf.predict_proba = lambda X: np.array([[0.5, 0.0, 0.5], [0.1, 0.1, 0.8]])
    assert clf.predict(X[:2]).tolist() == ["mid", "high"]


def test_an_ordered_categorical_supplies_its_categories_in_order(graded):
    X, y = graded
    categories = ["none", *ORDER]  # "none" never occurs: still a class
    labels = pd.Categorical(y, categories=categories, ordered=True)
    clf = KLPenaltyClassifier(**FAST).fit(X, labels)
    assert clf.classes_.tolist() == categories
    declared = KLPenaltyClassifier(classes=categories, **FAST).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), declared.predict_proba(X))
    series = KLPenaltyClassifier(**FAST).fit(X, pd.Series(labels))
    assert series.classes_.tolist() == categories


def test_pandas_intervals_from_cut_are_ordered_labels(graded):
    X, _ = graded
    bins = pd.cut(X[:, 0], [-10, -0.5, 0.5, 10])
    clf = KLPenaltyClassifier(max_epochs=2).fit(X, bins)
    assert list(clf.classes_) == list(bins.categories)
    assert set(clf.predict(X)) <= set(bins.categories)


@pytest.mark.parametrize(
    "make_y, classes, match",
    [
        (lambda y: y, None, r"no order was given.*e.g. classes=\["),
        (lambda y: pd.Categorical(y), None, "ordered=True"),
        (lambda y: pd.Categorical(y, ORDER, ordered=True), ORDER[::-1], "different"),
        (lambda y: y, ["low", "mid"], r"not in classes: \['high'\]"),
        (lambda y: y, ["low", "mid", "low", "high"], "duplicate"),
    ],
)
def test_labels_without_a_clear_order_are_refused(graded, make_y, classes, match):
    X, y = graded
    with pytest.raises(ValueError, match=match):
        KLPenaltyClassifier(classes=classes, max_epochs=1).fit(X, make_y(y))


def test_numeric_labels_are_values_whatever_order_classes_come_in(graded):
    X, y = graded
    grades = np.array([1, 2, 4])[label_indices(y, np.array(ORDER))]
    clf = KLPenaltyClassifier(classes=[4, 1, 2], max_epochs=1).fit(X, grades)
    np.testing.assert_array_equal(clf.classes_, [1, 2, 4])
    np.testing.assert_array_equal(clf.class_values_, [1.0, 2.0, 4.0])
    scrambled = pd.Categorical(grades, categories=[4, 1, 2], ordered=True)
    with pytest.raises(ValueError, match="ascending"):
        KLPenaltyClassifier(max_epochs=1).fit(X, scrambled)


def test_partial_fit_refuses_labels_outside_the_classes(graded):
    X, y = graded
    clf = KLPenaltyClassifier(max_epochs=1)
    clf.partial_fit(X, y, classes=ORDER)
    clf.partial_fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:2], np.array(["low", "extreme"]))


def test_string_labels_in_a_pipeline_and_grid_search(graded):
    X, y = graded
    pipe = make_pipeline(StandardScaler(), KLPenaltyClassifier(classes=ORDER, **FAST))
    assert set(pipe.fit(X, y).predict(X)) <= set(ORDER)
    search = GridSearchCV(
        KLPenaltyClassifier(classes=ORDER, max_epochs=3, random_state=0),
        {"alpha": [0.0, 1.0]},
        cv=2,
        scoring="accuracy",
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.classes_.tolist() == ORDER


def test_resolution_and_mapping_helpers():
    labels = np.array(["mid", "low", "mid"])
    assert resolve_classes(labels, ORDER).tolist() == ORDER
    assert resolve_classes(np.array([3.5, 1.0])).tolist() == [1.0, 3.5]
    np.testing.assert_array_equal(label_indices(labels, np.array(ORDER)), [1, 0, 1])
    np.testing.assert_array_equal(label_indices([25, 21], np.array([21, 25])), [1, 0])
    with pytest.raises(ValueError, match="not in classes"):
        label_indices(["top"], np.array(ORDER))
    np.testing.assert_array_equal(class_values(np.array(ORDER)), [0.0, 1.0, 2.0])
    assert ordered_categories(pd.Categorical(labels)) is None  # unordered
    assert (
        ordered_categories(pd.Series(pd.Categorical(labels, ORDER, ordered=True)))[0]
        == "low"
    )


@pytest.mark.parametrize(
    "classes", [[0, 1, 2, 3], [18, 19, 20, 21], [-1, 0, 1, 2], [21, 22, 25, 40]]
)
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float64])
def test_batch_labels_map_to_the_index_of_their_class(classes, dtype):
    rng = np.random.RandomState(0)
    y = np.array(classes)[rng.randint(0, 4, 60)]
    X = rng.randn(60, 2)
    clf = KLPenaltyClassifier(max_epochs=1).fit(X, y)
    index = batch_class_indices(torch.as_tensor(y, dtype=dtype), clf.classes_)
    assert index.dtype == torch.int64
    np.testing.assert_array_equal(index.numpy(), label_indices(y, np.array(classes)))


def test_unvalidated_labels_of_a_dataset_are_checked_batch_by_batch():
    rng = np.random.RandomState(0)
    X = torch.as_tensor(rng.randn(64, 2), dtype=torch.float32)
    y = torch.as_tensor(rng.randint(0, 4, 64))
    y[5] = 7  # not among classes 0..3
    dataset = torch.utils.data.TensorDataset(X, y)
    with pytest.raises(ValueError, match=r"not in classes_: \[7"):
        KLPenaltyClassifier(classes=[0, 1, 2, 3], max_epochs=1).fit(dataset, None)


def test_labels_are_1d_finite_numbers_or_other_labels_without_gaps():
    with pytest.warns(DataConversionWarning):
        assert check_labels(np.array([[1], [2]])).shape == (2,)
    assert check_labels([True, False]).dtype == np.int64
    assert check_labels(np.array([1, 2.5], dtype=object)).dtype == np.float64
    assert check_labels(["low", "high"]).tolist() == ["low", "high"]
    with pytest.raises(ValueError, match="NaN"):
        check_labels([1.0, math.nan])
    with pytest.raises(ValueError, match="missing"):
        check_labels(np.array(["low", None], dtype=object))
    with pytest.raises(ValueError, match="1-D"):
        check_labels(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Unknown label type"):
        check_labels(np.array([1 + 2j]))


def test_class_values_are_sorted_numbers_or_labels_in_the_given_order():
    np.testing.assert_array_equal(check_class_values([3, 1, 2]), [1, 2, 3])
    assert check_class_values(["b", "c", "a"]).tolist() == ["b", "c", "a"]
    with pytest.raises(ValueError, match="duplicate"):
        check_class_values([1, 1, 2])
    with pytest.raises(ValueError, match="duplicate"):
        check_class_values(["b", "a", "b"])
    with pytest.raises(ValueError, match=r"not in classes: \[9\]"):
        check_labels_known(np.array([1, 9]), np.array([1, 2]), "classes")
    with pytest.raises(ValueError, match=r"not in classes: \['x'\]"):
        check_labels_known(np.array(["a", "x"]), np.array(["a", "b"]), "classes")
