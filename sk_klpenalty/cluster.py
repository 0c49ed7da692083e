"""Running the fits on a dask cluster: ``--scheduler`` (optionally over TLS,
``--tls-ca-file/--tls-cert/--tls-key``) and ``--dask-local``; and
:func:`scheduler_backend`, the same for ``compare_penalty(scheduler=...)``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from .errors import UserError

__all__ = [
    "connect",
    "fits_backend",
    "import_distributed",
    "loopback_cluster",
    "scheduler_backend",
    "security_from_args",
]

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
                client = connect(args.scheduler, security_from_args(args))
            except ValueError as error:
                raise UserError(f"--{error}") from None
            stack.enter_context(client)
        _check_workers(client, args.scheduler)
        stack.enter_context(joblib.parallel_config(backend="dask"))
        yield


@contextmanager
def scheduler_backend(scheduler: str | None, security=None) -> Iterator[None]:
    """joblib's dask backend on the cluster of ``scheduler`` (if not None).

    Parameters
    ----------
    scheduler : str or None
        The scheduler's address, e.g. ``"tls://10.0.0.5:8786"``. None: leave
        joblib's backend as it is.
    security : distributed.security.Security, optional
        TLS certificates for the connection (``Security.temporary()`` or
        ``Security(tls_ca_file=..., tls_client_cert=..., tls_client_key=...,
        require_encryption=True)``).
    """
    if scheduler is None:
        if security is not None:
            raise ValueError("security is only used with scheduler=ADDRESS.")
        yield
        return
    import joblib

    with connect(scheduler, security) as client:
        try:
            _check_workers(client, scheduler)
        except UserError as error:
            raise ValueError(str(error).removeprefix("--")) from None
        with joblib.parallel_config(backend="dask"):
            yield


def connect(address: str, security=None):
    """A ``distributed.Client`` of the scheduler at ``address``.

    Raises ValueError (``"scheduler: cannot connect to ..."``) when the
    scheduler is unreachable or refuses the connection (e.g. a TLS
    certificate it does not accept), TypeError for a ``security`` that is no
    ``distributed.security.Security``.
    """
    try:
        import distributed
        from distributed.security import Security
    except ImportError:
        raise ValueError(f"scheduler {DASK_MISSING}") from None
    if security is not None and not isinstance(security, Security):
        raise TypeError(
            "security must be a distributed.security.Security (TLS "
            f"certificates) or None, got {type(security).__name__}."
        )
    if security is not None and not address.startswith("tls://"):
        raise ValueError(f"scheduler: TLS needs a tls:// address, got {address!r}.")
    try:
        return distributed.Client(address, security=security)
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error) else ""
        hint = ""
        if security is None and address.startswith("tls://"):
            hint = " (a tls:// scheduler needs this client's certificates)"
        raise ValueError(
            f"scheduler: cannot connect to {address!r}: "
            f"{reason or type(error).__name__}{hint}"
        ) from None


def security_from_args(args: argparse.Namespace):
    """The ``Security`` of ``--tls-ca-file/--tls-cert/--tls-key``, or None."""
    files = {
        "--tls-ca-file": getattr(args, "tls_ca_file", None),
        "--tls-cert": getattr(args, "tls_cert", None),
        "--tls-key": getattr(args, "tls_key", None),
    }
    given = [option for option, path in files.items() if path is not None]
    if not given:
        return None
    if args.scheduler is None:
        raise UserError(f"{given[0]} is only used with --scheduler tls://HOST:PORT")
    if len(given) < len(files):
        missing = ", ".join(option for option in files if option not in given)
        raise UserError(f"TLS needs all three certificate options; missing {missing}")
    for option, path in files.items():
        if not os.path.isfile(path):
            raise UserError(f"{option}: no such file: {path!r}")
    from distributed.security import Security

    return Security(
        tls_ca_file=files["--tls-ca-file"],
        tls_client_cert=files["--tls-cert"],
        tls_client_key=files["--tls-key"],
        require_encryption=True,
    )


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
        security_from_args(args)  # certificate options alone are an error
        return None
    option = "--scheduler" if args.scheduler is not None else "--dask-local"
    if args.dask_local is not None and args.dask_local < 2:
        # joblib runs the tasks of a one-thread cluster in this process.
        raise UserError(f"--dask-local must be >= 2 workers, got {args.dask_local}")
    try:
        import distributed
    except ImportError:
        raise UserError(f"{option} {DASK_MISSING}") from None
    security_from_args(args)  # certificate options: fail before loading the data
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
