"""The cross-validated baseline-versus-penalty report.

Every configuration (the cross-entropy baseline ``alpha=0``, each penalty
setting, and two controls) is fitted on the same folds of a repeated
stratified K-fold, through the public :class:`KLPenaltyClassifier` (clone +
``set_params``), with joblib. Each fitted model is scored with every decode.

Folds of repeated cross-validation overlap, so the per-fold scores are not
independent and a plain t interval over folds is too narrow. Intervals and
p-values here use the corrected resampled t statistic of Nadeau & Bengio
(2003), which inflates the variance by ``1/n + n_test/n_train``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold, check_cv
from sklearn.utils import _safe_indexing

from .estimator import _decode_indices, _expectation
from .metrics import METRICS, ordinal_metrics

__all__ = [
    "Config",
    "CompareResult",
    "compare_penalty",
    "corrected_resampled_ttest",
]

BASELINE = "baseline"
_ID_COLUMNS = ["config", "kind", "alpha", "sigma", "sigma_decay", "repeat", "fold"]
_COLUMNS = [*_ID_COLUMNS, "decode", "n_train", "n_test", "fit_seconds", *METRICS]


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


def penalty_configs(
    alphas: Iterable[float], sigmas: Iterable[float], sigma_decays: Iterable[float]
) -> list[Config]:
    """The baseline (always first) and one config per alpha > 0, sigma, decay."""
    configs = [Config(BASELINE, "baseline", {"alpha": 0.0})]
    for alpha in sorted({float(a) for a in alphas} - {0.0}):
        for sigma in sigmas:
            for decay in sigma_decays:
                name = f"alpha={alpha:g} sigma={sigma:g}"
                if decay != 1:
                    name += f" decay={decay:g}"
                params = {"alpha": alpha, "sigma": float(sigma)}
                params["sigma_decay"] = float(decay)
                configs.append(Config(name, "penalty", params))
    return configs


def control_configs(best: Config, seed: int) -> list[Config]:
    """The two controls, with the penalty setting of ``best``.

    ``uniform``: the KL target is uniform label smoothing with the same entropy
    as the Gaussian. ``permuted``: the same Gaussian over a fixed random order
    of the classes. If the penalty's gain is ordinal, only it should help.
    """
    from .losses import PermutedGaussianKLLoss, UniformSmoothingKLLoss

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


def corrected_resampled_ttest(
    values: Sequence[float], test_train_ratio: float, confidence: float = 0.95
) -> dict[str, float]:
    """Mean, confidence interval and p-value (mean = 0) of per-fold values.

    The corrected resampled t-test of Nadeau & Bengio (2003): with ``n``
    values from (repeated) cross-validation, sample variance ``s**2`` and
    ``test_train_ratio = n_test / n_train``, the standard error is
    ``sqrt((1/n + n_test/n_train) * s**2)`` with ``n - 1`` degrees of freedom.
    For paired differences between two models on the same folds it tests
    whether they differ; for one model's scores it gives an honest interval.

    Parameters
    ----------
    values : sequence of float
        One value per fold (or per-fold difference between two models).
    test_train_ratio : float
        Size of a test fold over the size of its training set (``1/(k-1)``
        for k-fold).
    confidence : float, default=0.95

    Returns
    -------
    dict with ``mean``, ``ci_low``, ``ci_high``, ``p_value``, ``std``, ``n``

    Examples
    --------
    >>> out = corrected_resampled_ttest([1.0, 2.0, 3.0, 2.0], test_train_ratio=0.25)
    >>> round(out["mean"], 3), round(out["p_value"], 4)
    (2.0, 0.0405)
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    out = {
        "mean": mean,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "p_value": math.nan,
        "std": math.nan,
        "n": n,
    }
    if n < 2:
        return out
    std = float(values.std(ddof=1))
    out["std"] = std
    se = math.sqrt((1.0 / n + test_train_ratio) * std**2)
    if se == 0:
        out.update(ci_low=mean, ci_high=mean, p_value=1.0 if mean == 0 else 0.0)
        return out
    quantile = stats.t.ppf(0.5 + confidence / 2, df=n - 1)
    t = mean / se
    out.update(
        ci_low=float(mean - quantile * se),
        ci_high=float(mean + quantile * se),
        p_value=float(2 * stats.t.sf(abs(t), df=n - 1)),
    )
    return out


