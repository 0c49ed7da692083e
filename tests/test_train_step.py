"""The lean training step: skorch's results and callbacks, without its no-ops."""

import pickle

import numpy as np
import pytest
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, GradientNormClipping

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.train_step import evaluates_loss_once, listens_to


class SkorchStep(KLPenaltyClassifier):
    """The same estimator trained through skorch's own step and notify."""

    train_step = NeuralNet.train_step
    notify = NeuralNet.notify


class Recorder(Callback):
    """Records the per-batch notifications and what they carry."""

    def initialize(self):
        self.calls = []
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        self.calls.append(("begin", training, len(batch[0])))

    def on_grad_computed(self, net, named_parameters, batch=None, **kwargs):
        norm = sum(float(p.grad.norm()) for _, p in named_parameters)
        self.calls.append(("grad", kwargs.get("training"), norm > 0))

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        self.calls.append(("end", training, sorted(kwargs)))


class TwiceEvaluated(torch.optim.SGD):
    """A user's optimizer that evaluates the loss twice per step (as SAM does)."""

    def step(self, closure):
        closure()
        return super().step(closure)


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(150, 4).astype(np.float32)
    return X, np.digitize(X[:, 0], [-0.5, 0.5]) + 3  # classes 3, 4, 5


def _fit(cls, data, sample_weight=None, **params):
    X, y = data
    params = {"max_epochs": 3, "batch_size": 32, "random_state": 0, **params}
    return cls(**params).fit(X, y, sample_weight=sample_weight)


WEIGHTS = {"sample_weight": np.linspace(0.5, 2.0, 150)}


@pytest.mark.parametrize(
    ("params", "fit_kwargs"),
    [
        ({}, {}),
        ({"optimizer": torch.optim.SGD, "optimizer__momentum": 0.9}, {}),
        ({"optimizer": torch.optim.LBFGS, "lr": 0.1}, {}),
        ({"optimizer": TwiceEvaluated, "lr": 0.05}, {}),
        ({"callbacks": [("clip", GradientNormClipping(0.01))]}, {}),
        ({}, WEIGHTS),
    ],
    ids=["adam", "sgd", "lbfgs", "user-optimizer", "grad-callback", "weights"],
)
def test_training_matches_skorchs_own_step(data, params, fit_kwargs):
    X, y = data
    lean = _fit(KLPenaltyClassifier, data, **params, **fit_kwargs)
    plain = _fit(SkorchStep, data, **params, **fit_kwargs)
    np.testing.assert_array_equal(lean.predict_proba(X), plain.predict_proba(X))
    assert lean.history[:, "train_loss"] == plain.history[:, "train_loss"]


def test_every_batch_notifies_the_callbacks_that_listen(data):
    clf = _fit(KLPenaltyClassifier, data, callbacks=[("rec", Recorder())])
    calls = dict(clf.callbacks_)["rec"].calls
    n_batches = 3 * int(np.ceil(150 / 32))
    assert [kind for kind, *_ in calls] == ["begin", "grad", "end"] * n_batches
    assert all(training is True for _, training, _ in calls)
    assert all(carried for kind, _, carried in calls if kind == "grad")
    assert calls[2][2] == ["loss", "y_pred"]  # on_batch_end gets the step


def test_a_callback_method_set_on_the_instance_is_called(data):
    seen = []
    callback = Callback()
    callback.on_batch_end = lambda net, **kwargs: seen.append(kwargs["training"])
    _fit(KLPenaltyClassifier, data, callbacks=[callback], max_epochs=1)
    assert seen == [True] * 5


def test_replaced_callbacks_are_notified_on_the_next_fit(data):
    first, second = Recorder(), Recorder()
    clf = _fit(KLPenaltyClassifier, data, callbacks=[("rec", first)], max_epochs=1)
    clf.set_params(callbacks=[("rec", second)]).fit(*data)
    assert dict(clf.callbacks_)["rec"] is second
    assert len(second.calls) == 3 * 5


def test_fit_inside_no_grad_trains_as_with_skorchs_closure(data):
    with torch.no_grad():
        lean = _fit(KLPenaltyClassifier, data)
        plain = _fit(SkorchStep, data)
    assert lean.history[:, "train_loss"] == plain.history[:, "train_loss"]


def test_lbfgs_gets_its_closure(data):
    clf = _fit(KLPenaltyClassifier, data, optimizer=torch.optim.LBFGS, lr=0.1)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert clf.score(*data) > 0.6


def test_a_pickled_net_trains_on_after_unpickling(data):
    clf = _fit(KLPenaltyClassifier, data, callbacks=[("rec", Recorder())])
    state = clf.__getstate__()
    assert "_listener_cache" not in state
    restored = pickle.loads(pickle.dumps(clf))
    restored.partial_fit(*data)  # max_epochs=3 more
    assert len(restored.history) == 6
    assert len(dict(restored.callbacks_)["rec"].calls) == 6 * 3 * 5


def test_which_optimizers_step_without_a_closure():
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert evaluates_loss_once(torch.optim.Adam(params))
    assert evaluates_loss_once(torch.optim.SGD(params, lr=0.1))
    assert not evaluates_loss_once(torch.optim.LBFGS(params))
    assert not evaluates_loss_once(TwiceEvaluated(params, lr=0.1))


def test_which_callbacks_listen():
    assert not listens_to(Callback(), "on_batch_end")
    assert listens_to(Recorder(), "on_batch_end")
    assert listens_to(GradientNormClipping(), "on_grad_computed")
    assert not listens_to(GradientNormClipping(), "on_batch_begin")
    assert listens_to(object(), "on_batch_end")  # not a Callback: always called
