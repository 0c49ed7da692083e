"""The cross-validated baseline-versus-penalty report.

Every configuration (the cross-entropy baseline ``alpha=0``, each penalty
setting, two controls and, on request, the peers and the nested-tuned
penalty) is fitted on the same folds with the same seeds, through joblib.
Intervals and p-values use the corrected resampled t-test of Nadeau & Bengio
(2003), because the folds of repeated cross-validation overlap.
"""

from .configs import Config
from .report import CompareResult
from .runner import compare_penalty
from .stats import corrected_resampled_ttest

__all__ = ["CompareResult", "Config", "compare_penalty", "corrected_resampled_ttest"]
