"""`sk-klpenalty compare` as a user runs it."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
from conftest import torch_threads

from sk_klpenalty.cli import main

# Tiny but real: 150 rotated digits, 1 epoch, 2 folds; one fit at a time and
# no progress bar (their own tests below run worker processes and the bar).
QUICK = [
    "--max-samples",
    "150",
    "--epochs",
    "1",
    "--cv",
    "2",
    "--repeats",
    "1",
    "--quiet",
    "--n-jobs",
    "1",
]


def test_compare_runs_end_to_end_and_writes_the_four_files(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["compare", *QUICK, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| baseline | argmax |" in printed
    assert "control: permuted order" in printed
    # The report says how the default job trains.
    assert "load_rotated_digits(n_rotations=6, image_size=12)" in printed
    assert "cosine decay" in printed
    # One penalty setting: nothing was chosen on the folds it is scored on.
    assert "**alpha=1 sigma=2**, the only one, so nothing was chosen" in printed
    assert "## Training curves: did the fits converge?" in printed
    for name in ("report.md", "results.csv", "summary.json", "plot.png", "curves.png"):
        assert (out / name).stat().st_size > 0, name


def test_peers_all_adds_a_row_per_peer_with_settings_from_the_command_line(
    tmp_path, capsys
):
    settings = '{"soft-labels": {"kernel": "gaussian"}}'
    args = ["--peers", "all", "--peer-params", settings, "--no-controls"]
    assert main(["compare", *QUICK, *args, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for name in (
        "peer: regression",
        "peer: soft labels only (gaussian sigma=2)",
        "peer: Laplace kernel (alpha=1 sigma=2)",
        "peer: CORN",
    ):
        assert f"| {name} | argmax |" in printed, name
    assert "## Peers against the best penalty setting" in printed


def test_peers_are_off_by_default(tmp_path, capsys):
    args = ["--alphas", "0", "--no-controls", "--out", str(tmp_path)]
    assert main(["compare", *QUICK, *args]) == 0
    assert "peer:" not in capsys.readouterr().out


def test_nested_tuning_and_learning_curve_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "report"
    options = ["--max-samples", "300", "--sigmas", "1,2", "--nested"]
    options += ["--inner-cv", "2", "--train-sizes", "0.5,1", "--no-controls"]
    assert main(["compare", *QUICK, *options, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| tuned penalty (nested) | argmax |" in printed
    assert "inner folds: 2-fold stratified" in printed
    assert "| alpha=1 sigma=2 | 0.5 |" in printed
    assert (out / "learning-curve.png").stat().st_size > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--peers", "ridge"], "peers must be 'all' or names"),
        (["--peers", "corn", "--peer-params", '{"laplace": {}}'], "not among"),
        (["--data", "utkface:/no/such/folder"], "no such folder"),
        (["--data", "imagenet"], "--data must be"),
        (["--sigmas", "0"], "sigma == 0.0, must be > 0"),
        (["--decodes", "mode"], "decodes must be"),
        (["--preset", "research"], "needs --data utkface"),
        (["--preset", "seed"], "needs --data utkface"),
        (["--cv", "1"], "--cv must be"),
        (["--nested"], "at least two"),
        (["--train-sizes", "0,1"], "train_sizes must be"),
        (["--data", "utkface:/x", "--rotations", "2"], "--rotations applies"),
    ],
)
def test_user_errors_exit_non_zero_with_one_line(tmp_path, capsys, args, message):
    assert main(["compare", *args, "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_unparsable_numbers_are_argparse_errors(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--alphas", "one,two"])
    assert exit_info.value.code == 2
    assert "--alphas" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--peer-params", "[1]"])
    assert exit_info.value.code == 2
    assert "expected a JSON object" in capsys.readouterr().err


def test_console_module_reports_missing_data_without_traceback(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sk_klpenalty",
            "compare",
            "--data",
            "utkface:/no/such/folder",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "no such folder" in run.stderr


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_killed_run_resumes_to_the_same_table(tmp_path, capsys):
    args = [
        sys.executable,
        "-m",
        "sk_klpenalty",
        "compare",
        "--max-samples",
        "120",
        "--epochs",
        "2",
        "--cv",
        "3",
        "--repeats",
        "2",
        "--no-controls",
        "--quiet",
    ]
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    results = killed / "results.csv"
    process = subprocess.Popen(
        [*args, "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    # Kill once two folds (3 decodes each, plus the header) are on disk.
    while time.monotonic() < deadline and process.poll() is None:
        if results.exists() and len(results.read_text().splitlines()) >= 7:
            workers = _children(process.pid)
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before the kill"
    kept = _rows(results)
    assert len(kept) >= 6
    # Its parallel workers do not outlive it (each holds a model's memory).
    assert workers, "the run had no worker processes"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)]

    resumed = subprocess.run(
        [*args, "--out", str(killed), "--resume"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    # The reference runs here, serially, with the torch threads each of the
    # two workers had: the same numbers without starting more processes.
    with torch_threads(max(1, joblib.cpu_count() // 2)):
        code = main([*args[3:], "--n-jobs", "1", "--out", str(reference)])
    assert code == 0
    full = capsys.readouterr().out
    assert resumed.stdout.split("wrote")[0] == full.split("wrote")[0]
    # The folds finished before the kill were kept, not refitted: a refit
    # would have measured a new fit time.
    after = _rows(results)
    assert len(after) == 2 * 3 * 6  # configs x decodes x folds
    assert all(after[key] == value for key, value in kept.items())


def _children(pid):
    """Processes whose parent is ``pid`` (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _alive(pid):
    """Running (not a zombie waiting for init to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _rows(path):
    """Fit time of each complete row of folds written for all three decodes."""
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("mse_expectation")]
    folds = [(r["config"], r["repeat"], r["fold"]) for r in rows]
    return {
        (*fold, row["decode"]): float(row["fit_seconds"])
        for fold, row in zip(folds, rows, strict=True)
        if folds.count(fold) == 3
    }


def test_compare_shows_its_progress_over_batches_unless_quiet(tmp_path, capsys):
    loud = [arg for arg in QUICK if arg != "--quiet"]
    assert main(["compare", *loud, "--no-controls", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    # baseline and one penalty setting, 2 folds of 75 samples, 1 epoch of 64
    assert "compare: 100%" in err and "8/8" in err and "batch/s" in err
    assert main(["compare", *QUICK, "--out", str(tmp_path)]) == 0
    assert "batch" not in capsys.readouterr().err


def test_precision_bf16_reaches_every_fit(tmp_path):
    import json

    args = ["compare", *QUICK, "--no-controls", "--precision", "bf16"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    job = json.loads((tmp_path / "job.json").read_text())
    assert job["estimator"]["precision"] == "bf16"


def test_precision_must_be_fp32_or_bf16(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--precision", "fp16"])
    assert exit_info.value.code == 2
    assert "--precision" in capsys.readouterr().err


def test_own_data_in_an_npz_and_an_image_folder_run_the_comparison(tmp_path, capsys):
    from PIL import Image

    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], 40)
    X = (rng.rand(120, 1, 8, 8) * 0.3 + y[:, None, None, None] * 0.3).astype("f4")
    np.savez(tmp_path / "data.npz", X=X, y=y, groups=np.arange(120) // 2)
    args = ["compare", *QUICK, "--no-controls", "--out", str(tmp_path / "a")]
    assert main([*args, "--data", f"npz:{tmp_path / 'data.npz'}"]) == 0
    printed = capsys.readouterr().out
    assert "Groups: no group is on both sides of any split." in printed
    assert "| alpha=1 sigma=2 | argmax |" in printed
    for label, name in enumerate(["mild", "moderate", "severe"]):
        folder = tmp_path / "images" / name
        folder.mkdir(parents=True)
        for i in range(12):
            value = 40 + 80 * label + rng.randint(0, 20)
            Image.new("RGB", (20, 20), (value, value, value)).save(folder / f"{i}.png")
    folder = ["--data", f"folder:{tmp_path / 'images'}", "--image-size", "8"]
    order = ["--classes", "mild,moderate,severe"]
    args[-1] = str(tmp_path / "b")
    assert main([*args, *folder, *order]) == 0
    assert "| baseline | argmax |" in capsys.readouterr().out
    assert main([*args, *folder]) == 2  # names, not numbers: the order is needed
    assert "classes" in capsys.readouterr().err


def test_the_command_the_function_and_the_data_loader_share_one_default_job():
    import inspect

    from sk_klpenalty import load_rotated_digits
    from sk_klpenalty.cli import _estimator, _settings, build_parser
    from sk_klpenalty.compare import compare_penalty, defaults, setup

    args = build_parser().parse_args(["compare"])
    kind, path, settings = _settings(args, ["compare"])
    command = _estimator(args, settings, np.zeros((2, 1, 12, 12), np.float32))
    function = defaults.estimator()  # what compare_penalty(X, y) fits
    plain = (bool, int, float, str, type(None))
    same = {
        k: v for k, v in function.get_params(deep=False).items() if isinstance(v, plain)
    }
    assert {k: command.get_params(deep=False)[k] for k in same} == same
    cosine = [dict(c)["lr_schedule"] for c in (command.callbacks, function.callbacks)]
    assert {c.policy.__name__ for c in cosine} == {"CosineAnnealingLR"}
    assert {c.kwargs["T_max"] for c in cosine} == {defaults.EPOCHS}
    signature = inspect.signature(compare_penalty).parameters
    for name in ("alphas", "sigmas", "decodes", "sigma_decays"):
        assert tuple(getattr(args, name)) == tuple(signature[name].default)
    assert (args.cv, args.repeats) == (defaults.FOLDS, defaults.REPEATS)
    loader = inspect.signature(load_rotated_digits).parameters
    assert loader["n_rotations"].default == args.rotations == 6
    assert loader["image_size"].default == setup.IMAGE_SIZES[kind] == 12


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")
def test_an_output_folder_that_cannot_be_made_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    for out in ("/proc/x", str(tmp_path / "file" / "below")):
        assert main(["compare", *QUICK, "--out", out]) == 2
        err = capsys.readouterr().err.strip()
        assert repr(out) in err and len(err.splitlines()) == 1


def test_help_shows_every_default_as_it_would_be_typed(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # as if never wrapped
    assert "95% confidence intervals" in text and "%%" not in text
    # Defaults equal to 0 are shown too.
    assert "--random-state RANDOM_STATE seeds everything (default: 0)" in text
    assert "then all (default: 0)" in text  # --freeze-epochs
    # Tuples as a user types them.
    assert "--alphas ALPHAS KL weights (default: 0,1)" in text
    assert "(default: argmax,mean)" in text and "(default: 0.003)" in text


@pytest.mark.parametrize("preset", ["research", "seed"])
def test_the_research_preset_sets_what_the_options_do_not(preset):
    from sk_klpenalty.cli import _settings, build_parser

    argv = ["compare", "--data", "utkface:/faces", "--preset", preset, "--epochs", "3"]
    _, path, settings = _settings(build_parser().parse_args(argv), argv)
    assert path == "/faces"
    assert settings["epochs"] == 3  # given: kept
    assert (settings["image_size"], settings["sigmas"], settings["lr"]) == (
        128,
        (10.0,),
        1e-4,
    )
    assert settings["sigma_decays"] == (0.95,) and len(settings["classes"]) == 117
