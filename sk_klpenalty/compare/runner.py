"""Running the comparison: every configuration on the same folds, in parallel."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import clone

from ..data import take_rows
from ..decode import DECODES, decode_indices, expectation
from ..labels import label_indices, ordered_categories, resolve_classes
from ..metrics import ordinal_metrics
from ..validation import check_choices, check_labels
from ..weights import check_sample_weight
from .configs import best_penalty, control_configs, penalty_configs
from .estimate import print_estimate
from .folds import fold_seed, resolve_cv
from .learning_curve import check_train_sizes, sized_splits
from .nested import check_inner_folds, check_tune, fit_nested, nested_config
from .peers import check_peers, describe_peers, peer_configs, peers_job_entry
from .report import CompareResult
from .store import ResultsStore, describe_job, record_key, records_frame, weights_digest
from .training_curves import CurveStore, curves_frame, history_curve
from .workers import exit_with_job, parallel_unordered, task_threads, threads_per_worker

__all__ = ["compare_penalty"]


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
    train_size=1.0,
    sample_weight=None,
):
    """One fit; one record per decode, and its per-epoch curve. Runs in a
    joblib worker."""
    import torch

    from ..base import OrdinalNeuralNet

    exit_with_job(job_pid)
    n_threads = task_threads(n_threads)
    previous = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(n_threads)
    try:
        start = time.perf_counter()
        fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
        model, params = _fit(estimator, config, X, train, y, seed, **fit_params)
        fit_seconds = time.perf_counter() - start
        # Metrics on the class values: the labels where they are numbers, else
        # the class positions 0..K-1.
        values = model.class_values_
        # One forward pass serves every decode: decoding is a function of proba.
        test_rows = take_rows(X, test, lazy=isinstance(model, OrdinalNeuralNet))
        proba = model.predict_proba(test_rows)
        expected = (
            expectation(proba, values)
            if getattr(model, "_expectation_from_proba", True)
            else model.predict_expectation(test_rows)  # regression
        )
    finally:
        # Worker threads are reused (dask, threading backend): leave them as found.
        if n_threads:
            torch.set_num_threads(previous)
    true_values = values[label_indices(y[test], model.classes_)]
    records = []
    for decode in decodes:
        predicted = values[decode_indices(proba, values, decode)]
        scores = ordinal_metrics(
            true_values,
            predicted,
            y_expected=expected,
            y_proba=proba,
            labels=values,
            within=within,
        )
        records.append(
            {
                "config": config.name,
                "kind": config.kind,
                # A peer has no alpha (NaN: it is no alpha=0 baseline).
                "alpha": config.alpha if config.kind != "nested" else params["alpha"],
                "sigma": params.get("sigma", math.nan),
                "sigma_decay": params.get("sigma_decay", math.nan),
                "repeat": split[0],
                "fold": split[1],
                "train_size": train_size,
                "decode": decode,
                "n_train": len(train),
                "n_test": len(test),
                "fit_seconds": fit_seconds,
                **scores,
            }
        )
    key = {"config": config.name, "train_size": train_size}
    key.update(repeat=split[0], fold=split[1])
    return records, [{**key, **row} for row in history_curve(model)]


def _fit(estimator, config, X, train, y, seed, **fit_params):
    """The model of ``config`` fitted on the rows ``train``, and the penalty
    setting it used."""
    from ..base import OrdinalNeuralNet

    if config.kind == "nested":
        X_train = take_rows(X, train, lazy=False)  # the search indexes it itself
        return fit_nested(estimator, config, X_train, y[train], seed, **fit_params)
    model = config.make_estimator(estimator).set_params(random_state=seed)
    # Our estimators read a fold batch by batch: no copy of X[train].
    X_train = take_rows(X, train, lazy=isinstance(model, OrdinalNeuralNet))
    return model.fit(X_train, y[train], **fit_params), config.params


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
    peers=(),
    peer_params=None,
    n_jobs: int | None = None,
    random_state: int = 0,
    progress: bool = True,
    out_dir: str | Path | None = None,
    resume: bool = False,
    sample_weight=None,
    tune: str | None = None,
    inner_cv=3,
    inner_scoring="neg_mean_squared_error",
    train_sizes: Sequence[float] = (1.0,),
    description: str | None = None,
    scheduler: str | None = None,
    security=None,
    estimate_time: bool = False,
) -> CompareResult:
    """Cross-validated comparison of cross-entropy with the KL penalty.

    Parameters
    ----------
    X, y : array-like
        Data and labels, as for :meth:`KLPenaltyClassifier.fit`: numbers,
        or labels with an order (the estimator's ``classes=[...]`` or an
        ordered pandas ``Categorical``). Metrics are in label units for
        numbers, in class positions ``0..K-1`` otherwise.
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
        The decodes the tables and plot show. Each fitted model is scored with
        every decode (one ``predict_proba``, no refit), so that the report can
        also compare each arm under the decode that suits each metric.
    within : float, default=1.0
        ``k`` of the "within ±k" metric, in label units.
    cv : int, cross-validation generator or iterable, optional
        Default: 5-fold stratified, repeated twice, seeded by
        ``random_state``. An int means that many stratified folds, once.
    controls : bool, default=True
        Add two controls with the best penalty setting (lowest mean MSE with
        the first decode): uniform label smoothing of the same entropy, and
        the Gaussian over a randomly permuted class order.
    peers : "all" or sequence of {"regression", "soft-labels", "laplace", "corn"}
        The methods a user would otherwise pick, one row each, on the same
        folds, seeds, network and epochs, paired with the baseline and with
        the best penalty setting (see :mod:`sk_klpenalty.compare.peers`):
        ``OrdinalRegressor`` (MSE), ``CORNClassifier``, the penalty with the
        Laplace kernel at the best setting, and the Laplace soft target alone
        (SORD) at the best setting's sigma. Default: none.
    peer_params : dict, optional
        ``{peer: {parameter: value}}`` set on a peer's estimator on top of its
        defaults, e.g. ``{"soft-labels": {"kernel": "gaussian"}}`` (DLDL).
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
    sample_weight : array-like of shape (n_samples,), optional
        Weights for training (each fit gets those of its training part);
        the held-out metrics are unweighted.
    tune : {None, "nested"}, default=None
        ``"nested"`` adds the configuration ``"tuned penalty (nested)"``: on
        each outer training fold a :class:`~sklearn.model_selection.GridSearchCV`
        over the penalty settings (``alpha > 0``; at least two) picks one by
        inner cross-validation, which is refit on the outer training fold and
        scored on its test fold. Its gain is not biased by the choice, unlike
        that of the best setting picked on the reported folds. Runs as one
        task per outer fold through the same joblib path (``n_jobs``,
        ``resume``).
    inner_cv : int or cross-validation generator, default=3
        The inner search's folds: an int means that many stratified folds,
        shuffled with the outer fold's seed.
    inner_scoring : str or callable, default="neg_mean_squared_error"
        The inner search's ``scoring`` (greater is better), computed on the
        estimator's ``predict`` with ``decode=decodes[0]``.
    train_sizes : sequence of float, default=(1.0,)
        Fractions of each outer training fold to train on, for a learning
        curve: each training fold is subsampled (stratified, seeded by
        ``random_state`` and the split, the same subsample for every
        configuration) to each size; test folds stay whole. The report adds
        each configuration's difference to the baseline at every size. The
        main tables and the choice of the best setting use the largest size.
    description : str, optional
        A line for the report on the data and training setup (part of the
        job: ``resume`` refuses a different one).
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
    # Every decode is scored, for the report's "decoded for the metric" part.
    scored_decodes = tuple(dict.fromkeys((*decodes, *DECODES)))
    tune = check_tune(tune)
    train_sizes = check_train_sizes(train_sizes)
    categories = ordered_categories(y)
    y = check_labels(y)
    sample_weight = check_sample_weight(sample_weight, len(y))
    if estimator is None:
        estimator = KLPenaltyClassifier(max_epochs=10)
    # Every fold predicts the same columns; unordered labels fail here.
    classes = resolve_classes(y, getattr(estimator, "classes", None), categories)
    if getattr(estimator, "classes", None) is None:
        estimator = clone(estimator).set_params(classes=classes)
    cv = resolve_cv(cv, random_state)
    splits = list(cv.split(X, y))
    per_repeat = len(splits) // max(1, getattr(cv, "n_repeats", 1))
    split_ids = [(i // per_repeat, i % per_repeat) for i in range(len(splits))]
    test_train_ratio = float(np.mean([len(te) / len(tr) for tr, te in splits]))
    tasks_of_split = sized_splits(splits, split_ids, y, train_sizes, random_state)

    configs = penalty_configs(alphas, sigmas, sigma_decays)
    has_penalty = len(configs) > 1
    peers, peer_params = check_peers(peers, peer_params)
    # Bad alpha/sigma/decay or peer settings: fail before the first fit (the
    # penalty peers are checked with the first setting; they get the best).
    first_penalty = configs[1] if has_penalty else None
    for config in [*configs, *peer_configs(peers, peer_params, first_penalty)]:
        config.make_estimator(estimator)._check_params()
    if tune == "nested":
        tuned = nested_config(configs, estimator, inner_cv, inner_scoring, decodes[0])
        check_inner_folds(tuned, (y[train] for _, _, train, _ in tasks_of_split))
        configs.append(tuned)
    job = describe_job(X, y, estimator, cv, configs, decodes, within, random_state)
    job["test_train_ratio"] = test_train_ratio
    job["scored_decodes"] = list(scored_decodes)
    job["train_sizes"] = list(train_sizes)
    if tune == "nested":
        job["tune"] = {"inner_cv": repr(inner_cv), "inner_scoring": repr(inner_scoring)}
    if description:
        job["description"] = description
    if sample_weight is not None:
        job["sample_weight_sha256"] = weights_digest(sample_weight)
    if peers:
        job["peers"] = peers_job_entry(peers, peer_params)
    store = ResultsStore(out_dir, job, resume)
    records = store.records
    curves = CurveStore(out_dir, {record_key(r) for r in records} if resume else None)
    n_configs = len(configs) + (2 if controls and has_penalty else 0) + len(peers)
    total = len(tasks_of_split) * n_configs

    if scheduler is not None and n_jobs is None:
        n_jobs = -1  # every worker thread of the cluster runs fits
    if estimate_time:
        sized = [(train, test) for _, _, train, test in tasks_of_split]
        print_estimate(estimator, X, y, sized, records, total, random_state, n_jobs)
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
                (config, split, size, train, test)
                for config in run_configs
                for split, size, train, test in tasks_of_split
                if (config.name, *split, size) not in done
            ]
            if not tasks:
                return  # all resumed: start no workers just to find that out
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
                        scored_decodes,
                        within,
                        fold_seed(random_state, *split),
                        n_threads,
                        os.getpid(),
                        size,
                        None if sample_weight is None else sample_weight[train],
                    )
                    for config, split, size, train, test in tasks
                ),
            )
            for fold_records, curve in fits:
                curves.append(curve)  # before the results: they mark it done
                store.append(fold_records)
                records.extend(fold_records)
                bar.update(1)

        run(configs)
        best = None
        if has_penalty:
            largest = [r for r in records if r["train_size"] == train_sizes[-1]]
            best = best_penalty(largest, configs, decodes[0])
            job["best_penalty"] = best.name
        later = control_configs(best, random_state) if controls and best else []
        later += peer_configs(peers, peer_params, best)
        if peers:
            job["peer_settings"] = describe_peers(later[-len(peers) :], estimator)
        run(later)

    return CompareResult(records_frame(records), job, curves_frame(curves.rows))
