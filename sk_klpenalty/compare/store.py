"""The job's files while it runs: ``job.json`` and ``results.csv``, appended
one fold at a time, so that an interrupted job resumes where it stopped.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ..metrics import METRICS

__all__ = [
    "COLUMNS",
    "CURVE_COLUMNS",
    "CurveStore",
    "history_curve",
    "ResultsStore",
    "describe_job",
    "json_safe",
    "make_folder",
    "record_key",
    "weights_digest",
]

_ID_COLUMNS = [
    "config",
    "kind",
    "alpha",
    "sigma",
    "sigma_decay",
    "repeat",
    "fold",
    "train_size",
]
COLUMNS = [*_ID_COLUMNS, "decode", "n_train", "n_test", "fit_seconds", *METRICS]


def make_folder(out_dir, name: str = "out_dir") -> Path:
    """``out_dir`` as a Path, created if missing; a file there is an error."""
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
    return (
        record["config"],
        int(record["repeat"]),
        int(record["fold"]),
        float(record["train_size"]),
    )


def weights_digest(values: np.ndarray) -> str:
    """A fingerprint of per-sample weights or groups, for ``job.json``."""
    import hashlib

    return hashlib.sha256(_labels_bytes(np.asarray(values))).hexdigest()


def _labels_bytes(y: np.ndarray) -> bytes:
    if y.dtype.kind in "biuf":
        return np.ascontiguousarray(y).tobytes()
    return "\x00".join(map(repr, y.tolist())).encode()  # objects: not their addresses


def _job_classes(y: np.ndarray, estimator) -> list:
    """The classes present in ``y``: sorted numbers, or others in class order."""
    if y.dtype.kind in "biuf":
        return np.unique(y).tolist()
    present = set(y.tolist())
    return [str(c) for c in np.asarray(estimator.classes).tolist() if c in present]


def describe_job(X, y, estimator, cv, configs, decodes, within, random_state) -> dict:
    import hashlib

    X_array = np.asarray(X)
    sampled = np.arange(0, len(X_array), max(1, len(X_array) // 64))  # 64 rows
    digest = hashlib.sha256()
    digest.update(_labels_bytes(y))
    digest.update(np.ascontiguousarray(X_array[sampled]).tobytes())
    plain = (bool, int, float, str, type(None))
    settings = {
        key: value
        for key, value in estimator.get_params(deep=False).items()
        if isinstance(value, plain) and key not in ("verbose", "random_state")
    }
    return {
        "n_samples": int(len(y)),
        "sample_shape": list(X_array.shape[1:]),
        "classes": _job_classes(y, estimator),
        "data_sha256": digest.hexdigest(),
        "estimator": settings,
        "cv": repr(cv),
        "configs": [c.name for c in configs],
        "decodes": list(decodes),
        "within": within,
        "random_state": random_state,
    }


class ResultsStore:
    """``results.csv`` appended one fold at a time, and ``job.json`` beside it."""

    def __init__(self, out_dir, job: dict, resume: bool) -> None:
        self.records: list[dict] = []
        self.path = None
        if out_dir is None:
            if resume:
                raise ValueError("resume=True needs out_dir, where the results are.")
            return
        out_dir = make_folder(out_dir)
        self.path = out_dir / "results.csv"
        job_path = out_dir / "job.json"
        if resume and self.path.exists():
            self._check_same_job(job_path, job)
            scored = job.get("scored_decodes", job["decodes"])
            self.records = _read_complete_records(self.path, len(scored))
        with open(job_path, "w") as f:
            json.dump(json_safe(job), f, indent=2)
        # Rewrite what is kept (drops a row cut short by a kill), then append.
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(self.records)

    @staticmethod
    def _check_same_job(job_path: Path, job: dict) -> None:
        try:
            earlier = json.loads(job_path.read_text())
        except (OSError, ValueError):
            earlier = None
        keys = [k for k in job if k != "best_penalty"]
        if earlier is None or any(earlier.get(k) != json_safe(job[k]) for k in keys):
            raise ValueError(
                f"{job_path.parent} holds the results of a different job (data, "
                "folds, configurations or settings differ); choose another output "
                "folder or run without resume."
            )

    def append(self, records: list[dict]) -> None:
        if self.path is None:
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=COLUMNS).writerows(records)
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
        counts[record_key(row)] = counts.get(record_key(row), 0) + 1
    return [row for row in rows if counts[record_key(row)] == n_decodes]


# NaN where undefined (a baseline's sigma, a peer's alpha, a metric): written
# "nan" by the store, "" by CompareResult.save (pandas).
_MAY_BE_NAN = ("alpha", "sigma", "sigma_decay", *METRICS)


def _parse_row(row: dict) -> dict | None:
    if None in row or any(row.get(c) is None for c in COLUMNS):
        return None  # too few or too many fields: a row cut short by a kill
    try:  # an empty id, count or time fails int()/float(): the row is dropped
        parsed = {c: row[c] for c in ("config", "kind", "decode")}
        for c in ("repeat", "fold", "n_train", "n_test"):
            parsed[c] = int(row[c])
        for c in ("train_size", "fit_seconds"):
            parsed[c] = float(row[c])
        for c in _MAY_BE_NAN:
            parsed[c] = float(row[c] or math.nan)
    except ValueError:
        return None
    return {c: parsed[c] for c in COLUMNS}


def json_safe(value):
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


def records_frame(records: list[dict]):
    import pandas as pd

    frame = pd.DataFrame(records, columns=COLUMNS)
    order = ["config", "train_size", "repeat", "fold", "decode"]
    return frame.sort_values(order, kind="stable")


_CURVE_KEYS = ["config", "train_size", "repeat", "fold"]
#: Per-epoch values of a fit's curve: skorch's history names, and how the
#: report names them.
CURVE_VALUES = {
    "train_loss": "training loss",
    "valid_loss": "validation loss",
    "valid_acc": "validation accuracy",
}
CURVE_COLUMNS = [*_CURVE_KEYS, "epoch", *CURVE_VALUES]


def history_curve(model) -> list[dict]:
    """One row per epoch of a fitted skorch model: ``epoch`` and the values.

    Values the history lacks (no validation split) are NaN.
    """
    rows = []
    for epoch, row in enumerate(model.history, start=1):
        values = {name: float(row.get(name, math.nan)) for name in CURVE_VALUES}
        rows.append({"epoch": epoch, **values})
    return rows


class CurveStore:
    """``curves.csv``, appended one fit at a time (nothing without ``out_dir``).

    Parameters
    ----------
    out_dir : path or None
    keep : set of tuple or None
        On resume, the ``(config, repeat, fold, train_size)`` keys of the fits
        whose results are kept; their curves are kept too, the rest dropped.
        ``None`` starts an empty file.
    """

    def __init__(self, out_dir, keep: set | None = None) -> None:
        self.rows: list[dict] = []
        self.path = None if out_dir is None else Path(out_dir) / "curves.csv"
        if self.path is None:
            return
        if keep is not None and self.path.exists():
            with open(self.path, newline="") as f:
                self.rows = [
                    row
                    for row in map(_parse_curve_row, csv.DictReader(f))
                    if row is not None and record_key(row) in keep
                ]
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CURVE_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows)

    def append(self, rows: list[dict]) -> None:
        self.rows.extend(rows)
        if self.path is None:
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=CURVE_COLUMNS).writerows(rows)
            f.flush()

    def frame(self):
        """The curves as a DataFrame, one row per fit and epoch."""
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=CURVE_COLUMNS)
        return frame.sort_values([*_CURVE_KEYS, "epoch"], kind="stable")


def _parse_curve_row(row: dict) -> dict | None:
    try:
        parsed = {"config": row["config"], "repeat": int(row["repeat"])}
        parsed.update(fold=int(row["fold"]), epoch=int(row["epoch"]))
        for name in ("train_size", *CURVE_VALUES):
            parsed[name] = float(row[name] or math.nan)
    except (KeyError, TypeError, ValueError):
        return None  # a row cut short by a kill
    return parsed
