"""The penalty tuned by nested cross-validation (``tune="nested"``): an inner
``GridSearchCV`` on each outer training fold, its choice refit and scored."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold

from .configs import Config, setting_name

__all__ = ["NESTED", "check_inner_folds", "chosen_settings", "fit_nested"]

#: Name of the nested configuration in tables and files.
NESTED = "tuned penalty (nested)"


def nested_config(
    configs: list[Config], estimator, inner_cv, inner_scoring, decode: str
) -> Config:
    """The nested configuration over the penalty settings of ``configs``,
    checked before any fit: two settings or more, ``inner_cv``, ``inner_scoring``.
    """
    from sklearn.metrics import check_scoring

    grid = [
        {name: [value] for name, value in c.params.items()}
        for c in configs
        if c.kind == "penalty"
    ]
    if len(grid) < 2:
        raise ValueError(
            "tune='nested' chooses among penalty settings: give at least two "
            "(e.g. alphas=(0, 0.5, 1) or sigmas=(1, 2)); with one there is "
            "nothing to tune."
        )
    if isinstance(inner_cv, bool) or (isinstance(inner_cv, Integral) and inner_cv < 2):
        raise ValueError(
            f"inner_cv must be an int >= 2 or a splitter, got {inner_cv!r}."
        )
    try:
        check_scoring(clone(estimator).set_params(decode=decode), scoring=inner_scoring)
    except (ValueError, TypeError) as error:
        raise ValueError(f"inner_scoring: {error}") from None
    params = {"grid": grid, "inner_cv": inner_cv, "inner_scoring": inner_scoring}
    return Config(NESTED, "nested", {**params, "decode": decode})


def _inner_cv(inner_cv, seed: int, grouped: bool):
    """An int ``inner_cv``: that many shuffled stratified (group) folds."""
    if not isinstance(inner_cv, Integral):
        return inner_cv
    folds = StratifiedGroupKFold if grouped else StratifiedKFold
    return folds(n_splits=inner_cv, shuffle=True, random_state=seed)


def check_inner_folds(config: Config, tasks: list[dict], y) -> None:
    """Fail before any fit when an int ``inner_cv`` cannot split a training fold."""
    if not isinstance(config.params["inner_cv"], Integral):
        return
    for task in tasks:
        groups = task.get("groups")
        cv = _inner_cv(config.params["inner_cv"], 0, groups is not None)
        labels = y[task["train"]]
        try:
            next(cv.split(np.zeros(len(labels)), labels, groups))
        except ValueError as error:
            raise ValueError(
                f"inner_cv={config.params['inner_cv']} on a training fold of "
                f"{len(labels)} samples: {error} Use fewer inner folds, more data "
                "or larger train_sizes."
            ) from None


def fit_nested(estimator, config: Config, X, y, seed: int, groups=None, **fit_params):
    """Inner grid search on ``X, y`` (an outer training fold), refit of the best.

    Returns the refitted model and the chosen setting. ``fit_params``
    (``sample_weight``) go to the search's ``fit``.
    """
    params = config.params
    search = GridSearchCV(
        clone(estimator).set_params(random_state=seed, decode=params["decode"]),
        params["grid"],
        scoring=params["inner_scoring"],
        cv=_inner_cv(params["inner_cv"], seed, groups is not None),
        error_score="raise",
    )
    if groups is not None:
        fit_params = {**fit_params, "groups": groups}
    search.fit(X, y, **fit_params)
    return search.best_estimator_, dict(search.best_params_)


def chosen_settings(records):
    """The setting the inner search chose on each outer fold (a DataFrame)."""
    rows = records[records["config"] == NESTED]
    rows = rows.drop_duplicates(["train_size", "repeat", "fold"])
    columns = ["train_size", "repeat", "fold", "alpha", "sigma", "sigma_decay"]
    return rows[columns].reset_index(drop=True)


def chosen_table(records) -> list[list[str]]:
    """Rows of the chosen setting per outer fold (at the largest size), and
    the line on how often each won."""
    chosen = chosen_settings(records)
    chosen = chosen[chosen["train_size"] == chosen["train_size"].max()]
    settings = chosen[["alpha", "sigma", "sigma_decay"]].to_dict("records")
    chosen = chosen.assign(name=[setting_name(r) for r in settings])
    rows = [
        [str(int(r)), str(int(f)), n] for r, f, n in chosen.iloc[:, [1, 2, 6]].values
    ]
    counts = chosen["name"].value_counts(sort=False)
    won = ", ".join(f"{name} ({n} of {len(chosen)})" for name, n in counts.items())
    return rows, f"Chosen: {won}."
