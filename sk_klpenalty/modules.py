"""The default networks (a small CNN for images, an MLP for features), and
torchvision/timm classification backbones sized to the task's outputs."""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Sequence

import torch
from skorch.callbacks import Callback
from torch import nn

__all__ = [
    "MLP",
    "FreezeBackbone",
    "SeedCNN",
    "SimpleCNN",
    "build_module",
    "head_name",
    "normalization",
    "size_head",
]

MIN_IMAGE_SIDE = 8  # survives SimpleCNN's three 2x2 max-pools
#: Where torchvision and timm models keep their output layer.
HEADS = ("fc", "classifier", "heads.head", "head", "last_linear")


class SimpleCNN(nn.Module):
    """Three blocks of 3x3 convolution, ReLU and 2x2 max-pool, then a dense
    layer with ReLU and dropout; the defaults are the research script's network
    for 128x128 faces and 117 ages.

    Parameters
    ----------
    in_channels : int, default=3
        Channels of the images.
    n_classes : int, default=117
        Number of outputs (logits).
    input_size : int or (int, int), default=128
        Image height and width; each at least 8.
    channels : sequence of int, default=(32, 64, 128)
        Filters of each convolution block.
    hidden_units : int, default=256
        Width of the dense layer.
    dropout : float, default=0.25
        Dropout before the output layer.

    Examples
    --------
    >>> net = SimpleCNN(in_channels=1, n_classes=24, input_size=28)
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 24])
    """

    def __init__(
        self,
        in_channels: int = 3,
        n_classes: int = 117,
        input_size: int | Sequence[int] = 128,
        channels: Sequence[int] = (32, 64, 128),
        hidden_units: int = 256,
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        height, width = (input_size,) * 2 if isinstance(input_size, int) else input_size
        if min(height, width) < MIN_IMAGE_SIDE:
            raise ValueError(
                f"input_size must be at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} "
                f"(the CNN pools three times by 2), got {height}x{width}: upscale "
                "the images or pass another module=."
            )
        blocks: list[nn.Module] = []
        previous = in_channels
        for filters in channels:
            conv = nn.Conv2d(previous, filters, 3, padding=1)
            blocks += [conv, nn.ReLU(), nn.MaxPool2d(2)]
            previous, height, width = filters, height // 2, width // 2
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(previous * height * width, hidden_units),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_units, n_classes),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(X))


