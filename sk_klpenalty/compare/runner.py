"""Running the comparison: every configuration on the same folds, in parallel."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold, check_cv

from ..data import take_rows
from ..decode import DECODES, decode_indices, expectation
from ..metrics import ordinal_metrics
from ..validation import check_choices
from .configs import best_penalty, control_configs, penalty_configs
from .report import CompareResult
from .store import ResultsStore, describe_job, record_key, records_frame
from .workers import exit_with_job, parallel_unordered, task_threads, threads_per_worker

__all__ = ["compare_penalty"]


def _fold_seed(random_state: int, repeat: int, fold: int) -> int:
    # Same seed for every configuration on a fold: the comparison is paired
    # in the weight initialisation and shuffling too, not only in the data.
    return int(
        np.random.SeedSequence([random_state, repeat, fold]).generate_state(1)[0]
    )


def _fit_and_score(
    estimator,
    config,
    X,
    y,
    train,
    test,
    split,
    decodes,
    within,
    seed,
    n_threads,
    job_pid,
):
    """One fit; one record per decode. Runs in a joblib worker."""
    import torch

    from ..base import OrdinalNeuralNet

    exit_with_job(job_pid)
    n_threads = task_threads(n_threads)
    previous = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(n_threads)
    try:
        model = clone(estimator).set_params(**config.params, random_state=seed)
        # Our estimators read a fold batch by batch: no copy of X[train].
        lazy = isinstance(model, OrdinalNeuralNet)
        start = time.perf_counter()
        model.fit(take_rows(X, train, lazy=lazy), y[train])
        fit_seconds = time.perf_counter() - start
        # One forward pass serves every decode: decoding is a function of proba.
        proba = model.predict_proba(take_rows(X, test, lazy=lazy))
    finally:
        # Worker threads are reused (dask, threading backend): leave them as found.
        if n_threads:
            torch.set_num_threads(previous)
    expected = expectation(proba, model.classes_)
    records = []
    for decode in decodes:
        predicted = model.classes_[decode_indices(proba, model.classes_, decode)]
        scores = ordinal_metrics(
            y[test],
            predicted,
            y_expected=expected,
            labels=model.classes_,
            within=within,
        )
        records.append(
            {
                "config": config.name,
                "kind": config.kind,
                "alpha": config.alpha,
                "sigma": config.params.get("sigma", math.nan),
                "sigma_decay": config.params.get("sigma_decay", math.nan),
                "repeat": split[0],
                "fold": split[1],
                "decode": decode,
                "n_train": len(train),
                "n_test": len(test),
                "fit_seconds": fit_seconds,
                **scores,
            }
        )
    return records


def compare_penalty(
    X,
    y,
    *,
    estimator=None,
    alphas: Sequence[float] = (0.0, 1.0),
    sigmas: Sequence[float] = (2.0,),
    sigma_decays: Sequence[float] = (1.0,),
    decodes: Sequence[str] = ("argmax", "mean"),
    within: float = 1.0,
    cv=None,
    controls: bool = True,
    n_jobs: int | None = None,
    random_state: int = 0,
    progress: bool = True,
    out_dir: str | Path | None = None,
    resume: bool = False,
    scheduler: str | None = None,
    security=None,
    estimate_time: bool = False,
) -> CompareResult:
    """Cross-validated comparison of cross-entropy with the KL penalty.

    Parameters
    ----------
    X, y : array-like
        Data and numeric labels, as for :meth:`KLPenaltyClassifier.fit`.
    estimator : KLPenaltyClassifier, optional
        The model to compare (epochs, lr, device, ...). Default:
        ``KLPenaltyClassifier(max_epochs=10)``. Each fit is a clone with the
        configuration's parameters and a per-fold ``random_state`` (the same
        for every configuration on a fold). ``classes`` defaults to all labels
        of ``y``, so every fold predicts the same columns.
    alphas, sigmas, sigma_decays : sequences of float
        The penalty grid: one configuration per ``alpha > 0``, sigma and
        decay. The baseline (``alpha=0``) is always included.
    decodes : sequence of {"argmax", "mean", "median"}
        Each fitted model is scored with each decode (no refit).
    within : float, default=1.0
        ``k`` of the "within ±k" metric, in label units.
    cv : int, cross-validation generator or iterable, optional
        Default: 5-fold stratified, repeated twice, seeded by
        ``random_state``. An int means that many stratified folds, once.
    controls : bool, default=True
        Add two controls with the best penalty setting (lowest mean MSE with
        the first decode): uniform label smoothing of the same entropy, and
        the Gaussian over a randomly permuted class order.
    n_jobs : int, optional
        Parallel fits through joblib, with the backend that
        :func:`joblib.parallel_config` selects: loky processes by default, or
        e.g. ``backend="dask"`` to run them on a ``dask.distributed`` cluster
        (every worker thread runs fits, for any ``n_jobs`` but 1). Torch
        threads per fit: ``cores // n_jobs`` with local workers; on a dask
        worker, ``cores // nthreads`` of that worker, capped by its
        ``MKL_NUM_THREADS`` or ``OMP_NUM_THREADS`` (1 under dask's nanny
        unless set where the worker was started). joblib runs the fits in this
        process when a dask cluster has a single thread, or with ``n_jobs=1``.
    random_state : int, default=0
        Seeds the folds, the per-fold model seeds and the permuted control.
    progress : bool, default=True
        Show a progress bar (fits done / total, ETA) on stderr.
    out_dir : str or Path, optional
        Where ``results.csv`` is appended fold by fold while the job runs
        (and ``job.json`` describes the job). Without it nothing is written.
    resume : bool, default=False
        Keep the finished folds in ``out_dir/results.csv`` and run only the
        rest. Refused if ``out_dir`` holds a different job.
    scheduler : str, optional
        Run the fits on the ``dask.distributed`` cluster of this scheduler
        (e.g. ``"tls://10.0.0.5:8786"``), through joblib's dask backend, with
        ``n_jobs=-1`` unless given; the client is closed at the end.
    security : distributed.security.Security, optional
        TLS certificates for ``scheduler`` (a ``tls://`` address).
    estimate_time : bool, default=False
        Before the first fit, time a short warm-up (one epoch over two
        batches, one prediction) and print the projected time of the
        remaining fits on this machine to stderr.

    Notes
    -----
    ``X`` is never copied as a whole: each fit of the library's estimators
    reads its fold batch by batch through the fold's indices, uint8 images
    stay uint8, and a read-only ``np.memmap`` reaches joblib's worker
    processes as the same file (by path), not as a copy.

    Returns
    -------
    CompareResult

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
    >>> print(result.to_markdown())  # doctest: +SKIP
    """
    from ..estimator import KLPenaltyClassifier

    decodes = check_choices(decodes, DECODES, "decodes")
    y = np.asarray(y)
    if estimator is None:
        estimator = KLPenaltyClassifier(max_epochs=10)
    if getattr(estimator, "classes", None) is None:
        estimator = clone(estimator).set_params(classes=np.unique(y))
    cv = _resolve_cv(cv, random_state)
    splits = list(cv.split(X, y))
    per_repeat = len(splits) // max(1, getattr(cv, "n_repeats", 1))
    split_ids = [(i // per_repeat, i % per_repeat) for i in range(len(splits))]
    test_train_ratio = float(np.mean([len(te) / len(tr) for tr, te in splits]))

    configs = penalty_configs(alphas, sigmas, sigma_decays)
    for config in configs:  # bad alpha/sigma/decay: fail before the first fit
        clone(estimator).set_params(**config.params)._check_hyperparameters()
    has_penalty = len(configs) > 1
    job = describe_job(X, y, estimator, cv, configs, decodes, within, random_state)
    job["test_train_ratio"] = test_train_ratio
    store = ResultsStore(out_dir, job, resume)
    records = store.records
    total = len(splits) * (len(configs) + (2 if controls and has_penalty else 0))

    if estimate_time:
        _print_estimate(estimator, X, y, splits, records, total, random_state)
    if scheduler is not None and n_jobs is None:
        n_jobs = -1  # every worker thread of the cluster runs fits
    from tqdm.auto import tqdm

    from ..cluster import scheduler_backend

    with (
        scheduler_backend(scheduler, security),
        tqdm(total=total, disable=not progress, unit="fit", desc="compare") as bar,
    ):
        n_threads = threads_per_worker(n_jobs)
        bar.update(len({record_key(r) for r in records}))

        def run(run_configs):
            done = {record_key(r) for r in records}
            tasks = [
                (config, split_ids[i], train, test)
                for config in run_configs
                for i, (train, test) in enumerate(splits)
                if (config.name, *split_ids[i]) not in done
            ]
            from joblib import delayed

            fits = parallel_unordered(
                n_jobs,
                (
                    delayed(_fit_and_score)(
                        estimator,
                        config,
                        X,
                        y,
                        train,
                        test,
                        split,
                        decodes,
                        within,
                        _fold_seed(random_state, *split),
                        n_threads,
                        os.getpid(),
                    )
                    for config, split, train, test in tasks
                ),
            )
            for fold_records in fits:
                store.append(fold_records)
                records.extend(fold_records)
                bar.update(1)

        run(configs)
        best = None
        if has_penalty:
            best = best_penalty(records, configs, decodes[0])
            job["best_penalty"] = best.name
            if controls:
                run(control_configs(best, random_state))

    return CompareResult(records_frame(records), job)


def _print_estimate(estimator, X, y, splits, records, total, random_state) -> None:
    from .estimate import estimate_job

    remaining = total - len({record_key(r) for r in records})
    if remaining <= 0:
        return
    tasks = [splits[i % len(splits)] for i in range(remaining)]
    estimate = estimate_job(estimator, X, y, tasks, random_state)
    print(f"compare: {estimate.message()}", file=sys.stderr, flush=True)


def _resolve_cv(cv, random_state: int):
    if cv is None:
        return RepeatedStratifiedKFold(
            n_splits=5, n_repeats=2, random_state=random_state
        )
    if isinstance(cv, int):
        from sklearn.model_selection import StratifiedKFold

        return StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    return check_cv(cv, classifier=True)