# ----------------------------------------------------------------- fitting


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

    _exit_with_job(job_pid)
    n_threads = _task_threads(n_threads)
    previous = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(n_threads)
    try:
        model = clone(estimator).set_params(**config.params, random_state=seed)
        start = time.perf_counter()
        model.fit(_safe_indexing(X, train), y[train])
        fit_seconds = time.perf_counter() - start
        # One forward pass serves every decode: decoding is a function of proba.
        proba = model.predict_proba(_safe_indexing(X, test))
    finally:
        # Worker threads are reused (dask, threading backend): leave them as found.
        if n_threads:
            torch.set_num_threads(previous)
    expected = _expectation(proba, model.classes_)
    records = []
    for decode in decodes:
        predicted = model.classes_[_decode_indices(proba, model.classes_, decode)]
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


_job_watch_lock = threading.Lock()
_watched_job: int | None = None


def _exit_with_job(job_pid: int) -> None:
    """Make this worker process exit when the compare job's process dies.

    A job killed with SIGKILL (``kill -9``, the OOM killer: the case that
    ``resume`` is for) runs no clean-up, and joblib's loky workers then live
    on with a model's memory each, for good. In a worker process started by
    the job (loky, multiprocessing) a daemon thread checks once a second that
    the job is still its parent. Nothing happens in the job's own process
    (serial, threads) or on other hosts (dask).
    """
    global _watched_job
    if os.getpid() == job_pid or os.getppid() != job_pid:
        return
    with _job_watch_lock:
        if _watched_job == job_pid:
            return
        _watched_job = job_pid

    def watch() -> None:
        while os.getppid() == job_pid:
            time.sleep(1.0)
        os._exit(1)  # orphaned: nobody is left to receive a result

    threading.Thread(target=watch, name="sk-klpenalty-job-watch", daemon=True).start()


