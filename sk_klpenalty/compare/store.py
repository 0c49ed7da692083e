"""The job's files while it runs: ``job.json``, and ``results.csv`` and
``curves.csv`` appended fit by fit, so that an interrupted job resumes where
it stopped."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from ..metrics import METRICS

__all__ = ["COLUMNS", "CURVE_COLUMNS", "JobFiles", "describe_job", "history_curve"]

_KEY = ["config", "train_size", "repeat", "fold"]
COLUMNS = ["config", "kind", "alpha", "sigma", "sigma_decay", "repeat", "fold"]
COLUMNS += ["train_size", "decode", "n_train", "n_test", "fit_seconds", *METRICS]
#: Per-epoch values of a fit's curve: skorch's history names, as the report says them.
CURVE_VALUES = {
    "train_loss": "training loss",
    "valid_loss": "validation loss",
    "valid_acc": "validation accuracy",
}
CURVE_COLUMNS = [*_KEY, "epoch", *CURVE_VALUES]
# How each column is read back; the others are floats that may be empty
# (NaN: a baseline's sigma, a peer's alpha, an undefined metric).
_TYPES = dict.fromkeys(["config", "kind", "decode"], str)
_TYPES |= dict.fromkeys(["repeat", "fold", "n_train", "n_test", "epoch"], int)
_TYPES |= dict.fromkeys(["train_size", "fit_seconds"], float)


def make_folder(out_dir, name: str = "out_dir") -> Path:
    """``out_dir`` as a Path, created if missing; a ValueError if it cannot be."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(
            f"{name} must be a folder, but {str(out_dir)!r} is a file (or lies "
            "below one); choose a folder for the results."
        ) from None
    except OSError as error:
        raise ValueError(
            f"{name}: cannot create the folder {str(out_dir)!r} ({error.strerror})."
        ) from None
    return out_dir


def record_key(record: dict) -> tuple:
    """``(config, repeat, fold, train_size)``: which fit a row belongs to."""
    return (
        record["config"],
        int(record["repeat"]),
        int(record["fold"]),
        float(record["train_size"]),
    )


def _bytes(values) -> bytes:
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        return np.ascontiguousarray(values).tobytes()
    return "\x00".join(map(repr, values.tolist())).encode()  # not addresses


def digest(values) -> str:
    """A fingerprint of labels, weights or groups."""
    return hashlib.sha256(_bytes(values)).hexdigest()


def describe_job(X, y, estimator, cv, configs, decodes, within, random_state) -> dict:
    """What makes two jobs the same (``resume`` refuses another one)."""
    X = np.asarray(X)
    sampled = X[np.arange(0, len(X), max(1, len(X) // 64))]  # 64 rows of X
    plain = (bool, int, float, str, type(None))
    settings = {
        key: value
        for key, value in estimator.get_params(deep=False).items()
        if isinstance(value, plain) and key not in ("verbose", "random_state")
    }
    if y.dtype.kind in "biuf":
        classes = np.unique(y).tolist()
    else:  # present ones, in class order
        present = set(y.tolist())
        classes = [
            str(c) for c in np.asarray(estimator.classes).tolist() if c in present
        ]
    sha = hashlib.sha256(_bytes(y))
    sha.update(np.ascontiguousarray(sampled).tobytes())
    return {
        "n_samples": int(len(y)),
        "sample_shape": list(X.shape[1:]),
        "classes": classes,
        "data_sha256": sha.hexdigest(),
        "estimator": settings,
        "cv": repr(cv),
        "configs": [c.name for c in configs],
        "decodes": list(decodes),
        "within": within,
        "random_state": random_state,
    }


def history_curve(model) -> list[dict]:
    """One row per epoch of a fitted skorch model: ``epoch`` and the values
    (NaN where the history lacks them: no validation split)."""
    return [
        {
            "epoch": epoch,
            **{name: float(row.get(name, math.nan)) for name in CURVE_VALUES},
        }
        for epoch, row in enumerate(model.history, start=1)
    ]


def json_safe(value):
    """``value`` with tuples as lists, numpy scalars as numbers, NaN as None."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _CsvLog:
    """A CSV file of rows appended as they come; rewritten on open with the
    rows ``keep`` keeps of what it held (a row cut short by a kill is dropped)."""

    def __init__(self, path: Path | None, columns, keep=None) -> None:
        self.path, self.columns, self.rows = path, columns, []
        if path is None:
            return
        if keep is not None and path.exists():
            with open(path, newline="") as f:
                self.rows = keep([r for r in map(self._parse, csv.DictReader(f)) if r])
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)

    def _parse(self, row: dict) -> dict | None:
        if None in row or any(row.get(c) is None for c in self.columns):
            return None  # too few or too many fields
        try:  # an empty id, count or time fails int()/float(): dropped
            return {
                c: _TYPES.get(c, lambda text: float(text or math.nan))(row[c])
                for c in self.columns
            }
        except ValueError:
            return None

    def append(self, rows: list[dict]) -> None:
        self.rows.extend(rows)
        if self.path is not None:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=self.columns).writerows(rows)

    def frame(self, order):
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=self.columns)
        return frame.sort_values(order, kind="stable")


class JobFiles:
    """``job.json``, ``results.csv`` and ``curves.csv`` of a job in ``out_dir``
    (nothing is written without one).

    With ``resume``, the fits whose every decode is in ``results.csv`` are kept
    (and their curves); a folder that holds another job is refused.
    """

    def __init__(self, out_dir, job: dict, resume: bool) -> None:
        folder = None if out_dir is None else make_folder(out_dir)
        if resume and folder is None:
            raise ValueError("resume=True needs out_dir, where the results are.")
        results = None if folder is None else folder / "results.csv"
        if resume and results.exists():
            _check_same_job(folder / "job.json", job)
        n_decodes = len(job["scored_decodes"])

        def complete(rows):
            counts: dict = {}
            for row in rows:
                counts[record_key(row)] = counts.get(record_key(row), 0) + 1
            return [row for row in rows if counts[record_key(row)] == n_decodes]

        self.results = _CsvLog(results, COLUMNS, complete if resume else None)
        done = {record_key(row) for row in self.results.rows}
        curves = None if folder is None else folder / "curves.csv"
        keep = (
            (lambda rows: [r for r in rows if record_key(r) in done])
            if resume
            else None
        )
        self.curves = _CsvLog(curves, CURVE_COLUMNS, keep)
        if folder is not None:
            (folder / "job.json").write_text(json.dumps(json_safe(job), indent=2))

    @property
    def records(self) -> list[dict]:
        return self.results.rows

    def done(self) -> set:
        return {record_key(row) for row in self.records}

    def append(self, records: list[dict], curve: list[dict]) -> None:
        """One fit's rows: its curve first, as its results mark it done."""
        self.curves.append(curve)
        self.results.append(records)

    def frames(self):
        """The records and the curves as DataFrames."""
        return (
            self.results.frame(["config", "train_size", "repeat", "fold", "decode"]),
            self.curves.frame([*_KEY, "epoch"]),
        )


def _check_same_job(path: Path, job: dict) -> None:
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        earlier = None
    keys = [k for k in job if k != "best_penalty"]
    if earlier is None or any(earlier.get(k) != json_safe(job[k]) for k in keys):
        raise ValueError(
            f"{path.parent} holds the results of a different job (data, folds, "
            "configurations or settings differ); choose another output folder or "
            "run without resume."
        )
