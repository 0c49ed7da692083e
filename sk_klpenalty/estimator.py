"""KLPenaltyClassifier: a skorch classifier for ordered labels, trained with
cross-entropy plus a KL penalty, and its per-epoch sigma schedule."""

from __future__ import annotations

import torch
from skorch.callbacks import Callback

from .base import OrdinalNeuralNet
from .data import PRECISIONS, ArrayDataset, bf16_supported  # noqa: F401 (0.1.0's)
from .decode import DECODES  # noqa: F401 (release 0.1.0 exported it from here)
from .losses import CEKLLoss
from .losses.targets import check_kernel, check_weights
from .validation import check_real

__all__ = ["EXPECTED_FAILED_CHECKS", "KLPenaltyClassifier", "PenaltySchedule"]

#: scikit-learn estimator checks that cannot apply, with the reason: pass to
#: ``parametrize_with_checks(..., expected_failed_checks=lambda est: ...)``.
EXPECTED_FAILED_CHECKS = {
    "check_classifiers_classes": "string labels need an order (classes=[...] "
    "or an ordered pandas Categorical): the penalty spreads target mass to "
    "neighbouring classes, and the check's labels come without one",
    "check_classifiers_regression_target": "float labels are valid ordered "
    "classes (e.g. grade 2.5), so a 'continuous' target is not refused",
    "check_sample_weight_equivalence_on_dense_data": "mini-batch training: a "
    "sample of weight 2 is not the same as the sample twice (the batches, "
    "their weight sums and the shuffling differ), as for SGD",
}
_PENALTY_PARAMS = ("alpha", "sigma", "class_values", "kernel", "ce_weight")


class PenaltySchedule(Callback):
    """Give a :class:`~sk_klpenalty.losses.CEKLLoss` criterion the estimator's
    penalty parameters, and in epoch ``e`` of the whole history the width
    ``sigma * sigma_decay ** e`` (also ``net.sigma_`` and the history's
    ``"sigma"``)."""

    def on_train_begin(self, net, **kwargs) -> None:
        criterion = net.criterion_
        if isinstance(criterion, CEKLLoss):
            criterion.alpha = net.alpha
            criterion.ce_weight = net.ce_weight
            criterion.kernel = net.kernel
            values = torch.as_tensor(net.class_values_, dtype=torch.float32)
            criterion.class_values = values.to(net.device or "cpu")

    def on_epoch_begin(self, net, **kwargs) -> None:
        epoch = len(net.history) - 1  # skorch has already opened this epoch's row
        net.sigma_ = net.sigma * net.sigma_decay**epoch
        if isinstance(net.criterion_, CEKLLoss):
            net.criterion_.sigma = net.sigma_
        net.history.record("sigma", net.sigma_)


