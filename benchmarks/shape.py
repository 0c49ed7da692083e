"""Package shape: lines of code, the longest module, skorch overrides."""

from __future__ import annotations

import inspect
from pathlib import Path

from common import Row

import sk_klpenalty

ESTIMATORS = ("KLPenaltyClassifier", "OrdinalRegressor", "CORNClassifier")


def line_counts() -> dict[str, int]:
    """Lines of every ``sk_klpenalty/**/*.py`` (docstrings included)."""
    root = Path(sk_klpenalty.__file__).parent
    return {
        str(path.relative_to(root.parent)): len(path.read_bytes().splitlines())
        for path in sorted(root.rglob("*.py"))
    }


def skorch_overrides(cls) -> list[str]:
    """Names that the package's classes in ``cls``'s MRO define and that are
    methods or properties of ``skorch.NeuralNetClassifier`` (not __init__)."""
    from skorch import NeuralNetClassifier

    names = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("sk_klpenalty"):
            continue
        for name in vars(klass):
            if name == "__init__" or not hasattr(NeuralNetClassifier, name):
                continue
            attr = inspect.getattr_static(NeuralNetClassifier, name)
            if callable(attr) or isinstance(
                attr, property | classmethod | staticmethod
            ):
                names.add(name)
    return sorted(names)


def shape_rows() -> tuple[list[Row], dict]:
    lines = line_counts()
    longest = max(lines, key=lines.get)
    overrides = {
        name: skorch_overrides(getattr(sk_klpenalty, name)) for name in ESTIMATORS
    }
    most = max(overrides, key=lambda name: len(overrides[name]))
    rows = [
        Row(
            "package: lines of sk_klpenalty/**/*.py",
            "",
            [sum(lines.values())],
            "<= 5000",
        ),
        Row(f"package: longest module ({longest})", "", [lines[longest]], "<= 400"),
        Row(
            f"package: skorch methods overridden (most: {most})",
            "",
            [len(overrides[most])],
            "<= 12",
        ),
    ]
    return rows, {"lines": lines, "overrides": overrides, "most": most}
