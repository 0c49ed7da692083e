"""Running the comparison: every configuration on the same folds, through
joblib (``joblib.parallel_config`` chooses where: loky processes, threads, or
a dask cluster)."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone

from ..data import take_rows
from ..decode import DECODES, decode_indices, expectation
from ..labels import check_labels, label_indices, ordered_categories, resolve_classes
from ..metrics import ordinal_metrics
from ..regressor import OrdinalRegressor
from ..validation import check_choices
from ..weights import check_sample_weight
from . import defaults
from .configs import (
    best_penalty,
    check_inner_folds,
    check_peers,
    control_configs,
    describe_peers,
    fit_nested,
    nested_config,
    peer_configs,
    penalty_configs,
)  # fmt: skip
from .folds import check_train_sizes, make_splits, make_tasks, resolve_cv
from .progress import Progress, planned_batches
from .report import CompareResult
from .store import JobFiles, describe_job, history_curve

__all__ = ["compare_penalty"]


def _fit_and_score(estimator, config, X, y, task, decodes, within, counter=None):
    """One fit on ``task``: its records (one per decode), curve and ``counter``."""
    exit_with_job(task["job_pid"])
    start = time.perf_counter()
    train, test, nested = task["train"], task["test"], config.kind == "nested"
    model = clone(estimator) if nested else config.make_estimator(estimator)
    if counter is not None:
        model.set_params(callbacks=[*(model.callbacks or []), counter])
    if nested:  # the search indexes X: the rows in memory
        X_train, seed = take_rows(X, train, lazy=False), task["seed"]
        model, params = fit_nested(
            model, config, X_train, y[train], seed, task["groups"], **task["fit_params"]
        )
    else:
        model.set_params(random_state=task["seed"])
        model.fit(take_rows(X, train, lazy=True), y[train], **task["fit_params"])
        params = config.params
    fit_seconds = time.perf_counter() - start
    X_test = take_rows(X, test, lazy=True)
    proba = model.predict_proba(X_test)  # one forward pass serves every decode
    values = model.class_values_  # metrics on label values, or class positions
    if isinstance(model, OrdinalRegressor):  # E[y]: its output, not its proba
        expected = model.predict_expectation(X_test)
    else:
        expected = expectation(proba, values)
    true = values[label_indices(y[test], model.classes_)]
    fit = {"config": config.name, "kind": config.kind, **task["key"]}
    fit["alpha"] = params["alpha"] if nested else config.alpha
    fit["sigma"] = params.get("sigma", math.nan)
    fit["sigma_decay"] = params.get("sigma_decay", math.nan)
    fit |= {"n_train": len(train), "n_test": len(test), "fit_seconds": fit_seconds}
    records = [
        {**fit, "decode": decode, **ordinal_metrics(
            true, values[decode_indices(proba, values, decode)], y_expected=expected,
            y_proba=proba, labels=values, within=within,
        )}
        for decode in decodes
    ]  # fmt: skip
    key = {"config": config.name, **task["key"]}
    return records, [{**key, **row} for row in history_curve(model)], counter


_watched_job = None


def exit_with_job(job_pid: int) -> None:
    """Exit this loky worker when the job's process dies (a SIGKILLed job)."""
    global _watched_job
    if os.getpid() == job_pid or os.getppid() != job_pid or _watched_job == job_pid:
        return
    _watched_job = job_pid

    def watch() -> None:
        while os.getppid() == job_pid:
            time.sleep(1.0)
        os._exit(1)  # orphaned: nobody is left to receive a result

    threading.Thread(target=watch, name="sk-klpenalty-job-watch", daemon=True).start()


def _parallel(n_jobs, calls: list):
    """joblib's results as they come, or in chunks where it cannot stream them."""
    try:
        yield from Parallel(n_jobs=n_jobs, return_as="generator_unordered")(calls)
        return
    except ValueError as error:
        if "return_as" not in str(error):
            raise
    chunk = max(1, effective_n_jobs(n_jobs))
    with Parallel(n_jobs=n_jobs) as parallel:
        for start in range(0, len(calls), chunk):
            yield from parallel(calls[start : start + chunk])