class SeedCNN(SimpleCNN):
    """Deprecated name of :class:`SimpleCNN` (models pickled with it load)."""

    def __init__(self, *args, **kwargs) -> None:
        warnings.warn(
            "SeedCNN is deprecated; use SimpleCNN (the same network).",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(*args, **kwargs)


class MLP(nn.Module):
    """A small multi-layer perceptron for tabular features.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_classes : int
        Number of outputs (logits).
    hidden_units : sequence of int, default=(128, 128)
        Width of each hidden layer (ReLU).
    dropout : float, default=0.1
        Dropout after each hidden layer.

    Examples
    --------
    >>> MLP(n_features=10, n_classes=5)(torch.zeros(3, 10)).shape
    torch.Size([3, 5])
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_units: Sequence[int] = (128, 128),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = n_features
        for width in hidden_units:
            layers += [nn.Linear(previous, width), nn.ReLU(), nn.Dropout(dropout)]
            previous = width
        layers.append(nn.Linear(previous, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X)


def _default_kwargs(module: type, sample_shape, n_outputs: int) -> dict:
    """The arguments of :class:`SimpleCNN` or :class:`MLP` that ``X`` sets."""
    if sample_shape is None:
        return {"n_classes": n_outputs}
    mlp = issubclass(module, MLP)
    if len(sample_shape) != (1 if mlp else 3):
        needed = "(n_samples, n_features)" if mlp else "images (N, C, H, W)"
        raise ValueError(
            f"{module.__name__} needs X of shape {needed}, got samples of shape "
            f"{tuple(sample_shape)}."
        )
    if mlp:
        return {"n_features": sample_shape[0], "n_classes": n_outputs}
    channels, *size = sample_shape
    return {"in_channels": channels, "input_size": tuple(size), "n_classes": n_outputs}


def head_name(module: nn.Module) -> str | None:
    """The name of ``module``'s output layer (timm's or one of :data:`HEADS`)."""
    modules = dict(module.named_modules())
    timm = getattr(module, "get_classifier", lambda: None)()
    found = [name for name, child in modules.items() if child is timm]
    return next(iter(found + [name for name in HEADS if name in modules]), None)


def size_head(module: nn.Module, n_outputs: int) -> nn.Module:
    """``module`` with ``n_outputs`` outputs: timm's ``reset_classifier``, or a
    new final ``nn.Linear`` where torchvision keeps it; else a ValueError."""
    if hasattr(module, "reset_classifier"):  # timm
        if getattr(module.get_classifier(), "out_features", None) != n_outputs:
            module.reset_classifier(n_outputs)
        return module
    name = head_name(module)
    layer = None if name is None else module.get_submodule(name)
    if isinstance(layer, nn.Sequential) and len(layer):  # classifier[-1]
        name, layer = f"{name}.{len(layer) - 1}", layer[-1]
    if not isinstance(layer, nn.Linear):
        raise ValueError(
            f"Cannot size the output layer of {type(module).__name__}: it is not "
            "a torchvision or timm layout (an nn.Linear as fc, classifier[-1] or "
            f"heads.head, or reset_classifier). Give a module with {n_outputs} "
            "outputs (one per class; K - 1 for CORNClassifier, 1 for "
            "OrdinalRegressor)."
        )
    if layer.out_features != n_outputs:
        parent, _, child = name.rpartition(".")
        new = nn.Linear(layer.in_features, n_outputs, bias=layer.bias is not None)
        setattr(module.get_submodule(parent), child, new.to(layer.weight.device))
    return module


def build_module(module, kwargs: dict, sample_shape, n_outputs: int | None):
    """The network for samples of ``sample_shape`` and ``n_outputs`` outputs:
    None is SimpleCNN or MLP sized by the data; an instance is copied."""
    if module is None:
        if sample_shape is None:
            raise ValueError(
                "module=None chooses the network from the training data: call "
                "fit(X, y) first, or pass module= (e.g. SimpleCNN or MLP)."
            )
        module = SimpleCNN if len(sample_shape) == 3 else MLP
    if isinstance(module, type) and issubclass(module, SimpleCNN | MLP):
        if n_outputs is not None:
            kwargs = {**_default_kwargs(module, sample_shape, n_outputs), **kwargs}
        return module(**kwargs)
    if isinstance(module, nn.Module):
        module = copy.deepcopy(module)
    else:
        if n_outputs is not None and _takes_num_classes(module):
            kwargs = {"num_classes": n_outputs, **kwargs}
        module = module(**kwargs)
    if n_outputs is not None and head_name(module) is not None:
        size_head(module, n_outputs)
    return module


def _takes_num_classes(factory) -> bool:
    try:
        return "num_classes" in inspect.signature(factory).parameters
    except (TypeError, ValueError):  # no signature to read
        return False


def normalization(normalize, module: nn.Module) -> tuple | None:
    """``(mean, std)`` per channel for ``normalize`` (``"auto"``: a timm
    model's ``pretrained_cfg``'s), or None."""
    if normalize is None:
        return None
    if isinstance(normalize, str) and normalize == "auto":
        config = getattr(module, "pretrained_cfg", None) or {}
        if "mean" not in config or "std" not in config:
            raise ValueError(
                "normalize='auto' takes the mean and std from a timm model's "
                f"pretrained_cfg, which {type(module).__name__} has not: give "
                "normalize=(mean, std), e.g. ImageNet's ((0.485, 0.456, 0.406), "
                "(0.229, 0.224, 0.225))."
            )
        normalize = (config["mean"], config["std"])
    try:
        mean, std = (tuple(map(float, values)) for values in normalize)
    except (TypeError, ValueError):
        mean, std = (), ()
    if not mean or len(mean) != len(std) or min(std) <= 0:
        raise ValueError(
            "normalize must be None, 'auto' or (mean, std) per channel with std "
            f"> 0, got {normalize!r}."
        )
    return mean, std


class FreezeBackbone(Callback):
    """Train only the output layer for the first ``epochs`` epochs, then all
    of it: a random new head must not wreck a pretrained backbone."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def _set(self, net, trainable: bool) -> None:
        head = head_name(net.module_)
        for name, parameter in net.module_.named_parameters():
            if head is None or not name.startswith(head + "."):
                parameter.requires_grad_(trainable)

    def on_epoch_begin(self, net, **kwargs) -> None:
        epoch = len(net.history)  # skorch has opened this epoch's row
        if epoch == 1 and self.epochs > 0:
            self._set(net, False)
        elif epoch == self.epochs + 1:
            self._set(net, True)
