"""sk_klpenalty: scikit-learn classifiers for ordered labels, trained with
cross-entropy plus a Gaussian KL penalty (built on skorch), two peers to
compare it with, and the cross-validated report that compares them.

The public names are imported lazily, so ``import sk_klpenalty`` does not
import torch or skorch until one of them is used.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

# What users use: the estimators, the report, the metrics and the data.
_EXPORTS = {
    "KLPenaltyClassifier": "estimator",
    "OrdinalRegressor": "regressor",
    "CORNClassifier": "corn",
    "compare_penalty": "compare",
    "CompareResult": "compare",
    "ordinal_metrics": "metrics",
    "ordinal_scorers": "metrics",
    "load_rotated_digits": "datasets",
    "load_utkface": "datasets",
    "load_npz": "datasets",
    "load_image_folder": "datasets",
}
# Importable from here as before; they live in (and are documented with)
# their modules.
_MODULE_NAMES = {
    "PenaltySchedule": "estimator",
    "ArrayDataset": "data",
    "CEKLLoss": "losses",
    "ce_kl_loss": "losses",
    "gaussian_targets": "losses",
    "laplace_targets": "losses",
    "corn_loss": "losses",
    "SimpleCNN": "modules",
    "SeedCNN": "modules",
    "MLP": "modules",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name) or _MODULE_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'sk_klpenalty' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
