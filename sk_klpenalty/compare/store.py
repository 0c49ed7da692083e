"""The job's files, written fit by fit so that an interrupted job resumes."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import METRICS

__all__ = ["COLUMNS", "CURVE_VALUES", "JobFiles", "describe_job", "history_curve"]

KEY = ["config", "train_size", "repeat", "fold"]
COLUMNS = ["config", "kind", "alpha", "sigma", "sigma_decay", "repeat", "fold"]
COLUMNS += ["train_size", "decode", "n_train", "n_test", "fit_seconds", *METRICS]
#: Per-epoch values of a fit's curve: skorch's history names, as the report says them.
CURVE_VALUES = {
    "train_loss": "training loss",
    "valid_loss": "validation loss",
    "valid_acc": "validation accuracy",
}
CURVE_COLUMNS = [*KEY, "epoch", *CURVE_VALUES]
_TEXT = ["config", "kind", "decode"]
_INTS = ["repeat", "fold", "n_train", "n_test", "epoch"]
# Never empty in a complete row (the others may be NaN: a baseline's sigma).
_REQUIRED = [*_TEXT, *_INTS, "train_size", "fit_seconds"]


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


def record_key(record) -> tuple:
    """``(config, train_size, repeat, fold)``: which fit a row belongs to."""
    return tuple(record[k] for k in KEY)


def digest(*arrays) -> str:
    """A fingerprint of labels, weights or groups (and sampled rows of X)."""
    sha = hashlib.sha256()
    for values in map(np.asarray, arrays):
        if values.dtype.kind in "biuf":
            sha.update(np.ascontiguousarray(values).tobytes())
        else:  # objects by value, not by address
            sha.update("\x00".join(map(repr, values.tolist())).encode())
    return sha.hexdigest()


def describe_job(X, y, estimator, cv, configs, decodes, within, random_state) -> dict:
    """What makes two jobs the same (``resume`` refuses another one)."""
    X = np.asarray(X)
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
    return {
        "n_samples": int(len(y)),
        "sample_shape": list(X.shape[1:]),
        "classes": classes,
        "data_sha256": digest(y, X[:: max(1, len(X) // 64)]),  # 64 rows of X
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
        {"epoch": epoch, **{k: float(row.get(k, math.nan)) for k in CURVE_VALUES}}
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


class _Log:
    """A CSV file of rows appended as they come; ``keep`` filters the rows
    it held on open."""

    def __init__(self, path: Path | None, columns: list[str], keep=None) -> None:
        self.path, self.columns = path, columns
        frame = pd.DataFrame(columns=columns)
        if keep is not None and path.exists():
            frame = keep(_read(path, columns))
        self.rows = frame.to_dict(orient="records")
        if path is not None:
            frame.to_csv(path, index=False)

    def append(self, rows: list[dict]) -> None:
        self.rows.extend(rows)
        if self.path is not None:
            frame = pd.DataFrame(rows, columns=self.columns)
            frame.to_csv(self.path, mode="a", header=False, index=False)

    def frame(self):
        frame = pd.DataFrame(self.rows, columns=self.columns)
        order = [c for c in [*KEY, "decode", "epoch"] if c in self.columns]
        return frame.sort_values(order, kind="stable")


# pandas 2 parses floats fast but not always to the value written; pandas 3
# parses them exactly by default and deprecates the option.
_EXACT_FLOATS = {"float_precision": "round_trip"} if pd.__version__[0] == "2" else {}


def _read(path: Path, columns: list[str]):
    """The complete rows of a log: a row cut short by a kill is dropped."""
    frame = pd.read_csv(
        path,
        dtype=dict.fromkeys(_TEXT, str),
        keep_default_na=False,
        na_values=[""],
        on_bad_lines="skip",
        **_EXACT_FLOATS,
    ).reindex(columns=columns)
    numbers = [c for c in columns if c not in _TEXT]
    frame[numbers] = frame[numbers].apply(pd.to_numeric, errors="coerce")
    frame = frame.dropna(subset=[c for c in _REQUIRED if c in columns])
    return frame.astype({c: int for c in _INTS if c in columns})


class JobFiles:
    """``job.json``, ``results.csv`` and ``curves.csv`` in ``out_dir``; with
    ``resume`` the complete fits of the same job are kept."""

    def __init__(self, out_dir, job: dict, resume: bool) -> None:
        folder = None if out_dir is None else make_folder(out_dir)
        if resume and folder is None:
            raise ValueError("resume=True needs out_dir, where the results are.")
        paths = {
            name: None if folder is None else folder / name
            for name in ("results.csv", "curves.csv")
        }
        if resume and paths["results.csv"].exists():
            _check_same_job(folder / "job.json", job)
        n_decodes = len(job["scored_decodes"])

        def complete(rows):
            return rows[rows.groupby(KEY)["decode"].transform("size") == n_decodes]

        def of_done_fits(rows):
            return rows[[key in done for key in rows[KEY].itertuples(index=False)]]

        self.results = _Log(paths["results.csv"], COLUMNS, complete if resume else None)
        done = self.done()
        keep = of_done_fits if resume else None
        self.curves = _Log(paths["curves.csv"], CURVE_COLUMNS, keep)
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
        return self.results.frame(), self.curves.frame()


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
