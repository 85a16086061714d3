"""A small convolutional network, the baseline a ViT is compared with (notebook 09).

Three 3 x 3 convolutions, each followed by group normalisation (8 groups, as
BiT, the paper's ResNet baseline, uses) and GELU, a 2 x 2 max-pool after the
first, a global average over the positions and a linear head::

    (B, 1, 8, 8) -conv 1->32, pool-> (B, 32, 4, 4) -conv 32->64, conv 64->64-> (B, 64, 4, 4) -mean-> (B, 64)
    -head-> (B, 10)

Its assumptions are built in, where a ViT has to learn them: each output
looks at a small neighbourhood (locality), the same filter is applied
everywhere (weight sharing, so a shifted input gives a shifted feature map:
translation equivariance) and the global average forgets where a feature was.
It trains with the same engine as the ViT, :func:`vitlib.train.fit`. Group
normalisation keeps no running statistics, so the model computes the same
thing in training and in evaluation, after any number of steps (batch
normalisation's running averages need many steps to settle).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from . import checks

__all__ = ["CNN", "CNNConfig"]


@dataclass(frozen=True)
class CNNConfig:
    """The shapes of a :class:`CNN`: ``channels`` of its three convolutions, ``kernel_size`` (odd)."""

    in_chans: int = 1
    num_classes: int = 10
    channels: tuple[int, int, int] = (32, 64, 64)
    kernel_size: int = 3


def _norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with 8 groups, or the largest number of groups up to 8 that divides ``channels``."""
    return nn.GroupNorm(math.gcd(8, channels), channels)


class CNN(nn.Module):
    """A small CNN: ``(B, C, H, W) -> logits (B, num_classes)``, for any H, W >= 2.

    ``CNN()`` is sized for the digits (56,714 parameters, the order of the
    ``digits_p4`` ViT); keywords override :class:`CNNConfig`'s fields.
    """

    def __init__(self, config: CNNConfig | None = None, /, **overrides):
        super().__init__()
        config = checks.configured(CNNConfig, config, overrides, what="CNN")
        in_chans = checks.positive_int(config.in_chans, "in_chans", example=1)
        num_classes = checks.positive_int(config.num_classes, "num_classes", example=10)
        kernel = checks.positive_int(config.kernel_size, "kernel_size", example=3)
        if kernel % 2 == 0:
            raise ValueError(f"kernel_size must be odd (so that padding keeps the size); got {kernel}. Pass e.g. 3.")
        try:
            c1, c2, c3 = config.channels
        except (TypeError, ValueError):
            raise TypeError(
                f"channels must be three ints, one per convolution; got {config.channels!r}. Pass e.g. (32, 64, 64)."
            ) from None
        c1, c2, c3 = (checks.positive_int(c, "channels", example=(32, 64, 64)) for c in (c1, c2, c3))
        self.config = replace(config, channels=(c1, c2, c3))
        pad = kernel // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, c1, kernel, padding=pad),
            _norm(c1),
            nn.GELU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, kernel, padding=pad),
            _norm(c2),
            nn.GELU(),
            nn.Conv2d(c2, c3, kernel, padding=pad),
            _norm(c3),
            nn.GELU(),
        )
        self.head = nn.Linear(c3, num_classes)

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        """The last convolution's output: ``(B, C, H, W) -> (B, c3, H // 2, W // 2)``."""
        images = checks.float_images(images)
        if images.shape[1] != self.config.in_chans:
            raise ValueError(
                f"images have {images.shape[1]} channel(s); this CNN takes in_chans={self.config.in_chans}. "
                f"Build it with CNN(in_chans={images.shape[1]})."
            )
        if min(images.shape[2:]) < 2:
            raise ValueError(f"images must be at least 2 x 2 pixels (one 2 x 2 pool); got {tuple(images.shape[2:])}.")
        return self.features(images)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """The pooled features the head reads: ``(B, C, H, W) -> (B, c3)``."""
        return self.feature_map(images).mean(dim=(2, 3))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_classes)``."""
        return self.head(self.forward_features(images))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self.config).items())
