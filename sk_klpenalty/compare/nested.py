"""The penalty tuned without looking at the test fold: nested cross-validation.

With ``tune="nested"``, :func:`~sk_klpenalty.compare.compare_penalty` adds
one configuration, ``"tuned penalty (nested)"``. On each outer training fold
(only that fold: the outer test fold is never seen) a scikit-learn
:class:`~sklearn.model_selection.GridSearchCV` over the penalty settings
(``alpha > 0``) picks one by an inner cross-validation; the picked setting is
refit on the whole outer training fold, with the fold's seed, and scored on
the outer test fold like every other configuration. Its difference to the
baseline is then free of the selection bias of the best setting that
non-nested mode picks on the same folds it reports.
"""

from __future__ import annotations

from numbers import Integral

from sklearn.base import clone

from .configs import Config, setting_name
from .formatting import markdown_table

__all__ = [
    "NESTED",
    "TUNE_CHOICES",
    "check_inner_folds",
    "check_tune",
    "chosen_settings",
    "chosen_table",
    "fit_nested",
    "nested_config",
]

#: Name of the nested configuration in tables and files.
NESTED = "tuned penalty (nested)"
TUNE_CHOICES = (None, "nested")
_SETTING = ("alpha", "sigma", "sigma_decay")


def check_tune(tune) -> str | None:
    if tune not in TUNE_CHOICES:
        raise ValueError(f"tune must be None or 'nested', got {tune!r}.")
    return tune


def nested_config(
    configs: list[Config], estimator, inner_cv, inner_scoring, decode: str
) -> Config:
    """The nested configuration over the penalty settings of ``configs``.

    Checks what can be checked before any fit: at least two settings to choose
    from, a valid ``inner_cv`` and ``inner_scoring``.
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
    model = clone(estimator).set_params(decode=decode)
    try:
        check_scoring(model, scoring=inner_scoring)
    except (ValueError, TypeError) as error:
        raise ValueError(f"inner_scoring: {error}") from None
    params = {
        "grid": grid,
        "inner_cv": inner_cv,
        "inner_scoring": inner_scoring,
        "decode": decode,
    }
    return Config(NESTED, "nested", params)


def check_inner_folds(config: Config, training_labels) -> None:
    """Fail before any fit when an int ``inner_cv`` cannot split a training
    set: stratified folds need some class with at least that many samples."""
    import numpy as np

    n_splits = config.params["inner_cv"]
    if not isinstance(n_splits, Integral):
        return
    for labels in training_labels:
        _, counts = np.unique(labels, return_counts=True)
        if counts.max() < n_splits:
            raise ValueError(
                f"inner_cv={n_splits} stratified folds need a class with at least "
                f"{n_splits} samples in each training set, but one of "
                f"{len(labels)} samples has at most {counts.max()} per class: "
                "use fewer inner folds, more data or larger train_sizes."
            )


def fit_nested(estimator, config: Config, X, y, seed: int, groups=None, **fit_params):
    """Inner grid search on ``X, y`` (an outer training fold), refit of the best.

    Returns the refitted model and the chosen setting. Inner folds: with an
    int ``inner_cv``, that many stratified folds (grouped with ``groups``),
    shuffled with ``seed``. ``fit_params`` (``sample_weight``) go to the
    search's ``fit``.
    """
    from sklearn.model_selection import (
        GridSearchCV,
        StratifiedGroupKFold,
        StratifiedKFold,
    )

    params = config.params
    inner_cv = params["inner_cv"]
    if isinstance(inner_cv, Integral):
        folds = StratifiedKFold if groups is None else StratifiedGroupKFold
        inner_cv = folds(n_splits=inner_cv, shuffle=True, random_state=seed)
    model = clone(estimator).set_params(random_state=seed, decode=params["decode"])
    search = GridSearchCV(
        model,
        params["grid"],
        scoring=params["inner_scoring"],
        cv=inner_cv,
        refit=True,
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
    return rows[["train_size", "repeat", "fold", *_SETTING]].reset_index(drop=True)


def chosen_table(records) -> list[str]:
    """Markdown: the chosen setting per outer fold, and how often each won."""
    chosen = chosen_settings(records)
    chosen = chosen[chosen["train_size"] == chosen["train_size"].max()]
    names = [
        setting_name(row["alpha"], row["sigma"], row["sigma_decay"])
        for _, row in chosen.iterrows()
    ]
    rows = [
        [str(int(row["repeat"])), str(int(row["fold"])), name]
        for (_, row), name in zip(chosen.iterrows(), names, strict=True)
    ]
    lines = markdown_table(["repeat", "outer fold", "chosen setting"], rows)
    counts = {name: names.count(name) for name in dict.fromkeys(names)}
    summary = ", ".join(f"{name} ({n} of {len(names)})" for name, n in counts.items())
    return [*lines, "", f"Chosen: {summary}."]