def compare_penalty(
    X,
    y,
    *,
    estimator=None,
    groups=None,
    alphas: Sequence[float] = defaults.ALPHAS,
    sigmas: Sequence[float] = defaults.SIGMAS,
    sigma_decays: Sequence[float] = defaults.SIGMA_DECAYS,
    decodes: Sequence[str] = defaults.DECODES,
    within: float = 1.0,
    cv=None,
    controls: bool = True,
    peers=(),
    peer_params=None,
    tune: str | None = None,
    inner_cv=3,
    inner_scoring="neg_mean_squared_error",
    train_sizes: Sequence[float] = (1.0,),
    sample_weight=None,
    n_jobs: int | None = None,
    random_state: int = 0,
    progress: bool = True,
    out_dir: str | Path | None = None,
    resume: bool = False,
    description: str | None = None,
) -> CompareResult:
    """Cross-validated comparison of cross-entropy with the KL penalty.

    Parameters
    ----------
    X, y : array-like
        Data and labels, as for :meth:`KLPenaltyClassifier.fit`.
    estimator : KLPenaltyClassifier, optional
        Cloned for each fit. Default: :func:`sk_klpenalty.compare.defaults.estimator`.
    groups : array-like of shape (n_samples,), optional
        Group of each sample, kept on one side of every split.
    alphas, sigmas, sigma_decays : sequences of float
        The penalty grid; the baseline ``alpha=0`` is always included.
    decodes : sequence of {"argmax", "mean", "median"}
        The decodes the tables show (every decode is scored).
    within : float, default=1.0
        ``k`` of the "within ±k" metric, in label units.
    cv : int, splitter or iterable, optional
        Default: 4 stratified folds (grouped with ``groups``).
    controls : bool, default=True
        Add the uniform-smoothing and permuted-order controls.
    peers : "all" or sequence of {"regression", "soft-labels", "laplace", "corn"}
        Other methods fitted on the same folds.
    peer_params : dict, optional
        ``{peer: {parameter: value}}`` on top of a peer's defaults.
    tune : {None, "nested"}, default=None
        ``"nested"`` adds the penalty tuned by nested cross-validation.
    inner_cv : int or splitter, default=3
        ``tune="nested"``: the inner search's folds (grouped with ``groups``).
    inner_scoring : str or callable, default="neg_mean_squared_error"
        ``tune="nested"``: what the inner search maximises.
    train_sizes : sequence of float, default=(1.0,)
        Fractions of each training fold, for a learning curve.
    sample_weight : array-like of shape (n_samples,), optional
        Training weights; the held-out metrics are unweighted.
    n_jobs : int, optional
        Fits at a time, on the backend of ``joblib.parallel_config``.
    random_state : int, default=0
        Seeds the folds, the per-fold model seeds and the permuted control.
    progress : bool, default=True
        A progress bar and the projected time on stderr.
    out_dir : str or Path, optional
        Where ``job.json``, ``results.csv`` and ``curves.csv`` are written
        fit by fit.
    resume : bool, default=False
        Keep the finished fits in ``out_dir`` and run only the rest.
    description : str, optional
        A line for the report on the data and training setup.

    Returns
    -------
    CompareResult
        The records of every fit and decode, the job and the training curves.

    Examples
    --------
    >>> from sk_klpenalty import KLPenaltyClassifier, load_rotated_digits
    >>> from sk_klpenalty.compare import compare_penalty
    >>> X, y = load_rotated_digits(n_classes=6, n_rotations=1)
    >>> result = compare_penalty(
    ...     X[:240], y[:240], estimator=KLPenaltyClassifier(max_epochs=1),
    ...     cv=2, controls=False, progress=False)
    >>> sorted(result.records["config"].unique())
    ['alpha=1 sigma=2', 'baseline']
    """
    decodes = check_choices(decodes, DECODES, "decodes")
    if tune not in (None, "nested"):
        raise ValueError(f"tune must be None or 'nested', got {tune!r}.")
    train_sizes = check_train_sizes(train_sizes)
    categories = ordered_categories(y)
    y = check_labels(y)
    if groups is not None:
        groups = check_labels(groups, "groups")
        if len(groups) != len(y):
            raise ValueError(
                f"groups must have one entry per sample ({len(y)}), got {len(groups)}."
            )
    sample_weight = check_sample_weight(sample_weight, len(y))
    estimator = defaults.estimator() if estimator is None else estimator
    # Every fold predicts the same columns; unordered labels fail here.
    classes = resolve_classes(y, getattr(estimator, "classes", None), categories)
    if getattr(estimator, "classes", None) is None:
        estimator = clone(estimator).set_params(classes=classes)
    cv = resolve_cv(cv, random_state, groups, defaults.FOLDS, defaults.REPEATS)
    splits, split_ids = make_splits(cv, X, y, groups)
    tasks = make_tasks(
        splits, split_ids, y, groups, train_sizes, random_state, sample_weight
    )
    for task in tasks:
        task["job_pid"] = os.getpid()

    configs = penalty_configs(alphas, sigmas, sigma_decays)
    has_penalty = len(configs) > 1
    peers, peer_params = check_peers(peers, peer_params)
    # Bad settings fail before the first fit (the penalty peers are checked
    # with the first setting; they get the best one).
    first = configs[1] if has_penalty else None
    for config in [*configs, *peer_configs(peers, peer_params, first)]:
        config.make_estimator(estimator)._check_params()
    if tune == "nested":
        nested = nested_config(configs, estimator, inner_cv, inner_scoring, decodes[0])
        check_inner_folds(nested, tasks, y)
        configs.append(nested)

    job = describe_job(
        X, y, estimator, cv, splits, configs, decodes=decodes, within=within,
        random_state=random_state, train_sizes=train_sizes, groups=groups,
        sample_weight=sample_weight, description=description,
        peers={peer: peer_params.get(peer, {}) for peer in peers},
    )  # fmt: skip
    files = JobFiles(out_dir, job, resume)

    def run(run_configs, meter: Progress) -> None:
        todo = files.todo(run_configs, tasks)
        counters = meter.plan([planned_batches(estimator, *item) for item in todo])
        scored = job["scored_decodes"]
        calls = [
            delayed(_fit_and_score)(estimator, c, X, y, t, scored, within, counter)
            for (c, t), counter in zip(todo, counters, strict=True)
        ]
        try:
            for records, curve, counter in _parallel(n_jobs, calls) if calls else ():
                files.append(records, curve)
                meter.finished(counter)
        except Exception as error:  # joblib's TerminatedWorkerError and kin
            if "Terminated" not in type(error).__name__:
                raise
            kept = (
                "lost (no out_dir); give out_dir to keep them, " if out_dir is None
                else f"kept in {out_dir}; run the same job again with resume=True "
            )  # fmt: skip
            raise RuntimeError(
                "a worker process died (killed, or out of memory) during the fits; "
                f"the {meter.n_finished} finished in this run are {kept}"
                "(sk-klpenalty compare --resume) to run only the rest."
            ) from None

    n_later = (2 if controls and has_penalty else 0) + len(peers)
    later = n_later * sum(planned_batches(estimator, configs[0], t) for t in tasks)
    device = str(estimator.get_params().get("device", "cpu"))
    with Progress(progress, device, later) as meter:
        run(configs, meter)
        best = None
        if has_penalty:
            largest = [r for r in files.records if r["train_size"] == train_sizes[-1]]
            best = best_penalty(largest, configs, decodes[0])
            job["best_penalty"] = best.name
        later = control_configs(best, random_state) if controls and best else []
        later += peer_configs(peers, peer_params, best)
        if peers:
            job["peer_settings"] = describe_peers(later[-len(peers) :], estimator)
        run(later, meter)
    records, curves = files.frames()
    return CompareResult(records, job, curves)
