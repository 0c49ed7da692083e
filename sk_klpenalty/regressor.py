"""OrdinalRegressor: the regression peer, one output trained with MSE on the
standardised label values, predicting the nearest class."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from skorch.utils import to_numpy

from .base import OrdinalNeuralNet
from .labels import batch_class_indices, label_indices
from .losses import MSELoss

__all__ = ["OrdinalRegressor"]


class OrdinalRegressor(OrdinalNeuralNet):
    """Regression on ordered labels: one output, MSE, the nearest class.

    The output is trained against the standardised label values.
    ``predict`` returns the class nearest to it (a scikit-learn classifier, as
    its peers: ``score`` is accuracy), ``predict_expectation`` the output in
    label units.

    Parameters
    ----------
    module : torch module class or instance, default=None
        As for :class:`~sk_klpenalty.estimator.KLPenaltyClassifier`, with one
        output per sample.
    criterion : torch loss class, default=sk_klpenalty.losses.MSELoss
        A regression loss of ``(output, standardised label value)``.
    **kwargs
        The parameters of :class:`~sk_klpenalty.estimator.KLPenaltyClassifier`
        but the penalty's; ``decode`` has no effect.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class values; ``predict`` returns values from it.
    y_mean_, y_scale_ : float
        Mean and standard deviation (1.0 if 0) of the training label values.
    n_features_in_, input_shape_, precision_, module_, criterion_, history_ :
        As for :class:`~sk_klpenalty.estimator.KLPenaltyClassifier`.

    Notes
    -----
    ``predict_proba`` is one-hot at the predicted class, **not a calibrated
    probability**: probability metrics score it as a certain prediction.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_klpenalty import OrdinalRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 3).astype("float32")
    >>> y = np.digitize(X[:, 0], [-1, -0.3, 0.3, 1]) * 10  # grades 0, 10, ..., 40
    >>> reg = OrdinalRegressor(max_epochs=5, random_state=0).fit(X, y)
    >>> reg.classes_
    array([ 0, 10, 20, 30, 40])
    >>> bool(np.isin(reg.predict(X[:4]), reg.classes_).all())
    True
    >>> reg.predict_expectation(X[:4]).dtype  # the raw output, in label units
    dtype('float64')
    """

    def __init__(self, module=None, *, criterion=MSELoss, **kwargs) -> None:
        super().__init__(module, criterion=criterion, **kwargs)

    def _n_outputs(self) -> int:
        return 1

    def _fit_label_statistics(self, labels, sample_weight) -> None:
        """The (weighted) mean and standard deviation of the label values."""
        values, weights = self.class_values_, None
        if labels is not None:
            values = values[label_indices(labels, self.classes_)]
            weights = sample_weight
        self.y_mean_ = float(np.average(values, weights=weights))
        variance = np.average((values - self.y_mean_) ** 2, weights=weights)
        self.y_scale_ = float(np.sqrt(variance)) or 1.0

    def _standardised_class_values(self, device) -> torch.Tensor:
        values = torch.as_tensor(self.class_values_, dtype=torch.float32)
        return (values.to(device) - self.y_mean_) / self.y_scale_

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """MSE (``criterion``) of the output against the standardised labels."""
        output = _one_output(y_pred).float()
        index = batch_class_indices(y_true, self.classes_).to(output.device)
        target = self._standardised_class_values(output.device)[index]
        return self._criterion_loss(output, target, X)

    def _probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """One-hot rows at the class nearest to each output (the lower on ties)."""
        output = _one_output(output).float()
        values = self._standardised_class_values(output.device)
        nearest = (output.unsqueeze(1) - values).abs().argmin(dim=1)
        return F.one_hot(nearest, len(values)).float()

    def predict_expectation(self, X) -> np.ndarray:
        """The network's output in label units.

        Parameters
        ----------
        X : array-like or torch Dataset
            Samples of the kind and shape ``fit`` was given.

        Returns
        -------
        ndarray of shape (n_samples,)
            The output per sample (continuous, float64).
        """
        output = _one_output(self.forward(X)).float()
        return to_numpy(output).astype(np.float64) * self.y_scale_ + self.y_mean_


def _one_output(y_pred):
    y_pred = y_pred[0] if isinstance(y_pred, tuple) else y_pred
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        return y_pred[:, 0]
    if y_pred.ndim != 1:
        raise ValueError(
            "OrdinalRegressor needs a module with one output per sample, got "
            f"outputs of shape {tuple(y_pred.shape)}."
        )
    return y_pred
