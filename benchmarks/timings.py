"""The timed rows: loss, penalty step, estimator overhead, bf16, channels_last."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from common import CNN, MLP, Row, Sizes, interleaved, ratio

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.losses import CEKLLoss, ce_kl_loss

SIGMA = 10.0


def research_loss(logits, target, sigma: float, values: np.ndarray):
    """The research script's loss: a numpy Gaussian per sample, copied to the
    device, ``p + 1e-8``, ``sum p * log(p / q)``."""
    q = torch.softmax(logits, dim=1)
    kl = logits.new_zeros(())
    for i in range(len(target)):
        p = np.exp(-((values - values[int(target[i])]) ** 2) / (2 * sigma**2))
        p = torch.tensor(p / p.sum(), dtype=torch.float32, device=logits.device)
        p = p + 1e-8
        kl = kl + torch.sum(p * torch.log(p / q[i]))
    return F.cross_entropy(logits, target) + kl / len(target)


def images(n: int, side: int) -> np.ndarray:
    return np.random.default_rng(1).random((n, 3, side, side), dtype=np.float32)


def labels(n: int, k: int) -> np.ndarray:
    return np.random.default_rng(2).integers(0, k, n)


def cnn(side: int, k: int) -> dict:
    return {"in_channels": 3, "n_classes": k, "input_size": side}


def estimator(module, kwargs: dict, device, **params) -> KLPenaltyClassifier:
    return KLPenaltyClassifier(
        module=module,
        **{f"module__{key}": value for key, value in kwargs.items()},
        classes=np.arange(kwargs["n_classes"]),
        device=str(device),
        random_state=0,
        **params,
    )


def bare_fit(module, kwargs, X, y, device, epochs, batch, lr, sigma, bf16=False):
    """A bare torch loop as a user writes it (channels_last under bf16)."""
    torch.manual_seed(0)
    layout = torch.channels_last if bf16 else torch.contiguous_format
    net = module(**kwargs).to(device, memory_format=layout)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    criterion = CEKLLoss(alpha=1.0, sigma=sigma).to(device)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), batch):
            index = order[start : start + batch]
            xb, yb = X[index].to(device), y[index].to(device)
            optimizer.zero_grad()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = criterion(net(xb.contiguous(memory_format=layout)), yb)
            loss.backward()
            optimizer.step()


def loss_rows(device, s: Sizes) -> tuple[list[Row], dict]:
    """Forward + backward of the research loop, our two losses and plain CE."""
    g = torch.Generator().manual_seed(0)
    z = (torch.randn(s.loss_batch, s.classes, generator=g) * 3).to(device)
    z.requires_grad_()
    t = torch.randint(0, s.classes, (s.loss_batch,), generator=g).to(device)
    values = np.arange(s.classes, dtype=float)
    criterion = CEKLLoss(alpha=1.0, sigma=SIGMA).to(device)
    losses = {
        "loop": lambda: research_loss(z, t, SIGMA, values),
        "ce_kl_loss": lambda: ce_kl_loss(z, t, alpha=1.0, sigma=SIGMA),
        "CEKLLoss": lambda: criterion(z, t),
        "F.cross_entropy": lambda: F.cross_entropy(z, t),
    }
    fns = {name: partial(_fwd_bwd, z, loss) for name, loss in losses.items()}
    calls = {name: s.loss_calls for name in losses} | {"loop": s.loop_calls}
    times = interleaved(fns, device, s.repeats, calls)
    size = f" (B={s.loss_batch}, K={s.classes}, sigma={SIGMA:g})"
    rows = [
        Row(
            f"loss fwd+bwd: {'research per-sample loop' + size if n == 'loop' else n}",
            "ms",
            [v * 1e3 for v in times[n]],
        )
        for n in losses
    ]
    for n in ("ce_kl_loss", "CEKLLoss"):
        speed_up = ratio(times["loop"], times[n])
        rows.append(Row(f"loss speed-up: loop / {n}", "x", speed_up, ">= 100"))
    return rows, times


def _fwd_bwd(logits, loss) -> None:
    logits.grad = None
    loss().backward()


def step_rows(device, s: Sizes, loss_times: dict) -> list[Row]:
    """One seed-CNN step (``partial_fit`` on one batch) at alpha=0 and 1."""
    X, y = images(s.cnn_batch, s.step_side), labels(s.cnn_batch, s.classes)
    kw = cnn(s.step_side, s.classes)
    params = {"sigma": SIGMA, "lr": 1e-4, "batch_size": s.cnn_batch, "max_epochs": 1}
    nets = {a: estimator(CNN, kw, device, alpha=a, **params) for a in (0.0, 1.0)}
    t = interleaved(
        {a: partial(n.partial_fit, X, y) for a, n in nets.items()}, device, s.repeats
    )
    ours, ce = loss_times["CEKLLoss"], loss_times["F.cross_entropy"]
    penalty = [1 + (a - b) / c for a, b, c in zip(ours, ce, t[0.0], strict=True)]
    name = f"step, seed CNN 3x{s.step_side}^2, batch {s.cnn_batch}, estimator"
    return [
        Row(f"{name}: alpha=0", "s", t[0.0]),
        Row(f"{name}: alpha=1", "s", t[1.0]),
        Row(
            "penalty overhead: step alpha=1 / alpha=0",
            "x",
            ratio(t[1.0], t[0.0]),
            "<= 1.02",
        ),
        Row(
            "penalty overhead: 1 + (CEKLLoss - F.cross_entropy) / step",
            "x",
            penalty,
            "<= 1.02",
        ),
    ]


def overhead_rows(device, s: Sizes) -> list[Row]:
    """``KLPenaltyClassifier.fit`` against a bare loop: seed CNN and MLP."""
    kw, X = cnn(s.fit_side, s.classes), images(s.fit_images, s.fit_side)
    rows = _overhead(device, s, "seed CNN", CNN, kw, X, s.fit_epochs, "<= 1.10")
    kw = {"n_features": 20, "n_classes": 10}
    X = np.random.default_rng(3).standard_normal((s.mlp_rows, 20), np.float32)
    return rows + _overhead(device, s, "MLP 2x128", MLP, kw, X, s.mlp_epochs, "<= 1.30")


def _overhead(device, s, label, module, kw, X, epochs, target) -> list[Row]:
    y, sigma = labels(len(X), kw["n_classes"]), SIGMA if module is CNN else 1.0
    params = {"alpha": 1.0, "sigma": sigma, "lr": 1e-3, "batch_size": 64}
    net = estimator(module, kw, device, max_epochs=epochs, **params)
    bare = partial(bare_fit, module, kw, X, y, device, epochs, 64, 1e-3, sigma)
    fns = {"bare": bare, "fit": partial(net.fit, X, y)}
    t = interleaved(fns, device, s.repeats)
    name = f"fit, {label}, {'x'.join(map(str, X.shape))}, {epochs} epoch(s)"
    return _versus(name, "bare torch loop", t, f"estimator overhead, {label}", target)


def _versus(name: str, bare: str, t: dict, overhead: str, target: str) -> list[Row]:
    return [
        Row(f"{name}: {bare}", "s", t["bare"]),
        Row(f"{name}: KLPenaltyClassifier", "s", t["fit"]),
        Row(f"{overhead}: estimator / bare", "x", ratio(t["fit"], t["bare"]), target),
    ]


def bf16_rows(device, s: Sizes, supported: bool) -> list[Row]:
    n, side, batch = s.bf16_images, s.bf16_side, 16
    if not supported:
        note = "no bf16 on this GPU"
        return [Row("bf16 overhead: estimator / bare", "x", [], "<= 1.10", note)]
    X, y, kw = images(n, side), labels(n, s.classes), cnn(side, s.classes)
    params = {"sigma": SIGMA, "lr": 1e-4, "batch_size": batch, "max_epochs": 1}
    bf16 = estimator(CNN, kw, device, precision="bf16", **params)
    fp32 = estimator(CNN, kw, device, **params)
    bare = partial(bare_fit, CNN, kw, X, y, device, 1, batch, 1e-4, SIGMA, True)
    fits = {"fit": partial(bf16.fit, X, y), "fp32": partial(fp32.fit, X, y)}
    t = interleaved({"bare": bare, **fits}, device, s.repeats)
    name = f"bf16 fit, seed CNN, {n}x3x{side}^2, batch {batch}"
    rows = _versus(name, "bare autocast loop", t, "bf16 overhead", "<= 1.10")
    throughput = ratio(t["fp32"], t["fit"])
    return rows + [Row("bf16 / fp32 throughput of the estimator", "x", throughput)]


def layout_rows(device, s: Sizes) -> list[Row]:
    """Seed-CNN fp32 step on a CPU, contiguous against channels_last."""
    batch = min(64, s.cnn_batch)
    name = f"channels_last speed-up, CPU fp32 step, batch {batch}"
    if device.type != "cpu":
        return [Row(f"{name}: contiguous / cl", "x", [], note="skipped on CUDA")]
    rows = []
    for side in s.layout_sides:
        X, y = images(batch, side), labels(batch, s.classes)
        fns = {f: _step(side, s.classes, X, y, f) for f in ("contiguous", "cl")}
        t = interleaved(fns, device, s.repeats)
        ratios = ratio(t["contiguous"], t["cl"])
        rows.append(Row(f"{name}, {side} px: contiguous / channels_last", "x", ratios))
    return rows


def _step(side: int, k: int, X, y, layout: str):
    fmt = torch.channels_last if layout == "cl" else torch.contiguous_format
    torch.manual_seed(0)
    net = CNN(**cnn(side, k)).to(memory_format=fmt)
    X, y = torch.from_numpy(X).contiguous(memory_format=fmt), torch.from_numpy(y)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    criterion = CEKLLoss(alpha=1.0, sigma=SIGMA)

    def step():
        optimizer.zero_grad()
        criterion(net(X), y).backward()
        optimizer.step()

    return step