# ------------------------------------------------------------- the driver


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
    from .estimator import DECODES, KLPenaltyClassifier

    decodes = _check_choices(decodes, DECODES, "decodes")
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
    job = _describe_job(X, y, estimator, cv, configs, decodes, within, random_state)
    job["test_train_ratio"] = test_train_ratio
    store = _ResultsStore(out_dir, job, resume)
    records = store.records
    total = len(splits) * (len(configs) + (2 if controls and has_penalty else 0))

    n_threads = _threads_per_worker(n_jobs)
    from tqdm.auto import tqdm

    with tqdm(total=total, disable=not progress, unit="fit", desc="compare") as bar:
        bar.update(len({_record_key(r) for r in records}))

        def run(run_configs):
            done = {_record_key(r) for r in records}
            tasks = [
                (config, split_ids[i], train, test)
                for config in run_configs
                for i, (train, test) in enumerate(splits)
                if (config.name, *split_ids[i]) not in done
            ]
            from joblib import delayed

            fits = _parallel_unordered(
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
            best = _best_penalty(records, configs, decodes[0])
            job["best_penalty"] = best.name
            if controls:
                run(control_configs(best, random_state))

    return CompareResult(_records_frame(records), job)


def _check_choices(values, allowed, name: str) -> tuple[str, ...]:
    values = (values,) if isinstance(values, str) else tuple(values)
    unknown = [v for v in values if v not in allowed]
    if not values or unknown:
        raise ValueError(
            f"{name} must be a non-empty subset of {allowed}, got {values}."
        )
    return values


def _resolve_cv(cv, random_state: int):
    if cv is None:
        return RepeatedStratifiedKFold(
            n_splits=5, n_repeats=2, random_state=random_state
        )
    if isinstance(cv, int):
        from sklearn.model_selection import StratifiedKFold

        return StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    return check_cv(cv, classifier=True)


def _parallel_unordered(n_jobs: int | None, calls: Iterable) -> Iterator:
    """Run joblib ``delayed`` calls, yielding each result as soon as it can.

    Backends that stream results (loky, threading, dask) yield them in
    completion order. Backends that cannot (``return_as`` unsupported, e.g.
    joblib's ``multiprocessing`` backend) run the calls in chunks of one call
    per worker, each chunk yielded when it is done, so the caller still sees
    results long before the end.
    """
    from joblib import Parallel, effective_n_jobs

    try:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    except ValueError as error:
        if "return_as" not in str(error):
            raise
    else:
        yield from parallel(calls)
        return
    calls = list(calls)
    chunk = max(1, effective_n_jobs(n_jobs))
    with Parallel(n_jobs=n_jobs) as parallel:
        for start in range(0, len(calls), chunk):
            yield from parallel(calls[start : start + chunk])


def _threads_per_worker(n_jobs: int | None) -> int | None:
    """Torch threads per fit for local joblib workers (``None``: leave alone).

    ``cores // workers``, as joblib does for the OpenMP/BLAS pools of its loky
    workers. On a dask worker :func:`_task_threads` replaces it, since
    ``effective_n_jobs`` then counts the cluster's threads, not local workers.
    """
    from joblib import cpu_count, effective_n_jobs

    workers = effective_n_jobs(n_jobs)
    if workers <= 1:
        return None  # in-process: leave torch's setting alone
    return max(1, cpu_count() // workers)


def _task_threads(local_threads: int | None) -> int | None:
    """Torch threads for the fit running now, in whatever worker runs it.

    On a dask worker: ``cores // nthreads`` of that worker (it runs up to
    ``nthreads`` fits at once), capped by the thread count its environment
    gives torch (``MKL_NUM_THREADS``, else ``OMP_NUM_THREADS``; dask's nanny
    sets both to 1 unless the shell that started the worker set them), so 1
    thread per fit by default. Anywhere else: ``local_threads``.
    """
    worker = _dask_worker()
    if worker is None:
        return local_threads
    import os

    from joblib import cpu_count

    state = getattr(worker, "state", worker)
    slots = max(1, int(getattr(state, "nthreads", 1) or 1))
    threads = max(1, cpu_count() // slots)
    for variable in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):  # torch's precedence
        try:
            limit = int(os.environ.get(variable, ""))
        except ValueError:
            continue  # unset or not a number
        if limit > 0:
            return min(threads, limit)
    return threads


def _dask_worker():
    """The ``distributed`` worker running the current task, or ``None``."""
    import sys

    if "distributed" not in sys.modules:  # never import dask just to look
        return None
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def _record_key(record: dict) -> tuple:
    return (record["config"], int(record["repeat"]), int(record["fold"]))


def _best_penalty(records, configs, decode) -> Config:
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


def _describe_job(X, y, estimator, cv, configs, decodes, within, random_state) -> dict:
    import hashlib

    X_array = np.asarray(X)
    step = max(1, len(X_array) // 64)
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(y).tobytes())
    digest.update(np.ascontiguousarray(X_array[::step]).tobytes())
    plain = (bool, int, float, str, type(None))
    settings = {
        key: value
        for key, value in estimator.get_params(deep=False).items()
        if isinstance(value, plain) and key not in ("verbose", "random_state")
    }
    return {
        "n_samples": int(len(y)),
        "sample_shape": list(X_array.shape[1:]),
        "classes": np.unique(y).tolist(),
        "data_sha256": digest.hexdigest(),
        "estimator": settings,
        "cv": repr(cv),
        "configs": [c.name for c in configs],
        "decodes": list(decodes),
        "within": within,
        "random_state": random_state,
    }


class _ResultsStore:
    """``results.csv`` appended one fold at a time, and ``job.json`` beside it."""

    def __init__(self, out_dir, job: dict, resume: bool) -> None:
        self.records: list[dict] = []
        self.path = None
        if out_dir is None:
            if resume:
                raise ValueError("resume=True needs out_dir, where the results are.")
            return
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / "results.csv"
        job_path = out_dir / "job.json"
        if resume and self.path.exists():
            self._check_same_job(job_path, job)
            self.records = _read_complete_records(self.path, len(job["decodes"]))
        with open(job_path, "w") as f:
            json.dump(_json_safe(job), f, indent=2)
        # Rewrite what is kept (drops a row cut short by a kill), then append.
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=_COLUMNS)
            writer.writeheader()
            writer.writerows(self.records)

    @staticmethod
    def _check_same_job(job_path: Path, job: dict) -> None:
        try:
            earlier = json.loads(job_path.read_text())
        except (OSError, ValueError):
            earlier = None
        keys = [k for k in job if k != "best_penalty"]
        if earlier is None or any(earlier.get(k) != _json_safe(job[k]) for k in keys):
            raise ValueError(
                f"{job_path.parent} holds the results of a different job (data, "
                "folds, configurations or settings differ); choose another output "
                "folder or run without resume."
            )

    def append(self, records: list[dict]) -> None:
        if self.path is None:
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=_COLUMNS).writerows(records)
            f.flush()


def _read_complete_records(path: Path, n_decodes: int) -> list[dict]:
    """Rows of folds whose every decode was written; others are rerun."""
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            parsed = _parse_row(row)
            if parsed is not None:
                rows.append(parsed)
    counts: dict[tuple, int] = {}
    for row in rows:
        counts[_record_key(row)] = counts.get(_record_key(row), 0) + 1
    return [row for row in rows if counts[_record_key(row)] == n_decodes]


