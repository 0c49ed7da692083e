"""The README's examples run as a user would run them."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    "script, expected",
    [
        ("quickstart.py", "cross-entropy + KL"),
        ("grid_search_alpha.py", "best: {'alpha':"),
    ],
)
def test_example_runs_and_prints_its_table(script, expected):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
