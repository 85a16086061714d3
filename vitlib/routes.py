"""Other routes to the core's numbers, for the notebooks to compare with it (the model never uses them).

- notebook 01: the seed's ``Tensor.unfold`` route and ``F.unfold`` (im2col), beside :func:`vitlib.patchify`'s
  reshape/permute (:data:`ROUTES`, all three);
- notebook 02: the patch embedding as :func:`vitlib.patchify` followed by a linear map whose weight is the
  convolution's, seen through a view (:func:`linear_weight`, :func:`embed_linear`);
- notebook 04: the position table added by hand, with a check that says which count is off
  (:func:`add_pos_embed`; the model adds its own table in :meth:`vitlib.ViT.embed`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from . import checks
from .embedding import PatchEmbedding
from .patches import grid_size, patchify

__all__ = ["ROUTES", "add_pos_embed", "embed_linear", "linear_weight", "patchify_f_unfold", "patchify_unfold"]


def patchify_unfold(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """The seed's route with ``Tensor.unfold``: ``(B, C, H, W) -> (B, N, C*P*P)``."""
    b, c, h, w = checks.image_batch(images).shape
    gh, gw = grid_size((h, w), patch_size)
    p = h // gh
    x = images.unfold(2, p, p).unfold(3, p, p)  # (B, C, gh, gw, P, P)
    x = x.permute(0, 2, 3, 1, 4, 5)  # (B, gh, gw, C, P, P): not contiguous
    return x.reshape(b, gh * gw, c * p * p)  # reshape copies where view would fail


def patchify_f_unfold(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``torch.nn.functional.unfold`` (im2col): ``(B, C, H, W) -> (B, N, C*P*P)``.

    ``F.unfold`` returns ``(B, C*P*P, N)`` with each column in (C, P, P) order, so one transpose gives the tokens.
    """
    b, c, h, w = checks.image_batch(images).shape
    gh, _ = grid_size((h, w), patch_size)
    if not images.is_floating_point():
        raise TypeError(
            f"F.unfold (im2col) only works on floating-point images; got dtype {images.dtype}. "
            "Convert first (images.float()) or use patchify(), which works for any dtype."
        )
    return F.unfold(images, kernel_size=h // gh, stride=h // gh).transpose(1, 2)


ROUTES: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "reshape/permute": patchify,
    "Tensor.unfold": patchify_unfold,
    "F.unfold": patchify_f_unfold,
}


def linear_weight(embed: PatchEmbedding) -> torch.Tensor:
    """The convolution's weight as a linear map's: ``(D, C, P, P) -> (D, C*P*P)``.

    A ``view``, not a copy: it shares memory with ``proj.weight``. Row ``d`` read in (C, P, P) order is the
    filter that makes embedding dimension ``d``. (A weight that is not contiguous, e.g. after
    ``.to(memory_format=torch.channels_last)``, cannot be viewed: then this is a copy with the same numbers.)
    """
    weight = embed.proj.weight
    return weight.view(weight.shape[0], -1) if weight.is_contiguous() else weight.reshape(weight.shape[0], -1)


def embed_linear(embed: PatchEmbedding, images: torch.Tensor) -> torch.Tensor:
    """``embed(images)`` computed as :func:`vitlib.patchify`, then a linear map with the same weights:
    ``(B, C, H, W) -> (B, N, D)``."""
    images = checks.model_images(images, embed)
    return F.linear(patchify(images, embed.patch_size), linear_weight(embed), embed.proj.bias)


def add_pos_embed(tokens: torch.Tensor, pos_embed: torch.Tensor) -> torch.Tensor:
    """Add a position table, checked: ``(B, T, D) + (1, T, D) -> (B, T, D)``.

    A plain ``tokens + pos_embed`` broadcasts a wrong-sized table into an error about "size of tensor a", or
    silently if one side is 1; this says which count is off and how to fix it (usually: resize the table).
    """
    for name, value in (("tokens", tokens), ("pos_embed", pos_embed)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor; got {type(value).__name__}.")
    if tokens.dim() != 3:
        raise ValueError(f"tokens must be 3-D (B, T, D); got shape {tuple(tokens.shape)}.")
    if pos_embed.dim() != 3 or pos_embed.shape[0] != 1:
        raise ValueError(f"pos_embed must have shape (1, T, D); got {tuple(pos_embed.shape)}.")
    t, d = tokens.shape[1:]
    rows, dim = pos_embed.shape[1:]
    if dim != d:
        raise ValueError(f"tokens have D={d} channels but pos_embed has {dim}; build the table with embed_dim={d}.")
    if rows != t:
        if rows == t + 1:
            hint = " It has exactly one row more: did you forget to put [CLS] in front first (prepend_cls_token)?"
        else:
            side = _square_side(t - 1)
            example = f", here new_grid=({side}, {side}) if the grid is square" if side else ""
            hint = (
                " If the image size or the patch size changed, resize the table to the new patch grid: "
                f"resize_pos_embed(pos_embed, new_grid=(gh, gw)){example}."
            )
        raise ValueError(f"tokens have T={t} tokens but the position table has {rows} rows.{hint}")
    return tokens + pos_embed


def _square_side(n: int) -> int | None:
    """The side of a square grid of ``n`` positions, or None when ``n`` is not a square."""
    try:
        return checks.square_grid(n, "", "")[0]
    except ValueError:
        return None
