"""The report's peers: regression, soft labels only, the Laplace kernel and
CORN, on the same folds and seeds as the penalty, paired with the baseline and
with the best penalty setting."""

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import StratifiedKFold

from sk_klpenalty import (
    CORNClassifier,
    KLPenaltyClassifier,
    OrdinalRegressor,
)
from sk_klpenalty.compare import compare_penalty
from sk_klpenalty.compare import runner as compare_runner
from sk_klpenalty.compare.configs import PEERS, PeerConfig, peer_configs
from sk_klpenalty.compare.folds import fold_seed

TINY = {"max_epochs": 1, "batch_size": 32}
PEER_NAMES = {
    "regression": "peer: regression",
    "soft-labels": "peer: soft labels only (laplace sigma=2)",
    "laplace": "peer: Laplace kernel (alpha=1 sigma=2)",
    "corn": "peer: CORN",
}


@pytest.fixture(scope="module")
def task():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 5, 80) * 10  # label values 0, 10, ..., 40
    X = rng.rand(80, 1, 8, 8).astype(np.float32) * 0.3
    for i, label in enumerate(y):
        X[i, 0, label // 10 + 1] += 0.7
    return X, y


@pytest.fixture(scope="module")
def result(task, tmp_path_factory):
    X, y = task
    out = tmp_path_factory.mktemp("peers")
    result = compare_penalty(
        X,
        y,
        estimator=KLPenaltyClassifier(**TINY),
        cv=2,
        controls=False,
        peers="all",
        progress=False,
        out_dir=out,
    )
    result.save(out)
    return result


def test_every_peer_is_fitted_on_every_fold_and_scored_with_every_decode(result):
    records = result.records
    assert result.peers == [PEER_NAMES[p] for p in PEERS]
    for peer, name in PEER_NAMES.items():
        rows = records[records["config"] == name]
        assert set(rows["kind"]) == {peer}
        assert len(rows) == 2 * len(result.job["scored_decodes"])  # every decode
        assert (
            rows[["mse", "rps", "amae", "mmae", "mse_expectation"]].notna().all().all()
        )
    # The same test folds as the baseline's.
    assert (records.groupby("config")["n_test"].sum().nunique()) == 1


def test_peers_are_paired_with_the_baseline_and_the_best_penalty(result):
    records = result.records.set_index(["config", "decode", "fold"]).sort_index()
    best = result.job["best_penalty"]
    peer = PEER_NAMES["regression"]
    for reference, comparison in (
        ("baseline", result.comparison()),
        (best, result.peer_comparison()),
    ):
        row = comparison.query(
            "config == @peer and decode == 'argmax' and metric == 'mae'"
        ).iloc[0]
        diff = (
            records.loc[(peer, "argmax"), "mae"]
            - records.loc[(reference, "argmax"), "mae"]
        )
        assert row["mean"] == pytest.approx(diff.mean())
        assert row["n"] == 2
    assert set(result.peer_comparison()["config"]) == set(PEER_NAMES.values())


def test_report_states_the_peers_settings_and_both_tables(result, tmp_path):
    text = result.to_markdown()
    assert "## Peers: the methods a user would otherwise pick" in text
    assert "`OrdinalRegressor` criterion=MSELoss" in text
    assert "kernel=laplace, ce_weight=0.0" in text
    assert "## Peers against the best penalty setting (alpha=1 sigma=2" in text
    for name in PEER_NAMES.values():
        assert text.count(f"| {name} | argmax |") == 3  # summary and both tables
    for column in ("RPS", "AMAE", "MMAE"):
        assert f"| {column} " in text
    paths = result.save(tmp_path)
    summary = json.loads(paths["summary.json"].read_text())
    assert {r["config"] for r in summary["peer_comparison"]} == set(PEER_NAMES.values())


def test_a_peer_fit_is_the_estimator_it_names_on_the_same_fold_and_seed(task, result):
    """The regression row equals a direct OrdinalRegressor fit with the fold's seed."""
    X, y = task
    train, test = next(StratifiedKFold(2, shuffle=True, random_state=0).split(X, y))
    seed = fold_seed(0, 0, 0)
    model = OrdinalRegressor(**TINY, classes=np.unique(y), random_state=seed)
    model.fit(X[train], y[train])
    rows = result.records.query("config == 'peer: regression' and fold == 0")
    expected = mean_squared_error(y[test], model.predict_expectation(X[test]))
    assert rows["mse_expectation"].iloc[0] == pytest.approx(expected)
    mse = mean_squared_error(y[test], model.predict(X[test]))
    assert rows["mse"].iloc[0] == pytest.approx(mse)


def test_peer_estimators_share_the_users_settings_but_not_the_penalty():
    estimator = KLPenaltyClassifier(
        max_epochs=3,
        lr=0.01,
        batch_size=16,
        precision="bf16",
        classes=[0, 1, 2],
        module__dropout=0.2,
        optimizer__weight_decay=1e-4,
        criterion__seed=4,
        alpha=0.5,
        kernel="laplace",
        decode="median",
    )
    configs = {c.kind: c for c in peer_configs(PEERS, {}, None)}
    for kind, cls in (("regression", OrdinalRegressor), ("corn", CORNClassifier)):
        model = configs[kind].make_estimator(estimator)
        assert isinstance(configs[kind], PeerConfig) and type(model) is cls
        params = model.get_params()
        assert (params["max_epochs"], params["lr"], params["batch_size"]) == (
            3,
            0.01,
            16,
        )
        assert params["precision"] == "bf16" and params["classes"] == [0, 1, 2]
        assert params["module__dropout"] == 0.2
        assert params["optimizer__weight_decay"] == 1e-4
        assert "criterion__seed" not in params and "alpha" not in params
        assert params["decode"] == "argmax"  # its own default
    soft = configs["soft-labels"].make_estimator(estimator)
    assert type(soft) is KLPenaltyClassifier and soft.max_epochs == 3
    assert (soft.kernel, soft.ce_weight, soft.alpha) == ("laplace", 0.0, 1.0)


def test_peer_params_override_the_defaults_and_name_the_row():
    configs = peer_configs(
        ("soft-labels", "regression"),
        {
            "soft-labels": {"kernel": "gaussian", "sigma": 3.0},
            "regression": {"criterion": torch.nn.SmoothL1Loss},
        },
        None,
    )
    assert configs[0].name == "peer: soft labels only (gaussian sigma=3)"
    assert configs[1].params == {"criterion": torch.nn.SmoothL1Loss}
    model = configs[1].make_estimator(KLPenaltyClassifier())
    assert model.criterion is torch.nn.SmoothL1Loss


@pytest.mark.parametrize(
    "peers, peer_params, error, match",
    [
        (("ridge",), None, ValueError, "peers must be 'all' or names from"),
        (("corn",), {"regression": {}}, ValueError, "not among the peers"),
        (("corn",), {"corn": 3}, TypeError, "peer_params must map"),
        (("laplace",), {"laplace": {"sigma": -1.0}}, ValueError, "sigma"),
        (("regression",), {"regression": {"nonsense": 1}}, ValueError, "nonsense"),
    ],
)
def test_bad_peers_fail_before_any_fit(
    task, monkeypatch, peers, peer_params, error, match
):
    def no_fit(*args, **kwargs):
        raise AssertionError("a fit started")

    monkeypatch.setattr(compare_runner, "_fit_and_score", no_fit)
    X, y = task
    with pytest.raises(error, match=match):
        compare_penalty(
            X, y, peers=peers, peer_params=peer_params, cv=2, progress=False
        )


def test_resume_refuses_a_job_with_other_peers(task, result, tmp_path):
    X, y = task
    common = {
        "estimator": KLPenaltyClassifier(**TINY),
        "cv": 2,
        "controls": False,
        "progress": False,
        "out_dir": tmp_path,
    }
    compare_penalty(X[:40], y[:40], alphas=(0.0,), peers=("regression",), **common)
    with pytest.raises(ValueError, match="different job"):
        compare_penalty(
            X[:40], y[:40], alphas=(0.0,), peers=("corn",), resume=True, **common
        )
