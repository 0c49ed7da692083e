"""The default job of :func:`~sk_klpenalty.compare.compare_penalty` and
``sk-klpenalty compare`` (about 5 minutes on 2 CPU cores on the rotated digits)."""

from __future__ import annotations

__all__ = ["ALPHAS", "DECODES", "EPOCHS", "FOLDS", "LR", "REPEATS", "estimator"]

FOLDS, REPEATS = 4, 1
ALPHAS, SIGMAS, SIGMA_DECAYS = (0.0, 1.0), (2.0,), (1.0,)
DECODES = ("argmax", "mean")
EPOCHS, LR, BATCH_SIZE = 14, 3e-3, 64


def estimator(epochs: int = EPOCHS, lr: float = LR, cosine: bool = True, **params):
    """The job's :class:`~sk_klpenalty.KLPenaltyClassifier`: Adam at ``lr``,
    cosine-decayed to 0 over ``epochs`` unless ``cosine=False``.

    Examples
    --------
    >>> estimator().max_epochs, estimator().lr
    (14, 0.003)
    """
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import CosineAnnealingLR

    from ..estimator import KLPenaltyClassifier

    callbacks = None
    if cosine:
        callbacks = [("lr_schedule", LRScheduler(CosineAnnealingLR, T_max=epochs))]
    params.setdefault("batch_size", BATCH_SIZE)
    return KLPenaltyClassifier(max_epochs=epochs, lr=lr, callbacks=callbacks, **params)
