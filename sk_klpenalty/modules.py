"""Default networks: the seed's CNN for images (any C, H, W) and a small MLP."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["SeedCNN", "MLP", "default_module", "inferred_module_kwargs"]

# Three 2x2 max-pools: an image side must survive 3 halvings.
MIN_IMAGE_SIDE = 8


def _as_pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    height, width = size
    return int(height), int(width)


class SeedCNN(nn.Module):
    """The seed experiment's CNN, generalised to any channel count and image size.

    Three blocks of 3x3 convolution (padding 1), ReLU and 2x2 max-pool with
    ``channels`` filters (32, 64, 128), then a dense layer of ``hidden_units``
    with ReLU and dropout, and a linear layer with one logit per class. With
    the defaults it is the seed's network for 128x128 RGB faces and 117 ages
    (about 8.5 M parameters).

    Parameters
    ----------
    in_channels : int, default=3
        Channels of the input images.
    n_classes : int, default=117
        Number of outputs (logits).
    input_size : int or (int, int), default=128
        Image height and width; each must be at least 8.
    channels : sequence of 3 ints, default=(32, 64, 128)
        Filters of the three convolution blocks.
    hidden_units : int, default=256
        Width of the dense layer.
    dropout : float, default=0.25
        Dropout before the output layer.

    Examples
    --------
    >>> import torch
    >>> net = SeedCNN(in_channels=1, n_classes=24, input_size=28)
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
        height, width = _as_pair(input_size)
        if min(height, width) < MIN_IMAGE_SIDE:
            raise ValueError(
                f"input_size must be at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} "
                f"(the CNN pools three times by 2), got {height}x{width}."
            )
        blocks: list[nn.Module] = []
        previous = in_channels
        for filters in channels:
            blocks += [
                nn.Conv2d(previous, filters, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            previous = filters
            height, width = height // 2, width // 2
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
    >>> import torch
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


def default_module(sample_shape: Sequence[int]) -> type:
    """The network for samples of this shape: images ``(C, H, W)`` get
    :class:`SeedCNN`, feature vectors ``(F,)`` get :class:`MLP`."""
    return SeedCNN if len(sample_shape) == 3 else MLP


def inferred_module_kwargs(
    module: type, sample_shape: Sequence[int] | None, n_outputs: int
) -> dict:
    """The arguments of :class:`SeedCNN` or :class:`MLP` that the data determine.

    Parameters
    ----------
    module : SeedCNN or MLP
    sample_shape : tuple of int or None
        Shape of one sample; ``None`` (unknown) gives only ``n_classes``.
    n_outputs : int
        Outputs of the network (its ``n_classes`` argument).

    Returns
    -------
    dict

    Examples
    --------
    >>> inferred_module_kwargs(SeedCNN, (1, 28, 28), 24)
    {'in_channels': 1, 'input_size': (28, 28), 'n_classes': 24}
    """
    if sample_shape is None:
        return {"n_classes": n_outputs}
    if module is MLP:
        if len(sample_shape) != 1:
            raise ValueError(
                f"MLP needs 2-D X (n_samples, n_features), got samples of "
                f"shape {tuple(sample_shape)}."
            )
        return {"n_features": sample_shape[0], "n_classes": n_outputs}
    if len(sample_shape) != 3:
        raise ValueError(
            "SeedCNN needs images: X of shape (n_samples, channels, height, "
            f"width) or (n_samples, height, width), got samples of shape "
            f"{tuple(sample_shape)}."
        )
    channels, height, width = sample_shape
    if min(height, width) < MIN_IMAGE_SIDE:
        raise ValueError(
            f"X holds {height}x{width} images; the CNN pools three times by 2 "
            f"and needs at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}. Upscale the "
            "images or pass another module=."
        )
    return {
        "in_channels": channels,
        "input_size": (height, width),
        "n_classes": n_outputs,
    }
