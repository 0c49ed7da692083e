"""What the report compares: the baseline, the penalty grid, the controls, the
peers and the penalty tuned by nested cross-validation."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold

from .store import plain

__all__ = [
    "BASELINE", "NESTED", "PEERS", "Config", "PeerConfig", "best_penalty",
    "check_inner_folds", "check_peers", "chosen_settings", "control_configs",
    "describe_peers", "fit_nested", "nested_config", "peer_configs",
    "penalty_configs",
]  # fmt: skip

BASELINE = "baseline"


@dataclass(frozen=True)
class Config:
    """One training configuration of the comparison.

    Attributes
    ----------
    name : str
        Unique label in tables and files, e.g. ``"alpha=1 sigma=2"``.
    kind : str
        ``"baseline"``, ``"penalty"``, ``"uniform"``, ``"permuted"``,
        ``"nested"`` or a peer's name.
    params : dict
        Passed to ``KLPenaltyClassifier.set_params``.
    """

    name: str
    kind: str
    params: dict = field(hash=False)

    @property
    def alpha(self) -> float:
        return float(self.params.get("alpha", 0.0))

    def make_estimator(self, estimator):
        """The unfitted model: a clone of ``estimator`` with ``params``."""
        return clone(estimator).set_params(**self.params)


def setting_name(params: Mapping) -> str:
    """``"alpha=1 sigma=2 decay=0.95"`` (no decay when ``sigma_decay`` is 1)."""
    return " ".join(
        f"{'decay' if k == 'sigma_decay' else k}={v:g}"
        if isinstance(v, Real)
        else f"{k}={v}"
        for k, v in params.items()
        if not (k == "sigma_decay" and v == 1)
    )


def penalty_configs(
    alphas: Iterable[float], sigmas: Iterable[float], sigma_decays: Iterable[float]
) -> list[Config]:
    """The baseline (always first) and one config per alpha > 0, sigma, decay."""
    configs = [Config(BASELINE, "baseline", {"alpha": 0.0})]
    for alpha in sorted({float(a) for a in alphas} - {0.0}):
        for sigma in sigmas:
            for decay in sigma_decays:
                params = {"alpha": alpha, "sigma": sigma, "sigma_decay": decay}
                params = {k: float(v) for k, v in params.items()}
                configs.append(Config(setting_name(params), "penalty", params))
    return configs


def control_configs(best: Config, seed: int) -> list[Config]:
    """The uniform-smoothing and permuted-order controls at ``best``'s setting."""
    from ..losses import PermutedGaussianKLLoss, UniformSmoothingKLLoss

    permuted = {"criterion": PermutedGaussianKLLoss, "criterion__seed": int(seed)}
    return [
        Config(f"control: uniform smoothing ({best.name})", "uniform",
               {**best.params, "criterion": UniformSmoothingKLLoss}),
        Config(f"control: permuted order ({best.name})", "permuted",
               {**best.params, **permuted}),
    ]  # fmt: skip


def best_penalty(records: list[dict], configs: list[Config], decode: str) -> Config:
    """The penalty setting of lowest mean MSE under ``decode``."""
    import pandas as pd

    names = [c.name for c in configs if c.kind == "penalty"]
    records = pd.DataFrame(records).query("decode == @decode")
    mse = records.groupby("config")["mse"].mean()
    best = mse.reindex(names).idxmin()  # ties: the first in the grid
    return next(c for c in configs if c.name == best)


PEERS = ("regression", "soft-labels", "laplace", "corn")
_LABELS = {
    "regression": "regression",
    "soft-labels": "soft labels only",
    "laplace": "Laplace kernel",
    "corn": "CORN",
}
# The report states these settings of each peer. A peer of another class
# takes none of them from the user's estimator, nor how it decodes.
_SHOWN = ("criterion", "kernel", "ce_weight", "alpha", "sigma", "sigma_decay")


@dataclass(frozen=True)
class PeerConfig(Config):
    """Another estimator class, with the user's network, epochs, ``module__*``..."""

    estimator_class: type | None = field(default=None, hash=False)

    @property
    def alpha(self) -> float:
        return math.nan  # no penalty weight: not an alpha=0 baseline

    def make_estimator(self, estimator):
        own = set(self.estimator_class().get_params(deep=False))
        own -= {*_SHOWN, "decode"}
        shared = {
            name: clone(value, safe=False)
            for name, value in estimator.get_params(deep=False).items()
            if name in own or ("__" in name and not name.startswith("criterion__"))
        }
        return self.estimator_class(**shared).set_params(**self.params)


def check_peers(peers, peer_params) -> tuple[tuple[str, ...], dict]:
    """The peers' names (``"all"`` for every one) and their parameters, checked."""
    peers = () if peers is None else (peers,) if isinstance(peers, str) else peers
    peers = PEERS if "all" in peers else tuple(dict.fromkeys(peers))
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise ValueError(
            f"peers must be 'all' or names from {PEERS}, got {unknown[0]!r}."
        )
    peer_params = {} if peer_params is None else peer_params
    if not isinstance(peer_params, Mapping) or not all(
        isinstance(v, Mapping) for v in peer_params.values()
    ):
        raise TypeError(
            "peer_params must map peer names to dicts of parameters, e.g. "
            "{'soft-labels': {'sigma': 1.0}}."
        )
    stray = [name for name in peer_params if name not in peers]
    if stray:
        raise ValueError(
            f"peer_params has settings for {stray[0]!r}, which is not among the "
            f"peers compared ({', '.join(peers) or 'none'})."
        )
    return peers, {name: dict(params) for name, params in peer_params.items()}