class KLPenaltyClassifier(OrdinalNeuralNet):
    """Classifier for ordered labels trained with cross-entropy plus a KL penalty.

    The loss is ``ce_weight * CE(logits, y) + alpha * KL(p_sigma(y) ||
    softmax)``, ``p_sigma(y)`` a discretised Gaussian (or Laplace) over the
    class values centred on the true label: ``alpha=0`` is cross-entropy,
    ``ce_weight=0`` DLDL (SORD with ``kernel="laplace"``). A skorch
    ``NeuralNetClassifier``: every skorch parameter works.

    Parameters
    ----------
    module : torch module class, factory or instance, default=None
        The network (an instance is copied); torchvision's and timm's output
        layers are sized to the classes. ``None``:
        :class:`~sk_klpenalty.modules.SimpleCNN` for images ``(N, [C,] H, W)``,
        :class:`~sk_klpenalty.modules.MLP` for features ``(N, F)``.
    criterion : class, default=CEKLLoss
        The loss; a :class:`~sk_klpenalty.losses.CEKLLoss` gets the penalty's
        parameters from here.
    alpha : float, default=1.0
        Weight of the KL penalty (>= 0).
    sigma : float, default=1.0
        Width of the target in label units (class positions for categories).
    kernel : {"gaussian", "laplace"}, default="gaussian"
        Shape of the target.
    ce_weight : float, default=1.0
        Weight of the cross-entropy (>= 0; not both it and ``alpha`` 0).
    sigma_decay : float, default=1.0
        Per-epoch factor in (0, 1]: epoch ``e`` uses ``sigma * sigma_decay ** e``.
    decode : {"argmax", "mean", "median"}, default="argmax"
        What ``predict`` returns: the most probable class, the class nearest
        the expected value, or the median class.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and the validation split.
    classes : array-like, default=None
        All classes: numbers (sorted), or other labels in order. ``None``: the
        labels of a numeric ``y``, or an ordered pandas ``Categorical``'s.
    optimizer : torch optimizer class, default=torch.optim.Adam
        The optimizer (``optimizer__*`` sets its other arguments).
    lr : float, default=1e-3
        The learning rate.
    max_epochs : int, default=20
        Epochs per ``fit`` (and per ``partial_fit`` call).
    batch_size : int, default=64
        Samples per batch; -1: all of them in one batch.
    train_split : callable or None, default=None
        A skorch split (e.g. ``ValidSplit(0.2)``); ``None`` trains on all.
    class_weight : None, "balanced" or dict, default=None
        Class weights as in ``LogisticRegression``; multiply ``sample_weight``.
    early_stopping : bool, default=False
        As in ``MLPClassifier``: hold out ``validation_fraction``, stop after
        ``n_iter_no_change`` epochs without improvement, keep the best weights.
    validation_fraction : float, default=0.1
        Share held out when ``early_stopping``, in (0, 1).
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Smallest improvement of the score (>= 0), in its units.
    scoring : str, callable or None, default=None
        What early stopping monitors: ``None`` the validation loss, else a
        scikit-learn scorer.
    dataset : class, default=ArrayDataset
        Wraps the arrays; serves whole batches.
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"``: forward passes under ``torch.autocast(dtype=bfloat16)``
        (fp32, with a warning, on a GPU without bf16).
    progress : bool, default=False
        A progress bar over each epoch's batches.
    verbose : int, default=0
        1 prints skorch's epoch table.
    normalize : None, "auto" or (mean, std), default=None
        Per-channel ``(x - mean) / std`` of image batches on the device;
        ``"auto"``: a timm model's.
    freeze_epochs : int, default=0
        Train only the output layer for this many epochs, then all of it.
    **kwargs
        Any other :class:`skorch.NeuralNet` parameter.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The classes in class order; the columns of ``predict_proba``.
    class_values_ : ndarray of shape (n_classes,)
        The number of each class: the label, or its position 0..K-1.
    n_features_in_ : int
        Features for 2-D input, channels for images.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame ``X``.
    input_shape_ : tuple of int
        Shape of one sample, e.g. ``(1, 28, 28)``.
    sigma_ : float
        The sigma of the last epoch.
    n_iter_ : int
        Epochs trained since the last fresh initialisation.
    best_epoch_ : int
        The epoch whose weights the model holds.
    precision_ : {"fp32", "bf16"}
        The precision training used.
    module_, criterion_, optimizer_, history_ :
        The fitted skorch components.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_klpenalty import KLPenaltyClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 3).astype("float32")
    >>> y = np.digitize(X[:, 0], [-1, -0.3, 0.3, 1])  # five ordered grades
    >>> clf = KLPenaltyClassifier(alpha=1.0, sigma=1.0, max_epochs=5,
    ...                           random_state=0).fit(X, y)
    >>> clf.classes_
    array([0, 1, 2, 3, 4])
    >>> clf.predict(X[:4]).shape, clf.predict_proba(X[:4]).shape
    ((4,), (4, 5))
    """

    def __init__(
        self,
        module=None,
        *,
        criterion=CEKLLoss,
        alpha: float = 1.0,
        sigma: float = 1.0,
        sigma_decay: float = 1.0,
        kernel: str = "gaussian",
        ce_weight: float = 1.0,
        **kwargs,
    ) -> None:
        super().__init__(module, criterion=criterion, **kwargs)
        self.alpha = alpha
        self.sigma = sigma
        self.sigma_decay = sigma_decay
        self.kernel = kernel
        self.ce_weight = ce_weight

    # Defaults for models pickled before these parameters existed (0.1.0).
    kernel = "gaussian"
    ce_weight = 1.0

    def _check_params(self) -> None:
        check_real(self.alpha, "alpha", low=0.0, closed="left")
        check_real(self.sigma, "sigma", low=0.0)
        check_real(self.sigma_decay, "sigma_decay", low=0.0, high=1.0, closed="right")
        check_kernel(self.kernel)
        check_real(self.ce_weight, "ce_weight", low=0.0, closed="left")
        check_weights(self.alpha, self.ce_weight)  # not both 0
        clashes = sorted(set(self.get_params_for("criterion")) & set(_PENALTY_PARAMS))
        if clashes:
            raise ValueError(
                f"Set {', '.join(clashes)} on the estimator (e.g. alpha=...), "
                "not as criterion__ parameters."
            )
        super()._check_params()

    def get_default_callbacks(self):
        schedule = ("penalty_schedule", PenaltySchedule())
        return [*super().get_default_callbacks(), schedule]
