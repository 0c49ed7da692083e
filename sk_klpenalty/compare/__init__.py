"""The cross-validated baseline-versus-penalty report.

Every configuration (the cross-entropy baseline ``alpha=0``, each penalty
setting, two controls and, on request, the peers: regression, CORN, the
Laplace kernel and soft labels only) is fitted on the same folds of a repeated
stratified K-fold, through the public estimators (a clone of the user's
:class:`KLPenaltyClassifier` with ``set_params``; a peer of another class
built from its settings), with joblib. Each fitted model is scored with every decode.

Folds of repeated cross-validation overlap, so the per-fold scores are not
independent and a plain t interval over folds is too narrow. Intervals and
p-values here use the corrected resampled t statistic of Nadeau & Bengio
(2003), which inflates the variance by ``1/n + n_test/n_train``.

Beyond the fixed grid: ``tune="nested"`` scores the penalty tuned by an inner
``GridSearchCV`` on each outer training fold; ``train_sizes`` adds the
difference to the baseline as a function of training-set size; every fit's
per-epoch loss is kept to show whether the fits converged;
:meth:`CompareResult.from_search` builds the same report from a fitted
``GridSearchCV`` over ``alpha``; and ``peers=`` adds the methods a user would
otherwise pick.

Where things are: :mod:`.configs` (what is compared), :mod:`.peers` (the
peers' configurations), :mod:`.runner` (the folds and fits:
:func:`compare_penalty`), :mod:`.workers` (joblib/dask workers and their
threads), :mod:`.store` (the resumable ``results.csv``), :mod:`.stats`
(:func:`corrected_resampled_ttest`, paired differences), :mod:`.report`
(:class:`CompareResult`: tables, markdown, plot, files), :mod:`.sections`
(the report's header and optional sections), :mod:`.nested`,
:mod:`.learning_curve`, :mod:`.training_curves` and :mod:`.fair_decoding`
(one section each), :mod:`.search` (:meth:`CompareResult.from_search`) and
:mod:`.formatting`.
"""

from .configs import Config
from .report import CompareResult
from .runner import compare_penalty
from .stats import corrected_resampled_ttest

__all__ = [
    "Config",
    "CompareResult",
    "compare_penalty",
    "corrected_resampled_ttest",
]
