"""Sample and class weights, carried in each batch's ``X`` as a
:class:`WeightedBatch` (a dict, skorch's way of passing several inputs): a
batch's loss is ``sum_i w_i * l_i / sum_i w_i``, as in scikit-learn."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_array
from torch.utils.data import Dataset, Subset

from .validation import is_real

__all__ = [
    "WeightedBatch",
    "WeightedDataset",
    "accepts_sample_weight",
    "check_sample_weight",
    "weigh_training_data",
]


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` (or one number) as float64 weights >= 0, or None."""
    if sample_weight is None:
        return None
    if is_real(sample_weight):
        sample_weight = np.full(n_samples, float(sample_weight))
    weights = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=np.float64,
        input_name="sample_weight",
        ensure_min_samples=0,
    )
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per "
            f"sample, got shape {weights.shape}."
        )
    negative = np.flatnonzero(weights < 0)
    if len(negative):
        raise ValueError(
            f"sample_weight must be >= 0, got a negative weight at index {negative[0]}."
        )
    if n_samples and not weights.sum() > 0:
        raise ValueError(
            "sample_weight sums to zero: give at least one sample a weight > 0."
        )
    return weights


def _check_class_weight(class_weight, classes: np.ndarray) -> None:
    if class_weight is None or (
        isinstance(class_weight, str) and class_weight == "balanced"
    ):
        return
    if not isinstance(class_weight, Mapping):
        raise ValueError(
            "class_weight must be None, 'balanced' or a dict {class label: "
            f"weight}}, got {class_weight!r}."
        )
    known = set(classes.tolist())
    if unknown := [label for label in class_weight if label not in known]:
        raise ValueError(
            f"class_weight has keys that are not classes: {unknown[:5]}; the "
            f"classes are {classes.tolist()[:10]}."
        )
    for label, weight in class_weight.items():
        if not is_real(weight) or not math.isfinite(weight) or weight < 0:
            raise ValueError(
                f"class_weight must map classes to numbers >= 0, got {weight!r} "
                f"for {label!r}."
            )


def weigh_training_data(net, X, y, sample_weight):
    """``X`` weighted by ``sample_weight`` times ``class_weight``, and the weights
    (``X`` and None where all are equal: the plain mean)."""
    weights = check_sample_weight(sample_weight, len(X))
    _check_class_weight(net.class_weight, net.classes_)
    if net.class_weight is not None:
        if y is None:
            raise ValueError(
                "class_weight needs the labels: pass y to fit (or use "
                "sample_weight with a Dataset)."
            )
        if isinstance(net.class_weight, dict):  # sklearn's casts float labels
            by_class = np.array([net.class_weight.get(c, 1.0) for c in y.tolist()])
        else:
            by_class = compute_sample_weight(net.class_weight, y)
        weights = by_class if weights is None else weights * by_class
        if not weights.sum() > 0:
            raise ValueError(
                "sample_weight times class_weight sums to zero: give at least one "
                "sample a weight > 0."
            )
    if weights is None or len(weights) == 0 or np.all(weights == weights[0]):
        return X, None
    if not accepts_sample_weight(getattr(net.criterion, "forward", net.criterion)):
        raise ValueError(
            "sample_weight and class_weight need a criterion whose forward "
            f"takes sample_weight=; {net.criterion!r} does not."
        )
    return WeightedDataset(net.get_dataset(X, y), weights), weights


class WeightedBatch(dict):
    """A batch's (or sample's) ``X`` with its weights: keys "X", "sample_weight"."""


class WeightedDataset(Dataset):
    """``dataset``'s samples with their weights in ``X`` (a :class:`WeightedBatch`)."""

    def __init__(self, dataset, sample_weight) -> None:
        self.dataset = dataset
        self.sample_weight = torch.as_tensor(
            np.asarray(sample_weight), dtype=torch.float32
        )

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        X, y = self.dataset[index]
        return WeightedBatch(X=X, sample_weight=self.sample_weight[index]), y

    def __getitems__(self, indices):
        if not hasattr(self.dataset, "__getitems__"):
            return [self[i] for i in indices]
        X, y = self.dataset.__getitems__(indices)
        weights = self.sample_weight[torch.as_tensor(indices, dtype=torch.long)]
        return WeightedBatch(X=X, sample_weight=weights), y


def dataset_sample_weight(dataset) -> np.ndarray | None:
    """The weights of a :class:`WeightedDataset` or a ``Subset`` of one."""
    indices = None
    if isinstance(dataset, Subset):
        dataset, indices = dataset.dataset, np.asarray(dataset.indices)
    if not isinstance(dataset, WeightedDataset):
        return None
    weights = dataset.sample_weight.numpy().astype(np.float64)
    return weights if indices is None else weights[indices]


def accepts_sample_weight(func) -> bool:
    """Whether ``func`` (a criterion's forward, a scorer) takes ``sample_weight``."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.name == "sample_weight" or p.kind is inspect.Parameter.VAR_KEYWORD
        for p in parameters
    )
