"""Parallel fits: loky, a backend that cannot stream, dask.distributed.

A fit's floating-point result depends on its number of torch threads (the
order of the reductions), so each parallel run is compared with a serial run
that uses the thread count the workers used.
"""

import csv
import os
import signal
import sys

import joblib
import numpy as np
import pytest
import torch
from conftest import torch_threads
from joblib._parallel_backends import LokyBackend
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sk_klpenalty import KLPenaltyClassifier, load_rotated_digits
from sk_klpenalty.cli import main
from sk_klpenalty.compare import compare_penalty

# What joblib gives each of 2 loky workers, and what compare_penalty sets.
TWO_WORKER_THREADS = max(1, joblib.cpu_count() // 2)
CLI_QUICK = ["--max-samples", "120", "--epochs", "1", "--cv", "2", "--repeats", "1"]
CLI_QUICK += ["--no-controls", "--quiet"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_rotated_digits(n_classes=6, n_rotations=1)
    return X[:160], y[:160]


@pytest.fixture(scope="module")
def dask_client():
    """Two one-thread worker processes, on the loopback interface only."""
    distributed = pytest.importorskip("distributed")
    saved = dict(os.environ)  # the nanny sets OMP_NUM_THREADS etc. here
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
    os.environ.clear()
    os.environ.update(saved)


def _probes():
    # Nested, so that cloudpickle ships them by value to any worker.
    def threads(estimator, X, y):
        return float(torch.get_num_threads())

    def pid(estimator, X, y):
        return float(os.getpid())

    return {"threads": threads, "pid": pid}


def grid_search(X, y, n_jobs=None):
    search = GridSearchCV(
        KLPenaltyClassifier(
            max_epochs=1, batch_size=32, random_state=0, classes=np.unique(y)
        ),
        {"alpha": [0.0, 1.0], "sigma": [1.0, 2.0]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        scoring={"mse": "neg_mean_squared_error", **_probes()},
        refit=False,
        n_jobs=n_jobs,
    ).fit(X, y)
    results = search.cv_results_
    scores = np.stack([results[f"split{i}_test_mse"] for i in range(2)])
    threads = {results[f"split{i}_test_threads"][j] for i in range(2) for j in range(4)}
    pids = {results[f"split{i}_test_pid"][j] for i in range(2) for j in range(4)}
    return scores, threads, pids


def compare(X, y, n_jobs=None, out_dir=None):
    result = compare_penalty(
        X,
        y,
        estimator=KLPenaltyClassifier(max_epochs=1, batch_size=32),
        cv=2,
        controls=False,
        progress=False,
        n_jobs=n_jobs,
        out_dir=out_dir,
    )
    return result.records.drop(columns="fit_seconds").reset_index(drop=True)


def test_grid_search_on_loky_limits_threads_and_matches_serial(digits):
    X, y = digits
    scores, threads, pids = grid_search(X, y, n_jobs=2)
    assert os.getpid() not in pids and len(threads) == 1
    (worker_threads,) = threads
    # joblib sets OMP_NUM_THREADS etc. = cores // n_jobs for its loky workers,
    # and torch, imported there afterwards, follows it.
    assert 2 * worker_threads <= max(2, joblib.cpu_count())
    with torch_threads(int(worker_threads)):
        serial, _, serial_pids = grid_search(X, y)
    assert serial_pids == {os.getpid()}
    np.testing.assert_array_equal(scores, serial)


def test_compare_on_loky_matches_serial(digits):
    X, y = digits
    parallel = compare(X, y, n_jobs=2)
    with torch_threads(TWO_WORKER_THREADS):
        serial = compare(X, y)
    assert len(serial) == 12  # 2 configurations x 2 folds x 3 decodes
    assert parallel.equals(serial)


class _NoGeneratorBackend(LokyBackend):
    supports_return_generator = False  # like joblib's multiprocessing backend


def test_compare_on_a_backend_without_streaming_appends_all_folds(digits, tmp_path):
    X, y = digits
    joblib.register_parallel_backend("no-generator", _NoGeneratorBackend)
    with joblib.parallel_config(backend="no-generator"):
        parallel = compare(X, y, n_jobs=2, out_dir=tmp_path)
    with torch_threads(TWO_WORKER_THREADS):
        serial = compare(X, y)
    assert parallel.equals(serial)
    with open(tmp_path / "results.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(serial)


def test_dask_runs_grid_search_and_compare_like_serial(digits, dask_client):
    from distributed import get_task_stream

    X, y = digits
    with joblib.parallel_config(backend="dask"):
        scores, threads, pids = grid_search(X, y, n_jobs=-1)
        with get_task_stream(dask_client) as tasks:
            records = compare(X, y, n_jobs=-1)
    # On the workers, not in this process; 1 torch thread per one-thread
    # worker (dask's nanny sets OMP_NUM_THREADS=1 there).
    assert os.getpid() not in pids and threads == {1.0}
    assert len(tasks.data) > 0
    with torch_threads(1):
        serial_scores, _, _ = grid_search(X, y)
        serial_records = compare(X, y)
    np.testing.assert_array_equal(scores, serial_scores)
    assert records.equals(serial_records)


def test_cli_dask_local_runs_the_report(tmp_path, capsys):
    pytest.importorskip("distributed")
    environ = dict(os.environ)
    out = tmp_path / "dask"
    assert main(["compare", *CLI_QUICK, "--dask-local", "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "| baseline | argmax |" in captured.out
    assert "note:" not in captured.err  # e.g. MALLOC_TRIM_THRESHOLD_ is unset there
    assert dict(os.environ) == environ  # the nanny's variables are removed again
    with torch_threads(1):
        assert (
            main(["compare", *CLI_QUICK, "--n-jobs", "1", "--out", str(tmp_path)]) == 0
        )
    rows = [_read_rows(path / "results.csv") for path in (out, tmp_path)]
    assert len(rows[0]) == 12 and rows[0] == rows[1]


def _read_rows(path):
    with open(path, newline="") as f:
        rows = [
            tuple(row[c] for c in ("config", "repeat", "fold", "decode", "mse", "qwk"))
            for row in csv.DictReader(f)
        ]
    return sorted(rows)


@pytest.mark.parametrize("option", [["--dask-local", "2"], ["--scheduler", "x:1"]])
def test_dask_options_without_dask_say_how_to_install(
    tmp_path, capsys, monkeypatch, option
):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    assert main(["compare", *option, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert 'pip install "sk_klpenalty[dask]"' in err
    assert len(err.splitlines()) == 1


def test_unreachable_scheduler_is_a_one_line_error(tmp_path, capsys):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(
            [
                "compare",
                *CLI_QUICK,
                "--scheduler",
                "tcp://127.0.0.1:9",
                "--out",
                str(tmp_path),
            ]
        )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "cannot connect to 'tcp://127.0.0.1:9'" in err.splitlines()[-1]


def _memmap_probe(log_dir):
    """An estimator that records, in its worker, what a fit received as X."""

    class MemmapProbe(KLPenaltyClassifier):  # nested: shipped to workers by value
        def fit(self, X, y, **fit_params):
            source = getattr(X, "base", None)  # a fold: rows of the job's X
            with open(os.path.join(log_dir, f"{os.getpid()}.txt"), "a") as log:
                print(type(X).__name__, getattr(source, "filename", None), file=log)
            return super().fit(X, y, **fit_params)

    return MemmapProbe


def test_compare_workers_read_a_memmap_from_its_file(digits, tmp_path):
    X, y = digits
    pixels = np.round(X * 255).astype(np.uint8)
    np.save(tmp_path / "X.npy", pixels)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    logs = tmp_path / "logs"
    logs.mkdir()
    probe = _memmap_probe(str(logs))(max_epochs=1, batch_size=32)
    common = {"cv": 2, "controls": False, "progress": False}
    records = compare_penalty(X_map, y, estimator=probe, n_jobs=2, **common).records
    seen = [
        line.split()
        for log in logs.iterdir()
        for line in log.read_text().split("\n")
        if line
    ]
    assert f"{os.getpid()}.txt" not in {log.name for log in logs.iterdir()}
    assert len(seen) == 4  # 2 configurations x 2 folds, each in a worker
    assert all(kind == "RowView" and name == str(X_map.filename) for kind, name in seen)
    # Same numbers as the same images in memory as float32 / 255, serially.
    with torch_threads(TWO_WORKER_THREADS):
        serial = compare_penalty(
            pixels.astype(np.float32) / 255,
            y,
            estimator=KLPenaltyClassifier(max_epochs=1, batch_size=32),
            **common,
        ).records
    columns = ["config", "repeat", "fold", "decode", "mse", "accuracy"]
    key = ["config", "repeat", "fold", "decode"]
    assert (
        records[columns]
        .sort_values(key)
        .reset_index(drop=True)
        .equals(serial[columns].sort_values(key).reset_index(drop=True))
    )


def _killed_worker_classifier(job_pid):
    """An estimator whose fits kill their worker process (as the OOM killer)."""

    class KilledWorker(KLPenaltyClassifier):  # nested: shipped to workers by value
        def fit(self, X, y, **fit_params):
            if os.getpid() != job_pid:
                os.kill(os.getpid(), signal.SIGKILL)
            return super().fit(X, y, **fit_params)

    return KilledWorker


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_a_killed_worker_is_one_line_that_says_how_to_resume(digits, tmp_path):
    X, y = digits
    estimator = _killed_worker_classifier(os.getpid())(max_epochs=1)
    with pytest.raises(RuntimeError) as error:
        compare_penalty(
            X, y, estimator=estimator, cv=2, controls=False, progress=False,
            n_jobs=2, out_dir=tmp_path,
        )  # fmt: skip
    message = str(error.value)
    assert "worker process died" in message and "--resume" in message
    assert str(tmp_path) in message and len(message.splitlines()) == 1
