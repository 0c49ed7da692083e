"""The examples (the documentation's gallery) run as a user would run them.

Each runs with ``--smoke-test`` (a few hundred images, one epoch), as the
documentation build runs them: this checks that the scripts work against the
library, not the numbers they print.
"""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script, *args):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args, "--smoke-test"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "script, expected",
    [
        ("plot_quickstart.py", "cross-entropy + KL"),
        ("plot_grid_search_alpha.py", "best: {'alpha':"),
    ],
)
def test_example_runs_and_prints_its_table(script, expected):
    assert expected in _run(script)


def test_compare_report_example_prints_and_writes_the_report(tmp_path):
    printed = _run("plot_compare_report.py", str(tmp_path / "report"))
    assert "| baseline | argmax |" in printed
    assert "control: permuted order" in printed
    for name in ("report.md", "results.csv", "summary.json", "plot.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0, name


def test_fine_tuning_example_runs_with_a_local_weights_file(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    import torch

    weights = tmp_path / "resnet18.pt"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    printed = _run(
        "plot_fine_tune_backbone.py",
        "--weights",
        str(weights),
        "--out",
        str(tmp_path / "r"),
    )
    assert "Groups: no group is on both sides of any split." in printed
    assert "| alpha=1 sigma=2 | argmax |" in printed


def test_every_public_name_has_an_api_page():
    # The documentation's API reference (docs/api.rst) lists every name of
    # sk_klpenalty.__all__; the docs build then gives each its page.
    import sk_klpenalty

    api = (EXAMPLES.parent / "docs" / "api.rst").read_text()
    listed = {line.strip() for line in api.splitlines()}
    missing = [
        n for n in sk_klpenalty.__all__ if n != "__version__" and n not in listed
    ]
    assert not missing, f"add to docs/api.rst: {missing}"
