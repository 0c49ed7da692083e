"""A dask cluster over TLS: compare runs on it through joblib's dask backend,
and the command line's certificate options."""

import logging
import os
from contextlib import contextmanager

import joblib
import numpy as np
import pytest

from sk_klpenalty import KLPenaltyClassifier, load_rotated_digits
from sk_klpenalty.cli import main
from sk_klpenalty.compare import compare_penalty

distributed = pytest.importorskip("distributed")
pytest.importorskip("cryptography")  # Security.temporary() makes certificates
from distributed.security import Security  # noqa: E402

QUICK = ["--max-samples", "120", "--epochs", "1", "--cv", "2", "--repeats", "1"]
QUICK += ["--no-controls", "--quiet"]


@pytest.fixture(scope="module")
def tls_cluster():
    """A TLS-only scheduler and one two-thread worker, on 127.0.0.1."""
    security = Security.temporary()
    saved = dict(os.environ)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,  # in this process: quick to start, TLS all the same
        protocol="tls://",
        host="127.0.0.1",
        security=security,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address, security
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def digits():
    X, y = load_rotated_digits(n_classes=6, n_rotations=1)
    return X[:120], y[:120]


@contextmanager
def short_connect_timeout():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        yield


def _compare(X, y, **kwargs):
    return compare_penalty(
        X,
        y,
        estimator=KLPenaltyClassifier(max_epochs=1, batch_size=32),
        cv=2,
        controls=False,
        progress=False,
        **kwargs,
    ).records.drop(columns="fit_seconds")


def _sorted(records):
    key = ["config", "repeat", "fold", "decode"]
    return records.sort_values(key).reset_index(drop=True)


def test_compare_runs_on_a_tls_cluster(tls_cluster, digits):
    address, security = tls_cluster
    assert address.startswith("tls://127.0.0.1:")
    X, y = digits
    with (
        distributed.Client(address, security=security) as client,
        joblib.parallel_config(backend="dask"),
        distributed.get_task_stream(client) as tasks,
    ):
        on_cluster = _compare(X, y, n_jobs=-1)
    assert len(tasks.data) >= 4  # the fits ran on the cluster's worker
    serial = _compare(X, y)
    # 2 configurations x 2 folds, each scored with the 3 decodes.
    assert len(on_cluster) == len(serial) == 2 * 2 * 3
    # Fits sharing a worker process are not bitwise equal to serial ones (the
    # CPU kernels differ per thread), so only the job itself is compared.
    same = ["config", "repeat", "fold", "decode", "n_train", "n_test"]
    assert _sorted(on_cluster)[same].equals(_sorted(serial)[same])
    assert np.isfinite(on_cluster["mse"]).all()


def _certificate_files(folder, security):
    files = {
        "--tls-ca-file": security.tls_ca_file,
        "--tls-cert": security.tls_client_cert,
        "--tls-key": security.tls_client_key,
    }
    args = []
    for i, (option, pem) in enumerate(files.items()):
        path = folder / f"{i}.pem"
        path.write_text(pem)
        args += [option, str(path)]
    return args


def test_cli_runs_compare_with_certificate_files(tls_cluster, tmp_path, capsys):
    address, security = tls_cluster
    tls = _certificate_files(tmp_path, security)
    out = tmp_path / "report"
    assert (
        main(["compare", *QUICK, "--scheduler", address, *tls, "--out", str(out)]) == 0
    )
    assert "| baseline | argmax |" in capsys.readouterr().out
    with short_connect_timeout():
        code = main(["compare", *QUICK, "--scheduler", address, "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert f"--scheduler: cannot connect to {address!r}" in err[-1]


@pytest.mark.parametrize(
    "options, message",
    [
        (["--tls-ca-file", "x.pem"], "only used with --scheduler"),
        (["--scheduler", "tls://h:1", "--tls-cert", "c.pem"], "missing --tls-ca-file"),
        (
            ["--scheduler", "tls://h:1", "--tls-ca-file", "no.pem"]
            + ["--tls-cert", "no.pem", "--tls-key", "no.pem"],
            "--tls-ca-file: no such file",
        ),
        (["--dask-local", "2", "--tls-key", "k.pem"], "only used with --scheduler"),
    ],
)
def test_cli_certificate_options_are_checked_first(tmp_path, capsys, options, message):
    assert main(["compare", *options, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
