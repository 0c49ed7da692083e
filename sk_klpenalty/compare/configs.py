"""What the report compares: the baseline, the penalty grid and the controls."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real

from sklearn.base import clone

__all__ = ["BASELINE", "Config", "best_penalty", "control_configs", "penalty_configs"]

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
    """``"alpha=1 sigma=2 lr=0.01"``: the settings as names show them, with
    ``decay=0.95`` for a ``sigma_decay`` other than 1."""
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
                params = {"alpha": alpha, "sigma": float(sigma)}
                params["sigma_decay"] = float(decay)
                configs.append(Config(setting_name(params), "penalty", params))
    return configs


def control_configs(best: Config, seed: int) -> list[Config]:
    """The uniform-smoothing and permuted-order controls at ``best``'s setting."""
    from ..losses import PermutedGaussianKLLoss, UniformSmoothingKLLoss

    uniform = {**best.params, "criterion": UniformSmoothingKLLoss}
    permuted = {**best.params, "criterion": PermutedGaussianKLLoss}
    return [
        Config(f"control: uniform smoothing ({best.name})", "uniform", uniform),
        Config(
            f"control: permuted order ({best.name})",
            "permuted",
            {**permuted, "criterion__seed": int(seed)},
        ),
    ]


def best_penalty(records: list[dict], configs: list[Config], decode: str) -> Config:
    """The penalty setting of lowest mean MSE under ``decode``."""
    import pandas as pd

    names = [c.name for c in configs if c.kind == "penalty"]
    records = pd.DataFrame(records)
    mse = records[records["decode"] == decode].groupby("config")["mse"].mean()
    best = mse.reindex(names).idxmin()  # ties: the first in the grid
    return next(c for c in configs if c.name == best)
