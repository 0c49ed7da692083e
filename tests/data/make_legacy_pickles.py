"""Write ``legacy-models.pkl``: fitted models pickled by release 0.1.0.

Run once with the release whose pickles must keep loading (here 0.1.0, the
layout before the modules were split), from the repository root:

    python tests/data/make_legacy_pickles.py

``tests/test_persistence.py`` loads the file with the current code and checks
that every model predicts what it predicted when it was written.
"""

import pickle
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    import sk_klpenalty
    from sk_klpenalty import KLPenaltyClassifier
    from sk_klpenalty.losses import PermutedGaussianKLLoss

    rng = np.random.RandomState(0)
    X_tab = rng.randn(120, 4).astype(np.float32)
    y_tab = np.array([21, 22, 25, 40, 60])[np.digitize(X_tab[:, 0], [-1, -0.3, 0.3, 1])]
    X_img = rng.rand(80, 1, 8, 8).astype(np.float32)
    y_img = rng.randint(0, 4, 80)
    common = {"max_epochs": 2, "batch_size": 32, "random_state": 0}
    small_mlp = {"module__hidden_units": (16,)}
    models = {
        "mlp": (
            KLPenaltyClassifier(sigma=3.0, sigma_decay=0.9, **small_mlp, **common),
            X_tab,
            y_tab,
        ),
        "cnn-bf16": (
            KLPenaltyClassifier(
                precision="bf16",
                module__channels=(4, 8, 8),
                module__hidden_units=16,
                **common,
            ),
            X_img,
            y_img,
        ),
        "permuted-control": (
            KLPenaltyClassifier(
                criterion=PermutedGaussianKLLoss, **small_mlp, **common
            ),
            X_tab,
            y_tab,
        ),
    }
    out = {"version": sk_klpenalty.__version__, "models": {}}
    for name, (model, X, y) in models.items():
        model.fit(X, y)
        out["models"][name] = {
            "model": model,
            "X": X[:10],
            "proba": model.predict_proba(X[:10]),
            "precision_": model.precision_,
        }
    path = Path(__file__).with_name("legacy-models.pkl")
    path.write_bytes(pickle.dumps(out))
    print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
