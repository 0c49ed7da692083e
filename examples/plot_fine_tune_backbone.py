"""
Fine-tuning a ResNet-18, with subject-exclusive folds
=====================================================

Cross-entropy against the penalty when the network is torchvision's
ResNet-18. The data are the rotated digits as RGB images at 32 px: each
digit rotated 3 times, the label the angle bin. The three copies of one
digit are one "subject", and the folds keep every subject on one side
(``groups``), as a data set of faces or patients needs.

The estimator sizes ResNet-18's output layer (``fc``) to the 24 classes.
With ``--weights FILE`` (a ResNet-18 ``state_dict`` you saved yourself,
e.g. from ``ResNet18_Weights.IMAGENET1K_V1``) it starts from those weights,
trains only the new output layer for the first epoch (``freeze_epochs``)
and normalises the images as ImageNet pretraining did (``normalize``).

Needs torchvision, installed beside a torch its wheels are built for.
Nothing is downloaded. Run it from a checkout::

    python examples/plot_fine_tune_backbone.py [--weights resnet18.pt]
    python examples/plot_fine_tune_backbone.py --smoke-test

The first trains on 1,800 images for 6 epochs, the second on 120 for one.

At full size this is a GPU job (add ``device="cuda"`` to the estimator).
Where the documentation is built without torchvision, this page shows the
script without running it.
"""

# %%
# The data: uint8 RGB images and their groups
# -------------------------------------------
# uint8 images (4-D) stay uint8 in memory; each batch becomes float32 in
# [0, 1] on the device.
import argparse

import numpy as np
import torch
import torchvision

from sk_klpenalty import KLPenaltyClassifier, compare_penalty, load_rotated_digits

parser = argparse.ArgumentParser(description="Fine-tune ResNet-18, CE vs penalty.")
parser.add_argument("--weights", help="a local ResNet-18 state_dict file")
parser.add_argument("--out", default="fine-tune-report", help="output folder")
parser.add_argument("--smoke-test", action="store_true", help="120 images, 1 epoch")
args = parser.parse_args()
n_images, epochs = (120, 1) if args.smoke_test else (1800, 6)

X, y, groups = load_rotated_digits(n_rotations=3, image_size=32, return_groups=True)
X = np.repeat(np.round(X * 255).astype(np.uint8), 3, axis=1)[:n_images]  # RGB
y, groups = y[:n_images], groups[:n_images]

# %%
# The network
# -----------
# An instance is copied by every fit, so each starts from the same weights.
network = torchvision.models.resnet18(weights=None)
settings = {}
if args.weights:
    network.load_state_dict(torch.load(args.weights, weights_only=True))
    imagenet = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    settings = {"normalize": imagenet, "freeze_epochs": 1}
estimator = KLPenaltyClassifier(
    module=network, max_epochs=epochs, lr=1e-3, batch_size=64, **settings
)

# %%
# The comparison, grouped
# -----------------------
# With ``groups``, the folds are a stratified group K-fold, and the report
# says that no group is on both sides of any split.
result = compare_penalty(
    X, y, groups=groups, estimator=estimator, cv=2 if args.smoke_test else 4,
    controls=False, out_dir=args.out,
)  # fmt: skip
print(result.to_markdown())
result.save(args.out)
