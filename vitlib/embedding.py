"""Patch embedding, the [CLS] token and position embeddings (notebooks 02-04).

Names follow timm, so ``patch_embed.proj.weight``, ``cls_token`` and
``pos_embed`` of a timm checkpoint load unchanged into :class:`vitlib.ViT`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .checks import choice, float_images, int_pair, nonnegative_int, positive_float, positive_int
from .patches import grid_size, patchify

__all__ = [
    "PatchEmbedding",
    "add_pos_embed",
    "learned_pos_embed",
    "position_similarity",
    "prepend_cls_token",
    "resize_pos_embed",
    "sincos_pos_embed_2d",
    "table_grid",
]

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


class PatchEmbedding(nn.Module):
    """Images to patch tokens: ``(B, C, H, W) -> (B, N, D)``.

    One ``Conv2d(C, D, kernel_size=P, stride=P)`` stored as ``proj`` (timm's
    name). ``route="linear"`` computes the same thing as :func:`patchify`
    followed by a linear map with the *same* weights, viewed as ``(D, C*P*P)``.
    """

    def __init__(self, *, image_size=224, patch_size: int = 16, in_chans: int = 3, embed_dim: int = 768):
        super().__init__()
        self.image_size = int_pair(image_size, "image_size", example=224)
        self.patch_size = patch_size = positive_int(patch_size, "patch_size", example=16)
        self.grid_size = grid_size(self.image_size, patch_size)  # raises if patch_size does not divide the image
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        in_chans = positive_int(in_chans, "in_chans", example=3)
        embed_dim = positive_int(embed_dim, "embed_dim", example=768)
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    @property
    def linear_weight(self) -> torch.Tensor:
        """The conv weight as a linear map's weight: ``(D, C, P, P) -> (D, C*P*P)``.

        A ``view``, not a copy: it shares memory with ``proj.weight``. Row ``d``
        read in (C, P, P) order is the filter that makes embedding dimension ``d``.
        (If the weight is not contiguous, e.g. after ``.to(memory_format=torch.channels_last)``,
        a view is impossible and this is a copy with the same numbers.)
        """
        weight = self.proj.weight
        flat = (weight.shape[0], -1)
        return weight.view(flat) if weight.is_contiguous() else weight.reshape(flat)

    def extra_repr(self) -> str:
        return f"image_size={self.image_size}, patch_size={self.patch_size}, grid_size={self.grid_size}"

    def forward(self, images: torch.Tensor, *, route: str = "conv") -> torch.Tensor:
        """``(B, C, H, W) -> (B, N, D)`` by ``route="conv"`` (one Conv2d) or
        ``route="linear"`` (:func:`patchify`, then the same weights as a matrix).

        Images follow the library's dtype policy (:func:`vitlib.checks.float_images`):
        other float dtypes are converted to the weights' dtype, integer images refused."""
        choice(route, "route", ("conv", "linear"))
        images = float_images(images, "images", dtype=self.proj.weight.dtype)
        c, h, w = images.shape[1:]
        if c != self.proj.in_channels and w == self.proj.in_channels and (h, c) == self.image_size:
            raise ValueError(
                f"images have shape {tuple(images.shape)}: channels last (B, H, W, C), but the patch embedding "
                f"expects channels first (B, C, H, W). Move the channels: images.permute(0, 3, 1, 2)."
            )
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
        return F.linear(patchify(images, self.patch_size), self.linear_weight, self.proj.bias)


