"""GridSearchCV over alpha and sigma, scored by mean squared error.

alpha=0 is the cross-entropy baseline; every candidate sees the same folds.
The task is the built-in rotated-digits benchmark (labels are angle bins).

Run:  python examples/grid_search_alpha.py      (about a minute on 2 CPU cores)
      add --smoke-test for a few seconds' check that it runs (tiny, not a result)
"""

import argparse

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sk_klpenalty import KLPenaltyClassifier, load_rotated_digits

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
