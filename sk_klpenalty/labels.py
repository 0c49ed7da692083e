"""Ordered labels: the class order, the values the penalty measures distances
in, and the mapping between labels and class indices.

Numeric labels are values: their order is their values' and the penalty
measures distances in label units (years for ages). Other labels (strings,
pandas Intervals, ...) need an order, given as ``classes=[...]`` or by an
ordered pandas ``Categorical``; the penalty then measures distances in class
positions ``0..K-1``.
"""

from __future__ import annotations

import numpy as np
import torch

from .validation import check_class_values, check_labels_known, is_numeric_labels

__all__ = [
    "batch_class_indices",
    "class_values",
    "label_indices",
    "ordered_categories",
    "resolve_classes",
]

_UNORDERED_LABELS = (
    "y holds labels that are not numbers ({examples}) and no order was given: "
    "the penalty needs to know which classes are neighbours. Pass the classes "
    "in order, e.g. classes={order!r}, or y as a pandas Categorical with "
    "ordered=True (pd.Categorical(y, categories=[...], ordered=True))."
)


def ordered_categories(y) -> np.ndarray | None:
    """The categories of ``y`` in order, if ``y`` is an ordered pandas Categorical.

    ``y`` may be a ``pandas.Categorical`` or a ``Series`` of that dtype;
    anything else (unordered categoricals included) gives ``None``.

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Categorical(["b", "a"], categories=["b", "a", "c"], ordered=True)
    >>> ordered_categories(y).tolist()
    ['b', 'a', 'c']
    >>> ordered_categories(["b", "a"]) is None
    True
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
        Checked labels (:func:`~sk_klpenalty.validation.check_labels`); each
        must be a class. ``None`` when fitting on a Dataset without ``y``.
    classes : array-like, optional
        Declared classes: numbers are sorted, other labels keep this order.
    categories : ndarray, optional
        The categories of an ordered Categorical ``y``
        (:func:`ordered_categories`).

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
    if classes is not None:
        resolved = check_class_values(classes)
        if categories is not None and not _same_classes(categories, resolved):
            raise ValueError(
                "classes and the ordered categories of y give different classes "
                f"or orders ({resolved.tolist()[:5]} vs {categories.tolist()[:5]}); "
                "give the order once."
            )
    elif categories is not None:
        resolved = check_class_values(categories)
        if is_numeric_labels(resolved) and not _same_classes(categories, resolved):
            raise ValueError(
                "y is an ordered Categorical of numbers whose categories are not "
                "in ascending order; numeric labels are ordered by their values "
                "(convert the categories to strings to use their positions)."
            )
    elif labels is None:
        raise ValueError("classes is required when fitting on a Dataset without y.")
    elif is_numeric_labels(labels):
        resolved = np.unique(labels)
    else:
        examples = list(dict.fromkeys(labels.tolist()))
        raise ValueError(
            _UNORDERED_LABELS.format(
                examples=", ".join(map(repr, examples[:3])), order=examples[:3]
            )
        )
    if labels is not None:
        check_labels_known(labels, resolved, "classes")
    if len(resolved) < 2:
        raise ValueError(
            f"y has only one class ({resolved[0]!r}); a classifier needs at "
            "least 2 classes. Pass classes= to declare the others."
        )
    return resolved


def _same_classes(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) == len(b) and a.tolist() == b.tolist()


def class_values(classes: np.ndarray) -> np.ndarray:
    """The numbers the penalty and the metrics use for ``classes`` (float64).

    Numeric classes are their own values; any other classes are their
    positions ``0..K-1`` in class order.

    Examples
    --------
    >>> class_values(np.array([21, 25, 60]))
    array([21., 25., 60.])
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
        unknown = classes[index] != labels
        if unknown.any():
            check_labels_known(labels[unknown], classes, "classes_")
        return index.astype(np.int64)
    lookup = {label: i for i, label in enumerate(classes.tolist())}
    try:
        return np.fromiter((lookup[v] for v in labels.tolist()), np.int64, len(labels))
    except (KeyError, TypeError):
        check_labels_known(labels, classes, "classes_")
        raise  # an unhashable label: the error above names it


def batch_class_indices(labels, classes: np.ndarray) -> torch.Tensor:
    """Class index of each label of a batch (int64 tensor, on the labels' device).

    The labels are a tensor of numbers or an array of other labels, as the
    loaders yield them; labels outside ``classes`` are an error (a user's
    Dataset is not validated up front).

    Examples
    --------
    >>> batch_class_indices(torch.tensor([25, 21]), np.array([21, 22, 25]))
    tensor([2, 0])
    """
    if not torch.is_tensor(labels) or not is_numeric_labels(classes):
        return torch.from_numpy(label_indices(np.asarray(labels), classes))
    values = torch.as_tensor(classes, dtype=torch.float64, device=labels.device)
    labels = labels.reshape(-1).to(torch.float64)
    index = torch.searchsorted(values, labels)
    if labels.device.type == "cpu":  # where the batches are built: no GPU sync
        unknown = values[index.clamp(max=len(values) - 1)] != labels
        if bool(unknown.any()):
            found = labels[unknown].unique()[:5].tolist()
            raise ValueError(f"y holds labels that are not in classes_: {found}.")
    return index
