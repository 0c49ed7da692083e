"""What the report compares: the baseline, the penalty grid and the controls."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "BASELINE",
    "Config",
    "penalty_configs",
    "control_configs",
    "best_penalty",
    "setting_name",
]

BASELINE = "baseline"


@dataclass(frozen=True)
class Config:
    """One training configuration of the comparison.

    Attributes
    ----------
    name : str
        Unique label in tables and files, e.g. ``"alpha=1 sigma=2"``.
    kind : str
        ``"baseline"``, ``"penalty"``, ``"uniform"`` or ``"permuted"``.
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
        """The unfitted model of this configuration: here a clone of
        ``estimator`` with ``params`` (a peer builds another class)."""
        from sklearn.base import clone

        return clone(estimator).set_params(**self.params)


def penalty_configs(
    alphas: Iterable[float], sigmas: Iterable[float], sigma_decays: Iterable[float]
) -> list[Config]:
    """The baseline (always first) and one config per alpha > 0, sigma, decay."""
    configs = [Config(BASELINE, "baseline", {"alpha": 0.0})]
    for alpha in sorted({float(a) for a in alphas} - {0.0}):
        for sigma in sigmas:
            for decay in sigma_decays:
                name = setting_name(alpha, sigma, decay)
                params = {"alpha": alpha, "sigma": float(sigma)}
                params["sigma_decay"] = float(decay)
                configs.append(Config(name, "penalty", params))
    return configs


def setting_name(alpha: float, sigma: float, sigma_decay: float = 1.0) -> str:
    """``"alpha=1 sigma=2"``, with ``" decay=0.95"`` when sigma decays."""
    name = f"alpha={alpha:g} sigma={sigma:g}"
    if sigma_decay != 1:
        name += f" decay={sigma_decay:g}"
    return name


def control_configs(best: Config, seed: int) -> list[Config]:
    """The two controls, with the penalty setting of ``best``.

    ``uniform``: the KL target is uniform label smoothing with the same entropy
    as the Gaussian. ``permuted``: the same Gaussian over a fixed random order
    of the classes. If the penalty's gain is ordinal, only it should help.
    """
    from ..losses import PermutedGaussianKLLoss, UniformSmoothingKLLoss

    suffix = best.name
    return [
        Config(
            f"control: uniform smoothing ({suffix})",
            "uniform",
            {**best.params, "criterion": UniformSmoothingKLLoss},
        ),
        Config(
            f"control: permuted order ({suffix})",
            "permuted",
            {
                **best.params,
                "criterion": PermutedGaussianKLLoss,
                "criterion__seed": int(seed),
            },
        ),
    ]


def best_penalty(records, configs, decode) -> Config:
    mse = {}
    for config in configs:
        if config.kind != "penalty":
            continue
        values = [
            r["mse"]
            for r in records
            if r["config"] == config.name and r["decode"] == decode
        ]
        mse[config.name] = np.mean(values)
    best_name = min(mse, key=mse.get)
    return next(c for c in configs if c.name == best_name)
