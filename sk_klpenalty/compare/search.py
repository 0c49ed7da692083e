"""From a fitted ``GridSearchCV`` over ``alpha`` to the paired report.

A search's ``cv_results_`` holds every candidate's score on every split, and
all candidates see the same splits, so each penalty candidate can be paired,
split by split, with the ``alpha=0`` candidate(s) that share its other
parameters, and the differences get the corrected resampled t interval that
:func:`~sk_klpenalty.compare.compare_penalty` gives.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from ..metrics import METRICS
from .configs import BASELINE

__all__ = ["search_records", "split_test_train_ratio"]

# Parameters that change nothing when alpha = 0: a baseline candidate pairs
# with penalty candidates whatever its value of these.
_PENALTY_ONLY = ("sigma", "sigma_decay")
# Display names of scikit-learn scorers (without their "neg_").
_DISPLAY = {
    "root_mean_squared_error": "RMSE",
    "median_absolute_error": "median AE",
    "balanced_accuracy": "balanced accuracy",
}
_RECORD_COLUMNS = ["config", "kind", "alpha", "sigma", "sigma_decay", "repeat"]
_RECORD_COLUMNS += ["fold", "train_size", "decode", "n_train", "n_test"]
# scikit-learn scorer names -> the library's metric names (see metrics.METRICS).
_ALIASES = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}


def search_records(search, *, test_train_ratio: float | None = None):
    """Records and job of the baseline-versus-penalty report of a fitted search.

    Parameters
    ----------
    search : GridSearchCV or RandomizedSearchCV, fitted
        Over a :class:`~sk_klpenalty.KLPenaltyClassifier` or a ``Pipeline``
        ending in one (parameters ``<step>__alpha``). Its candidates must
        include ``alpha=0``. Every scorer of a multi-metric ``scoring``
        becomes a metric; scores that scikit-learn negates (``neg_*``) are
        un-negated, so an MSE shows as an MSE.
    test_train_ratio : float, optional
        ``n_test / n_train`` of the search's splits, for the corrected
        resampled t-test. Derived from ``search.cv`` when it is an int or
        a (repeated, stratified) K-fold or shuffle split with fractional
        sizes; required otherwise.

    Returns
    -------
    records : DataFrame
        One row per candidate and split, as in :class:`CompareResult`.
    job : dict
        The job's description. ``CompareResult(records, job)`` is the report:
        each candidate with ``alpha > 0`` is compared, split by split, with
        the mean of the ``alpha=0`` candidates that share its parameters
        other than ``sigma`` and ``sigma_decay`` (which do nothing at
        ``alpha=0``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sk_klpenalty import KLPenaltyClassifier
    >>> from sk_klpenalty.compare import CompareResult
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(90, 3).astype("float32")
    >>> y = np.digitize(X[:, 0], [-0.5, 0.5])
    >>> search = GridSearchCV(
    ...     KLPenaltyClassifier(max_epochs=1, random_state=0),
    ...     {"alpha": [0.0, 1.0]}, scoring="neg_mean_squared_error", cv=3,
    ... ).fit(X, y)
    >>> result = CompareResult.from_search(search)
    >>> result.comparison()[["config", "metric", "n"]].values.tolist()
    [['alpha=1', 'mse', 3]]
    """
    import pandas as pd

    _check_search(search)
    prefix = _classifier_prefix(search.estimator)
    base_params = search.estimator.get_params()
    results = search.cv_results_
    n_splits = int(search.n_splits_)
    ratio = _resolve_ratio(search.cv, test_train_ratio)
    scorers = _scorers(search)
    per_repeat = n_splits // max(1, _n_repeats(search.cv))

    candidates = [
        _candidate(params, prefix, base_params) for params in results["params"]
    ]
    configs, baselines = _name_configs(candidates)
    records = []
    for index, (candidate, name) in enumerate(zip(candidates, configs, strict=True)):
        for split in range(n_splits):
            penalty = candidate["alpha"] != 0  # sigma does nothing at alpha=0
            record = {
                "config": name,
                "kind": "penalty" if penalty else "baseline",
                "alpha": candidate["alpha"],
                "sigma": candidate["sigma"] if penalty else math.nan,
                "sigma_decay": candidate["sigma_decay"] if penalty else math.nan,
                "repeat": split // per_repeat,
                "fold": split % per_repeat,
                "train_size": 1.0,
                "decode": candidate["decode"],
                "n_train": math.nan,
                "n_test": math.nan,
            }
            for metric, (key, sign, _, _) in scorers.items():
                record[metric] = sign * float(
                    results[f"split{split}_test_{key}"][index]
                )
            records.append(record)
    frame = pd.DataFrame(records, columns=[*_RECORD_COLUMNS, *scorers])
    # Several alpha=0 candidates of one group (e.g. one per sigma): their mean.
    keys = [c for c in _RECORD_COLUMNS if c not in ("sigma", "sigma_decay")]
    grouped = frame.groupby(keys, sort=False, as_index=False, dropna=False)
    frame = grouped.mean()[_RECORD_COLUMNS + list(scorers)]
    order = list(dict.fromkeys(configs))
    metrics = {m: [display, higher] for m, (_, _, display, higher) in scorers.items()}
    first = next(iter(scorers))
    job = {
        "source": f"{type(search).__name__} over {type(search.estimator).__name__}",
        "cv": repr(search.cv),
        "configs": order,
        "decodes": list(dict.fromkeys(c["decode"] for c in candidates)),
        "metrics": metrics,
        "baselines": baselines,
        "test_train_ratio": ratio,
        "train_sizes": [1.0],
    }
    best = _best_penalty(frame, first, higher=metrics[first][1])
    if best is not None:
        job["best_penalty"] = best
        better = "highest" if metrics[first][1] else "lowest"
        job["selection"] = f"{better} mean {metrics[first][0]}"
    return frame, job


def _check_search(search) -> None:
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(search, BaseSearchCV):
        raise TypeError(
            "from_search needs a fitted GridSearchCV or RandomizedSearchCV, got "
            f"{type(search).__name__}."
        )
    check_is_fitted(search, "cv_results_")
    if "iter" in search.cv_results_:
        raise ValueError(
            f"{type(search).__name__} trains its candidates on different amounts "
            "of data in each iteration, so they cannot be paired; use "
            "GridSearchCV or RandomizedSearchCV."
        )


def _classifier_prefix(estimator) -> str:
    """``""`` for a KLPenaltyClassifier, ``"<step>__"`` for a Pipeline ending
    in one (nested pipelines too)."""
    from sklearn.pipeline import Pipeline

    from ..estimator import KLPenaltyClassifier

    if isinstance(estimator, KLPenaltyClassifier):
        return ""
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        return f"{name}__{_classifier_prefix(last)}"
    raise TypeError(
        "from_search needs a search over a KLPenaltyClassifier or a Pipeline "
        f"ending in one, got {type(estimator).__name__}."
    )


def _candidate(params: dict, prefix: str, base: dict) -> dict:
    def value(name):
        return params.get(prefix + name, base[prefix + name])

    own = {prefix + n for n in ("alpha", "decode", *_PENALTY_ONLY)}
    return {
        "alpha": float(value("alpha")),
        "sigma": float(value("sigma")),
        "sigma_decay": float(value("sigma_decay")),
        "decode": value("decode"),
        # What else the search varied, e.g. the learning rate.
        "other": {k.removeprefix(prefix): v for k, v in params.items() if k not in own},
        "searched": {k.removeprefix(prefix) for k in params},
    }


def _name_configs(candidates: list[dict]) -> tuple[list[str], dict[str, str]]:
    """A configuration name per candidate, and penalty name -> baseline name."""
    groups = list(
        dict.fromkeys(_frozen(c["other"]) for c in candidates if c["alpha"] == 0)
    )
    if not groups:
        raise ValueError(
            "from_search needs candidates with alpha=0 (the cross-entropy "
            "baseline): add 0 to the searched alphas, e.g. {'alpha': [0, 1]} "
            "(or {'<step>__alpha': [0, 1]} for a Pipeline)."
        )
    names, baselines = [], {}
    for candidate in candidates:
        other = candidate["other"]
        group = _frozen(other)
        baseline = BASELINE
        if len(groups) > 1:
            baseline = f"{BASELINE} ({_describe(other)})"
        if candidate["alpha"] == 0:
            names.append(baseline)
            continue
        if group not in groups:
            raise ValueError(
                f"No alpha=0 candidate shares the other parameters "
                f"{_describe(other)} of candidate alpha={candidate['alpha']:g}: "
                "add alpha=0 to that part of the grid."
            )
        name = f"alpha={candidate['alpha']:g}"
        for param in _PENALTY_ONLY:
            if param in candidate["searched"]:
                name += f" {param}={candidate[param]:g}"
        if other:
            name += f" {_describe(other)}"
        names.append(name)
        baselines[name] = baseline
    return names, baselines


def _frozen(params: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def _describe(params: dict) -> str:
    return " ".join(
        f"{k}={v:g}" if isinstance(v, Real) else f"{k}={v}"
        for k, v in sorted(params.items())
    )


def _scorers(search) -> dict:
    """Metric name -> (cv_results_ key, sign, display name, higher is better)."""
    scoring = search.scoring
    if not search.multimetric_:
        spec = "accuracy" if scoring is None else scoring
        items = [("score", spec)]
    elif isinstance(scoring, dict):
        items = list(scoring.items())
    else:  # a list or tuple of scorer names, or a callable returning a dict
        start = "split0_test_"
        keys = [k[len(start) :] for k in search.cv_results_ if k.startswith(start)]
        items = [(key, key) for key in keys]
    out = {}
    for key, spec in items:
        name = spec if isinstance(spec, str) else key
        negated = name.startswith("neg_") or key.startswith("neg_")
        metric = name.removeprefix("neg_")
        metric = _ALIASES.get(metric, metric)
        if metric in _RECORD_COLUMNS or metric in out:
            metric = f"{metric}_score"
        display = _DISPLAY.get(metric, METRICS.get(metric, (metric,))[0])
        out[metric] = (key, -1.0 if negated else 1.0, display, not negated)
    return out


def _n_repeats(cv) -> int:
    return int(getattr(cv, "n_repeats", 1) or 1)


def split_test_train_ratio(cv) -> float | None:
    """``n_test / n_train`` of a splitter when its type tells, else ``None``.

    Examples
    --------
    >>> from sklearn.model_selection import RepeatedStratifiedKFold
    >>> split_test_train_ratio(RepeatedStratifiedKFold(n_splits=5, n_repeats=2))
    0.25
    >>> split_test_train_ratio(3), split_test_train_ratio([([0, 1], [2])])
    (0.5, None)
    """
    from sklearn import model_selection as ms

    if cv is None:
        cv = 5  # scikit-learn's default
    if isinstance(cv, Integral) and not isinstance(cv, bool):
        return 1.0 / (int(cv) - 1)
    k_folds = (ms.KFold, ms.StratifiedKFold, ms.GroupKFold, ms.StratifiedGroupKFold)
    if isinstance(cv, k_folds):
        return 1.0 / (cv.n_splits - 1)
    if isinstance(cv, ms.RepeatedKFold | ms.RepeatedStratifiedKFold):
        return 1.0 / (cv.cvargs["n_splits"] - 1)
    shuffles = (ms.ShuffleSplit, ms.StratifiedShuffleSplit)
    if isinstance(cv, shuffles) and isinstance(cv.test_size, float):
        train = cv.train_size if cv.train_size is not None else 1.0 - cv.test_size
        if isinstance(train, float):
            return cv.test_size / train
    return None


def _resolve_ratio(cv, given) -> float:
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, Real) or not given > 0:
            raise ValueError(
                f"test_train_ratio must be a positive number, got {given!r}."
            )
        return float(given)
    ratio = split_test_train_ratio(cv)
    if ratio is None:
        raise ValueError(
            f"Cannot tell the test/train size ratio of the search's cv={cv!r}: "
            "pass test_train_ratio=n_test/n_train of its splits (e.g. 0.25 for "
            "5-fold), or search with cv=an int or a (Repeated)(Stratified)KFold."
        )
    return ratio


def _best_penalty(frame, metric: str, higher: bool) -> str | None:
    means = frame[frame["kind"] == "penalty"].groupby("config", sort=False)[metric]
    means = means.mean()
    if means.empty:
        return None
    return str(means.idxmax() if higher else means.idxmin())
