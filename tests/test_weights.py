"""sample_weight and class_weight: checks, semantics, and scikit-learn's routing."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from sk_klpenalty import CORNClassifier, KLPenaltyClassifier, OrdinalRegressor
from sk_klpenalty.weights import WeightedDataset, check_sample_weight

# Full-batch, no dropout: a fit is then a function of the weighted data only.
EXACT = {
    "max_epochs": 5,
    "batch_size": -1,
    "module__dropout": 0.0,
    "random_state": 0,
}


@pytest.fixture
def task():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 3).astype(np.float32)
    y = np.digitize(X[:, 0], [-1.0, 0.0, 1.0])  # 4 ordered classes, unbalanced
    return X, y


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1.0, -0.5, 1.0], "must be >= 0"),
        ([1.0, np.nan, 1.0], "NaN"),
        ([1.0, 1.0], r"shape \(3,\)"),
        (np.ones((3, 1)), r"shape \(3,\)"),
        ([0.0, 0.0, 0.0], "sums to zero"),
    ],
)
def test_bad_sample_weights_get_a_clear_error(weights, match):
    with pytest.raises(ValueError, match=match):
        check_sample_weight(weights, 3)


def test_bad_sample_weights_fail_before_training(task):
    X, y = task
    clf = KLPenaltyClassifier(max_epochs=1)
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(X, y, sample_weight=-np.ones(len(y)))
    assert not clf.initialized_
    np.testing.assert_array_equal(check_sample_weight(2, 2), [2.0, 2.0])


@pytest.mark.parametrize(
    "estimator", [KLPenaltyClassifier, OrdinalRegressor, CORNClassifier]
)
def test_zero_weights_are_as_if_the_samples_were_absent(task, estimator):
    # The peers weigh their own losses (MSE, CORN) the same way.
    X, y = task
    weights = np.where(np.arange(len(y)) % 3 == 0, 0.0, 1.5)
    weighted = estimator(**EXACT).fit(X, y, sample_weight=weights)
    kept = weights > 0
    subset = estimator(**EXACT).fit(X[kept], y[kept])
    np.testing.assert_allclose(
        weighted.predict_expectation(X),
        subset.predict_expectation(X),
        rtol=1e-4,
        atol=1e-5,
    )


def test_equal_weights_train_exactly_as_no_weights(task):
    X, y = task
    plain = KLPenaltyClassifier(**EXACT).fit(X, y)
    equal = KLPenaltyClassifier(**EXACT).fit(X, y, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_array_equal(plain.predict_proba(X), equal.predict_proba(X))


def test_class_weight_balanced_multiplies_sample_weight(task):
    X, y = task
    weights = np.random.RandomState(1).rand(len(y))
    balanced = KLPenaltyClassifier(class_weight="balanced", **EXACT)
    balanced.fit(X, y, sample_weight=weights)
    by_hand = KLPenaltyClassifier(**EXACT).fit(
        X, y, sample_weight=weights * compute_sample_weight("balanced", y)
    )
    np.testing.assert_array_equal(balanced.predict_proba(X), by_hand.predict_proba(X))


def test_a_class_weight_dict_of_float_labels_weighs_each_sample_by_its_class(task):
    X, y = task
    grades = y * 0.5 + 1.0  # 1.0, 1.5, 2.0, 2.5: float labels
    weights = {1.5: 4.0, 2.5: 0.5}
    weighted = KLPenaltyClassifier(class_weight=weights, **EXACT).fit(X, grades)
    by_hand = KLPenaltyClassifier(**EXACT).fit(
        X, grades, sample_weight=[weights.get(g, 1.0) for g in grades]
    )
    np.testing.assert_array_equal(weighted.predict_proba(X), by_hand.predict_proba(X))


def test_class_weight_shifts_predictions_towards_a_heavy_class(task):
    X, y = task
    settings = {**EXACT, "max_epochs": 30}
    plain = KLPenaltyClassifier(**settings).fit(X, y)
    heavy = KLPenaltyClassifier(class_weight={0: 20.0}, **settings).fit(X, y)
    assert (heavy.predict(X) == 0).sum() > (plain.predict(X) == 0).sum()


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ("auto", "class_weight must be"),
        ({0: 1.0, 9: 2.0}, r"not classes: \[9\]"),
        ({0: -1.0}, "numbers >= 0"),
        ({0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0}, "sums to zero"),
    ],
)
def test_bad_class_weights_get_a_clear_error(task, class_weight, match):
    X, y = task
    with pytest.raises(ValueError, match=match):
        KLPenaltyClassifier(class_weight=class_weight, max_epochs=1).fit(X, y)


def test_weights_need_a_criterion_that_takes_them(task):
    X, y = task
    clf = KLPenaltyClassifier(criterion=torch.nn.CrossEntropyLoss, max_epochs=1)
    with pytest.raises(ValueError, match="criterion whose forward takes sample_weight"):
        clf.fit(X, y, sample_weight=np.arange(len(y)) % 2)


def test_weights_with_a_user_collate_fn_and_string_labels(task):
    X, y = task
    names = np.array(["a", "b", "c", "d"])[y]
    seen = []

    def collate(samples):
        seen.append(samples[0][0]["sample_weight"])
        return torch.utils.data.default_collate(samples)

    clf = KLPenaltyClassifier(
        classes=["a", "b", "c", "d"], max_epochs=1, iterator_train__collate_fn=collate
    ).fit(X, names, sample_weight=np.arange(len(y)) % 3)
    assert seen and set(clf.predict(X)) <= set(names)


def test_weighted_dataset_serves_weights_beside_x(task):
    X, y = task
    from sk_klpenalty.data import ArrayDataset

    data = WeightedDataset(ArrayDataset(X, y), np.arange(len(y)))
    batch_X, batch_y = data.__getitems__([5, 2])
    assert batch_X["sample_weight"].tolist() == [5.0, 2.0]
    np.testing.assert_array_equal(batch_X["X"].numpy(), X[[5, 2]])
    assert data[7][0]["sample_weight"].item() == 7.0


class RecordingClassifier(KLPenaltyClassifier):
    """Records the sample weights each fit receives."""

    received: list = []

    def fit(self, X, y, sample_weight=None, **fit_params):
        weights = None if sample_weight is None else len(sample_weight)
        RecordingClassifier.received.append(weights)
        return super().fit(X, y, sample_weight=sample_weight, **fit_params)


@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_and_cross_validate_pass_sample_weight(task, routing):
    X, y = task
    weights = np.random.RandomState(2).rand(len(y))
    RecordingClassifier.received = []
    with sklearn.config_context(enable_metadata_routing=routing):
        clf = RecordingClassifier(max_epochs=1)
        if routing:
            clf = clf.set_fit_request(sample_weight=True)
            clf = clf.set_score_request(sample_weight=False)
        search = GridSearchCV(clf, {"alpha": [0.0, 1.0]}, cv=2)
        search.fit(X, y, sample_weight=weights)
        cross_validate(clf, X, y, cv=3, params={"sample_weight": weights})
    # 2 candidates x 2 folds + the refit, then 3 folds: every fit got weights
    # for its own training part.
    assert RecordingClassifier.received == [60] * 4 + [120] + [80] * 3


def test_sample_weight_in_a_pipeline_with_routing(task):
    X, y = task
    RecordingClassifier.received = []
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            RecordingClassifier(max_epochs=1).set_fit_request(sample_weight=True),
        )
        pipe.fit(X, y, sample_weight=np.ones(len(y)))
    assert RecordingClassifier.received == [120]


class KeywordRecordingMLP(torch.nn.Module):
    """Accepts any keyword in forward, as skorch's fit params would reach it."""

    keywords: list = []

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(3, 4)

    def forward(self, x, **kwargs):
        KeywordRecordingMLP.keywords.append(sorted(kwargs))
        return self.layer(x)


def test_sample_weight_never_reaches_the_modules_forward(task):
    X, y = task
    KeywordRecordingMLP.keywords = []
    clf = KLPenaltyClassifier(module=KeywordRecordingMLP, max_epochs=1)
    clf.fit(X, y, sample_weight=np.arange(len(y)) % 2)
    assert KeywordRecordingMLP.keywords and not any(KeywordRecordingMLP.keywords)
