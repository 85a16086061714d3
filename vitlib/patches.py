"""Cutting images into patches and putting them back (notebook 01).

Every route here produces exactly the same numbers as the seed's snippet::

    img.unfold(2, P, P).unfold(3, P, P)       # (B, C, H/P, W/P, P, P)
       .permute(0, 2, 3, 1, 4, 5)             # (B, H/P, W/P, C, P, P)
       .contiguous().view(B, N, C * P * P)    # (B, N, C*P*P)

Patches come in row-major order over the grid (left to right, then top to
bottom), and each patch is flattened in (C, P, P) order: all of channel 0,
then channel 1, ... That order is what lets a ``Conv2d(C, D, P, stride=P)``
weight be reused as a linear map with a plain ``weight.view(D, -1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .checks import int_pair, positive_int

__all__ = [
    "ROUTES",
    "explain_patch_size",
    "grid_size",
    "patchify",
    "patchify_f_unfold",
    "patchify_reshape",
    "patchify_unfold",
    "unpatchify",
    "valid_patch_sizes",
]


def _check_patch_size(patch_size) -> int:
    """A positive whole number (numpy or 0-d torch integers behave like ints)."""
    return positive_int(patch_size, "patch_size", example=16)


def valid_patch_sizes(image_size) -> list[int]:
    """The patch sizes that divide both sides of an image: ``(H, W) -> [P, ...]``."""
    h, w = int_pair(image_size, "image_size", example=(32, 32))
    g = math.gcd(h, w)
    return [p for p in range(1, g + 1) if g % p == 0]


def grid_size(image_size, patch_size) -> tuple[int, int]:
    """The patch grid of an image: ``(H, W), P -> (H/P, W/P)``.

    Raises ``ValueError`` naming the side that ``patch_size`` does not divide
    and listing the patch sizes that would work.
    """
    h, w = int_pair(image_size, "image_size", example=(32, 32))
    p = _check_patch_size(patch_size)
    bad = [f"{name} {v}" for name, v in (("height", h), ("width", w)) if v % p]
    if bad:
        if p > h or p > w:  # no crop helps: a patch larger than the image
            fix = "a patch cannot be larger than the image"
        else:
            fix = f"or crop/resize the image to {h - h % p}x{w - w % p}"
        raise ValueError(
            f"patch_size={p} does not divide the image {' and '.join(bad)} "
            f"(image is {h}x{w}); patches must tile the image exactly. "
            f"Patch sizes that divide {h}x{w}: {valid_patch_sizes((h, w))}; {fix}."
        )
    return h // p, w // p


def _check_images(images, patch_size) -> tuple[int, int, int, int, int]:
    if not isinstance(images, torch.Tensor):
        raise TypeError(
            f"images must be a torch.Tensor of shape (B, C, H, W); got {type(images).__name__}."
            " Convert with torch.as_tensor(...)."
        )
    if images.dim() != 4:
        hint = " For a single image (C, H, W) add a batch dimension: images.unsqueeze(0)." if images.dim() == 3 else ""
        raise ValueError(f"images must be 4-D (B, C, H, W); got shape {tuple(images.shape)}.{hint}")
    b, c, h, w = images.shape
    gh, gw = grid_size((h, w), patch_size)
    return b, c, gh, gw, _check_patch_size(patch_size)


def patchify_reshape(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Reshape/permute route: ``(B, C, H, W) -> (B, N, C*P*P)``.

    ``reshape`` splits H into (H/P, P) and W into (W/P, P) without copying;
    ``permute`` brings the grid axes to the front; the final ``reshape`` is
    the one copy.
    """
    b, c, gh, gw, p = _check_images(images, patch_size)
    x = images.reshape(b, c, gh, p, gw, p)  # (B, C, gh, P, gw, P)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (B, gh, gw, C, P, P)
    return x.reshape(b, gh * gw, c * p * p)  # (B, N, C*P*P)


