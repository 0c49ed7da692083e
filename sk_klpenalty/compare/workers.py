"""Where the fits run: joblib workers (loky, threads) or dask, with a fair
share of torch threads each, and no worker left behind by a killed job.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator

__all__ = [
    "release_local_workers",
    "exit_with_job",
    "parallel_unordered",
    "task_threads",
    "threads_per_worker",
]

_job_watch_lock = threading.Lock()
_watched_job: int | None = None


def exit_with_job(job_pid: int) -> None:
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


def parallel_unordered(n_jobs: int | None, calls: Iterable) -> Iterator:
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


def threads_per_worker(n_jobs: int | None) -> int | None:
    """Torch threads per fit for local joblib workers (``None``: leave alone).

    ``cores // workers``, as joblib does for the OpenMP/BLAS pools of its loky
    workers. On a dask worker :func:`task_threads` replaces it, since
    ``effective_n_jobs`` then counts the cluster's threads, not local workers.
    """
    from joblib import cpu_count, effective_n_jobs

    workers = effective_n_jobs(n_jobs)
    if workers <= 1:
        return None  # in-process: leave torch's setting alone
    return max(1, cpu_count() // workers)


def task_threads(local_threads: int | None) -> int | None:
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


def release_local_workers() -> None:
    """Stop joblib's reusable loky worker processes, if any are running.

    joblib keeps them alive for 5 minutes after the last task, each holding
    its torch (about 0.5 GB): the command line releases them once the fits
    are done, before it builds the report, so that the job's memory is the
    fits' and not fits plus report. A Python session keeps them for its
    next ``compare_penalty`` call.
    """
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True)
