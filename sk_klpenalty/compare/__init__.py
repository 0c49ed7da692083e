"""The cross-validated baseline-versus-penalty report.

Every configuration (the cross-entropy baseline ``alpha=0``, each penalty
setting, two controls and, on request, the peers and the nested-tuned
penalty) is fitted on the same folds with the same seeds, through joblib.
Intervals and p-values use the corrected resampled t-test of Nadeau & Bengio
(2003), because the folds of repeated cross-validation overlap.

Where things are: :mod:`.defaults` (the default job), :mod:`.configs`,
:mod:`.peers` and :mod:`.nested` (what is compared), :mod:`.folds` (splits,
grouped too, and seeds), :mod:`.runner` (:func:`compare_penalty`),
:mod:`.progress` (the progress bar and projected time), :mod:`.store` (the
resumable files), :mod:`.stats`, :mod:`.report` (:class:`CompareResult`),
:mod:`.sections`, :mod:`.learning_curve` and :mod:`.formatting` (the
report's parts) and
:mod:`.search` (:meth:`CompareResult.from_search`).
"""

from .configs import Config
from .report import CompareResult
from .runner import compare_penalty
from .stats import corrected_resampled_ttest

__all__ = ["CompareResult", "Config", "compare_penalty", "corrected_resampled_ttest"]
