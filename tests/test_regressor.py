"""OrdinalRegressor, the regression peer, as scikit-learn users use it."""

import pickle

import numpy as np
import pytest
import torch
from conftest import AGES, requires_cuda
from sklearn.base import is_classifier
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_klpenalty import OrdinalRegressor
from sk_klpenalty.modules import MLP

FAST = {"max_epochs": 20, "batch_size": 32, "random_state": 0}


def test_learns_an_easy_ordinal_problem_in_label_units(ordinal_tabular):
    X, y = ordinal_tabular
    reg = OrdinalRegressor(**FAST).fit(X, y)
    assert reg.module_.layers[-1].out_features == 1
    assert reg.y_mean_ == pytest.approx(y.mean())
    assert reg.y_scale_ == pytest.approx(y.std())
    expected = reg.predict_expectation(X)
    assert np.mean((expected - y) ** 2) < 0.3 * y.var()
    assert set(reg.predict(X)) <= set(AGES)


def test_predict_is_the_class_nearest_to_the_output(ordinal_tabular):
    X, y = ordinal_tabular
    reg = OrdinalRegressor(max_epochs=3, random_state=0).fit(X, y)
    raw = reg.predict_expectation(X)
    nearest = AGES[np.abs(raw[:, None] - AGES[None, :]).argmin(axis=1)]
    np.testing.assert_array_equal(reg.predict(X), nearest)
    # The raw output is the network's output, un-standardised.
    with torch.no_grad():
        output = reg.module_.eval()(torch.as_tensor(X, dtype=torch.float32))[:, 0]
    np.testing.assert_allclose(
        raw, output.numpy() * y.std() + y.mean(), rtol=1e-5, atol=1e-4
    )


def test_predict_proba_is_one_hot_at_the_prediction(ordinal_tabular):
    X, y = ordinal_tabular
    reg = OrdinalRegressor(max_epochs=2, random_state=0, decode="mean").fit(X, y)
    proba = reg.predict_proba(X)
    assert proba.shape == (len(X), len(AGES)) and proba.dtype == np.float32
    assert set(np.unique(proba)) <= {0.0, 1.0}
    np.testing.assert_array_equal(proba.sum(1), 1.0)
    np.testing.assert_array_equal(reg.classes_[proba.argmax(1)], reg.predict(X))


def test_trains_on_standardised_labels_whatever_their_scale(ordinal_tabular):
    X, y = ordinal_tabular
    small = OrdinalRegressor(**FAST).fit(X, y)
    large = OrdinalRegressor(**FAST).fit(X, y * 1000 + 5)
    # Same standardised targets, same seed: the same network, rescaled outputs.
    np.testing.assert_allclose(
        large.predict_expectation(X),
        small.predict_expectation(X) * 1000 + 5,
        rtol=1e-4,
    )


def test_declared_classes_and_float_labels():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 2).astype(np.float32)
    y = np.where(X[:, 0] > 0, 2.5, 0.5)
    reg = OrdinalRegressor(max_epochs=2, classes=[0.5, 1.5, 2.5]).fit(X, y)
    assert reg.classes_.tolist() == [0.5, 1.5, 2.5]
    assert reg.predict_proba(X).shape == (60, 3)
    assert reg.predict(X).dtype.kind == "f"


def test_is_a_classifier_of_ordered_classes_for_scikit_learn():
    assert is_classifier(OrdinalRegressor())


def test_grid_search_cross_val_score_pipeline_and_pickle(ordinal_tabular):
    X, y = ordinal_tabular
    search = GridSearchCV(
        OrdinalRegressor(max_epochs=3, random_state=0),
        {"lr": [1e-3, 1e-2]},
        cv=2,
        scoring="neg_mean_absolute_error",
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    scores = cross_val_score(OrdinalRegressor(**FAST), X, y, cv=3)
    assert scores.shape == (3,) and (scores > 0.5).all()  # accuracy, stratified
    pipe = make_pipeline(StandardScaler(), OrdinalRegressor(**FAST)).fit(X, y)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))
    np.testing.assert_array_equal(
        restored[-1].predict_expectation(X), pipe[-1].predict_expectation(X)
    )


def test_same_random_state_same_model(tiny_images):
    X, y = tiny_images
    first = OrdinalRegressor(max_epochs=2, random_state=3).fit(X, y)
    second = OrdinalRegressor(max_epochs=2, random_state=3).fit(X, y)
    np.testing.assert_array_equal(
        first.predict_expectation(X), second.predict_expectation(X)
    )


@pytest.mark.filterwarnings("ignore:precision='bf16' is not supported")
def test_images_and_bf16(tiny_images):
    X, y = tiny_images
    reg = OrdinalRegressor(max_epochs=8, precision="bf16", random_state=0).fit(X, y)
    assert reg.module_.classifier[-1].out_features == 1
    assert np.mean(reg.predict(X) == y) > 0.5
    assert reg.predict_expectation(X).dtype == np.float64


def test_a_module_with_several_outputs_is_a_clear_error(ordinal_tabular):
    X, y = ordinal_tabular
    reg = OrdinalRegressor(
        module=MLP, module__n_features=4, module__n_classes=5, max_epochs=1
    )
    with pytest.raises(ValueError, match="one output per sample"):
        reg.fit(X, y)


def test_bad_parameters_fail_before_training(ordinal_tabular):
    X, y = ordinal_tabular
    reg = OrdinalRegressor(precision="fp8")
    with pytest.raises(ValueError, match="precision"):
        reg.fit(X, y)
    assert not reg.initialized_


@requires_cuda
def test_cuda_fit_keeps_the_model_on_the_gpu_and_predicts(ordinal_tabular):
    X, y = ordinal_tabular
    reg = OrdinalRegressor(max_epochs=2, device="cuda", random_state=0).fit(X, y)
    assert next(reg.module_.parameters()).is_cuda
    assert set(reg.predict(X)) <= set(AGES)
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(
        restored.predict_expectation(X), reg.predict_expectation(X)
    )
