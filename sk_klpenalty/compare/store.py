"""The job's files, written fit by fit so that an interrupted job resumes."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..decode import DECODES
from ..metrics import METRICS

__all__ = ["COLUMNS", "CURVE_VALUES", "JobFiles", "describe_job", "history_curve"]
__all__ += ["make_folder", "plain"]

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
_PLAIN = (bool, int, float, str, type(None))
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


def describe_job(
    X, y, estimator, cv, splits, configs, *, decodes, within, random_state,
    train_sizes, groups=None, sample_weight=None, peers=None, description=None,
) -> dict:  # fmt: skip
    """What makes two jobs the same (``resume`` refuses another one)."""
    X = np.asarray(X)
    settings = {
        key: value
        for key, value in estimator.get_params(deep=False).items()
        if isinstance(value, _PLAIN) and key not in ("verbose", "random_state")
    }
    if y.dtype.kind in "biuf":
        classes = np.unique(y).tolist()
    else:  # present ones, in class order
        present = set(y.tolist())
        classes = [
            str(c) for c in np.asarray(estimator.classes).tolist() if c in present
        ]
    job = {
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
        # n_test / n_train as the splits came out (grouped folds differ in size)
        "test_train_ratio": float(np.mean([len(te) / len(tr) for tr, te in splits])),
        "scored_decodes": list(dict.fromkeys((*decodes, *DECODES))),
        "train_sizes": list(train_sizes),
    }
    for config in (c for c in configs if c.kind == "nested"):
        job["tune"] = {k: repr(config.params[k]) for k in ("inner_cv", "inner_scoring")}
    if description:
        job["description"] = description
    for name, values in (("groups", groups), ("sample_weight", sample_weight)):
        if values is not None:
            job[f"{name}_sha256"] = digest(values)
    if peers:
        job["peers"] = {
            peer: {k: plain(v) for k, v in params.items()}
            for peer, params in peers.items()
        }
    return job


def plain(value):
    """``value`` as JSON can hold it: a class or function by its name."""
    if isinstance(value, _PLAIN):
        return value
    return getattr(value, "__name__", repr(value))


def history_curve(model) -> list[dict]:
    """One row per epoch of a fitted skorch model (NaN where a value is missing)."""
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


# pandas 2 parses floats fast but not always to the value written; pandas 3
# parses them exactly by default and deprecates the option.
_EXACT_FLOATS = {"float_precision": "round_trip"} if pd.__version__[0] == "2" else {}


def _read(path: Path, columns: list[str]):
    """The complete rows of a log: a row cut short by a kill is dropped."""
    if not path.exists():
        return pd.DataFrame(columns=columns)
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
    """``job.json``, ``results.csv`` and ``curves.csv``, appended fit by fit."""

    def __init__(self, out_dir, job: dict, resume: bool) -> None:
        self.folder = None if out_dir is None else make_folder(out_dir)
        if resume and self.folder is None:
            raise ValueError("resume=True needs out_dir, where the results are.")
        self.records, self.curves = [], []
        if resume and (self.folder / "results.csv").exists():
            _check_same_job(self.folder / "job.json", job)
            records = _read(self.folder / "results.csv", COLUMNS)
            n_fits = records.groupby(KEY)["decode"].transform("size")
            complete = records[n_fits == len(job["scored_decodes"])]
            self.records = complete.to_dict("records")
            curves = _read(self.folder / "curves.csv", CURVE_COLUMNS)
            done = self.done()
            self.curves = [
                r for r in curves.to_dict("records") if record_key(r) in done
            ]
        self._write("results.csv", self.records, "w")
        self._write("curves.csv", self.curves, "w")
        if self.folder is not None:
            (self.folder / "job.json").write_text(json.dumps(json_safe(job), indent=2))

    def _write(self, name: str, rows: list[dict], mode: str = "a") -> None:
        if self.folder is not None:
            columns = COLUMNS if name == "results.csv" else CURVE_COLUMNS
            pd.DataFrame(rows, columns=columns).to_csv(
                self.folder / name, mode=mode, header=mode == "w", index=False
            )

    def done(self) -> set:
        return {record_key(row) for row in self.records}

    def todo(self, configs, tasks: list[dict]) -> list[tuple]:
        """The ``(config, task)`` pairs not done yet."""
        done = self.done()
        return [
            (config, task)
            for config in configs
            for task in tasks
            if record_key({"config": config.name, **task["key"]}) not in done
        ]

    def append(self, records: list[dict], curve: list[dict]) -> None:
        """One fit's rows: its curve first, as its results mark it done."""
        self.curves += curve
        self._write("curves.csv", curve)
        self.records += records
        self._write("results.csv", records)

    def frames(self):
        """The records and the curves as DataFrames."""
        records = pd.DataFrame(self.records, columns=COLUMNS)
        curves = pd.DataFrame(self.curves, columns=CURVE_COLUMNS)
        return (
            records.sort_values([*KEY, "decode"], kind="stable"),
            curves.sort_values([*KEY, "epoch"], kind="stable"),
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
