"""Ordered labels: the class order, the class values, and the mapping between
labels and class indices.

Numeric labels are values (ordered by value; the penalty measures distances in
label units). Other labels need an order, from ``classes=[...]`` or an
ordered pandas ``Categorical``; their values are the positions ``0..K-1``.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.utils import is_dataset

from .validation import (
    check_class_values,
    check_labels,
    check_labels_known,
    check_samples,
    is_numeric_labels,
)

__all__ = [
    "batch_class_indices",
    "check_training_data",
    "class_values",
    "label_indices",
    "ordered_categories",
    "resolve_classes",
]


def ordered_categories(y) -> np.ndarray | None:
    """The categories of ``y`` in order if ``y`` (a ``pandas.Categorical`` or a
    ``Series`` of that dtype) is ordered, else ``None``.

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Categorical(["b", "a"], categories=["b", "a", "c"], ordered=True)
    >>> ordered_categories(y).tolist()
    ['b', 'a', 'c']
    """
    dtype = getattr(y, "dtype", None)
    if getattr(dtype, "ordered", False) is True and hasattr(dtype, "categories"):
        return np.asarray(dtype.categories)
    return None


def resolve_classes(labels, classes=None, categories=None) -> np.ndarray:
    """All classes in class order, from ``classes``, ``categories`` or ``labels``.

    Parameters
    ----------
    labels : ndarray or None
        Checked labels, each of which must be a class; ``None`` when fitting
        on a Dataset without ``y``.
    classes : array-like, optional
        Declared classes: numbers are sorted, other labels keep this order.
    categories : ndarray, optional
        The categories of an ordered Categorical ``y``.

    Returns
    -------
    ndarray of shape (n_classes,)

    Examples
    --------
    >>> resolve_classes(np.array(["mid", "low"]), ["low", "mid", "high"]).tolist()
    ['low', 'mid', 'high']
    >>> resolve_classes(np.array([3, 1, 3])).tolist()
    [1, 3]
    """
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
    """The number of each class (float64): numbers are their own values, other
    classes their positions ``0..K-1``.

    Examples
    --------
    >>> class_values(np.array(["low", "mid", "high"]))
    array([0., 1., 2.])
    """
    if is_numeric_labels(classes):
        return classes.astype(np.float64)
    return np.arange(len(classes), dtype=np.float64)


def label_indices(labels, classes: np.ndarray) -> np.ndarray:
    """Index in ``classes`` of each label (int64); unknown labels are an error.

    Examples
    --------
    >>> label_indices(["high", "low"], np.array(["low", "mid", "high"]))
    array([2, 0])
    """
    labels = np.asarray(labels).reshape(-1)
    if is_numeric_labels(classes) and is_numeric_labels(labels):
        index = np.clip(np.searchsorted(classes, labels), 0, len(classes) - 1)
        if (classes[index] != labels).any():
            check_labels_known(labels, classes, "classes_")
        return index.astype(np.int64)
    lookup = {label: i for i, label in enumerate(classes.tolist())}
    try:
        return np.fromiter((lookup[v] for v in labels.tolist()), np.int64, len(labels))
    except (KeyError, TypeError):
        check_labels_known(labels, classes, "classes_")
        raise  # an unhashable label: the error above names it


def batch_class_indices(labels, classes: np.ndarray) -> torch.Tensor:
    """Class index of each label of a batch (a tensor or an array) as an int64
    tensor; labels outside ``classes`` are an error.

    Examples
    --------
    >>> batch_class_indices(torch.tensor([25, 21]), np.array([21, 22, 25]))
    tensor([2, 0])
    """
    if torch.is_tensor(labels):
        labels = labels.cpu().numpy()
    return torch.from_numpy(label_indices(labels, classes))


def check_training_data(net, X, y, reset: bool, classes=None):
    """``X`` and ``y`` checked for ``net``'s fit (``reset``: a fresh one, which
    sets ``ordered_classes_``; else ``y`` must hold known classes)."""
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
