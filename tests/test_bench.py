"""`sk-klpenalty bench`: runs, prints every measurement, writes complete JSON.

No timing assertions: the numbers depend on the machine.
"""

import json
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import requires_cuda
from scipy.stats import binom

from sk_klpenalty import ce_kl_loss
from sk_klpenalty.bench import (
    Measurement,
    format_table,
    median_interval,
    seed_style_loss,
)
from sk_klpenalty.bench import utkface as utkface_bench
from sk_klpenalty.bench.rss import rss_available
from sk_klpenalty.bench.sizes import QUICK
from sk_klpenalty.cli import main

MEASUREMENTS = [
    "loss fwd+bwd: seed per-sample loop (B=256, K=117)",
    "loss fwd+bwd: ce_kl_loss",
    "loss fwd+bwd: CEKLLoss",
    "loss fwd+bwd: F.cross_entropy",
    "loss speed-up: seed loop / ce_kl_loss",
    "loss speed-up: seed loop / CEKLLoss",
    "loss cost: ce_kl_loss / F.cross_entropy",
    "loss cost: CEKLLoss / F.cross_entropy",
    "train step (seed CNN, fp32): alpha=0",
    "train step (seed CNN, fp32): alpha=1",
    "penalty overhead: step alpha=1 / alpha=0",
    "penalty overhead from loss timings: 1 + (CEKLLoss - CE) / step",
    "train throughput (seed CNN): fp32",
    "train throughput (seed CNN): bf16",
    "bf16 speed-up: bf16 / fp32 img/s",
    "fit: bare torch loop",
    "fit: KLPenaltyClassifier.fit",
    "estimator overhead: fit / bare loop",
    "fit (MLP 2x128, 5000x20): bare torch loop",
    "fit (MLP 2x128, 5000x20): KLPenaltyClassifier.fit",
    "estimator overhead (MLP): fit / bare loop",
    "memory: footprint, seed CNN fit (256 images 3x32x32)",
    "memory: footprint, cheap net fit (256 images)",
    "memory: fit on N MB uint8 in memory (cheap net)",
    "memory: in memory / (1.2 x data + footprint)",
    "memory: fit on a N MB read-only memmap (cheap net)",
    "memory: memmap / (footprint + 10% of data)",
    "memory: compare on the memmap, 2 workers, summed peak RSS",
    "memory: compare / (2 x (footprint + 10% data) + 1 GB)",
    "fit throughput (seed CNN 3x32x32): float32 input",
    "fit throughput (seed CNN 3x32x32): uint8 input",
    "uint8 / float32 img/s",
]
TARGETS = {
    "loss speed-up: seed loop / ce_kl_loss": ">= 100",
    "loss speed-up: seed loop / CEKLLoss": ">= 100",
    "loss cost: ce_kl_loss / F.cross_entropy": "<= 3",
    "loss cost: CEKLLoss / F.cross_entropy": "<= 3",
    "penalty overhead: step alpha=1 / alpha=0": "<= 1.01",
    "penalty overhead from loss timings: 1 + (CEKLLoss - CE) / step": "<= 1.01",
    "bf16 speed-up: bf16 / fp32 img/s": ">= 2.5",
    "estimator overhead: fit / bare loop": "<= 1.10",
    "estimator overhead (MLP): fit / bare loop": "<= 1.10",
    "memory: in memory / (1.2 x data + footprint)": "<= 1",
    "memory: memmap / (footprint + 10% of data)": "<= 1",
    "memory: compare / (2 x (footprint + 10% data) + 1 GB)": "<= 1",
    "uint8 / float32 img/s": ">= 1",
}
TINY = replace(
    QUICK,
    loss_iterations=5,
    seed_iterations=1,
    cnn_size=32,
    cnn_batch=16,
    fit_samples=256,
    memory_images=1200,
    throughput_images=64,
)


