"""benchmarks/run.py at tiny sizes: every row printed, the package shape real.

No timing assertions: the numbers depend on the machine.
"""

import json
import sys
from pathlib import Path

import pytest
from skorch import NeuralNetClassifier

import sk_klpenalty

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ROWS = [
    "loss fwd+bwd: research per-sample loop",
    "loss fwd+bwd: ce_kl_loss",
    "loss fwd+bwd: CEKLLoss",
    "loss fwd+bwd: F.cross_entropy",
    "loss speed-up: loop / ce_kl_loss",
    "loss speed-up: loop / CEKLLoss",
    "estimator: alpha=0",
    "estimator: alpha=1",
    "penalty overhead: step alpha=1 / alpha=0",
    "penalty overhead: 1 + (CEKLLoss - F.cross_entropy) / step",
    "estimator overhead, seed CNN: estimator / bare",
    "estimator overhead, MLP 2x128: estimator / bare",
    "bf16 overhead: estimator / bare",
    "bf16 / fp32 throughput of the estimator",
    "contiguous / channels_last",
    "memory: footprint",
    "peak private growth",
    "memory: growth / (footprint + 10% of data)",
    "RssFile growth",
    "package: lines of sk_klpenalty/**/*.py",
    "package: longest module",
    "package: skorch methods overridden",
]


@pytest.fixture
def run(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import run

    yield run
    for name in ("run", "common", "timings", "memory", "shape"):
        sys.modules.pop(name, None)


def test_smoke_run_prints_every_row(run, capsys, tmp_path):
    assert run.main(["--smoke", "--json", str(tmp_path / "bench.json")]) == 0
    out = capsys.readouterr().out
    for line in ("cpu:", "torch:", "skorch:", "numpy:", "device:", "date:", "sizes:"):
        assert line in out
    table = out[out.index("measurement") :]
    for row in ROWS:
        assert row in table, row
    assert "page cache" in out
    report = json.loads((tmp_path / "bench.json").read_text())
    rows = {row["name"]: row for row in report["rows"]}
    assert len(rows) == len(report["rows"]) >= len(ROWS)
    verdicts = {"", "yes", "no", "yes?", "no?", "n/a"}
    assert all(row["met"] in verdicts for row in rows.values())
    timed = [r for r in rows.values() if r["unit"] in ("ms", "s")]
    assert timed and all(len(r["values"]) == 2 and r["median"] > 0 for r in timed)
    assert all(r["median"] is not None for r in rows.values() if "memory" in r["name"])


def test_package_shape_counts_the_real_package(run):
    import shape

    rows, package = shape.shape_rows()
    root = Path(sk_klpenalty.__file__).parent
    lines = {p: sum(1 for _ in p.open("rb")) for p in root.rglob("*.py")}
    assert rows[0].values == [sum(lines.values())]
    assert rows[1].values == [max(lines.values())]
    overrides = package["overrides"]
    assert (
        set(overrides)
        == set(shape.ESTIMATORS)
        == {"KLPenaltyClassifier", "OrdinalRegressor", "CORNClassifier"}
    )
    assert rows[2].values == [max(map(len, overrides.values()))]
    for name, names in overrides.items():
        ours = [
            vars(k)
            for k in getattr(sk_klpenalty, name).__mro__
            if k.__module__.startswith("sk_klpenalty")
        ]
        assert "fit" in names and "__init__" not in names
        assert all(any(n in v for v in ours) for n in names)
        assert all(hasattr(NeuralNetClassifier, n) for n in names)


def test_bad_option_exits_2_with_one_line(run, capsys):
    with pytest.raises(SystemExit) as exit_:
        run.main(["--device", "tpu"])
    assert exit_.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
