"""KLPenaltyClassifier: a skorch classifier for ordered labels, trained with
cross-entropy plus a KL penalty, and its per-epoch sigma schedule.

What every estimator of the library shares (labels as values, validation,
seeding, batches, bf16) is in :mod:`sk_klpenalty.base`; the loss is in
:mod:`sk_klpenalty.losses`.
"""

from __future__ import annotations

import torch
from skorch.callbacks import Callback

from .base import OrdinalNeuralNet
from .data import ArrayDataset  # noqa: F401 (models pickled by 0.1.0 name it here)
from .losses import CEKLLoss
from .losses.targets import check_kernel, check_weights
from .validation import check_real

__all__ = ["EXPECTED_FAILED_CHECKS", "KLPenaltyClassifier", "PenaltySchedule"]

#: scikit-learn estimator checks that cannot apply to this classifier, with
#: the reason; pass to ``parametrize_with_checks(...,
#: expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)``.
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
    """Give the criterion the estimator's penalty, and each epoch its ``sigma``.

    At the start of training a :class:`~sk_klpenalty.losses.CEKLLoss` (or a
    subclass) gets ``alpha``, ``kernel``, ``ce_weight`` and the class values
    of the estimator. In epoch ``e`` (counted from 0 over the whole training
    history, so warm starts continue the schedule) the target's width is
    ``net.sigma * net.sigma_decay ** e``; it is stored in ``net.sigma_`` and
    in the history under ``"sigma"`` (shown in the epoch table when
    ``verbose=1``). One of :class:`KLPenaltyClassifier`'s default callbacks.
    """

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

    The training loss is
    ``ce_weight * CE(logits, y) + alpha * KL(p_sigma(y) || softmax)``
    where ``p_sigma(y)`` is a discretised Gaussian (or Laplace) distribution
    over the class values centred on the true label. Neighbouring labels
    therefore share some of the target mass, which is what an ordinal task
    (ages, grades, angle bins) wants. ``alpha=0`` is plain cross-entropy, the
    baseline; ``ce_weight=0`` trains on the soft target alone (DLDL, and with
    ``kernel="laplace"`` SORD).

    A :class:`skorch.NeuralNetClassifier`: every skorch parameter
    (``max_epochs``, ``lr``, ``batch_size``, ``optimizer``, ``device``,
    ``callbacks``, ``module__*``, ``iterator_train__*``, ...) works as usual.
    What differs from plain skorch: ``predict`` returns labels (not column
    indices), labels may be any numbers (ages with gaps, floats) or ordered
    categories (``classes=["low", "mid", "high"]``), ``fit`` takes
    ``sample_weight``, the default network is chosen from the shape of
    ``X``, nothing is held out for validation unless ``early_stopping`` or
    ``train_split`` asks for it, and the output is quiet unless ``verbose=1``.

    Parameters
    ----------
    module : torch module class, factory or instance, default=None
        The network. Its output layer is sized to one logit per class where
        it has torchvision's or timm's layout (``fc``, ``classifier[-1]``,
        ``heads.head``, ``reset_classifier``; a class that takes
        ``num_classes`` gets it); other modules must output one logit per
        class. An instance (with pretrained weights, say) is copied: every
        fit starts from it. ``None`` picks from
        ``X`` at fit time: 4-D ``(N, C, H, W)`` images (3-D ``(N, H, W)`` is
        read as one channel) get :class:`~sk_klpenalty.modules.SimpleCNN`,
        2-D ``(N, F)`` features get :class:`~sk_klpenalty.modules.MLP`. For
        these two classes, arguments that ``X`` and ``y`` determine
        (channels, image size, features, classes) are filled in unless given
        as ``module__*``.
    criterion : class, default=CEKLLoss
        The loss. With a :class:`~sk_klpenalty.losses.CEKLLoss` (sub)class,
        ``alpha``, ``sigma``, ``kernel``, ``ce_weight`` and the class values
        come from this estimator.
    alpha : float, default=1.0
        Weight of the KL penalty (>= 0); 0 trains with plain cross-entropy.
    sigma : float, default=1.0
        Width of the target, in label units (> 0): the Gaussian's standard
        deviation, or the Laplace scale ``b``. For ages it is in years,
        whatever the gaps between the classes; for ordered categories, in
        class positions.
    kernel : {"gaussian", "laplace"}, default="gaussian"
        Shape of the target: ``p_k ∝ exp(-(v_k - y)^2 / (2 sigma^2))``, or
        ``p_k ∝ exp(-|v_k - y| / sigma)`` (SORD's distance: heavier tails).
    ce_weight : float, default=1.0
        Weight of the cross-entropy term (>= 0). 0 trains on the soft target
        alone (DLDL/SORD style); ``alpha`` and ``ce_weight`` cannot both be 0.
    sigma_decay : float, default=1.0
        Per-epoch factor in (0, 1]: epoch ``e`` uses
        ``sigma * sigma_decay ** e`` (the seed's best run used 0.95). Where
        that underflows to 0, the target is one-hot (its limit) and the
        penalty equals the cross-entropy.
    decode : {"argmax", "mean", "median"}, default="argmax"
        Which point of the predicted distribution ``predict`` returns: the
        most probable class, the class nearest to the expected value, or the
        median class.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and skorch's internal
        ``ValidSplit``, so two fits with the same int give identical
        predictions on CPU. The global torch RNG is left as it was. ``None``
        uses the global torch RNG, as skorch does.
    classes : array-like, default=None
        All classes. Numbers are class values and are sorted, whatever order
        they are given in (e.g. ``np.arange(117)`` for ages 0..116, so ages
        missing from a training fold still get probability mass). Any other
        labels (strings, pandas Intervals, ...) are taken in the order given,
        e.g. ``["low", "mid", "high"]``, and the penalty measures distances
        in class positions 0..K-1. Must contain every label of ``y``.
        ``None`` uses the sorted labels of ``y`` if they are numbers, or the
        categories of ``y`` if it is an ordered pandas ``Categorical``; other
        labels without an order are an error.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
    max_epochs : int, default=20
    batch_size : int, default=64
    train_split : callable or None, default=None
        ``None`` trains on all of ``X`` (what ``cross_val_score`` expects),
        unless ``early_stopping=True``. Training batches are shuffled every
        epoch (unlike plain skorch); ``iterator_train__shuffle=False`` keeps
        the order. Pass e.g. ``skorch.dataset.ValidSplit(0.2,
        stratified=True)`` to hold out a validation part of your own.
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes in the loss, as in ``LogisticRegression``:
        ``"balanced"`` is ``n_samples / (n_classes * count)`` over the
        classes present in ``y``; a dict maps class labels to weights
        (others get 1). Multiplies ``fit``'s ``sample_weight``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified,
        seeded from ``random_state``; each ``fit``/``partial_fit`` call holds
        out its own), score every epoch on it, stop after
        ``n_iter_no_change`` epochs without an improvement of at least
        ``tol``, and keep the weights of the best epoch (the last one that
        improved by at least ``tol``). As in ``MLPClassifier``.
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping`` (in (0, 1)).
    n_iter_no_change : int, default=10
        Epochs without improvement before early stopping stops.
    tol : float, default=1e-4
        Smallest change of the score that counts as an improvement (>= 0), in
        the score's units.
    scoring : str, callable or None, default=None
        What early stopping monitors. ``None``: the validation loss (lower is
        better; with ``sigma_decay < 1``, measured with each epoch's sigma).
        A scikit-learn scorer name (e.g. ``"neg_mean_absolute_error"``) or a
        callable ``scorer(estimator, X, y)``: higher is better, as for all
        scikit-learn scorers; ``y`` holds labels, as ``predict`` returns them.
        With weights, the validation loss is weighted, and so is the score
        when the scorer takes ``sample_weight`` (scikit-learn's do).
    dataset : class, default=ArrayDataset
        Wraps the arrays; serves whole batches by tensor indexing.
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` runs every forward pass (training, validation, prediction)
        under ``torch.autocast(dtype=torch.bfloat16)`` and keeps the network
        and each image batch in ``torch.channels_last`` memory format. The
        loss is computed in float32 and ``predict_proba`` returns float32.
        It is faster where the hardware runs bf16 natively (CPUs with
        AVX512-BF16 or AMX, Ampere or newer GPUs) and may be slower on
        other CPUs, where torch emulates it. On a GPU without bf16, ``fit``
        trains in fp32 and says so in one ``UserWarning``; ``precision_``
        records what was used.
    progress : bool, default=False
        Show a tqdm progress bar over the batches of every epoch (skorch's
        :class:`~skorch.callbacks.ProgressBar`), for long fits.
    verbose : int, default=0
        1 prints skorch's epoch table.
    normalize : None, "auto" or (mean, std), default=None
        Per-channel normalisation of image batches on the device, after
        uint8 images become [0, 1]: ``(x - mean) / std``, as a pretrained
        backbone expects. ``"auto"`` takes them from a timm model's
        ``pretrained_cfg``.
    freeze_epochs : int, default=0
        Train only the output layer for this many epochs, then the whole
        network (fine-tuning a pretrained backbone). A lower learning rate
        for the backbone than for the head is skorch's
        ``optimizer__param_groups=[("fc.*", {"lr": ...})]`` with a lower ``lr``.
    **kwargs
        Any other :class:`skorch.NeuralNet` parameter.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The classes in class order (sorted numbers, or the given order);
        ``predict`` returns labels from it and the columns of
        ``predict_proba`` follow its order.
    class_values_ : ndarray of shape (n_classes,)
        The number of each class that the penalty, ``decode="mean"`` and
        ``predict_expectation`` use: the label itself for numbers, the
        position 0..K-1 otherwise (float64).
    n_features_in_ : int
        ``X.shape[1]``: features for 2-D input, channels for images.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    input_shape_ : tuple of int
        Shape of one sample, e.g. ``(1, 28, 28)``.
    sigma_ : float
        The sigma used in the last epoch (after the decay schedule).
    n_iter_ : int
        Epochs trained (counted since the last fresh initialisation).
    best_epoch_ : int
        The epoch whose weights the model holds: the best one with
        ``early_stopping``, else the last (``n_iter_``).
    precision_ : {"fp32", "bf16"}
        The precision training used: ``precision``, or ``"fp32"`` on a GPU
        without bf16. Prediction uses bf16 where ``precision_`` is ``"bf16"``
        and the current device runs it.
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

    Ordered categories, weights and early stopping:

    >>> grades = np.array(["low", "mid", "high"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    >>> clf = KLPenaltyClassifier(classes=["low", "mid", "high"],
    ...                           class_weight="balanced", early_stopping=True,
    ...                           max_epochs=50, random_state=0).fit(X, grades)
    >>> clf.classes_.tolist(), clf.class_values_.tolist()
    (['low', 'mid', 'high'], [0.0, 1.0, 2.0])
    >>> set(clf.predict(X)) <= {"low", "mid", "high"}
    True
    >>> clf.best_epoch_ <= clf.n_iter_ <= 50
    True
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
        # The other parameters and their defaults are OrdinalNeuralNet's
        # (documented above), as NeuralNetClassifier passes NeuralNet's on.
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
        check_real(self.alpha, "alpha", low=0.0, low_inclusive=True)
        check_real(self.sigma, "sigma", low=0.0)
        check_real(self.sigma_decay, "sigma_decay", low=0.0, high=1.0)
        check_kernel(self.kernel)
        check_real(self.ce_weight, "ce_weight", low=0.0, low_inclusive=True)
        check_weights(self.alpha, self.ce_weight)  # not both 0
        clashes = sorted(set(self.get_params_for("criterion")) & set(_PENALTY_PARAMS))
        if clashes:
            raise ValueError(
                f"Set {', '.join(clashes)} on the estimator (e.g. alpha=...), "
                "not as criterion__ parameters."
            )
        super()._check_params()

    def _training_callbacks(self) -> list:
        return [("penalty_schedule", PenaltySchedule())]
