"""Data that ships inside scikit-learn, so nothing is downloaded at run time.

- the two sample photos, ``china.jpg`` and ``flower.jpg`` (427 x 640 RGB);
- the handwritten digits (1,797 images of 8 x 8, ten classes);

and, generated from them with a seed, the digits placed at random on a larger canvas
(:func:`load_translated_digits`, notebook 10), a task where *where* a stroke is varies from image to image.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import checks
from .checks import fraction, int_pair, nonnegative_float, nonnegative_int, positive_int
from .patches import grid_size, patchify

__all__ = [
    "PHOTOS",
    "DigitSplits",
    "Digits",
    "Shapes",
    "load_digit_splits",
    "load_digits",
    "load_photo",
    "load_translated_digits",
    "make_shapes",
    "stratified_subset",
]

PHOTOS = ("china", "flower")


def _read_sample_image(filename: str) -> np.ndarray:
    """scikit-learn's sample photo as an ``(H, W, 3)`` uint8 array.

    Read straight from scikit-learn's folder with Pillow: the same pixels as
    ``sklearn.datasets.load_sample_image``, without the 1.5 s import of
    ``sklearn.datasets``.
    """
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "images" / filename if spec and spec.origin else None
    if path is None or not path.is_file():  # an unusual install: let scikit-learn find it
        from sklearn.datasets import load_sample_image

        return np.array(load_sample_image(filename))
    with Image.open(path) as photo:
        return np.array(photo.convert("RGB"))  # a writable copy


def load_photo(name: str = "china", size=None) -> torch.Tensor:
    """A sample photo as a float tensor in [0, 1]: ``-> (3, H, W)``.

    ``size`` (an int or (H, W)) center-crops the photo to that aspect ratio
    and resizes it (bilinear, antialiased); ``None`` keeps 427 x 640.
    """
    key = name.removesuffix(".jpg") if isinstance(name, str) else name
    if key not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {list(PHOTOS)}.")
    image = torch.from_numpy(_read_sample_image(f"{key}.jpg"))
    image = image.permute(2, 0, 1).float() / 255.0  # (H, W, 3) uint8 -> (3, H, W) float
    if size is None:
        return image
    th, tw = int_pair(size, "size", example=(224, 224))
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
    # Imported here, not at the top: sklearn.datasets takes about 1.5 s to import, and notebooks 00-04
    # (10 s budgets) use the photos only.
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    test_fraction = fraction(test_fraction, "test_fraction", low_open=True, high_open=True, example=0.2)
    seed = nonnegative_int(seed, "seed", example=0)
    bunch = sklearn_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)  # pixel values are 0..16
    y = torch.from_numpy(bunch.target.astype(np.int64))
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=bunch.target)
    return Digits(x[train], y[train], x[test], y[test])


def load_translated_digits(
    *, canvas: int = 24, scale: int = 2, copies: int = 4, test_fraction: float = 0.2, seed: int = 0
) -> Digits:
    """The digits of :func:`load_digits` (the same split), scaled up and placed at random on a blank canvas.

    Each 8 x 8 digit is enlarged ``scale`` times (every pixel becomes ``scale x scale`` equal pixels) and put at a
    random place (a whole-pixel offset, uniform over every place where it fits) on a ``canvas x canvas`` black
    image: each training digit ``copies`` times, at independent places, each test digit once. Returns a
    :class:`Digits` of ``(copies * N_train, 1, canvas, canvas)`` and ``(N_test, 1, canvas, canvas)`` images
    (training copies in blocks: all digits once, then all again, ...), with the labels repeated to match. The
    places are drawn with ``seed`` (which also picks the split), so the same arguments give the same images.
    With the defaults: 5,748 training and 360 test images of 24 x 24, 36 patches of 4 x 4.
    """
    canvas = positive_int(canvas, "canvas", example=24)
    scale = positive_int(scale, "scale", example=2)
    copies = positive_int(copies, "copies", example=4)
    seed = nonnegative_int(seed, "seed", example=0)
    side = 8 * scale
    if canvas < side:
        raise ValueError(
            f"canvas ({canvas}) must be at least the scaled digit's side, 8 * scale = {side}, to hold it; "
            f"pass canvas >= {side} or a smaller scale (e.g. canvas=24, scale=2)."
        )
    digits = load_digits(test_fraction=test_fraction, seed=seed)
    generator = torch.Generator().manual_seed(seed)

    def place(images: torch.Tensor) -> torch.Tensor:  # (n, 1, 8, 8) -> (n, 1, canvas, canvas)
        big = images.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)  # (n, 1, side, side)
        top, left = torch.randint(0, canvas - side + 1, (2, len(images)), generator=generator)
        out = torch.zeros(len(images), 1, canvas, canvas)
        for i in range(len(images)):
            out[i, :, top[i] : top[i] + side, left[i] : left[i] + side] = big[i]
        return out

    x_train = torch.cat([place(digits.x_train) for _ in range(copies)])
    return Digits(x_train, digits.y_train.repeat(copies), place(digits.x_test), digits.y_test.clone())


@dataclass(frozen=True)
class Shapes:
    """A dense-prediction task: which patches of an image hold part of a shape.

    ``images`` ``(n, 1, H, W)`` floats in [0, 1] (bright squares and discs on
    a noisy dark background); ``masks`` ``(n, H, W)`` bool, True on shape
    pixels; ``patch_labels`` ``(n, N)`` int64, 1 for a patch holding at least
    one shape pixel, in token order (row by row, like :func:`vitlib.patchify`).
    """

    images: torch.Tensor
    masks: torch.Tensor
    patch_labels: torch.Tensor
    patch_size: int


def make_shapes(
    n: int = 1024,
    *,
    image_size: int = 32,
    patch_size: int = 4,
    max_shapes: int = 3,
    noise: float = 0.08,
    seed: int = 0,
) -> Shapes:
    """``n`` seeded images with 1 to ``max_shapes`` squares and discs at random places, and per-patch labels.

    A label per patch (not per image) is what segmentation-like tasks ask of a
    ViT: keep every patch token and classify each one.
    """
    n = positive_int(n, "n", example=1024)
    max_shapes = positive_int(max_shapes, "max_shapes", example=3)
    noise = nonnegative_float(noise, "noise", example=0.08)
    seed = nonnegative_int(seed, "seed", example=0)
    h, w = int_pair(image_size, "image_size", example=32)
    grid_size((h, w), patch_size)  # raises if patch_size does not tile the image
    if min(h, w) < 8:
        raise ValueError(f"image_size must be at least 8 pixels a side to hold a shape; got {(h, w)}.")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    images = np.clip(0.1 + noise * rng.standard_normal((n, h, w)), 0.0, 1.0).astype(np.float32)
    masks = np.zeros((n, h, w), dtype=bool)
    small = min(h, w)
    for i in range(n):
        for _ in range(rng.integers(1, max_shapes + 1)):
            size = int(rng.integers(max(2, small // 10), max(3, small // 4) + 1))
            cy, cx = rng.integers(0, h), rng.integers(0, w)
            if rng.random() < 0.5:  # a square of side `size`
                shape = (abs(yy - cy) <= size // 2) & (abs(xx - cx) <= size // 2)
            else:  # a disc of diameter about `size`
                shape = (yy - cy) ** 2 + (xx - cx) ** 2 <= (size / 2 + 0.3) ** 2
            masks[i] |= shape
            images[i][shape] = rng.uniform(0.6, 1.0)
    masks_t = torch.from_numpy(masks)
    covered = patchify(masks_t[:, None].float(), patch_size).amax(dim=-1)  # (n, N): any shape pixel
    return Shapes(torch.from_numpy(images)[:, None], masks_t, covered.long(), patch_size)


def stratified_subset(
    images: torch.Tensor, labels: torch.Tensor, fraction: float, *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded subset with every class kept in its share: ``(N, ...), (N,) -> (n, ...), (n,)``.

    Each class contributes ``round(fraction * its count)`` examples (at least
    one), drawn without replacement with ``seed``; ``fraction=1`` keeps all
    of them. The order is shuffled, so the classes are mixed. The same seed
    gives the same subset, and a smaller fraction of the same seed is a
    part of a larger one (each class's draw is one seeded permutation).
    """
    fraction = checks.fraction(fraction, "fraction", low_open=True, example=0.25)
    seed = checks.nonnegative_int(seed, "seed", example=0)
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(
            f"images and labels must be torch tensors; got {type(images).__name__} and {type(labels).__name__}."
        )
    if labels.dim() != 1 or images.dim() < 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"labels must be 1-D with one label per image; got images {tuple(images.shape)} "
            f"and labels {tuple(labels.shape)}."
        )
    if labels.dtype != torch.int64:
        raise TypeError(f"labels must be int64 class indices; got {labels.dtype}. Use labels.long().")
    if labels.numel() == 0:
        raise ValueError("labels is empty: there is nothing to take a subset of.")
    generator = torch.Generator().manual_seed(seed)
    keep = []
    for cls in labels.unique(sorted=True):
        members = (labels == cls).nonzero().flatten()
        count = max(1, round(fraction * len(members)))
        keep.append(members[torch.randperm(len(members), generator=generator)[:count]])
    chosen = torch.cat(keep)
    chosen = chosen[torch.randperm(len(chosen), generator=generator)]
    return images[chosen], labels[chosen]