def patchify_unfold(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """The seed's route with ``Tensor.unfold``: ``(B, C, H, W) -> (B, N, C*P*P)``."""
    b, c, gh, gw, p = _check_images(images, patch_size)
    x = images.unfold(2, p, p).unfold(3, p, p)  # (B, C, gh, gw, P, P)
    x = x.permute(0, 2, 3, 1, 4, 5)  # (B, gh, gw, C, P, P): not contiguous
    return x.reshape(b, gh * gw, c * p * p)  # reshape copies where view would fail


def patchify_f_unfold(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``torch.nn.functional.unfold`` (im2col) route: ``(B, C, H, W) -> (B, N, C*P*P)``.

    ``F.unfold`` returns ``(B, C*P*P, N)`` with each column in (C, P, P)
    order, so one transpose gives the tokens.
    """
    _check_images(images, patch_size)
    if not images.is_floating_point():
        raise TypeError(
            f"F.unfold (im2col) only works on floating-point images; got dtype {images.dtype}. "
            f"Convert first (images.float()) or use patchify(), which works for any dtype."
        )
    return F.unfold(images, kernel_size=patch_size, stride=patch_size).transpose(1, 2)


ROUTES: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "reshape/permute": patchify_reshape,
    "Tensor.unfold": patchify_unfold,
    "F.unfold": patchify_f_unfold,
}


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut images into flattened patches: ``(B, C, H, W) -> (B, N, C*P*P)``.

    ``N = (H/P) * (W/P)``; patches in row-major grid order, each flattened in
    (C, P, P) order. Non-square images work. Raises ``ValueError`` for a
    tensor that is not 4-D or a patch size that does not tile the image.
    """
    return patchify_reshape(images, patch_size)


def unpatchify(patches: torch.Tensor, patch_size: int, image_size) -> torch.Tensor:
    """The exact inverse of :func:`patchify`: ``(B, N, C*P*P) -> (B, C, H, W)``.

    ``image_size`` is ``(H, W)`` or an int for a square image; the channel
    count follows from the last dimension.
    """
    if not isinstance(patches, torch.Tensor):
        raise TypeError(f"patches must be a torch.Tensor of shape (B, N, C*P*P); got {type(patches).__name__}.")
    if patches.dim() != 3:
        hint = (
            " For one image's patches (N, C*P*P) add a batch dimension: patches.unsqueeze(0)."
            if patches.dim() == 2
            else ""
        )
        raise ValueError(f"patches must be 3-D (B, N, C*P*P); got shape {tuple(patches.shape)}.{hint}")
    h, w = int_pair(image_size, "image_size", example=(32, 32))
    gh, gw = grid_size((h, w), patch_size)
    p = _check_patch_size(patch_size)
    b, n, d = patches.shape
    if d % (p * p):
        raise ValueError(
            f"the last dimension of patches ({d}) is not C*P*P for patch_size={p}: "
            f"it must be a multiple of P*P={p * p}. Check patch_size (got shape {tuple(patches.shape)})."
        )
    if n != gh * gw:
        raise ValueError(
            f"patches hold N={n} tokens, but a {h}x{w} image cut into {p}x{p} patches has "
            f"{gh}x{gw}={gh * gw}. Pass the image_size the patches came from."
        )
    c = d // (p * p)
    x = patches.reshape(b, gh, gw, c, p, p)
    x = x.permute(0, 3, 1, 4, 2, 5)  # (B, C, gh, P, gw, P)
    return x.reshape(b, c, h, w)


def explain_patch_size(image_size, patch_size, *, within: tuple[int, int] | None = None) -> str | None:
    """Why a patch size does not tile an image, in one sentence; ``None`` when it does.

    ``(H, W), P -> str | None``. The sentence names each side that ``P`` does not divide (with its
    remainder: the strip of pixels left over) and lists the sizes that work, only those in
    ``within=(low, high)`` when given (e.g. the range a slider can reach). The one source of this text
    for the widgets.
    """
    h, w = int_pair(image_size, "image_size", example=(32, 32))
    p = _check_patch_size(patch_size)
    sides = [f"{name} {v} (remainder {v % p} px)" for name, v in (("height", h), ("width", w)) if v % p]
    if not sides:
        return None
    sizes = valid_patch_sizes((h, w))
    where = ""
    if within is not None:
        low, high = within
        sizes = [s for s in sizes if low <= s <= high]
        where = f" within {low}..{high}"
    listed = ", ".join(map(str, sizes)) if sizes else "none"
    return (
        f"patch size {p} does not divide the {' and the '.join(sides)}. Sizes that work for {h}x{w}{where}: {listed}."
    )
