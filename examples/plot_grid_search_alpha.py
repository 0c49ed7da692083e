"""
Grid search over alpha and sigma
================================

``alpha``, ``sigma`` and ``sigma_decay`` are ordinary estimator parameters,
so scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` tunes them.
``alpha=0`` is the cross-entropy baseline; every candidate sees the same
folds, which makes the search a paired comparison:
:meth:`CompareResult.from_search <sk_klpenalty.CompareResult.from_search>`
turns it into the same report as :func:`~sk_klpenalty.compare_penalty`.

Run it from a checkout::

    python examples/plot_grid_search_alpha.py               # 1,797 images, 12 epochs
    python examples/plot_grid_search_alpha.py --smoke-test  # 400 images, 1 epoch

The documentation builds it with ``--smoke-test``: its numbers there come
from one epoch on a few hundred images and say nothing about the method.
"""

# %%
# The search
# ----------
# One rotated copy of each digit, so that no digit is in both the training
# and the test part of a fold. (With several copies, pass ``groups`` and a
# group splitter, as in the compare example.)
import argparse

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sk_klpenalty import CompareResult, KLPenaltyClassifier, load_rotated_digits

parser = argparse.ArgumentParser(description="Grid search over alpha and sigma.")
parser.add_argument("--smoke-test", action="store_true", help="400 images, 1 epoch")
smoke_test = parser.parse_args().smoke_test

X, y = load_rotated_digits(n_rotations=1, random_state=0)  # 1797 images
if smoke_test:
    X, y = X[:400], y[:400]

search = GridSearchCV(
    KLPenaltyClassifier(max_epochs=1 if smoke_test else 12, random_state=0),
    param_grid={"alpha": [0.0, 1.0], "sigma": [1.0, 2.0]},
    scoring="neg_mean_squared_error",
    cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
)
search.fit(X, y)

results = search.cv_results_
print(f"{'alpha':>6}{'sigma':>7}{'MSE':>8}{'std':>7}{'rank':>6}")
for i in np.argsort(results["rank_test_score"]):
    print(
        f"{results['param_alpha'][i]:>6}{results['param_sigma'][i]:>7}"
        f"{-results['mean_test_score'][i]:>8.2f}{results['std_test_score'][i]:>7.2f}"
        f"{results['rank_test_score'][i]:>6}"
    )
print("best:", search.best_params_)

# %%
# The scores per candidate
# ------------------------
# ``sigma`` changes nothing at ``alpha=0``: the two baseline candidates are
# the same model trained twice with the same seed.
fig, ax = plt.subplots(figsize=(5, 3.2))
for alpha in (0.0, 1.0):
    rows = np.flatnonzero(np.asarray(results["param_alpha"], dtype=float) == alpha)
    sigmas = np.asarray(results["param_sigma"], dtype=float)[rows]
    ax.errorbar(
        sigmas,
        -results["mean_test_score"][rows],
        yerr=results["std_test_score"][rows],
        fmt="o-",
        capsize=3,
        label=f"alpha={alpha:g}",
    )
ax.set_xlabel("sigma (angle bins)")
ax.set_ylabel("MSE (bins²), mean of 2 folds")
ax.legend()
fig.tight_layout()

# %%
# The search as a paired report
# -----------------------------
# Each penalty candidate minus the ``alpha=0`` candidate, fold by fold, with
# the corrected resampled t interval. Two folds give wide intervals; the
# report says how wide.
result = CompareResult.from_search(search)
print(result.to_markdown())
