"""``sk-klpenalty bench``: the performance ratios of the issue, measured in one run.

Five measurements, each the median of ``--repeats`` repeats after a warm-up
(with a distribution-free 95% confidence interval of that median and the
min-max over the repeats), interleaved so that a drift of the machine's
speed hits both sides of a ratio alike. A verdict whose interval spans the
target is marked ``yes?`` or ``no?``: on a noisy machine one run cannot
settle it.

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
   optimizer, shuffling and no validation: the seed CNN on small images and
   a 2x128 MLP on 20,000 x 20 features. Target <= 1.10 each.
4. **bf16**: training throughput (images/s) of the seed CNN with
   ``precision="bf16"`` against fp32. Target >= 2.5 where the device runs
   bf16 natively, n/a elsewhere.
5. **Memory** (each in a fresh process): the model's footprint (peak RSS
   growth of a fit on 256 images), a fit on uint8 images in memory (target:
   <= 1.2 x data + footprint), on a read-only memory map 4x that bound
   (target: <= footprint + 10% of the data), ``compare`` on the map with 2
   workers (summed peak RSS <= 2 x (footprint + 10% data) + 1 GB), and
   uint8 against float32 training throughput (target >= 1).

Full sizes are the seed's (3x128x128 images, batch 256); ``--quick``
shrinks the CNN measurements (3x64x64, batch 64), the fitted data sets and
the memory map so that the whole run takes about a minute on 2 CPU cores.
``--utkface-size`` runs, instead, one epoch of the seed's setup on random
uint8 images of UTKFace's size from a memory map (:mod:`.utkface`).

Where things are: :mod:`.command` (options, the run, the machine),
:mod:`.sizes`, :mod:`.timing`, :mod:`.rss` (resident memory), :mod:`.table`
(:class:`Measurement` and the printed table), and one module per
measurement: :mod:`.loss`, :mod:`.training` (training steps, bf16, the
estimator's overhead), :mod:`.memory` and :mod:`.utkface`.
"""

from .command import add_arguments, run
from .loss import seed_style_loss
from .table import Measurement, format_table, median_interval

__all__ = [
    "Measurement",
    "add_arguments",
    "format_table",
    "median_interval",
    "run",
    "seed_style_loss",
]
