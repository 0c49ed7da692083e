"""The README as a new user reads it: its Python runs, it fits on a screen, and
its test command is the one CI runs."""

import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readmes_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102


def test_the_readme_is_one_screen_with_a_fit_early():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= 200 and len(text.encode()) <= 12 * 1024
    assert any(".fit(" in line for line in lines[:60])


def test_ci_runs_the_readmes_test_command():
    root = README.parent
    found = subprocess.run(
        ["awk", "/^Run the tests/ {found = 1} found && /^pip install/ {print; exit}",
         str(README)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert found.startswith("pip install torch==2.13.0 && pip install -e")
    assert found.endswith("python -m pytest -q -n 2")
    assert "README.md" in (root / ".ci" / "run").read_text()
