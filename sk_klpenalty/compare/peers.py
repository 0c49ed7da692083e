"""The peers: the methods a user with ordered labels would otherwise pick
(see the user guide's methods page), fitted on the same folds, seeds and network."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sklearn.base import clone

from .configs import Config, setting_name
from .store import plain

__all__ = ["PEERS", "PeerConfig", "check_peers", "describe_peers", "peer_configs"]

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
    """A configuration of another estimator class, built from the user's
    estimator's shared parameters (network, epochs, ``module__*``...).
    """

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
    """One configuration per peer; the penalty peers use ``best``'s setting
    (without one: alpha 1 and the estimator's own sigma and decay)."""
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
        if estimator_class is None:
            configs.append(Config(name, peer, params))
        else:
            configs.append(PeerConfig(name, peer, params, estimator_class))
    return configs


def _describe(params: Mapping, laplace_implied: bool) -> str:
    """`` (laplace sigma=2)``: the settings that tell peers apart."""
    parts = [params.get("kernel")]
    if laplace_implied and parts[0] == "laplace":
        parts = []
    shown = ["ce_weight", "alpha", "sigma", "sigma_decay"]
    if params.get("ce_weight", 1.0) in (0.0, 1.0):
        shown.remove("ce_weight")
    if params.get("ce_weight", 1.0) == 0:
        shown.remove("alpha")
    parts.append(setting_name({k: params[k] for k in shown if k in params}))
    text = " ".join(str(part) for part in parts if part)
    return f" ({text})" if text else ""


def describe_peers(configs: Iterable[Config], estimator) -> dict:
    """``{name: {"estimator": class name, parameter: value, ...}}``: the loss
    settings of each peer (and any parameter the user set), for the report."""
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
