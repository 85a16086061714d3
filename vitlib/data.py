"""Data that ships inside scikit-learn, so nothing is downloaded at run time.

- the two sample photos, ``china.jpg`` and ``flower.jpg`` (427 x 640 RGB);
- the handwritten digits (1,797 images of 8 x 8, ten classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .patches import _pair

__all__ = ["PHOTOS", "Digits", "load_digits", "load_photo"]

PHOTOS = ("china", "flower")


def load_photo(name: str = "china", size=None) -> torch.Tensor:
    """A sample photo as a float tensor in [0, 1]: ``-> (3, H, W)``.

    ``size`` (an int or (H, W)) center-crops the photo to that aspect ratio
    and resizes it (bilinear, antialiased); ``None`` keeps 427 x 640.
    """
    from sklearn.datasets import load_sample_image

    key = name.removesuffix(".jpg")
    if key not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {list(PHOTOS)}.")
    image = torch.from_numpy(np.array(load_sample_image(f"{key}.jpg")))  # a writable copy
    image = image.permute(2, 0, 1).float() / 255.0  # (H, W, 3) uint8 -> (3, H, W) float
    if size is None:
        return image
    th, tw = _pair(size, "size")
    h, w = image.shape[1:]
    scale = min(h / th, w / tw)  # largest crop with the target's aspect ratio
    ch, cw = round(th * scale), round(tw * scale)
    top, left = (h - ch) // 2, (w - cw) // 2
    image = image[:, top : top + ch, left : left + cw]
    image = F.interpolate(image[None], size=(th, tw), mode="bilinear", antialias=True, align_corners=False)[0]
    return image.clamp(0.0, 1.0)


@dataclass(frozen=True)
class Digits:
    """A seeded, stratified train/test split of the digits.

    ``x_*`` are ``(N, 1, 8, 8)`` floats in [0, 1]; ``y_*`` are ``(N,)`` int64 labels.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits(*, test_fraction: float = 0.2, seed: int = 0) -> Digits:
    """The scikit-learn digits, split with ``seed``: 1,797 images of ``(1, 8, 8)``."""
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1; got {test_fraction}.")
    bunch = _load()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)  # pixel values are 0..16
    y = torch.from_numpy(bunch.target.astype(np.int64))
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=bunch.target)
    return Digits(x[train], y[train], x[test], y[test])
