"""Patch embedding, the [CLS] token and position tables (notebooks 02-04).

Names follow timm, so ``patch_embed.proj.weight``, ``cls_token`` and ``pos_embed`` of a timm checkpoint
load unchanged into :class:`vitlib.ViT`. The same embedding as ``patchify`` + a linear map, and the position
table added by hand, are in :mod:`vitlib.routes` (notebooks 02 and 04 compare them with these).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import checks

__all__ = ["PatchEmbedding", "learned_pos_embed", "prepend_cls_token", "resize_pos_embed", "sincos_pos_embed_2d"]


class PatchEmbedding(nn.Module):
    """Images to patch tokens: ``(B, C, H, W) -> (B, N, D)``, one ``Conv2d(C, D, kernel_size=P, stride=P)``.

    The convolution is a linear map applied to each patch on its own (notebook 02): its weight, viewed as
    ``(D, C*P*P)``, is that linear map's weight.
    """

    def __init__(self, *, image_size=224, patch_size: int = 16, in_chans: int = 3, embed_dim: int = 768):
        super().__init__()
        h, w, p = checks.tiling(image_size, patch_size)
        self.image_size, self.patch_size, self.grid_size = (h, w), p, (h // p, w // p)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(*checks.sizes(in_chans=in_chans, embed_dim=embed_dim), kernel_size=p, stride=p)

    @checks.explained(checks.images_in)
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.proj(images)  # (B, D, gh, gw): one output per patch and embedding dimension
        return x.reshape(len(images), x.shape[1], self.num_patches).transpose(1, 2)  # (B, N, D)

    def extra_repr(self) -> str:
        return f"image_size={self.image_size}, patch_size={self.patch_size}, grid_size={self.grid_size}"


def prepend_cls_token(tokens: torch.Tensor, cls_token: torch.Tensor) -> torch.Tensor:
    """Put the [CLS] token in front: ``(B, N, D), (1, 1, D) -> (B, N+1, D)``.

    ``expand`` makes a view for each image of the batch (no copy, unlike ``repeat``), and the gradients of
    every image add up in the one parameter.
    """
    checks.cls_inputs(tokens, cls_token)
    return torch.cat([cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)


def learned_pos_embed(num_tokens: int, embed_dim: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """timm's initial position table, ``(1, num_tokens, D)``, normal with std 0.02.

    timm calls ``trunc_normal_(std=.02)`` with absolute bounds of +-2, so at std 0.02 nothing is ever
    truncated: it is a plain normal.
    """
    num_tokens, embed_dim = checks.sizes(num_tokens=num_tokens, embed_dim=embed_dim)
    return torch.randn(1, num_tokens, embed_dim, generator=generator) * 0.02


def sincos_pos_embed_2d(grid, embed_dim: int, *, cls_token: bool = True, temperature: float = 10000.0) -> torch.Tensor:
    """A fixed 2-D sin-cos table: ``(gh, gw), D -> (1, [1 +] gh*gw, D)``.

    A quarter of the channels each holds ``sin(y*w)``, ``cos(y*w)``, ``sin(x*w)``, ``cos(x*w)`` with
    frequencies ``w_k = temperature**(-k/(D/4))`` (MAE's frequencies; MAE puts the x quarters first, which
    changes nothing but the channel order). The [CLS] row, if any, is zeros.
    """
    (gh, gw), quarter = checks.sincos_args(grid, embed_dim, temperature)
    omega = temperature ** (-torch.arange(quarter, dtype=torch.float64) / quarter)
    y, x = torch.meshgrid(torch.arange(gh, dtype=torch.float64), torch.arange(gw, dtype=torch.float64), indexing="ij")
    y = y.flatten()[:, None] * omega[None, :]
    x = x.flatten()[:, None] * omega[None, :]
    table = torch.cat([y.sin(), y.cos(), x.sin(), x.cos()], dim=1).float()  # (gh*gw, D)
    if cls_token:
        table = torch.cat([torch.zeros(1, 4 * quarter), table], dim=0)
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

    The ``num_prefix_tokens`` rows in front ([CLS]) are kept as they are; the rest is read as an
    ``old_grid`` image (square if not given) and interpolated to ``new_grid``. timm uses ``bicubic`` with
    ``antialias=True``; Hugging Face's ``interpolate_pos_encoding`` uses ``bicubic`` without: pass
    ``antialias=False`` to match it. The same grid returns the table unchanged.
    """
    old_grid, new_grid = checks.resize_args(pos_embed, new_grid, old_grid, num_prefix_tokens, interpolation, antialias)
    if new_grid == old_grid:
        return pos_embed
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    d = pos_embed.shape[-1]
    work = torch.float64 if pos_embed.dtype == torch.float64 else torch.float32
    grid = grid.reshape(1, *old_grid, d).permute(0, 3, 1, 2).to(work)  # (1, D, gh, gw): channels as images
    corners = {} if interpolation == "nearest" else {"align_corners": False}
    grid = F.interpolate(grid, size=new_grid, mode=interpolation, antialias=antialias, **corners)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_grid[0] * new_grid[1], d).to(pos_embed.dtype)
    return torch.cat([prefix, grid], dim=1)
