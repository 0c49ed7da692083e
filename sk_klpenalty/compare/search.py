"""From a fitted ``GridSearchCV`` over ``alpha`` to the paired report."""

from __future__ import annotations

import math
from numbers import Integral, Real

import pandas as pd
from sklearn import model_selection as ms
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..metrics import METRICS
from .configs import BASELINE, setting_name
from .store import COLUMNS

__all__ = ["search_records", "split_test_train_ratio"]

# Parameters that change nothing at alpha = 0: a baseline candidate pairs
# with penalty candidates whatever its value of these.
_PENALTY_ONLY = ("sigma", "sigma_decay")
_DISPLAY = {
    "root_mean_squared_error": "RMSE",
    "median_absolute_error": "median AE",
    "balanced_accuracy": "balanced accuracy",
}
_ALIASES = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}
_COLUMNS = COLUMNS[: COLUMNS.index("fit_seconds")]


def search_records(search, *, test_train_ratio: float | None = None):
    """Records and job of the baseline-versus-penalty report of a fitted search.

    Parameters
    ----------
    search : GridSearchCV or RandomizedSearchCV, fitted
        Over a :class:`~sk_klpenalty.KLPenaltyClassifier` or a ``Pipeline``
        ending in one, with ``alpha=0`` among its candidates.
    test_train_ratio : float, optional
        ``n_test / n_train`` of the splits; required unless ``search.cv``
        tells it (an int, a K-fold or a shuffle split with fractional sizes).

    Returns
    -------
    records : DataFrame
        One row per candidate and split, a column per scorer.
    job : dict
        The job description: ``CompareResult(records, job)`` is the report.

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
    if not isinstance(search, ms.GridSearchCV | ms.RandomizedSearchCV):
        raise TypeError(
            "from_search needs a fitted GridSearchCV or RandomizedSearchCV, got "
            f"{type(search).__name__}."
        )
    check_is_fitted(search, "cv_results_")
    prefix = _classifier_prefix(search.estimator)
    defaults = search.estimator.get_params()
    results, n_splits = search.cv_results_, int(search.n_splits_)
    ratio = _resolve_ratio(search.cv, test_train_ratio)
    scorers = _scorers(search)
    per_repeat = n_splits // int(getattr(search.cv, "n_repeats", 1) or 1)
    candidates = [_candidate(p, prefix, defaults) for p in results["params"]]
    names, baselines = _name_configs(candidates)
    records = [  # a baseline's sigma and sigma_decay: NaN
        {
            "config": name, "alpha": candidate["alpha"], "decode": candidate["decode"],
            "kind": "penalty" if candidate["alpha"] else "baseline",
            **({p: candidate[p] for p in _PENALTY_ONLY} if candidate["alpha"] else {}),
            "repeat": split // per_repeat, "fold": split % per_repeat,
            "train_size": 1.0, "n_train": math.nan, "n_test": math.nan,
            **{
                metric: sign * float(results[f"split{split}_test_{key}"][index])
                for metric, (key, sign, _, _) in scorers.items()
            },
        }
        for index, (candidate, name) in enumerate(zip(candidates, names, strict=True))
        for split in range(n_splits)
    ]  # fmt: skip
    frame = pd.DataFrame(records, columns=[*_COLUMNS, *scorers])
    # Several alpha=0 candidates of one group (e.g. one per sigma): their mean.
    keys = [c for c in _COLUMNS if c not in _PENALTY_ONLY]
    frame = frame.groupby(keys, sort=False, as_index=False, dropna=False).mean()
    frame = frame[_COLUMNS + list(scorers)]
    metrics = {m: [display, higher] for m, (_, _, display, higher) in scorers.items()}
    job = {
        "source": f"{type(search).__name__} over {type(search.estimator).__name__}",
        "cv": repr(search.cv),
        "configs": list(dict.fromkeys(names)),
        "decodes": list(dict.fromkeys(c["decode"] for c in candidates)),
        "metrics": metrics,
        "baselines": baselines,
        "test_train_ratio": ratio,
        "train_sizes": [1.0],
    }
    first = next(iter(scorers))
    penalty = frame[frame["kind"] == "penalty"]
    means = penalty.groupby("config", sort=False)[first].mean()
    if not means.empty:
        higher = metrics[first][1]
        job["best_penalty"] = str(means.idxmax() if higher else means.idxmin())
        job["selection"] = (
            f"{'highest' if higher else 'lowest'} mean {metrics[first][0]}"
        )
    return frame, job


def _classifier_prefix(estimator) -> str:
    """``""`` for a KLPenaltyClassifier, ``"<step>__"`` for a Pipeline ending in one."""
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


def _candidate(params: dict, prefix: str, defaults: dict) -> dict:
    names = ("alpha", "decode", *_PENALTY_ONLY)
    value = {n: params.get(prefix + n, defaults[prefix + n]) for n in names}
    own = {prefix + n for n in names}
    return {
        **{n: float(value[n]) for n in ("alpha", *_PENALTY_ONLY)},
        "decode": value["decode"],
        # What else the search varied, e.g. the learning rate.
        "other": {k.removeprefix(prefix): v for k, v in params.items() if k not in own},
        "searched": {k.removeprefix(prefix) for k in params},
    }


def _name_configs(candidates: list[dict]) -> tuple[list[str], dict[str, str]]:
    """A configuration name per candidate, and penalty name -> baseline name."""
    groups = list(dict.fromkeys(_other(c) for c in candidates if c["alpha"] == 0))
    if not groups:
        raise ValueError(
            "from_search needs candidates with alpha=0 (the cross-entropy "
            "baseline): add 0 to the searched alphas, e.g. {'alpha': [0, 1]} "
            "(or {'<step>__alpha': [0, 1]} for a Pipeline)."
        )
    names, baselines = [], {}
    for candidate in candidates:
        other = setting_name(dict(sorted(candidate["other"].items())))
        baseline = f"{BASELINE} ({other})" if len(groups) > 1 else BASELINE
        if candidate["alpha"] == 0:
            names.append(baseline)
            continue
        if _other(candidate) not in groups:
            raise ValueError(
                f"No alpha=0 candidate shares the other parameters {other} of "
                f"candidate alpha={candidate['alpha']:g}: add alpha=0 to that "
                "part of the grid."
            )
        searched = [p for p in _PENALTY_ONLY if p in candidate["searched"]]
        name = setting_name({p: candidate[p] for p in ("alpha", *searched)})
        names.append(f"{name} {other}".strip())
        baselines[names[-1]] = baseline
    return names, baselines


def _other(candidate: dict) -> tuple:
    """What else the search varied, comparable."""
    return tuple(sorted((k, repr(v)) for k, v in candidate["other"].items()))


def _scorers(search) -> dict:
    """Metric name -> (cv_results_ key, sign, display name, higher is better)."""
    scoring = search.scoring
    if not search.multimetric_:
        items = [("score", "accuracy" if scoring is None else scoring)]
    elif isinstance(scoring, dict):
        items = list(scoring.items())
    else:  # a list of scorer names, or a callable returning a dict
        start = "split0_test_"
        items = [
            (k[len(start) :],) * 2 for k in search.cv_results_ if k.startswith(start)
        ]
    out = {}
    for key, spec in items:
        name = spec if isinstance(spec, str) else key
        negated = name.startswith("neg_") or key.startswith("neg_")
        metric = name.removeprefix("neg_")
        metric = _ALIASES.get(metric, metric)
        if metric in _COLUMNS or metric in out:
            metric = f"{metric}_score"
        display = _DISPLAY.get(metric, METRICS.get(metric, (metric,))[0])
        out[metric] = (key, -1.0 if negated else 1.0, display, not negated)
    return out


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
    cv = 5 if cv is None else cv  # scikit-learn's default
    k_folds = (ms.KFold, ms.StratifiedKFold, ms.GroupKFold, ms.StratifiedGroupKFold)
    k_folds += (ms.RepeatedKFold, ms.RepeatedStratifiedKFold)
    if isinstance(cv, Integral) and not isinstance(cv, bool):
        return 1.0 / (int(cv) - 1)
    if isinstance(cv, k_folds):
        return 1.0 / (cv.get_n_splits() // getattr(cv, "n_repeats", 1) - 1)
    shuffles = (ms.ShuffleSplit, ms.StratifiedShuffleSplit)
    if isinstance(cv, shuffles) and isinstance(cv.test_size, float):
        train = 1.0 - cv.test_size if cv.train_size is None else cv.train_size
        return cv.test_size / train if isinstance(train, float) else None
    return None


def _resolve_ratio(cv, given) -> float:
    if given is None:
        given = split_test_train_ratio(cv)
        if given is None:
            raise ValueError(
                f"Cannot tell the test/train size ratio of the search's cv={cv!r}: "
                "pass test_train_ratio=n_test/n_train of its splits (e.g. 0.25 for "
                "5-fold), or search with cv=an int or a (Repeated)(Stratified)KFold."
            )
    elif isinstance(given, bool) or not isinstance(given, Real) or not given > 0:
        raise ValueError(f"test_train_ratio must be a positive number, got {given!r}.")
    return float(given)