@pytest.mark.skipif(not rss_available(), reason="the memory rows need Linux /proc")
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=requires_cuda)])
def test_quick_bench_prints_and_writes_every_measurement(
    tmp_path, capsys, monkeypatch, device
):
    # --quick's own sizes take about a minute on 2 cores; this checks the rows
    # and the files, so it runs every measurement at a smaller size still.
    from sk_klpenalty.bench import command

    monkeypatch.setattr(command, "QUICK", TINY)
    path = tmp_path / "b.json"
    args = ["bench", "--device", device, "--quick", "--repeats", "1", "--json"]
    assert main([*args, str(path)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(path.read_text())
    assert report["machine"]["device"].startswith(device)

    for key in ("cpu", "cpus", "threads", "torch", "device", "bf16"):
        assert key in report["machine"], key
        assert f"{key}:" in printed
    assert report["quick"] is True and report["sizes"]["repeats"] == 1
    rows = {
        re.sub(r"\d+ MB", "N MB", row["name"]): row for row in report["measurements"]
    }
    assert list(rows) == MEASUREMENTS
    for name, row in rows.items():
        assert row["name"] in printed
        assert row["target"] == TARGETS.get(name)
        not_applicable = name.startswith(("bf16", "train throughput (seed CNN): bf16"))
        if not row["values"]:  # only bf16 rows, only without bf16 support
            assert not_applicable and not report["machine"]["bf16"]
            assert row["median"] is None and row["met"] is None
            assert "bf16 not supported" in printed
            continue
        assert len(row["values"]) == 1
        assert 0 < row["min"] <= row["median"] <= row["max"]
        assert all(np.isfinite(row["values"]))
        low, high = row["median_ci"]
        assert row["min"] <= low <= row["median"] <= high <= row["max"]
        if row["target"] is None:
            assert row["met"] is None and row["clear"] is None
        else:
            assert isinstance(row["met"], bool) and isinstance(row["clear"], bool)
    assert isinstance(report["all_targets_met"], bool)
    assert report["unclear_targets"] == sum(
        row["clear"] is False for row in report["measurements"]
    )
    assert "targets met:" in printed


def test_seed_style_reference_agrees_with_ce_kl_loss():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(32, 20, generator=generator) * 2
    target = torch.randint(0, 20, (32,), generator=generator)
    seed = seed_style_loss(
        logits, target, alpha=1.0, sigma=3.0, class_values=np.arange(20.0)
    )
    ours = ce_kl_loss(logits, target, alpha=1.0, sigma=3.0)
    assert seed.item() == pytest.approx(ours.item(), rel=1e-4)  # up to p + 1e-8


def test_table_marks_targets_and_not_applicable_rows():
    noisy = [0.90, 0.95, 1.00, 1.05, 1.08, 1.12, 1.30]  # median 1.05, range 0.9-1.3
    table = format_table(
        [
            Measurement("fast", "x", [1.0, 2.0, 3.0], "<= 3"),
            Measurement("slow", "x", [4.0], "<= 3"),
            Measurement("info", "ms", [0.5]),
            Measurement("bf16", "x", [], ">= 2.5", "bf16 not supported"),
            Measurement("noisy, met", "x", noisy, "<= 1.10"),
            Measurement("noisy, missed", "x", noisy, "<= 1.01"),
        ]
    )
    lines = table.splitlines()
    assert lines[0].split() == "measurement median 95% CI min-max target met".split()
    assert lines[2].split()[-1] == "yes" and "2.000 x" in lines[2]
    assert "1.000-3.000" in lines[2]
    assert lines[3].split()[-1] == "no"
    assert lines[4].endswith("0.500-0.500")  # no target, no verdict
    assert lines[5].split()[1:4] == ["n/a", "n/a", "n/a"] and lines[5].endswith("n/a")
    # The interval of 7 repeats is their range, which spans both targets.
    assert lines[6].endswith("yes?") and "0.900-1.300" in lines[6]
    assert lines[7].endswith("no?")


@pytest.mark.parametrize("n", range(1, 41))
def test_median_interval_is_the_narrowest_with_95_percent_coverage(n):
    # Exact coverage of [x_(k), x_(n+1-k)]: the median lies below x_(k) when
    # fewer than k values do, which has probability P(Binomial(n, 1/2) < k).
    low, high = median_interval(list(range(n)))
    k = low + 1
    assert high == n - k  # symmetric
    coverage = lambda k: 1 - 2 * binom.cdf(k - 1, n, 0.5)  # noqa: E731
    if n >= 6:
        assert coverage(k) >= 0.95
    else:
        assert k == 1  # too few values for 95%: the whole range
    if n - 2 * k >= 1:  # a narrower interval exists, and covers too little
        assert coverage(k + 1) < 0.95


def test_median_interval_covers_the_median_of_skewed_noise():
    rng = np.random.default_rng(0)
    samples = rng.exponential(size=(4000, 15))  # median log(2), a long right tail
    covered = [low <= np.log(2) <= high for low, high in map(median_interval, samples)]
    assert np.mean(covered) >= 0.95


@pytest.mark.parametrize(
    "args, message",
    [
        (["--device", "tpu"], "--device must be cpu or cuda"),
        (["--device", "not a device"], "--device must be cpu or cuda"),
    ],
)
def test_bad_device_is_a_one_line_error(capsys, args, message):
    assert main(["bench", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_a_one_line_error(capsys):
    assert main(["bench", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_repeats_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--repeats", "0"])
    assert exit_info.value.code == 2
    assert "--repeats" in capsys.readouterr().err


@pytest.mark.skipif(not rss_available(), reason="needs Linux /proc")
def test_utkface_size_run_reports_time_memory_and_projection(
    tmp_path, capsys, monkeypatch
):
    # The same run on a stand-in of 300 images 3x16x16 (the real one is long).
    monkeypatch.setattr(utkface_bench, "UTKFACE_SHAPE", (300, 3, 16, 16))
    path = tmp_path / "u.json"
    assert main(["bench", "--utkface-size", "--json", str(path)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(path.read_text())
    assert report["utkface_size"] is True
    rows = {row["name"]: row for row in report["measurements"]}
    (fit,) = [name for name in rows if name.startswith("UTKFace-sized fit, 1 epoch")]
    if not report["machine"]["bf16"]:
        assert "fp32 (bf16 not native here)" in fit
    train = rows["UTKFace-sized training throughput"]["median"]
    assert train == pytest.approx(300 / rows[fit]["median"])
    projected = rows["projected compare --preset seed (40 fits x 75 epochs)"]
    assert projected["unit"] == "h" and projected["median"] > 0
    assert "RSS growth / (footprint + 10% of data)" in printed


def test_seed_job_projection_counts_every_fit_epoch_and_prediction():
    n = utkface_bench.UTKFACE_SHAPE[0]
    # 40 fits, each 75 epochs over 4/5 of the images, then the other 1/5.
    expected = 40 * (n * 0.8 * 75 * 2.0 + n * 0.2 * 1.0)
    assert utkface_bench.seed_job_seconds(2.0, 1.0) == pytest.approx(expected)
