"""The estimated time of a compare job, from a timed warm-up."""

import numpy as np

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.compare.estimate import JobEstimate, estimate_job, format_duration


def test_estimate_scales_the_warm_up_to_every_fit(tiny_images):
    X, y = tiny_images
    estimator = KLPenaltyClassifier(max_epochs=3, batch_size=16, classes=np.unique(y))
    train, test = np.arange(120), np.arange(120, 160)
    one = estimate_job(estimator, X, y, [(train, test)])
    assert one.n_fits == 1 and one.epochs == 3
    assert one.device == "cpu" and one.precision == "fp32"
    assert one.train_seconds_per_sample > 0 and one.predict_seconds_per_sample > 0
    expected = 120 * 3 * one.train_seconds_per_sample
    expected += 40 * one.predict_seconds_per_sample
    assert np.isclose(one.seconds, expected)
    assert "for 1 fits of 3 epoch(s), 1 at a time" in one.message()


def test_fits_that_run_side_by_side_divide_the_estimate(tiny_images):
    # compare runs n_jobs fits at once: 4 fits on 2 workers take half as long
    # as one after another (at the speed the warm-up measured).
    X, y = tiny_images
    estimator = KLPenaltyClassifier(max_epochs=2, batch_size=16, classes=np.unique(y))
    tasks = [(np.arange(120), np.arange(120, 160))] * 4
    two = estimate_job(estimator, X, y, tasks, n_workers=2, threads=1)
    serial = 4 * (120 * 2 * two.train_seconds_per_sample)
    serial += 4 * 40 * two.predict_seconds_per_sample
    assert two.n_workers == 2 and np.isclose(two.seconds, serial / 2)
    assert "4 fits of 2 epoch(s), 2 at a time" in two.message()
    # Never more workers than fits.
    assert estimate_job(estimator, X, y, tasks[:1], n_workers=8).n_workers == 1


class _Clock:
    """A stand-in for ``time``: each warm-up pass takes the next scripted time."""

    def __init__(self, pass_seconds):
        self.now, self.pass_seconds, self.passes = 0.0, list(pass_seconds), 0

    def perf_counter(self):
        return self.now


class _ScriptedClassifier(KLPenaltyClassifier):
    clock = None  # the _Clock of the test running
    epoch_share = 1.0  # the epoch's recorded duration, as a share of the call

    def partial_fit(self, X, y=None, **kwargs):
        self.clock.passes += 1
        seconds = self.clock.pass_seconds.pop(0)
        self.clock.now += seconds
        super().partial_fit(X, y, **kwargs)
        if "dur" in self.history[-1]:  # what EpochTimer measured, scripted
            self.history.record("dur", seconds * self.epoch_share)
        return self


def test_the_fastest_of_up_to_three_short_warm_up_passes_counts(
    tiny_images, monkeypatch
):
    # A busy machine only ever slows a pass down; two batches are few.
    from sk_klpenalty.compare import estimate

    X, y = tiny_images
    estimator = _ScriptedClassifier(max_epochs=1, batch_size=16, classes=np.unique(y))
    tasks = [(np.arange(120), np.arange(120, 160))]
    n_timed = estimate.TIMED_BATCHES * 16
    clock = _Clock([0.9, 0.3, 0.6])  # short: all three run
    monkeypatch.setattr(_ScriptedClassifier, "clock", clock)
    monkeypatch.setattr(estimate, "time", clock)
    short = estimate_job(estimator, X, y, tasks)
    assert clock.passes == 3
    assert np.isclose(short.train_seconds_per_sample, 0.3 / n_timed)
    clock = _Clock([5.0, 1.0, 1.0])  # a slow job: one pass only
    monkeypatch.setattr(_ScriptedClassifier, "clock", clock)
    monkeypatch.setattr(estimate, "time", clock)
    slow = estimate_job(estimator, X, y, tasks)
    assert clock.passes == 1
    assert np.isclose(slow.train_seconds_per_sample, 5.0 / n_timed)


def test_a_long_cpu_job_is_called_a_gpu_job():
    days = JobEstimate(9 * 86400.0, 40, 75, 1, 0.01, 0.003, "cpu", "fp32")
    assert days.message().startswith("estimated time: about 9 d 0 h for 40 fits")
    assert "this is a GPU job: run it with --device cuda" in days.message()
    minutes = JobEstimate(300.0, 40, 10, 2, 1e-4, 1e-5, "cpu", "fp32")
    assert "GPU job" not in minutes.message()
    on_gpu = JobEstimate(9 * 86400.0, 40, 75, 1, 1e-4, 1e-5, "cuda", "bf16")
    assert "GPU job" not in on_gpu.message()


def test_durations_read_as_two_units():
    assert format_duration(0.2) == "1 s"
    assert format_duration(59) == "59 s"
    assert format_duration(3600 * 2 + 60 * 5 + 7) == "2 h 5 min"


def test_serial_compare_prints_its_estimate_before_the_fits(tiny_images, capsys):
    from sk_klpenalty.compare import compare_penalty

    X, y = tiny_images
    estimator = KLPenaltyClassifier(max_epochs=1, batch_size=16, classes=np.unique(y))
    compare_penalty(
        X,
        y,
        estimator=estimator,
        cv=2,
        controls=False,
        n_jobs=1,
        progress=False,
        estimate_time=True,
    )
    err = capsys.readouterr().err
    assert "compare: estimated time: about" in err
    assert "for 4 fits of 1 epoch(s), 1 at a time on this machine" in err


def test_a_script_without_a_main_guard_gets_its_estimate_from_a_worker(tmp_path):
    # With parallel workers the warm-up runs in another process; like
    # joblib's loky workers, that must not re-run the user's script.
    import subprocess
    import sys

    script = tmp_path / "job.py"
    script.write_text(
        "import numpy as np\n"
        "from sk_klpenalty import KLPenaltyClassifier\n"
        "from sk_klpenalty.compare import compare_penalty\n"
        "X = np.random.RandomState(0).rand(120, 6).astype('float32')\n"
        "y = np.arange(120) % 3\n"
        "estimator = KLPenaltyClassifier(max_epochs=1, classes=np.arange(3))\n"
        "compare_penalty(X, y, estimator=estimator, cv=2, controls=False,\n"
        "                n_jobs=2, progress=False, estimate_time=True)\n"
        "print('done')\n"
    )
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("done") == 1
    assert "2 at a time on this machine" in run.stderr


def test_the_warm_up_times_its_epoch_without_the_fit_calls_own_work(
    tiny_images, monkeypatch
):
    # A real epoch of a hundred batches pays the call's set-up once; the
    # timed epoch of two batches would count it as training time.
    from sk_klpenalty.compare import estimate

    X, y = tiny_images
    tasks = [(np.arange(120), np.arange(120, 160))]
    n_timed = estimate.TIMED_BATCHES * 16
    monkeypatch.setattr(_ScriptedClassifier, "epoch_share", 0.75)
    for params, expected in (
        ({}, 0.75 * 0.4),  # EpochTimer's duration of the epoch
        ({"callbacks__epoch_timer": None}, 0.4),  # none recorded: the call's
    ):
        estimator = _ScriptedClassifier(
            max_epochs=1, batch_size=16, classes=np.unique(y), **params
        )
        clock = _Clock([0.4] * estimate.MAX_TIMED_PASSES)
        monkeypatch.setattr(_ScriptedClassifier, "clock", clock)
        monkeypatch.setattr(estimate, "time", clock)
        result = estimate_job(estimator, X, y, tasks)
        assert np.isclose(result.train_seconds_per_sample, expected / n_timed)