# ---------------------------------------------------------------------------- train / validation / test


@dataclass(frozen=True)
class DigitSplits:
    """The digits in three seeded, stratified parts: train on ``x_train``, choose the epoch and the settings on
    ``x_val``, and read ``x_test`` once, at the end.

    ``x_*`` are ``(N, 1, 8, 8)`` floats in [0, 1]; ``y_*`` are ``(N,)`` int64 labels.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digit_splits(*, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0) -> DigitSplits:
    """Train, validation and test parts of the digits: ``load_digits(test_fraction=..., seed=seed)`` with its
    training part split once more.

    The test part is exactly :func:`load_digits`'s (the same images in the same order, so its figures stay
    comparable); ``val_fraction`` of its training part (stratified, drawn with ``seed``) becomes the validation
    part, and the rest stays for training. With the defaults: 1,149 / 288 / 360 images.
    """
    from sklearn.model_selection import train_test_split

    val_fraction = fraction(val_fraction, "val_fraction", low_open=True, high_open=True, example=0.2)
    digits = load_digits(test_fraction=test_fraction, seed=seed)
    idx = np.arange(len(digits.y_train))
    train, val = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=digits.y_train.numpy())
    return DigitSplits(
        digits.x_train[train],
        digits.y_train[train],
        digits.x_train[val],
        digits.y_train[val],
        digits.x_test,
        digits.y_test,
    )