def peer_configs(
    peers: Iterable[str], peer_params: Mapping[str, dict], best: Config | None
) -> list[Config]:
    """One configuration per peer; the penalty peers use ``best``'s setting."""
    from ..corn import CORNClassifier
    from ..regressor import OrdinalRegressor

    penalty = {} if best is None else best.params
    setting = {k: penalty[k] for k in ("alpha", "sigma", "sigma_decay") if k in penalty}
    setting.setdefault("alpha", 1.0)
    defaults = {
        "regression": (OrdinalRegressor, {}),
        "corn": (CORNClassifier, {}),
        "laplace": (None, {**setting, "kernel": "laplace", "ce_weight": 1.0}),
        "soft-labels": (
            None,
            {**setting, "alpha": 1.0, "kernel": "laplace", "ce_weight": 0.0},
        ),
    }
    configs = []
    for peer in peers:
        estimator_class, params = defaults[peer]
        params = {**params, **peer_params.get(peer, {})}
        name = f"peer: {_LABELS[peer]}{_describe(params, peer == 'laplace')}"
        config = PeerConfig(name, peer, params, estimator_class)
        configs.append(config if estimator_class else Config(name, peer, params))
    return configs


def _describe(params: Mapping, laplace_implied: bool) -> str:
    """`` (laplace sigma=2)``: the settings that tell peers apart."""
    kernel = params.get("kernel")
    kernel = None if laplace_implied and kernel == "laplace" else kernel
    ce_weight = params.get("ce_weight", 1.0)
    shown = [] if ce_weight in (0.0, 1.0) else ["ce_weight"]
    shown += [*(["alpha"] if ce_weight else []), "sigma", "sigma_decay"]
    setting = setting_name({k: params[k] for k in shown if k in params})
    text = " ".join(str(part) for part in (kernel, setting) if part)
    return f" ({text})" if text else ""


def describe_peers(configs: Iterable[Config], estimator) -> dict:
    """``{name: {"estimator": class name, parameter: value, ...}}`` per peer."""
    described = {}
    for config in configs:
        model = config.make_estimator(estimator)
        params = model.get_params(deep=False)
        shown = [n for n in _SHOWN if n in params]
        shown += sorted(set(config.params) - set(_SHOWN))
        described[config.name] = {
            "estimator": type(model).__name__,
            **{name: plain(params[name]) for name in shown},
        }
    return described


#: Name of the nested configuration in tables and files.
NESTED = "tuned penalty (nested)"


def nested_config(
    configs: list[Config], estimator, inner_cv, inner_scoring, decode: str
) -> Config:
    """The nested configuration over the penalty settings of ``configs``, checked."""
    from sklearn.metrics import check_scoring

    grid = [
        {name: [value] for name, value in c.params.items()}
        for c in configs
        if c.kind == "penalty"
    ]
    if len(grid) < 2:
        raise ValueError(
            "tune='nested' chooses among penalty settings: give at least two "
            "(e.g. alphas=(0, 0.5, 1) or sigmas=(1, 2)); with one there is "
            "nothing to tune."
        )
    if isinstance(inner_cv, bool) or (isinstance(inner_cv, Integral) and inner_cv < 2):
        raise ValueError(
            f"inner_cv must be an int >= 2 or a splitter, got {inner_cv!r}."
        )
    try:
        check_scoring(clone(estimator).set_params(decode=decode), scoring=inner_scoring)
    except (ValueError, TypeError) as error:
        raise ValueError(f"inner_scoring: {error}") from None
    params = {"grid": grid, "inner_cv": inner_cv, "inner_scoring": inner_scoring}
    return Config(NESTED, "nested", {**params, "decode": decode})


def _inner_cv(inner_cv, seed: int, grouped: bool):
    """An int ``inner_cv``: that many shuffled stratified (group) folds."""
    if not isinstance(inner_cv, Integral):
        return inner_cv
    folds = StratifiedGroupKFold if grouped else StratifiedKFold
    return folds(n_splits=inner_cv, shuffle=True, random_state=seed)


def check_inner_folds(config: Config, tasks: list[dict], y) -> None:
    """Fail before any fit when an int ``inner_cv`` cannot split a training fold."""
    if not isinstance(config.params["inner_cv"], Integral):
        return
    for task in tasks:
        groups = task.get("groups")
        cv = _inner_cv(config.params["inner_cv"], 0, groups is not None)
        labels = y[task["train"]]
        try:
            next(cv.split(np.zeros(len(labels)), labels, groups))
        except ValueError as error:
            raise ValueError(
                f"inner_cv={config.params['inner_cv']} on a training fold of "
                f"{len(labels)} samples: {error} Use fewer inner folds, more data "
                "or larger train_sizes."
            ) from None


def fit_nested(estimator, config: Config, X, y, seed: int, groups=None, **fit_params):
    """The best setting's refit by an inner grid search on ``X, y``, and the setting."""
    params = config.params
    search = GridSearchCV(
        clone(estimator).set_params(random_state=seed, decode=params["decode"]),
        params["grid"],
        scoring=params["inner_scoring"],
        cv=_inner_cv(params["inner_cv"], seed, groups is not None),
        error_score="raise",
    )
    search.fit(X, y, groups=groups, **fit_params)
    return search.best_estimator_, dict(search.best_params_)


def chosen_settings(records):
    """The setting the inner search chose on each outer fold (a DataFrame)."""
    rows = records[records["config"] == NESTED]
    rows = rows.drop_duplicates(["train_size", "repeat", "fold"])
    columns = ["train_size", "repeat", "fold", "alpha", "sigma", "sigma_decay"]
    return rows[columns].reset_index(drop=True)
