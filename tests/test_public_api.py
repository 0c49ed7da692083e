"""What users import keeps working: the package's public names, and every
name that release 0.1.0's modules listed in their ``__all__``."""

import importlib
import subprocess
import sys

import pytest

import sk_klpenalty

# Release 0.1.0's public names, module by module (its modules' __all__).
RELEASE_0_1_0 = {
    "sk_klpenalty": [
        "KLPenaltyClassifier", "PenaltySchedule", "ArrayDataset", "CEKLLoss",
        "ce_kl_loss", "gaussian_targets", "SeedCNN", "MLP", "load_rotated_digits",
        "load_utkface", "__version__",
    ],
    "sk_klpenalty.compare": [
        "Config", "CompareResult", "compare_penalty", "corrected_resampled_ttest",
    ],
    "sk_klpenalty.datasets": ["load_rotated_digits", "load_utkface"],
    "sk_klpenalty.estimator": [
        "KLPenaltyClassifier", "PenaltySchedule", "ArrayDataset", "DECODES",
        "EXPECTED_FAILED_CHECKS", "PRECISIONS", "bf16_supported",
    ],
    "sk_klpenalty.losses": [
        "gaussian_targets", "ce_kl_loss", "CEKLLoss", "UniformSmoothingKLLoss",
        "PermutedGaussianKLLoss",
    ],
    "sk_klpenalty.metrics": [
        "METRICS", "within_k_accuracy", "quadratic_weighted_kappa",
        "ordinal_metrics", "ordinal_scorers", "neg_mse_expectation",
    ],
    "sk_klpenalty.modules": ["SeedCNN", "MLP"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(RELEASE_0_1_0))
def test_release_0_1_0_names_still_import(module):
    imported = importlib.import_module(module)
    missing = [name for name in RELEASE_0_1_0[module] if not hasattr(imported, name)]
    assert not missing


def test_every_name_in_all_imports():
    for name in sk_klpenalty.__all__:
        assert getattr(sk_klpenalty, name) is not None


def test_import_loads_neither_torch_nor_skorch():
    code = "import sys, sk_klpenalty; print({'torch', 'skorch'} & set(sys.modules))"
    printed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert printed.strip() == "set()"