def _parse_row(row: dict) -> dict | None:
    if None in row or any(row.get(c) in (None, "") for c in _COLUMNS):
        return None
    try:
        parsed = {c: row[c] for c in ("config", "kind", "decode")}
        for c in ("repeat", "fold", "n_train", "n_test"):
            parsed[c] = int(row[c])
        for c in ("alpha", "sigma", "sigma_decay", "fit_seconds", *METRICS):
            parsed[c] = float(row[c])
    except ValueError:
        return None
    return {c: parsed[c] for c in _COLUMNS}


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def _records_frame(records: list[dict]):
    import pandas as pd

    frame = pd.DataFrame(records, columns=_COLUMNS)
    return frame.sort_values(["config", "repeat", "fold", "decode"], kind="stable")


# ------------------------------------------------------------------ result


class CompareResult:
    """What :func:`compare_penalty` found.

    Attributes
    ----------
    records : pandas.DataFrame
        One row per configuration, repeat, fold and decode with every metric.
    job : dict
        The job's description (data, folds, configurations, settings).
    """

    def __init__(self, records, job: dict) -> None:
        self.records = records.reset_index(drop=True)
        self.job = job
        self._summary = None
        self._comparison = None

    @property
    def configs(self) -> list[str]:
        """Configuration names in run order (baseline first, controls last)."""
        order = {name: i for i, name in enumerate(self.job["configs"])}
        names = self.records["config"].unique().tolist()
        return sorted(names, key=lambda n: (order.get(n, len(order)), n))

    @property
    def decodes(self) -> list[str]:
        return list(self.job["decodes"])

    def summary(self):
        """Mean and 95% CI of each metric per configuration and decode."""
        import pandas as pd

        if self._summary is None:
            rows = []
            ratio = self.job["test_train_ratio"]
            for (config, decode), group in self.records.groupby(
                ["config", "decode"], sort=False
            ):
                for metric in METRICS:
                    stats_ = corrected_resampled_ttest(group[metric], ratio)
                    rows.append(
                        {"config": config, "decode": decode, "metric": metric, **stats_}
                    )
            self._summary = pd.DataFrame(rows).drop(columns="p_value")
        return self._summary

    def comparison(self):
        """Each configuration minus the baseline, paired by fold and decode.

        ``mean`` is the mean difference (negative = lower than the baseline),
        with the corrected resampled t interval and p-value.
        """
        import pandas as pd

        if self._comparison is None:
            rows = []
            ratio = self.job["test_train_ratio"]
            keys = ["repeat", "fold", "decode"]
            baseline = self.records[self.records["config"] == BASELINE]
            for config in self.configs:
                if config == BASELINE:
                    continue
                runs = self.records[self.records["config"] == config]
                paired = runs.merge(baseline, on=keys, suffixes=("", "_base"))
                for decode, group in paired.groupby("decode", sort=False):
                    for metric in METRICS:
                        diff = group[metric] - group[f"{metric}_base"]
                        rows.append(
                            {
                                "config": config,
                                "decode": decode,
                                "metric": metric,
                                **corrected_resampled_ttest(diff, ratio),
                            }
                        )
            self._comparison = pd.DataFrame(rows)
        return self._comparison

    # ---------------------------------------------------------- rendering

    def to_markdown(
        self, compare_metrics: Sequence[str] = ("mse", "mae", "accuracy")
    ) -> str:
        """The report: settings, per-configuration table, differences table."""
        job = self.job
        n_fits = self.records.groupby("config").size().max() // len(self.decodes)
        lines = [
            "# Cross-entropy vs cross-entropy + KL penalty",
            "",
            f"Data: {job['n_samples']} samples of shape {tuple(job['sample_shape'])}, "
            f"{len(job['classes'])} classes. Folds: {job['cv']} "
            f"({n_fits} fits per configuration). Metrics on the held-out folds, "
            "in label units; `within ±k` uses "
            f"k = {job['within']:g}.",
            "Intervals: 95%, corrected resampled t (Nadeau & Bengio 2003), "
            f"test/train ratio {job['test_train_ratio']:.3f}.",
            "",
            "## Mean per configuration [95% CI]",
            "",
            *self._summary_table(),
            "",
            "## Difference to the baseline (alpha=0, same decode, same folds)",
            "",
            "Negative Δ for MSE/MAE and positive Δ for accuracy mean better than "
            "the baseline.",
            "",
            *self._comparison_table(compare_metrics),
        ]
        best = job.get("best_penalty")
        if best:
            lines += [
                "",
                f"Best penalty setting (lowest mean MSE, decode "
                f"`{self.decodes[0]}`): **{best}**. It was chosen on these folds, "
                "so its gain over the baseline is optimistic; the controls use its "
                "setting. If the gain is ordinal, the permuted-order control "
                "should not match it.",
            ]
        return "\n".join(lines) + "\n"

    def _summary_table(self) -> list[str]:
        summary = self.summary().set_index(["config", "decode", "metric"])
        header = ["configuration", "decode", *(METRICS[m][0] for m in METRICS)]
        rows = []
        for config in self.configs:
            for decode in self.decodes:
                cells = [config, decode]
                for metric in METRICS:
                    s = summary.loc[(config, decode, metric)]
                    cells.append(
                        f"{_fmt(s['mean'])} [{_fmt(s['ci_low'])}, {_fmt(s['ci_high'])}]"
                    )
                rows.append(cells)
        return _markdown_table(header, rows)

    def _comparison_table(self, metrics: Sequence[str]) -> list[str]:
        comparison = self.comparison()
        if comparison.empty:
            return ["(no configuration besides the baseline)"]
        table = comparison.set_index(["config", "decode", "metric"])
        header = ["configuration", "decode"]
        for metric in metrics:
            header += [f"Δ{METRICS[metric][0]} [95% CI]", "p"]
        rows = []
        for config in self.configs:
            if config == BASELINE:
                continue
            for decode in self.decodes:
                cells = [config, decode]
                for metric in metrics:
                    c = table.loc[(config, decode, metric)]
                    cells += [
                        f"{_fmt(c['mean'], signed=True)} [{_fmt(c['ci_low'], True)}, "
                        f"{_fmt(c['ci_high'], True)}]",
                        _fmt_p(c["p_value"]),
                    ]
                rows.append(cells)
        return _markdown_table(header, rows)

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, path: str | Path | None = None):
        """Each metric per configuration with 95% CI error bars (headless).

        The baseline's mean is the dashed line. Returns the matplotlib Figure
        and writes it to ``path`` if given.
        """
        from matplotlib.figure import Figure

        summary = self.summary().set_index(["config", "decode", "metric"])
        configs = self.configs
        figure = Figure(
            figsize=(4.2 * 3, 3.2 * 2 + 0.3 * len(configs)), layout="constrained"
        )
        axes = figure.subplots(2, 3)
        offsets = np.linspace(-0.15, 0.15, len(self.decodes))
        for ax, metric in zip(axes.ravel(), METRICS, strict=False):
            for offset, decode in zip(offsets, self.decodes, strict=True):
                rows = [summary.loc[(c, decode, metric)] for c in configs]
                mean = np.array([r["mean"] for r in rows])
                low = mean - np.array([r["ci_low"] for r in rows])
                high = np.array([r["ci_high"] for r in rows]) - mean
                x = np.arange(len(configs)) + offset
                line = ax.errorbar(
                    x, mean, yerr=[low, high], fmt="o", capsize=3, label=decode
                )
                ax.axhline(
                    mean[configs.index(BASELINE)],
                    linestyle="--",
                    linewidth=0.8,
                    color=line[0].get_color(),
                )
            ax.set_title(METRICS[metric][0])
            ax.set_xticks(np.arange(len(configs)))
            ax.set_xticklabels(
                [_short(c) for c in configs], rotation=30, ha="right", fontsize=8
            )
        handles, labels = axes[0, 0].get_legend_handles_labels()
        figure.legend(
            handles,
            labels,
            title="decode (dashed line: baseline)",
            loc="outside lower center",
            ncols=len(labels),
            fontsize=8,
        )
        if path is not None:
            figure.savefig(path, dpi=110)
        return figure

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``report.md``, ``results.csv``, ``summary.json`` and ``plot.png``."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {
            name: out_dir / name
            for name in ("report.md", "results.csv", "summary.json", "plot.png")
        }
        paths["report.md"].write_text(self.to_markdown() + "\n![plot](plot.png)\n")
        self.records.to_csv(paths["results.csv"], index=False)
        summary = {
            "job": _json_safe(self.job),
            "summary": _json_safe(self.summary().to_dict(orient="records")),
            "comparison": _json_safe(self.comparison().to_dict(orient="records")),
        }
        paths["summary.json"].write_text(json.dumps(summary, indent=2))
        self.plot(paths["plot.png"])
        return paths


def _short(name: str) -> str:
    return (
        name.replace("control: ", "")
        .replace("uniform smoothing", "uniform")
        .replace("permuted order", "permuted")
    )


def _fmt(value: float, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    sign = "+" if signed else ""
    magnitude = abs(value)
    digits = 1 if magnitude >= 100 else 2 if magnitude >= 1 else 3
    return f"{value:{sign}.{digits}f}"


def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
