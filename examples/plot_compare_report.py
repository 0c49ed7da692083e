"""
The cross-validated report, from Python
=======================================

:func:`~sk_klpenalty.compare_penalty` fits the cross-entropy baseline
(``alpha=0``), each penalty setting and two controls on the same folds with
the same seeds, scores every fit with every decode, and returns a
:class:`~sk_klpenalty.CompareResult`: the report as markdown, its numbers as
DataFrames, its plot, and its files. ``sk-klpenalty compare`` runs the same
function from the command line.

Run it from a checkout::

    python examples/plot_compare_report.py [OUT]               # 900 images, 8 epochs
    python examples/plot_compare_report.py [OUT] --smoke-test  # 150 images, 1 epoch

The documentation builds it with ``--smoke-test``: its numbers there come
from one epoch on 150 images and say nothing about the method.
"""

# %%
# The job
# -------
# The built-in task's 24 angle bins, one rotated copy of each digit (so
# that no digit is on both sides of a fold), three stratified folds. Two
# penalty settings (``sigma`` 1 and 2 bins) and two decodes: ``argmax`` (the
# most probable class) and ``mean`` (the class nearest to the expected
# value). The controls use the best setting.
import argparse

from sklearn.model_selection import RepeatedStratifiedKFold

from sk_klpenalty import KLPenaltyClassifier, compare_penalty, load_rotated_digits

parser = argparse.ArgumentParser(description="The report, from the library API.")
parser.add_argument("out_dir", nargs="?", default="compare-report")
parser.add_argument("--smoke-test", action="store_true", help="150 images, 1 epoch")
args = parser.parse_args()
n_images, epochs = (150, 1) if args.smoke_test else (900, 8)
out_dir = args.out_dir

X, y = load_rotated_digits(n_rotations=1, random_state=0)  # 1797 images, 24 bins
result = compare_penalty(
    X[:n_images],
    y[:n_images],
    estimator=KLPenaltyClassifier(max_epochs=epochs),
    alphas=(0.0, 1.0),
    sigmas=(1.0, 2.0),
    decodes=("argmax", "mean"),
    cv=RepeatedStratifiedKFold(n_splits=3, n_repeats=1, random_state=0),
    random_state=0,
    progress=False,
    out_dir=out_dir,
)

# %%
# The report
# ----------
# What was run, the mean of each metric per configuration with its 95%
# interval, and each configuration's paired difference to the baseline.
# The docs' user guide explains how to read it.
print(result.to_markdown())

# %%
# The plot
# --------
# Each metric per configuration and decode, with 95% intervals; the dashed
# lines are the baseline's means.
fig = result.plot()

# %%
# The numbers behind the tables
# -----------------------------
# ``comparison()`` is the table of differences as a DataFrame (one row per
# configuration, decode and metric); ``records`` holds every fit's scores.
mse = result.comparison().query("metric == 'mse'")
print(mse[["config", "decode", "mean", "ci_low", "ci_high", "p_value"]].to_string())

# %%
# The files
# ---------
# ``save`` writes ``report.md``, ``results.csv``, ``summary.json`` and
# ``plot.png`` (and ``curves.csv`` and ``curves.png``: the per-epoch training
# curves). ``out_dir`` given to ``compare_penalty`` also kept ``job.json`` and
# the results fit by fit, so that ``resume=True`` would continue a killed job.
paths = result.save(out_dir)
print("wrote", ", ".join(path.name for path in paths.values()))
