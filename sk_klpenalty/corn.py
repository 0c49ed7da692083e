"""CORNClassifier: the rank-consistent ordinal peer (CORN: Shi, Cao & Raschka
2023, Pattern Analysis and Applications; as in coral-pytorch and dlordinal)."""

from __future__ import annotations

import torch

from .base import OrdinalNeuralNet
from .losses.corn import CORNLoss, corn_probabilities

__all__ = ["CORNClassifier"]


class CORNClassifier(OrdinalNeuralNet):
    """Classifier for ordered labels with CORN's conditional binary outputs.

    Output ``k`` models ``P(y > k | y > k - 1)``; the class probabilities
    follow by the chain rule. Only the order of ``classes_`` matters, not
    the distances between their values.

    Parameters
    ----------
    module : torch module class or instance, default=None
        As for :class:`~sk_klpenalty.estimator.KLPenaltyClassifier`, with
        ``K - 1`` outputs.
    criterion : class, default=CORNLoss
        The loss of the ``K - 1`` conditional outputs.
    decode : {"argmax", "mean", "median"}, default="argmax"
        As for the other estimators; ``"median"`` is CORN's own rule (the
        number of ``k`` with ``P(y > k) > 1/2``).
    **kwargs
        The parameters of :class:`~sk_klpenalty.estimator.KLPenaltyClassifier`
        but the penalty's.

    Attributes
    ----------
    classes_, n_features_in_, input_shape_, precision_, module_, criterion_, \
history_ :
        As for :class:`~sk_klpenalty.estimator.KLPenaltyClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_klpenalty import CORNClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 3).astype("float32")
    >>> y = np.digitize(X[:, 0], [-1, -0.3, 0.3, 1])  # five ordered grades
    >>> clf = CORNClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.module_.layers[-1].out_features  # K - 1 conditional outputs
    4
    >>> clf.predict_proba(X[:2]).shape
    (2, 5)
    """

    def __init__(self, module=None, *, criterion=CORNLoss, **kwargs) -> None:
        super().__init__(module, criterion=criterion, **kwargs)

    def _n_outputs(self) -> int:
        return len(self.classes_) - 1

    def _probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Class probabilities from the chain of conditional outputs."""
        return corn_probabilities(output)
