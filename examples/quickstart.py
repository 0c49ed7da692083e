"""Quick start: fit, predict and score on the built-in rotated-digits task.

The label of each 28x28 image is how far a handwritten digit (from the copy
that ships with scikit-learn) is rotated, in 24 angle bins: an ordinal task.
We train the seed CNN with plain cross-entropy (alpha=0) and with the KL
penalty (alpha=1, sigma=2 bins) on the same split and compare them.

Run:  python examples/quickstart.py      (about a minute on 2 CPU cores)
      add --smoke-test for a few seconds' check that it runs (tiny, not a result)
"""

import argparse
import time

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

print(f"{'model':<22}{'accuracy':>9}{'MAE':>7}{'MSE':>8}{'MSE(E[y])':>11}{'time':>7}")
for name, alpha in [("cross-entropy", 0.0), ("cross-entropy + KL", 1.0)]:
    start = time.perf_counter()
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
        f"{time.perf_counter() - start:>6.0f}s"
    )
print("One split and one seed: a difference of this size can be noise.")
print("examples/grid_search_alpha.py compares the settings by cross-validation.")
