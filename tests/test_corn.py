"""CORNClassifier, the rank-consistent peer, as scikit-learn users use it."""

import pickle

import numpy as np
import pytest
import torch
from conftest import AGES, requires_cuda
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_klpenalty import CORNClassifier
from sk_klpenalty.losses import CORNLoss, corn_loss, corn_probabilities

FAST = {"max_epochs": 20, "batch_size": 32, "random_state": 0}


def test_learns_an_easy_ordinal_problem_with_k_minus_1_outputs(ordinal_tabular):
    X, y = ordinal_tabular
    clf = CORNClassifier(**FAST).fit(X, y)
    assert clf.module_.layers[-1].out_features == len(AGES) - 1
    assert isinstance(clf.criterion_, CORNLoss)
    assert np.mean(clf.predict(X) == y) > 0.8
    assert set(clf.predict(X)) <= set(AGES)


def test_probabilities_come_from_the_conditional_chain(ordinal_tabular):
    X, y = ordinal_tabular
    clf = CORNClassifier(max_epochs=3, random_state=0).fit(X, y)
    with torch.no_grad():
        logits = clf.module_.eval()(torch.as_tensor(X, dtype=torch.float32))
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, corn_probabilities(logits).numpy(), atol=1e-6)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), AGES[proba.argmax(1)])
    np.testing.assert_allclose(clf.predict_expectation(X), proba @ AGES, rtol=1e-6)


def test_median_decode_is_corns_own_rule(ordinal_tabular):
    X, y = ordinal_tabular
    clf = CORNClassifier(max_epochs=3, random_state=0, decode="median").fit(X, y)
    with torch.no_grad():
        logits = clf.module_.eval()(torch.as_tensor(X, dtype=torch.float32))
    rank = (torch.cumprod(torch.sigmoid(logits), 1) > 0.5).sum(1).numpy()
    np.testing.assert_array_equal(clf.predict(X), AGES[rank])


def test_training_minimises_the_corn_loss_on_class_indices(ordinal_tabular):
    X, y = ordinal_tabular
    # One batch of all samples, no dropout, no step: the logged loss is the
    # CORN loss of the (untrained) network on the class indices.
    clf = CORNClassifier(
        max_epochs=1, batch_size=-1, lr=0.0, module__dropout=0.0, random_state=0
    ).fit(X, y)
    with torch.no_grad():
        logits = clf.module_.eval()(torch.as_tensor(X, dtype=torch.float32))
    index = torch.as_tensor(np.searchsorted(AGES, y))
    expected = corn_loss(logits, index, len(AGES)).item()
    assert clf.history[-1, "train_loss"] == pytest.approx(expected, rel=1e-5)


def test_two_classes_have_one_output():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 2).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = CORNClassifier(max_epochs=10, random_state=0).fit(X, y)
    assert clf.module_.layers[-1].out_features == 1
    assert np.mean(clf.predict(X) == y) > 0.8


def test_grid_search_cross_val_score_pipeline_and_pickle(ordinal_tabular):
    X, y = ordinal_tabular
    search = GridSearchCV(
        CORNClassifier(max_epochs=3, random_state=0),
        {"lr": [1e-3, 1e-2]},
        cv=2,
        scoring="neg_mean_absolute_error",
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    scores = cross_val_score(CORNClassifier(**FAST), X, y, cv=3)
    assert scores.shape == (3,) and (scores > 0.5).all()
    pipe = make_pipeline(StandardScaler(), CORNClassifier(**FAST)).fit(X, y)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(X), pipe.predict_proba(X))


def test_same_random_state_same_model_on_images(tiny_images):
    X, y = tiny_images
    first = CORNClassifier(max_epochs=2, random_state=3).fit(X, y)
    second = CORNClassifier(max_epochs=2, random_state=3).fit(X, y)
    assert first.module_.classifier[-1].out_features == 3
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


@requires_cuda
def test_cuda_fit_keeps_the_model_on_the_gpu_and_predicts(ordinal_tabular):
    X, y = ordinal_tabular
    clf = CORNClassifier(max_epochs=2, device="cuda", random_state=0).fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    assert set(clf.predict(X)) <= set(AGES)
