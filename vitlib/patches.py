"""Cutting images into patches and putting them back (notebook 01).

The seed's snippet, and :func:`patchify` below, give the same numbers::

    img.unfold(2, P, P).unfold(3, P, P)       # (B, C, H/P, W/P, P, P)
       .permute(0, 2, 3, 1, 4, 5)             # (B, H/P, W/P, C, P, P)
       .contiguous().view(B, N, C * P * P)    # (B, N, C*P*P)

Patches come in row-major order over the grid (left to right, then top to bottom), and each patch is
flattened in (C, P, P) order: all of channel 0, then channel 1, ... That order is what lets a
``Conv2d(C, D, P, stride=P)`` weight be reused as a linear map with a plain ``weight.view(D, -1)``.
The seed's ``Tensor.unfold`` route and ``F.unfold`` are in :mod:`vitlib.routes`, which notebook 01 compares.
"""

from __future__ import annotations

import torch

from . import checks

__all__ = ["grid_size", "patchify", "unpatchify"]


def grid_size(image_size, patch_size) -> tuple[int, int]:
    """The patch grid of an image: ``(H, W), P -> (H/P, W/P)``; ``image_size`` may be one int (a square).

    Raises ``ValueError`` naming the side that ``patch_size`` does not divide, with the sizes that would work.
    """
    h, w, p = checks.tiling(image_size, patch_size)
    return h // p, w // p


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut images into flattened patches: ``(B, C, H, W) -> (B, N, C*P*P)`` with ``N = (H/P) * (W/P)``.

    ``reshape`` splits H into (H/P, P) and W into (W/P, P) without copying; ``permute`` brings the grid axes
    to the front; the last ``reshape`` is the one copy. Any dtype; non-square images too.
    """
    b, c, h, w = checks.image_batch(images).shape
    gh, gw = grid_size((h, w), patch_size)
    p = h // gh
    x = images.reshape(b, c, gh, p, gw, p)  # (B, C, gh, P, gw, P)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (B, gh, gw, C, P, P)
    return x.reshape(b, gh * gw, c * p * p)  # (B, N, C*P*P)


def unpatchify(patches: torch.Tensor, patch_size: int, image_size) -> torch.Tensor:
    """The exact inverse of :func:`patchify`: ``(B, N, C*P*P) -> (B, C, H, W)``; ``image_size`` is (H, W) or an int."""
    b, _, d = checks.patch_batch(patches, patch_size, image_size).shape
    h, w, p = checks.tiling(image_size, patch_size)
    c = d // (p * p)
    x = patches.reshape(b, h // p, w // p, c, p, p)  # (B, gh, gw, C, P, P)
    x = x.permute(0, 3, 1, 4, 2, 5)  # (B, C, gh, P, gw, P)
    return x.reshape(b, c, h, w)
