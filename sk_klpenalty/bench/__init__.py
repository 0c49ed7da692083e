"""``sk-klpenalty bench``: the performance ratios of the issue, measured in one run.

Four measurements, each the median of ``--repeats`` repeats after a warm-up
(with the min-max over the repeats), interleaved so that a drift of the
machine's speed hits both sides of a ratio alike:

1. **Loss**: forward + backward of the criterion at B=256, K=117, sigma=10:
   the seed's per-sample loop (a numpy Gaussian per sample, copied to the
   device, ``p + 1e-8``, ``sum p * log(p / q)``), :func:`ce_kl_loss`,
   :class:`CEKLLoss` and plain ``F.cross_entropy``. Targets: seed / ours
   >= 100, ours / cross-entropy <= 3.
2. **Penalty overhead**: one training step of the seed CNN
   (:class:`SeedCNN`, 117 classes) through :class:`KLPenaltyClassifier`
   with alpha=1 against alpha=0, same batch and same module. Target <= 1.01.
   A step varies by more than 1% from one repeat to the next on most
   machines, so the table adds the same ratio derived from the loss timings,
   ``1 + (CEKLLoss - cross-entropy) / step``: the only work alpha=1 adds.
3. **Estimator overhead**: ``KLPenaltyClassifier.fit`` on in-memory arrays
   against a bare torch loop with the same module, data, batch size, epochs,
   optimizer, shuffling and no validation. Target <= 1.10.
4. **bf16**: training throughput (images/s) of the seed CNN with
   ``precision="bf16"`` against fp32. Target >= 2.5 where the device runs
   bf16 natively, n/a elsewhere.

Full sizes are the seed's (3x128x128 images, batch 256); ``--quick``
shrinks the CNN measurements (3x64x64, batch 64) and the fitted data set so
that the whole run takes well under a minute on 2 CPU cores.

Where things are: :mod:`.command` (options, the run, the machine),
:mod:`.sizes`, :mod:`.timing`, :mod:`.table` (:class:`Measurement` and the
printed table), and one module per measurement: :mod:`.loss` and
:mod:`.training` (training steps, bf16, the estimator's overhead).
"""

from .command import add_arguments, run
from .loss import seed_style_loss
from .table import Measurement, format_table

__all__ = ["Measurement", "add_arguments", "format_table", "run", "seed_style_loss"]
