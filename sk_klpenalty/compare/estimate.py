"""How long a compare job will take, from a short timed warm-up before it.

A job of the seed's size is days on a CPU and hours on a GPU; the user
should learn which before the first fit, not from the progress bar an hour
later. :func:`estimate_job` fits the job's estimator on one batch (untimed:
it pays for initialisation and first-call costs), then times one epoch over
a few batches (skorch's epoch duration, without the fit call's own set-up)
and a prediction over one, and scales both to every remaining fit, epoch
and sample.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone

from ..data import take_rows
from .store import record_key

__all__ = ["JobEstimate", "estimate_job", "format_duration", "print_estimate"]

#: Batches timed in the warm-up's training epoch.
TIMED_BATCHES = 2
#: Timed epochs of those batches at most; the fastest counts.
MAX_TIMED_PASSES = 3
#: A timed epoch longer than this is not repeated.
ONE_PASS_SECONDS = 1.0
#: Above this many seconds on a CPU, the estimate suggests a GPU.
GPU_HINT_SECONDS = 6 * 3600.0


@dataclass(frozen=True)
class JobEstimate:
    """The projected time of a compare job.

    Attributes
    ----------
    seconds : float
        All remaining fits at the warm-up's speed, ``n_workers`` at a time.
    n_fits, epochs : int
    n_workers : int
        Fits that run at once (joblib's workers).
    train_seconds_per_sample, predict_seconds_per_sample : float
        What the warm-up measured.
    device, precision : str
    """

    seconds: float
    n_fits: int
    epochs: int
    n_workers: int
    train_seconds_per_sample: float
    predict_seconds_per_sample: float
    device: str
    precision: str

    def message(self) -> str:
        """One line for the user; suggests a GPU for a long CPU job."""
        text = (
            f"estimated time: about {format_duration(self.seconds)} for "
            f"{self.n_fits} fits of {self.epochs} epoch(s), {self.n_workers} at "
            "a time on this machine "
            f"({self.device}, {self.precision}; a timed warm-up trained "
            f"{1 / self.train_seconds_per_sample:.3g} samples/s)"
        )
        if self.device == "cpu" and self.seconds > GPU_HINT_SECONDS:
            text += "; this is a GPU job: run it with --device cuda on a GPU machine"
        return text + "."


def format_duration(seconds: float) -> str:
    """``"3 d 4 h"``, ``"2 h 5 min"``, ``"4 min 10 s"`` or ``"12 s"``.

    Examples
    --------
    >>> format_duration(3 * 86400 + 4 * 3600 + 59), format_duration(125)
    ('3 d 4 h', '2 min 5 s')
    """
    seconds = max(0.0, float(seconds))
    units = [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]
    for i, (name, size) in enumerate(units[:-1]):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            small_name, small_size = units[i + 1]
            return f"{int(whole)} {name} {int(rest // small_size)} {small_name}"
    return f"{math.ceil(seconds)} s"


def estimate_job(
    estimator, X, y, tasks, random_state: int = 0, n_workers: int = 1, threads=None
) -> JobEstimate:
    """Time a short warm-up of ``estimator`` on ``X`` and project ``tasks``.

    Parameters
    ----------
    estimator : OrdinalNeuralNet
        The job's estimator (cloned; ``classes`` must be set).
    X, y : the job's data
    tasks : sequence of (train, test) index arrays
        One per remaining fit.
    random_state : int
        Seeds which rows the warm-up trains on.
    n_workers : int
        Fits that will run at once: the projection divides by it.
    threads : int, optional
        Torch threads of each fit (as each worker will have); the warm-up
        runs with that many.

    Returns
    -------
    JobEstimate
    """
    import torch

    rows = _warm_up_rows(estimator, y, tasks, random_state)
    n_timed = len(rows)
    batch = min(_batch_size(estimator, tasks), n_timed)
    warm_rows, predict_rows = rows[:batch], rows[:batch]

    model = clone(estimator).set_params(
        max_epochs=1, random_state=random_state, train_split=None, verbose=0
    )
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        model.fit(take_rows(X, warm_rows, lazy=True), y[warm_rows])  # untimed
        train = math.inf
        for _ in range(MAX_TIMED_PASSES):
            start = time.perf_counter()
            model.partial_fit(take_rows(X, rows, lazy=True), y[rows])
            elapsed = time.perf_counter() - start
            # The fastest pass: a busy machine's hiccups only ever slow one
            # down, and two batches are few (this VM: 2.4e3 against 3.6e3
            # samples/s between two runs of the same job with one pass).
            train = min(train, _epoch_seconds(model, elapsed) / n_timed)
            if elapsed > ONE_PASS_SECONDS:
                break  # a slow job (the seed's on a CPU): one pass is enough
        start = time.perf_counter()
        model.predict_proba(take_rows(X, predict_rows, lazy=True))
        predict = (time.perf_counter() - start) / len(predict_rows)
    finally:
        torch.set_num_threads(previous)

    epochs = int(estimator.max_epochs)
    seconds = sum(
        len(train_rows) * epochs * train + len(test_rows) * predict
        for train_rows, test_rows in tasks
    )
    n_workers = max(1, min(int(n_workers), len(tasks)))
    return JobEstimate(
        seconds=seconds / n_workers,
        n_fits=len(tasks),
        epochs=epochs,
        n_workers=n_workers,
        train_seconds_per_sample=train,
        predict_seconds_per_sample=predict,
        device=str(model.device),
        precision=getattr(model, "precision_", "fp32"),
    )


def print_estimate(
    estimator, X, y, splits, records, total, random_state, n_jobs=None
) -> None:
    """Print the projected time of the fits not yet in ``records`` to stderr,
    run by ``n_jobs`` joblib workers (as ``compare_penalty`` runs them).

    ``splits``: the ``(train, test)`` indices of one configuration's fits
    (subsampled for a learning curve); the remaining fits cycle through them.
    When the fits run in other processes, so does the warm-up (a fresh
    process, given only the rows it trains on): a fit here would keep its
    torch allocations (about 0.2 GB) in this process for the whole job.
    """
    from joblib import effective_n_jobs

    from .workers import threads_per_worker

    remaining = total - len({record_key(r) for r in records})
    if remaining <= 0:
        return
    tasks = [splits[i % len(splits)] for i in range(remaining)]
    n_workers = effective_n_jobs(n_jobs)
    kwargs = {"n_workers": n_workers, "threads": threads_per_worker(n_jobs)}
    if n_workers <= 1:
        estimate = estimate_job(estimator, X, y, tasks, random_state, **kwargs)
    else:
        rows = _warm_up_rows(estimator, y, tasks, random_state)
        X_rows = np.asarray(take_rows(X, rows, lazy=False))
        # loky, as joblib's workers: no `if __name__ == "__main__"` needed in
        # the user's script (multiprocessing's spawn would re-run it).
        from joblib.externals.loky import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=1) as process:
            estimate = process.submit(
                estimate_job, estimator, X_rows, y[rows], tasks, random_state, **kwargs
            ).result()
    print(f"compare: {estimate.message()}", file=sys.stderr, flush=True)


def _epoch_seconds(model, elapsed: float) -> float:
    """The timed epoch's own time: skorch's ``dur`` (``EpochTimer``), else
    ``elapsed``.

    A call of ``partial_fit`` also validates the data and notifies the
    callbacks before and after its epochs: about 4 ms per call on a 2-core
    CPU, which the two timed batches of the default job (12 ms each) would
    count as training time, and a real epoch of a hundred batches pays once.
    """
    try:
        return min(elapsed, float(model.history[-1, "dur"]))
    except (KeyError, IndexError, TypeError, ValueError):
        return elapsed  # no EpochTimer (callbacks__epoch_timer=None)


def _batch_size(estimator, tasks) -> int:
    batch = int(estimator.batch_size)
    return batch if batch >= 1 else len(tasks[0][0])  # -1: a fold per batch


def _warm_up_rows(estimator, y, tasks, random_state: int) -> np.ndarray:
    """The rows the warm-up trains on: :data:`TIMED_BATCHES` batches, seeded."""
    n_timed = min(len(y), TIMED_BATCHES * _batch_size(estimator, tasks))
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(len(y), size=n_timed, replace=False))