def prepend_cls_token(tokens: torch.Tensor, cls_token: torch.Tensor) -> torch.Tensor:
    """Put the [CLS] token in front: ``(B, N, D), (1, 1, D) -> (B, N+1, D)``.

    ``expand`` makes a view for each image of the batch (no copy, unlike
    ``repeat``), and gradients from every image add up in the one parameter.
    """
    for name, value in (("tokens", tokens), ("cls_token", cls_token)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor; got {type(value).__name__}.")
    if tokens.dim() != 3:
        raise ValueError(f"tokens must be 3-D (B, N, D); got shape {tuple(tokens.shape)}.")
    if cls_token.shape != (1, 1, tokens.shape[-1]):
        raise ValueError(
            f"cls_token must have shape (1, 1, D) = (1, 1, {tokens.shape[-1]}); got {tuple(cls_token.shape)}."
        )
    return torch.cat([cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)


def add_pos_embed(tokens: torch.Tensor, pos_embed: torch.Tensor) -> torch.Tensor:
    """Add the position table, checked: ``(B, T, D) + (1, T, D) -> (B, T, D)``.

    A plain ``tokens + pos_embed`` would broadcast a wrong-sized table into an
    error about "size of tensor a", or worse, silently if one side is 1; this
    says which count is off and how to fix it (usually: resize the table).
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
            side = math.isqrt(t - 1) if _square(t - 1) else None
            example = f", here new_grid=({side}, {side}) if the grid is square" if side else ""
            hint = (
                " If the image size or the patch size changed, resize the table to the new patch grid: "
                f"resize_pos_embed(pos_embed, new_grid=(gh, gw)){example}."
            )
        raise ValueError(f"tokens have T={t} tokens but the position table has {rows} rows.{hint}")
    return tokens + pos_embed


def _square(n: int) -> bool:
    return n > 0 and math.isqrt(n) ** 2 == n


def learned_pos_embed(num_tokens: int, embed_dim: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """timm's initial position table, ``(1, num_tokens, D)``, normal with std 0.02.

    timm calls ``trunc_normal_(std=.02)`` with absolute bounds of +-2, so at
    std 0.02 nothing is ever truncated: it is a plain normal.
    """
    num_tokens = positive_int(num_tokens, "num_tokens", example=65)
    embed_dim = positive_int(embed_dim, "embed_dim", example=64)
    return torch.randn(1, num_tokens, embed_dim, generator=generator) * 0.02


def sincos_pos_embed_2d(grid, embed_dim: int, *, cls_token: bool = True, temperature: float = 10000.0) -> torch.Tensor:
    """A fixed 2-D sin-cos table: ``(gh, gw), D -> (1, [1 +] gh*gw, D)``.

    A quarter of the channels each holds ``sin(y*w)``, ``cos(y*w)``,
    ``sin(x*w)``, ``cos(x*w)`` with frequencies ``w_k = temperature**(-k/(D/4))``
    (MAE's frequencies; MAE puts the x quarters first, which changes nothing
    but the channel order). The [CLS] row, if any, is zeros.
    """
    gh, gw = int_pair(grid, "grid", example=(4, 4))
    embed_dim = positive_int(embed_dim, "embed_dim", example=64)
    temperature = positive_float(temperature, "temperature", example=10000.0)
    if embed_dim % 4:
        raise ValueError(
            f"a 2-D sin-cos table needs embed_dim divisible by 4 (sin and cos for y and x); "
            f"got {embed_dim}. Use e.g. {embed_dim - embed_dim % 4 or 4} or {embed_dim + 4 - embed_dim % 4}."
        )
    quarter = embed_dim // 4
    omega = temperature ** (-torch.arange(quarter, dtype=torch.float64) / quarter)
    y, x = torch.meshgrid(torch.arange(gh, dtype=torch.float64), torch.arange(gw, dtype=torch.float64), indexing="ij")
    y = y.flatten()[:, None] * omega[None, :]
    x = x.flatten()[:, None] * omega[None, :]
    table = torch.cat([y.sin(), y.cos(), x.sin(), x.cos()], dim=1).float()  # (gh*gw, D)
    if cls_token:
        table = torch.cat([torch.zeros(1, embed_dim), table], dim=0)
    return table.unsqueeze(0)


def table_grid(pos_embed: torch.Tensor, grid=None, num_prefix_tokens: int = 1, name: str = "grid") -> tuple[int, int]:
    """Check a position table and return its grid: ``(1, prefix + gh*gw, D) -> (gh, gw)``.

    ``grid`` (named ``name`` in errors) is checked against the table's rows;
    ``None`` means a square grid. The one copy of this check: plots and widgets use it too.
    """
    if not isinstance(pos_embed, torch.Tensor):
        raise TypeError(f"pos_embed must be a torch.Tensor (1, T, D); got {type(pos_embed).__name__}.")
    if pos_embed.dim() != 3 or pos_embed.shape[0] != 1:
        raise ValueError(f"pos_embed must have shape (1, T, D); got {tuple(pos_embed.shape)}.")
    num_prefix_tokens = nonnegative_int(num_prefix_tokens, "num_prefix_tokens", example=1)
    n = pos_embed.shape[1] - num_prefix_tokens
    if n <= 0:
        raise ValueError(
            f"pos_embed has {pos_embed.shape[1]} rows, none left for the grid after "
            f"num_prefix_tokens={num_prefix_tokens}."
        )
    if grid is None:
        if not _square(n):
            raise ValueError(
                f"pos_embed has {n} grid positions (after {num_prefix_tokens} prefix token(s)), which is not a "
                f"square grid; pass {name}=(gh, gw)."
            )
        return math.isqrt(n), math.isqrt(n)
    grid = int_pair(grid, name, example=(4, 4))
    if grid[0] * grid[1] != n:
        raise ValueError(
            f"{name}={grid} has {grid[0] * grid[1]} positions but pos_embed has {n} "
            f"(after {num_prefix_tokens} prefix token(s)); check {name} and num_prefix_tokens."
        )
    return grid


def position_similarity(pos_embed: torch.Tensor, grid=None, *, num_prefix_tokens: int = 1) -> torch.Tensor:
    """Cosine similarity of every grid position with every other, laid out on
    the grid (the ViT paper's figure 7): ``(1, P+gh*gw, D) -> (gh*gw, gh, gw)``.

    Entry ``[q, r, c]`` is the similarity of query position ``q`` (row-major)
    with the position at row ``r``, column ``c``. The prefix rows ([CLS]) are
    left out; ``grid`` defaults to a square.
    """
    gh, gw = table_grid(pos_embed, grid, num_prefix_tokens)
    table = F.normalize(pos_embed[0, num_prefix_tokens:].detach().float(), dim=-1)  # (N, D), unit rows
    return (table @ table.T).reshape(gh * gw, gh, gw)


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
    interpolated to ``new_grid`` (either may be non-square). timm uses
    ``bicubic`` with ``antialias=True``; Hugging Face's
    ``interpolate_pos_encoding`` uses ``bicubic`` without antialias: pass
    ``antialias=False`` to match it. The same grid returns the table unchanged.
    """
    choice(interpolation, "interpolation", INTERPOLATIONS)
    if antialias and interpolation == "nearest":
        raise ValueError(
            "antialias=True needs interpolation 'bilinear' or 'bicubic'; pass antialias=False with 'nearest'."
        )
    old_grid = table_grid(pos_embed, old_grid, num_prefix_tokens, "old_grid")
    new_grid = int_pair(new_grid, "new_grid", example=(4, 4))
    if new_grid == old_grid:
        return pos_embed
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    d = pos_embed.shape[-1]
    work_dtype = torch.float64 if pos_embed.dtype == torch.float64 else torch.float32
    grid = grid.reshape(1, *old_grid, d).permute(0, 3, 1, 2).to(work_dtype)  # (1, D, gh, gw): channels as images
    grid = F.interpolate(grid, size=new_grid, mode=interpolation, antialias=antialias, **_corners(interpolation))
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_grid[0] * new_grid[1], d).to(pos_embed.dtype)
    return torch.cat([prefix, grid], dim=1)


def _corners(interpolation: str) -> dict:
    return {} if interpolation == "nearest" else {"align_corners": False}
