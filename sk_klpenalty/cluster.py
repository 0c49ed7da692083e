"""Running the fits on a dask cluster: ``--scheduler`` and ``--dask-local``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from .errors import UserError

__all__ = ["fits_backend", "import_distributed", "loopback_cluster"]

TRIM_SETTING = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
DASK_MISSING = (
    'needs dask.distributed, which is not installed: pip install "sk_klpenalty[dask]"'
)


@contextmanager
def fits_backend(args: argparse.Namespace) -> Iterator[None]:
    """Where the fits run: joblib's default, or a dask cluster (``--scheduler``,
    ``--dask-local``) through ``joblib.parallel_config(backend="dask")``."""
    if args.scheduler is None and args.dask_local is None:
        yield
        return
    distributed = import_distributed(args)
    import dask
    import joblib

    with ExitStack() as stack:
        if args.dask_local is not None:
            # The nanny sets OMP_NUM_THREADS etc. in this process's environment
            # before it starts a worker; put the environment back afterwards.
            stack.callback(_restore_environ, dict(os.environ))
            # dask's nanny sets MALLOC_TRIM_THRESHOLD_, which disables glibc's
            # adaptive mmap threshold: torch training then runs about 2x slower.
            stack.enter_context(dask.config.set({TRIM_SETTING: None}))
            os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            cluster = stack.enter_context(loopback_cluster(args.dask_local))
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = stack.enter_context(distributed.Client(args.scheduler))
            except (OSError, TimeoutError, ValueError, TypeError) as error:
                reason = str(error).strip().splitlines()[0] if str(error) else ""
                raise UserError(
                    f"--scheduler: cannot connect to {args.scheduler!r}: "
                    f"{reason or type(error).__name__}"
                ) from None
        _check_workers(client, args.scheduler)
        stack.enter_context(joblib.parallel_config(backend="dask"))
        yield


def loopback_cluster(n_workers: int):
    """A ``LocalCluster`` of one-thread worker processes, on 127.0.0.1 only."""
    import distributed

    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # Its HTTP server (health, metrics) on a free loopback port.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    )


def import_distributed(args: argparse.Namespace):
    """``distributed`` for ``--scheduler``/``--dask-local``; ``None`` without them."""
    if args.scheduler is None and args.dask_local is None:
        return None
    option = "--scheduler" if args.scheduler is not None else "--dask-local"
    if args.dask_local is not None and args.dask_local < 2:
        # joblib runs the tasks of a one-thread cluster in this process.
        raise UserError(f"--dask-local must be >= 2 workers, got {args.dask_local}")
    try:
        import distributed
    except ImportError:
        raise UserError(f"{option} {DASK_MISSING}") from None
    return distributed


def _check_workers(client, address: str | None, timeout: float = 30.0) -> None:
    """Wait for a first worker; note settings that make the fits slow or local."""
    if not client.nthreads():
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise UserError(
                f"--scheduler: no dask worker joined {address} within {timeout:g} "
                f"s; start some with: dask worker {address} --nthreads 1 "
                "--nworkers N"
            ) from None
    threads = client.nthreads().values()
    if sum(threads) == 1:
        _note(
            "the dask cluster has 1 worker thread, so joblib runs the fits in "
            "this process; start 2 or more to use it."
        )
    try:
        trimmed = any(client.run(_malloc_trim_threshold).values())
    except ImportError as error:
        raise UserError(
            f"the dask workers cannot import sk_klpenalty ({error}); install the "
            "same sk_klpenalty, torch and skorch where they run"
        ) from None
    if trimmed:
        _note(
            "dask workers run with MALLOC_TRIM_THRESHOLD_ set (dask's default), "
            "which makes torch training up to 2x slower; start them with "
            'DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON=\'{"MALLOC_TRIM_THRESHOLD_"'
            ": None}'."
        )
    if max(threads, default=1) > 1:
        _note(
            "some dask workers have several threads, but seeded fits in one "
            "process run one at a time (torch has one random generator per "
            "process); start workers with --nthreads 1 --nworkers N instead."
        )


def _malloc_trim_threshold() -> str | None:
    """Runs on each dask worker."""
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def _note(message: str) -> None:
    print(f"sk-klpenalty compare: note: {message}", file=sys.stderr)


def _restore_environ(saved: dict[str, str]) -> None:
    for name in set(os.environ) - set(saved):
        del os.environ[name]
    os.environ.update(saved)
