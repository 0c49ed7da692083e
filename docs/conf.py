"""Sphinx configuration of the sk_klpenalty documentation.

Build (offline, warnings are errors; the gallery runs the examples at smoke
size):

    sphinx-build -W --keep-going -n docs docs/_build/html
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the checkout's package, installed or not

import sk_klpenalty  # noqa: E402
from sk_klpenalty.cli import build_parser  # noqa: E402

project = "sk_klpenalty"
author = "sk_klpenalty developers"
copyright = "sk_klpenalty developers"  # noqa: A001 (Sphinx's name)
release = sk_klpenalty.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "generated/*.txt", "auto_examples/*.ipynb"]
templates_path = ["_templates"]
default_role = "literal"

# --------------------------------------------------------------- offline
# No intersphinx: the build must not fetch inventories (it runs offline in
# CI). References to other projects' objects therefore cannot resolve; the
# ones the docstrings use are listed in nitpick_ignore_regex below.
nitpick_ignore_regex = [
    # torch, skorch, scikit-learn, numpy, pandas, matplotlib, dask and the
    # standard library are not in this site and no inventory is loaded.
    (r"py:.*", r"(torch|skorch|sklearn|numpy|np|pandas|pd|matplotlib|scipy)(\..*)?"),
    (r"py:.*", r"(dask|distributed|joblib|tqdm|PIL|timm|torchvision)(\..*)?"),
    (r"py:.*", r"(os|pathlib|collections|typing|numbers)\..*"),
    # numpydoc turns the words of a "type" line into references; these are
    # type descriptions, not objects.
    (r"py:class", r"(array-like|ndarray|DataFrame|Path|PathLike|callable|optional)"),
    (r"py:class", r"(sequence|iterable|mapping|dict|list|tuple|str|int|float|bool)"),
    (r"py:class", r"(of|or|and|shape|default|None|True|False|instance|class)"),
    (r"py:class", r"(n_samples|n_classes|n_features|n_images|K|C|H|W|\.\.\.)"),
    (r"py:class", r"(torch module.*|factory|splitter|RandomState|np\.memmap)"),
    (r"py:class", r".*[{}\"',()=].*"),  # {"a", "b"}, shape tuples, defaults
    (r"py:class", r"(GridSearchCV|RandomizedSearchCV|KLPenaltyClassifier)"),
    (r"py:class", r"(memmap|scalar|tensor|Tensor|Module|Figure)"),
    # Fitted attributes that are properties (classes_, class_values_): the
    # "Attributes" sections document them; the pages do not list them twice.
    (r"py:obj", r".*_"),
    # Module constants the docstrings name (METRICS, DECODES, ...); they are
    # spelled out where they matter (user guide).
    (r"py:data", r"[A-Z_]+"),
    # Relative references in the package's docstrings that Sphinx resolves
    # only from the module they are written in (:mod:`.peers`,
    # :meth:`KLPenaltyClassifier.fit`); fixing them is for the package.
    (r"py:mod", r"\.?peers"),
    (r"py:meth", r"KLPenaltyClassifier\.(fit|predict_expectation)"),
]
nitpicky = True

# --------------------------------------------------------------- autodoc
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections say the types
autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
add_module_names = False

# What an estimator's page lists: the methods a user calls, defined in the
# library's shared base class (the template asks for inherited members). The
# skorch and scikit-learn methods (get_params, score, set_*_request, ...) and
# the skorch hooks the estimators override (initialize_module, get_loss,
# infer, ...) are skorch's and scikit-learn's API, documented there.
_USER_METHODS = {
    "fit",
    "partial_fit",
    "predict",
    "predict_proba",
    "predict_expectation",
}


def _skip_member(app, what, name, obj, skip, options):
    if what != "class" or skip:
        return skip
    if name.endswith("_"):  # fitted attributes: in the "Attributes" section
        return True
    if name in _USER_METHODS:
        return False
    if name.startswith("set_") and name.endswith("_request"):
        return True  # scikit-learn's metadata routing
    import skorch

    if hasattr(skorch.NeuralNetClassifier, name):
        return True
    return None


# --------------------------------------------------------------- numpydoc
numpydoc_show_class_members = False  # autodoc lists them (see _skip_member)
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
numpydoc_validate = True
# Every check runs on the public API (sk_klpenalty.__all__ and the methods
# its pages list), except these, each with its reason:
#   ES01  an extended summary is not needed where the summary says it all.
#   SA01  "See Also" sections: the user guide links related objects instead.
#   EX01  examples: the estimators, compare_penalty and the loaders have
#         them; methods (fit, predict, ...) are shown in their class's.
#   GL08  no docstring: members without one are not listed (autodoc skips
#         them), so there is nothing to validate.
#   SS05  "summary must start with an infinitive verb": a class, or a
#         function that returns a thing, is summarised by the thing
#         ("Classifier for ordered labels ...").
#   SS06  one-line summaries: several summaries wrap onto a second line.
#   PR06  "use str, int, bool instead of string, integer, boolean": the
#         scikit-learn forms used here ("array-like", "{'a', 'b'}") pass;
#         the check flags plain English in type lines.
#   GL01, GL02  where a docstring's text starts and ends (the package's
#         docstrings start on the opening quotes' line).
#   PR02  "unknown parameters": the estimators document the parameters
#         they pass on to their base class through **kwargs, as skorch's
#         classifiers do, so the signature does not name them.
numpydoc_validation_checks = {
    "all",
    "PR02",
    "ES01",
    "SA01",
    "EX01",
    "GL08",
    "SS05",
    "SS06",
    "PR06",
    "GL01",
    "GL02",
}
# Not validated: the building blocks (documented for reference) and
# __init__ (the class docstring documents the parameters).
numpydoc_validation_exclude = {
    r"^sk_klpenalty\.(modules|losses|estimator\.PenaltySchedule)\.",
    r"^sk_klpenalty\.compare\.(corrected_resampled_ttest|defaults\.|search\.)",
    r"^sk_klpenalty\.metrics\.(amae|mmae|ranked_probability_score"
    r"|within_k_accuracy|quadratic_weighted_kappa)$",
    r"\.__init__$",
}

# ------------------------------------------------------------------- CLI
# The CLI reference is the parser's own help, written at build time for
# cli.rst to include: it cannot drift from the code.
GENERATED = DOCS / "generated"
GENERATED.mkdir(exist_ok=True)


def _help(argv: list[str]) -> str:
    out = io.StringIO()
    os.environ["COLUMNS"] = "80"  # argparse wraps to the terminal's width
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        build_parser().parse_args(argv)
    return out.getvalue()


(GENERATED / "cli-help.txt").write_text(build_parser().format_help())
(GENERATED / "cli-compare-help.txt").write_text(_help(["compare", "--help"]))

# --------------------------------------------------------------- gallery
# The examples run during the build at smoke size (--smoke-test: a few
# hundred images, one epoch), writing their reports into a temporary folder
# (sphinxext/gallery_helpers.py). The fine-tuning example needs torchvision;
# without it, its page shows the script and its text but does not run it.
sys.path.insert(0, str(DOCS / "sphinxext"))
HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_" if HAS_TORCHVISION else r"/plot_(?!fine_tune)",
    "reset_argv": "gallery_helpers.reset_argv",
    "image_scrapers": ("gallery_helpers.scrape_figures", "matplotlib"),
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 5,
    "matplotlib_animations": False,
    "within_subsection_order": "gallery_helpers.ExampleOrder",
    "reference_url": {"sk_klpenalty": None},
    "backreferences_dir": None,
    "capture_repr": (),
    "plot_gallery": "True",
}

# ------------------------------------------------------------------ HTML
html_theme = "pydata_sphinx_theme"
html_title = f"sk_klpenalty {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
    # No requests at build or view time beyond the page itself.
    "check_switcher": False,
}
html_context = {"default_mode": "light"}
myst_heading_anchors = 3


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
