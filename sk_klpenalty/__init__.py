"""sk_klpenalty: scikit-learn classifiers for ordered labels, trained with
cross-entropy plus a Gaussian KL penalty (built on skorch), and two peers to
compare it with: regression (``OrdinalRegressor``) and CORN
(``CORNClassifier``).

The public names are imported lazily, so ``import sk_klpenalty`` does not
import torch or skorch until one of them is used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "KLPenaltyClassifier": "estimator",
    "PenaltySchedule": "estimator",
    "OrdinalRegressor": "regressor",
    "CORNClassifier": "corn",
    "ArrayDataset": "data",
    "CEKLLoss": "losses",
    "ce_kl_loss": "losses",
    "gaussian_targets": "losses",
    "laplace_targets": "losses",
    "corn_loss": "losses",
    "SeedCNN": "modules",
    "MLP": "modules",
    "load_rotated_digits": "datasets",
    "load_utkface": "datasets",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sk_klpenalty' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
