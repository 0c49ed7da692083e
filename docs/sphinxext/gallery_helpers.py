"""sphinx-gallery helpers of the documentation build, named by their fully
qualified names in ``conf.py`` (so that Sphinx can pickle the configuration).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: The gallery's order: from the first fit to the backbone.
ORDER = (
    "plot_quickstart.py",
    "plot_grid_search_alpha.py",
    "plot_compare_report.py",
    "plot_fine_tune_backbone.py",
)
#: Where the examples write their reports during the build (not the source tree).
OUTPUT = Path(
    os.environ.get("SK_KLPENALTY_GALLERY_OUT")
    or tempfile.mkdtemp(prefix="sk-klpenalty-gallery-")
)


def reset_argv(gallery_conf, script_vars) -> list[str]:
    """The command line each example runs with: ``--smoke-test`` (a few
    hundred images, one epoch) and an output folder outside the sources."""
    name = Path(script_vars["src_file"]).stem
    argv = ["--smoke-test"]
    if name == "plot_compare_report":
        argv.append(str(OUTPUT / "compare-report"))
    elif name == "plot_fine_tune_backbone":
        argv += ["--out", str(OUTPUT / "fine-tune-report")]
    return argv


def scrape_figures(block, block_vars, gallery_conf, **kwargs) -> str:
    """Figures made without pyplot, found among the example's variables.

    ``CompareResult.plot()`` returns a ``matplotlib.figure.Figure`` that
    pyplot does not manage, so sphinx-gallery's matplotlib scraper (which
    asks pyplot) does not see it. Runs before that scraper, and marks
    pyplot's figures as seen, so that a closed pyplot figure left in a
    variable is not shown twice.
    """
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    paths = []
    images = block_vars["image_path_iterator"]
    for value in list(block_vars["example_globals"].values()):
        if not isinstance(value, Figure) or getattr(value, "_shown_in_gallery", False):
            continue
        value._shown_in_gallery = True
        if value.canvas.manager is not None:
            continue  # pyplot's: the matplotlib scraper, which runs next, saves it
        path = images.next()
        value.savefig(path, dpi=80)
        paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])


class ExampleOrder:
    """Sort key of the examples: :data:`ORDER`, then any other by name."""

    def __init__(self, src_dir) -> None:
        self.src_dir = src_dir

    def __call__(self, filename) -> tuple:
        name = Path(filename).name
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    def __repr__(self) -> str:
        return "ExampleOrder"
