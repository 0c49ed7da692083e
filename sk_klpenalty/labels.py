"""Ordered labels: numbers are their own values; other labels need an order
(``classes=[...]`` or an ordered pandas ``Categorical``) and are valued 0..K-1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import column_or_1d
from skorch.utils import is_dataset

from .validation import check_samples, is_real

__all__ = [
    "batch_class_indices",
    "check_class_values",
    "check_labels",
    "check_labels_known",
    "check_training_data",
    "class_values",
    "label_indices",
    "ordered_categories",
    "resolve_classes",
]


def check_labels(y, name: str = "y") -> np.ndarray:
    """``y`` as 1-D finite numbers (booleans as ints) or hashable labels."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)  # DataConversionWarning, as scikit-learn
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got shape {y.shape}.")
    if y.dtype.kind == "O" and all(is_real(v) for v in y):
        y = np.array(y.tolist())  # numbers that came as objects (pandas)
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind not in "iufUSO":
        raise ValueError(
            f"Unknown label type: {name} has dtype {y.dtype}; labels must be "
            "numbers, strings or other hashable objects."
        )
    if pd.isna(y).any():
        raise ValueError(f"{name} contains NaN or missing labels (None).")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains infinity.")
    return y


def is_numeric_labels(labels: np.ndarray) -> bool:
    """Whether checked ``labels`` are numbers."""
    return labels.dtype.kind in "biuf"


def check_class_values(classes) -> np.ndarray:
    """The classes in class order (numbers sorted, other labels as given)."""
    values = check_labels(classes, "classes")
    if len(set(values.tolist())) != len(values):
        raise ValueError("classes contains duplicate values.")
    return np.sort(values) if is_numeric_labels(values) else values


def check_labels_known(labels: np.ndarray, classes: np.ndarray, name: str) -> None:
    """Raise if ``labels`` holds a value missing from ``classes``."""
    known = set(classes.tolist())
    if unknown := [v for v in dict.fromkeys(labels.tolist()) if v not in known]:
        more = " ..." if len(unknown) > 5 else ""
        raise ValueError(
            f"y contains labels that are not in {name}: {unknown[:5]}{more}."
        )


def ordered_categories(y) -> np.ndarray | None:
    """The categories of an ordered pandas ``Categorical`` (or ``Series``)."""
    dtype = getattr(y, "dtype", None)
    if getattr(dtype, "ordered", False) is True and hasattr(dtype, "categories"):
        return np.asarray(dtype.categories)
    return None


def resolve_classes(labels, classes=None, categories=None) -> np.ndarray:
    """All classes in order: ``classes``, ``y``'s ordered categories or numbers."""
    if classes is not None or categories is not None:
        resolved = check_class_values(classes if classes is not None else categories)
        if categories is not None and resolved.tolist() != categories.tolist():
            if classes is None:
                raise ValueError(
                    "y is an ordered Categorical of numbers whose categories are "
                    "not in ascending order; numeric labels are ordered by their "
                    "values (convert the categories to strings to use positions)."
                )
            raise ValueError(
                "classes and the ordered categories of y give different classes "
                f"or orders ({resolved.tolist()[:5]} vs {categories.tolist()[:5]}); "
                "give the order once."
            )
    elif labels is None:
        raise ValueError("classes is required when fitting on a Dataset without y.")
    elif is_numeric_labels(labels):
        resolved = np.unique(labels)
    else:
        examples = list(dict.fromkeys(labels.tolist()))[:3]
        raise ValueError(
            f"y holds labels that are not numbers ({', '.join(map(repr, examples))}) "
            "and no order was given: the penalty needs to know which classes are "
            f"neighbours. Pass the classes in order, e.g. classes={examples!r}, or "
            "y as a pandas Categorical with ordered=True "
            "(pd.Categorical(y, categories=[...], ordered=True))."
        )
    if labels is not None:
        check_labels_known(labels, resolved, "classes")
    if len(resolved) < 2:
        raise ValueError(
            f"y has only one class ({resolved[0]!r}); a classifier needs at "
            "least 2 classes. Pass classes= to declare the others."
        )
    return resolved


def class_values(classes: np.ndarray) -> np.ndarray:
    """The float64 value of each class: numbers their own, others ``0..K-1``."""
    if is_numeric_labels(classes):
        return classes.astype(np.float64)
    return np.arange(len(classes), dtype=np.float64)


def label_indices(labels, classes: np.ndarray) -> np.ndarray:
    """Index in ``classes`` of each label (int64); unknown labels raise."""
    labels = np.asarray(labels).reshape(-1)
    lookup = {label: i for i, label in enumerate(classes.tolist())}
    try:
        return np.fromiter((lookup[v] for v in labels.tolist()), np.int64, len(labels))
    except (KeyError, TypeError):
        check_labels_known(labels, classes, "classes_")
        raise  # an unhashable label: the error above names it


def batch_class_indices(labels, classes: np.ndarray) -> torch.Tensor:
    """:func:`label_indices` of a batch's labels (tensor or array), a tensor."""
    if torch.is_tensor(labels):
        labels = labels.cpu().numpy()
    return torch.from_numpy(label_indices(labels, classes))


def check_training_data(net, X, y, reset: bool, classes=None):
    """``X`` and ``y`` checked for a fit (``reset``: sets ``ordered_classes_``)."""
    categories = ordered_categories(y)
    if is_dataset(X):
        if reset:
            net.input_shape_ = tuple(np.shape(X[0][0]))
            net.n_features_in_ = net.input_shape_[0]
    elif y is None:
        raise ValueError(
            f"{type(net).__name__} requires y to be passed, but the target y "
            "is None: pass the labels as fit(X, y)."
        )
    else:
        X = check_samples(net, X, reset=reset)
    y = None if y is None else check_labels(y)
    if not is_dataset(X) and len(y) != len(X):
        raise ValueError(
            f"X and y have different numbers of samples: {len(X)} and {len(y)}."
        )
    if reset:
        given = classes if classes is not None else net.classes
        net.ordered_classes_ = resolve_classes(y, given, categories)
    elif y is not None:
        check_labels_known(y, net.classes_, "classes_")
    return X, y
