"""``sk-klpenalty bench --utkface-size``: the seed's job at full size, once.

Random uint8 images of UTKFace's shape (23,708 x 3 x 128 x 128, 1.16 GB) in
a memory-mapped ``.npy``, one epoch of the seed's setup (seed CNN, 117
classes, batch 256, lr 1e-4, sigma 10, ``precision="bf16"`` where the device
runs it natively, fp32 elsewhere), in a fresh process: time, images/s, peak
RSS growth, and the projected time of ``sk-klpenalty compare --preset seed``
(5 folds x 2 repeats x 4 configurations, 75 epochs each) on this device.
Long on a CPU (minutes per epoch), hence opt-in.
"""

from __future__ import annotations

import os
import tempfile

import torch

from .memory import MB, in_child, write_memmap
from .table import Measurement

__all__ = ["SEED_JOB", "UTKFACE_SHAPE", "measure_utkface_size"]

UTKFACE_SHAPE = (23_708, 3, 128, 128)
#: ``compare --preset seed``: folds x repeats, configurations (baseline,
#: penalty, two controls), epochs, and the share of the data a fold trains on.
SEED_JOB = {"folds": 5, "repeats": 2, "configs": 4, "epochs": 75}
SEED_PARAMS = {
    "n_classes": 117,
    "batch_size": 256,
    "lr": 1e-4,
    "sigma": 10.0,
    "precision": "bf16",
}


def seed_job_seconds(train_per_image: float, predict_per_image: float) -> float:
    """Projected time of ``compare --preset seed`` on UTKFace at these speeds."""
    n = UTKFACE_SHAPE[0]
    fits = SEED_JOB["folds"] * SEED_JOB["repeats"] * SEED_JOB["configs"]
    n_train = n * (SEED_JOB["folds"] - 1) / SEED_JOB["folds"]
    per_fit = n_train * SEED_JOB["epochs"] * train_per_image
    per_fit += (n - n_train) * predict_per_image
    return fits * per_fit


def measure_utkface_size(device: torch.device) -> list[Measurement]:
    """The rows of the UTKFace-sized run (one value each)."""
    n, _, side, _ = UTKFACE_SHAPE
    params = {"device": str(device), "params": SEED_PARAMS}
    footprint, _ = in_child(
        {"kind": "fit", "model": "cnn", "n": 256, "side": side, **params}
    )
    with tempfile.TemporaryDirectory(prefix="sk-klpenalty-bench-") as folder:
        path = os.path.join(folder, "utkface-sized.npy")
        write_memmap(path, n, side)
        n_predict = n // SEED_JOB["folds"]
        spec = {"kind": "fit", "model": "cnn", "path": path, **params}
        run, _ = in_child({**spec, "predict_rows": n_predict})
    data = n * 3 * side * side
    train_per_image = run["seconds"] / n
    predict_per_image = run["predict_seconds"] / n_predict
    precision = run["precision"]
    if precision != "bf16":
        precision += " (bf16 not native here)"
    bound = footprint["growth"] + 0.1 * data
    return [
        Measurement(f"UTKFace-sized fit, 1 epoch, {precision}", "s", [run["seconds"]]),
        Measurement(
            "UTKFace-sized training throughput", "img/s", [1 / train_per_image]
        ),
        Measurement(
            "UTKFace-sized predict throughput", "img/s", [1 / predict_per_image]
        ),
        Measurement(
            f"UTKFace-sized peak RSS growth ({data / MB:.0f} MB uint8 memmap)",
            "MB",
            [run["growth"] / MB],
        ),
        Measurement(
            f"seed CNN footprint (fit on 256 images 3x{side}x{side})",
            "MB",
            [footprint["growth"] / MB],
        ),
        Measurement(
            "RSS growth / (footprint + 10% of data)",
            "x",
            [run["growth"] / bound],
            "<= 1",
        ),
        Measurement(
            "projected compare --preset seed (40 fits x 75 epochs)",
            "h",
            [seed_job_seconds(train_per_image, predict_per_image) / 3600],
        ),
    ]
