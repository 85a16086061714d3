"""Patch embedding, the [CLS] token and position embeddings (notebooks 02-04).

Names follow timm, so ``patch_embed.proj.weight``, ``cls_token`` and
``pos_embed`` of a timm checkpoint load unchanged into :class:`vitlib.ViT`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .patches import _pair, grid_size, patchify

__all__ = [
    "PatchEmbedding",
    "learned_pos_embed",
    "prepend_cls_token",
    "resize_pos_embed",
    "sincos_pos_embed_2d",
]


class PatchEmbedding(nn.Module):
    """Images to patch tokens: ``(B, C, H, W) -> (B, N, D)``.

    One ``Conv2d(C, D, kernel_size=P, stride=P)`` stored as ``proj`` (timm's
    name). ``route="linear"`` computes the same thing as :func:`patchify`
    followed by a linear map with the *same* weights, viewed as ``(D, C*P*P)``.
    """

    def __init__(self, *, image_size=224, patch_size: int = 16, in_chans: int = 3, embed_dim: int = 768):
        super().__init__()
        self.image_size = _pair(image_size, "image_size")
        self.patch_size = patch_size
        self.grid_size = grid_size(self.image_size, patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor, *, route: str = "conv") -> torch.Tensor:
        if images.dim() != 4:
            hint = " Add a batch dimension: images.unsqueeze(0)." if images.dim() == 3 else ""
            raise ValueError(f"images must be 4-D (B, C, H, W); got shape {tuple(images.shape)}.{hint}")
        c, h, w = images.shape[1:]
        if c != self.proj.in_channels:
            raise ValueError(
                f"images have {c} channels but the patch embedding expects "
                f"{self.proj.in_channels}; build it with in_chans={c} or convert the images."
            )
        if (h, w) != self.image_size:
            raise ValueError(
                f"images are {h}x{w} but the patch embedding was built for "
                f"{self.image_size[0]}x{self.image_size[1]}; resize the images, or build the model "
                f"with image_size=({h}, {w}) and resize the position table (resize_pos_embed)."
            )
        if route == "conv":
            return self.proj(images).flatten(2).transpose(1, 2)  # (B, D, gh, gw) -> (B, N, D)
        if route == "linear":
            weight = self.proj.weight.view(self.proj.out_channels, -1)  # (D, C*P*P)
            return F.linear(patchify(images, self.patch_size), weight, self.proj.bias)
        raise ValueError(f"route must be 'conv' or 'linear'; got {route!r}.")


def prepend_cls_token(tokens: torch.Tensor, cls_token: torch.Tensor) -> torch.Tensor:
    """Put the [CLS] token in front: ``(B, N, D), (1, 1, D) -> (B, N+1, D)``.

    ``expand`` makes a view for each image of the batch (no copy, unlike
    ``repeat``), and gradients from every image add up in the one parameter.
    """
    if tokens.dim() != 3:
        raise ValueError(f"tokens must be 3-D (B, N, D); got shape {tuple(tokens.shape)}.")
    if cls_token.shape != (1, 1, tokens.shape[-1]):
        raise ValueError(
            f"cls_token must have shape (1, 1, D) = (1, 1, {tokens.shape[-1]}); "
            f"got {tuple(cls_token.shape)}."
        )
    return torch.cat([cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)


def learned_pos_embed(num_tokens: int, embed_dim: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """timm's initial position table, ``(1, num_tokens, D)``, normal with std 0.02.

    timm calls ``trunc_normal_(std=.02)`` with absolute bounds of +-2, so at
    std 0.02 nothing is ever truncated: it is a plain normal.
    """
    return torch.randn(1, num_tokens, embed_dim, generator=generator) * 0.02


def sincos_pos_embed_2d(grid, embed_dim: int, *, cls_token: bool = True, temperature: float = 10000.0) -> torch.Tensor:
    """A fixed 2-D sin-cos table: ``(gh, gw), D -> (1, [1 +] gh*gw, D)``.

    A quarter of the channels each holds ``sin(y*w)``, ``cos(y*w)``,
    ``sin(x*w)``, ``cos(x*w)`` with frequencies ``w_k = temperature**(-k/(D/4))``
    (as in MAE). The [CLS] row, if any, is zeros.
    """
    gh, gw = _pair(grid, "grid")
    if embed_dim % 4:
        raise ValueError(
            f"a 2-D sin-cos table needs embed_dim divisible by 4 (sin and cos for y and x); "
            f"got {embed_dim}. Use e.g. {embed_dim - embed_dim % 4 or 4} or {embed_dim + 4 - embed_dim % 4}."
        )
    quarter = embed_dim // 4
    omega = temperature ** (-torch.arange(quarter, dtype=torch.float64) / quarter)
    y, x = torch.meshgrid(
        torch.arange(gh, dtype=torch.float64), torch.arange(gw, dtype=torch.float64), indexing="ij"
    )
    y = y.flatten()[:, None] * omega[None, :]
    x = x.flatten()[:, None] * omega[None, :]
    table = torch.cat([y.sin(), y.cos(), x.sin(), x.cos()], dim=1).float()  # (gh*gw, D)
    if cls_token:
        table = torch.cat([torch.zeros(1, embed_dim), table], dim=0)
    return table.unsqueeze(0)


def resize_pos_embed(
    pos_embed: torch.Tensor,
    new_grid,
    old_grid=None,
    *,
    num_prefix_tokens: int = 1,
    interpolation: str = "bicubic",
    antialias: bool = True,
) -> torch.Tensor:
    """Resample a position table to another patch grid: ``(1, P+N, D) -> (1, P+N', D)``.

    The ``num_prefix_tokens`` rows in front ([CLS]) are kept as they are; the
    rest is read as an ``old_grid`` image (square if not given) and
    interpolated to ``new_grid``. timm uses ``bicubic`` with ``antialias=True``;
    Hugging Face's ``interpolate_pos_encoding`` uses ``bicubic`` without
    antialias: pass ``antialias=False`` to match it.
    """
    if pos_embed.dim() != 3 or pos_embed.shape[0] != 1:
        raise ValueError(f"pos_embed must have shape (1, N, D); got {tuple(pos_embed.shape)}.")
    new_grid = _pair(new_grid, "new_grid")
    n = pos_embed.shape[1] - num_prefix_tokens
    if old_grid is None:
        side = math.isqrt(n)
        if side * side != n:
            raise ValueError(
                f"pos_embed has {n} grid positions, which is not a square grid; pass old_grid=(gh, gw)."
            )
        old_grid = (side, side)
    old_grid = _pair(old_grid, "old_grid")
    if old_grid[0] * old_grid[1] != n:
        raise ValueError(
            f"old_grid={old_grid} has {old_grid[0] * old_grid[1]} positions but pos_embed has {n} "
            f"(after {num_prefix_tokens} prefix token(s))."
        )
    if new_grid == old_grid:
        return pos_embed
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    d = pos_embed.shape[-1]
    grid = grid.reshape(1, *old_grid, d).permute(0, 3, 1, 2).float()  # (1, D, gh, gw)
    grid = F.interpolate(grid, size=new_grid, mode=interpolation, antialias=antialias, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_grid[0] * new_grid[1], d).to(pos_embed.dtype)
    return torch.cat([prefix, grid], dim=1)
