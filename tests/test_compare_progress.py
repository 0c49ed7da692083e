"""The job's progress bar over batches and its projected time."""

import numpy as np
import pytest

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.compare import progress as progress_module
from sk_klpenalty.compare.configs import Config, nested_config
from sk_klpenalty.compare.progress import (
    BatchCounter,
    Progress,
    format_duration,
    planned_batches,
    projection,
)

BASELINE = Config("baseline", "baseline", {"alpha": 0.0})


def test_planned_batches_count_epochs_validation_parts_and_inner_fits():
    task = {"train": np.arange(100)}
    model = KLPenaltyClassifier(max_epochs=3, batch_size=32)
    assert planned_batches(model, BASELINE, task) == 3 * 4
    stopping = model.set_params(early_stopping=True, validation_fraction=0.2)
    assert planned_batches(stopping, BASELINE, task) == 3 * 3  # 80 rows left
    whole = KLPenaltyClassifier(max_epochs=2, batch_size=-1)
    assert planned_batches(whole, BASELINE, task) == 2
    grid = [
        BASELINE,
        Config("a", "penalty", {"alpha": 1.0, "sigma": 1.0}),
        Config("b", "penalty", {"alpha": 1.0, "sigma": 2.0}),
    ]
    nested = nested_config(grid, whole, 4, "neg_mean_squared_error", "argmax")
    assert planned_batches(whole, nested, task) == 2 * 4 * 2 + 2  # inner + refit


def test_every_fit_counts_its_training_batches_into_its_slot(ordinal_tabular):
    X, y = ordinal_tabular  # 300 samples: 5 batches of 64 an epoch
    with Progress(True, "cpu") as meter:
        first, second = meter.plan([10, 10])
        model = KLPenaltyClassifier(max_epochs=2, callbacks=[second])
        model.fit(X, y)
        model.predict_proba(X)  # prediction batches do not count
        assert meter.done() == 10
        meter.finished(first)  # a fit that finished elsewhere: as planned
        assert meter.done() == 20


def test_a_counter_that_cannot_open_its_file_does_nothing(ordinal_tabular):
    X, y = ordinal_tabular
    counter = BatchCounter("/no/such/folder/counts", 0)  # a fit on another host
    model = KLPenaltyClassifier(max_epochs=1, callbacks=[counter]).fit(X, y)
    assert model.n_iter_ == 1  # trained, without a progress count


def test_the_projection_calls_a_long_cpu_job_a_gpu_job():
    short = projection(1200, 1500, 10.0, "cpu")
    assert short.startswith("compare: about 2 min 0 s left for 1500 training batches")
    assert "GPU" not in short
    days = projection(10**7, 10**7, 10.0, "cpu")  # 11 days on this CPU
    assert days.endswith(
        "this is a GPU job: run it with --device cuda on a GPU machine."
    )
    assert "GPU job" not in projection(10**7, 10**7, 10.0, "cuda")


def test_the_projection_is_printed_once_from_the_first_batches(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "RATE_SECONDS", 0.2)
    with Progress(True, "cpu") as meter:
        (counter,) = meter.plan([400])
        counts = meter.runs[counter.path][0]
        for step in range(30):  # 40 batches/s for 1.5 s, seen by the poller
            counts[0] = 2 * step
            progress_module.time.sleep(0.05)
    lines = [line for line in capsys.readouterr().err.splitlines() if "about" in line]
    assert len(lines) == 1 and "left for 400 training batches" in lines[0]


def test_without_progress_nothing_is_counted():
    with Progress(False, "cpu") as meter:
        assert meter.plan([5, 5]) == [None, None]


@pytest.mark.parametrize(
    "seconds, text",
    [(3 * 86400 + 4 * 3600 + 59, "3 d 4 h"), (125, "2 min 5 s"), (0.2, "1 s")],
)
def test_durations_read_as_two_units(seconds, text):
    assert format_duration(seconds) == text
