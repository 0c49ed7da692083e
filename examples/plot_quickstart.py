"""
Quick start: fit, predict and score
===================================

The built-in task: how far is a handwritten digit rotated? Each 12x12 image
is a digit from scikit-learn's ``load_digits``, rotated by an angle in
[-120, 120) degrees; its label is the angle's bin among 24 equal bins. The
labels are ordered: predicting bin 11 for bin 12 is a near miss, bin 0 a
gross error.

We train the default network (:class:`~sk_klpenalty.modules.SimpleCNN`,
chosen from the shape of ``X``) with plain cross-entropy (``alpha=0``) and
with the KL penalty (``alpha=1``, ``sigma=2`` bins) on the same split, then
compare their errors and their predicted distributions.

Run it from a checkout::

    python examples/plot_quickstart.py               # 3,594 images, 15 epochs
    python examples/plot_quickstart.py --smoke-test  # 400 images, 1 epoch

The documentation builds it with ``--smoke-test``: its numbers there come
from one epoch on a few hundred images and say nothing about the method.
"""

# %%
# The data and a split
# --------------------
# Two rotated copies of each of the 1,797 digits. ``--smoke-test`` keeps the
# first 400 images, so that the script checks in seconds that it runs.
import argparse

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error
from sklearn.model_selection import train_test_split

from sk_klpenalty import KLPenaltyClassifier, load_rotated_digits

parser = argparse.ArgumentParser(description="Fit, predict and score both models.")
parser.add_argument("--smoke-test", action="store_true", help="400 images, 1 epoch")
smoke_test = parser.parse_args().smoke_test

X, y = load_rotated_digits(n_rotations=2, random_state=0)  # 3594 images
if smoke_test:
    X, y = X[:400], y[:400]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
print(X_train.shape, "labels", np.unique(y).min(), "to", np.unique(y).max())

# %%
# Two models, one difference
# --------------------------
# The estimators differ only in ``alpha``. ``predict`` returns labels,
# ``predict_expectation`` the expected label value (a continuous number, in
# label units), which suits a squared error.
models = {}
print(f"{'model':<22}{'accuracy':>9}{'MAE':>7}{'MSE':>8}{'MSE(E[y])':>11}")
for name, alpha in [("cross-entropy", 0.0), ("cross-entropy + KL", 1.0)]:
    clf = KLPenaltyClassifier(
        alpha=alpha,
        sigma=2.0,
        max_epochs=1 if smoke_test else 15,
        random_state=0,
    )
    clf.fit(X_train, y_train)
    predicted = clf.predict(X_test)
    expected = clf.predict_expectation(X_test)  # continuous, in label units
    print(
        f"{name:<22}{accuracy_score(y_test, predicted):>9.3f}"
        f"{mean_absolute_error(y_test, predicted):>7.2f}"
        f"{mean_squared_error(y_test, predicted):>8.2f}"
        f"{mean_squared_error(y_test, expected):>11.2f}"
    )
    models[name] = clf
print("One split and one seed: a difference of this size can be noise.")

# %%
# What the penalty changes: the predicted distribution
# ----------------------------------------------------
# ``predict_proba`` has one column per class, in the order of ``classes_``.
# With the penalty, probability that misses the true bin tends to land on
# its neighbours rather than anywhere; the dashed line is the true bin.
# (After one epoch, as in the documentation's build, both models are still
# close to uniform.)
samples = [0, 1, 2]
fig, axes = plt.subplots(
    len(samples), 3, figsize=(9, 2.2 * len(samples)), width_ratios=[1, 3, 3]
)
for row, i in enumerate(samples):
    axes[row, 0].imshow(X_test[i, 0], cmap="gray_r")
    axes[row, 0].set_axis_off()
    for column, (name, clf) in enumerate(models.items(), start=1):
        ax = axes[row, column]
        ax.bar(clf.classes_, clf.predict_proba(X_test[i : i + 1])[0], width=0.9)
        ax.axvline(y_test[i], color="k", linestyle="--", linewidth=1)
        ax.set_ylim(0, 1)
        if row == 0:
            ax.set_title(name)
axes[-1, 1].set_xlabel("angle bin")
axes[-1, 2].set_xlabel("angle bin")
fig.tight_layout()

# %%
# One split is not evidence. ``examples/plot_grid_search_alpha.py`` compares
# settings by cross-validation, and ``examples/plot_compare_report.py``
# produces the paired, cross-validated report with confidence intervals.
