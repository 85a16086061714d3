"""Pictures of what the notebooks compute. Every function returns a
``matplotlib.figure.Figure`` and draws nothing on screen itself, so figures
are testable without a display and widgets can reuse them.

Figures are small on purpose: they are stored inside the notebooks.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from matplotlib.figure import Figure

from .patches import grid_size, patchify

__all__ = [
    "figure_to_bytes",
    "mosaic_array",
    "plot_image",
    "plot_patch_explorer",
    "plot_patch_grid",
    "plot_patch_mosaic",
    "plot_token_matrix",
    "to_numpy_image",
]

DPI = 80
FORMAT = "jpeg"  # photos are 6x smaller as JPEG than as PNG, and figures are stored in notebooks


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def figure_to_bytes(fig: Figure, *, format: str = FORMAT, dpi: int = DPI) -> bytes:
    """The encoded image of a figure, JPEG by default (for widgets and tests)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=format, dpi=dpi)
    return buffer.getvalue()


def to_numpy_image(image: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` tensor in [0, 1] -> ``(H, W, C)`` or ``(H, W)`` array for ``imshow``."""
    if image.dim() != 3:
        raise ValueError(f"image must be 3-D (C, H, W); got shape {tuple(image.shape)}. Use images[0] for a batch.")
    array = image.detach().float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
    return array[..., 0] if array.shape[-1] == 1 else array


def plot_image(image: torch.Tensor, *, title: str | None = None, size: float = 3.0) -> Figure:
    """One ``(C, H, W)`` image."""
    h, w = image.shape[-2:]
    fig = _figure(size * w / max(h, w) + 0.2, size * h / max(h, w) + (0.4 if title else 0.2))
    ax = fig.add_subplot()
    ax.imshow(to_numpy_image(image), cmap="gray")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_patch_grid(image: torch.Tensor, patch_size: int, *, show_indices: bool = True, size: float = 3.6) -> Figure:
    """A ``(C, H, W)`` image with the patch grid drawn on it and each patch's token index."""
    gh, gw = grid_size(image.shape[-2:], patch_size)
    h, w = image.shape[-2:]
    fig = _figure(size * w / max(h, w) + 0.2, size * h / max(h, w) + 0.5)
    ax = fig.add_subplot()
    ax.imshow(to_numpy_image(image), cmap="gray", extent=(0, w, h, 0))
    for r in range(1, gh):
        ax.axhline(r * patch_size, color="white", lw=0.8)
    for c in range(1, gw):
        ax.axvline(c * patch_size, color="white", lw=0.8)
    if show_indices and gh * gw <= 400:
        fontsize = max(4, min(10, 120 / max(gh, gw)))
        for r in range(gh):
            for c in range(gw):
                ax.text(
                    (c + 0.5) * patch_size,
                    (r + 0.5) * patch_size,
                    str(r * gw + c),
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color="white",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "black", "alpha": 0.45, "lw": 0},
                )
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{gh} x {gw} grid of {patch_size} x {patch_size} patches: N = {gh * gw}", fontsize=9)
    return fig


def mosaic_array(image: torch.Tensor, patch_size: int, *, gap: int | None = None) -> np.ndarray:
    """The patches pulled apart by a white gap, in token order: ``(C, H, W) -> (H', W', C)``."""
    c, h, w = image.shape
    gh, gw = grid_size((h, w), patch_size)
    gap = max(1, patch_size // 8) if gap is None else gap
    tiles = patchify(image[None], patch_size)[0].reshape(gh, gw, c, patch_size, patch_size)
    cell = patch_size + gap
    canvas = torch.ones(c, gh * cell + gap, gw * cell + gap)
    for r in range(gh):
        for col in range(gw):
            top, left = gap + r * cell, gap + col * cell
            canvas[:, top : top + patch_size, left : left + patch_size] = tiles[r, col]
    return to_numpy_image(canvas)


def plot_patch_mosaic(image: torch.Tensor, patch_size: int, *, size: float = 3.6) -> Figure:
    """The patch grid pulled apart: each tile is one token, read left to right, top to bottom."""
    array = mosaic_array(image, patch_size)
    h, w = array.shape[:2]
    fig = _figure(size * w / max(h, w) + 0.2, size * h / max(h, w) + 0.5)
    ax = fig.add_subplot()
    ax.imshow(array, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    gh, gw = grid_size(image.shape[-2:], patch_size)
    ax.set_title(f"{gh * gw} patches, pulled apart", fontsize=9)
    return fig


def plot_token_matrix(patches: torch.Tensor, *, max_tokens: int = 256, size: float = 3.6) -> Figure:
    """The ``(N, C*P*P)`` token matrix as an image: one row per token."""
    if patches.dim() == 3:
        patches = patches[0]
    if patches.dim() != 2:
        raise ValueError(f"patches must be (N, C*P*P) or (1, N, C*P*P); got shape {tuple(patches.shape)}.")
    n, d = patches.shape
    shown = patches[:max_tokens].detach().float().cpu().numpy()
    fig = _figure(size + 0.6, size * 0.8 + 0.5)
    ax = fig.add_subplot()
    ax.imshow(shown, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_xlabel(f"C·P·P = {d} values per token", fontsize=8)
    ax.set_ylabel(f"token (N = {n}{f', first {max_tokens} shown' if n > max_tokens else ''})", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"token matrix: {n} x {d}", fontsize=9)
    return fig


def plot_patch_explorer(image: torch.Tensor, patch_size: int, *, max_tokens: int = 256) -> Figure:
    """Three panels side by side: the patch grid, the mosaic, the token matrix."""
    gh, gw = grid_size(image.shape[-2:], patch_size)
    fig = _figure(10.5, 3.6)
    grid_ax, mosaic_ax, token_ax = fig.subplots(1, 3, width_ratios=[1, 1, 1.1])
    h, w = image.shape[-2:]
    grid_ax.imshow(to_numpy_image(image), cmap="gray", extent=(0, w, h, 0))
    for r in range(1, gh):
        grid_ax.axhline(r * patch_size, color="white", lw=0.7)
    for c in range(1, gw):
        grid_ax.axvline(c * patch_size, color="white", lw=0.7)
    grid_ax.set_axis_off()
    grid_ax.set_title(f"{gh} x {gw} grid of {patch_size} px patches", fontsize=9)
    mosaic_ax.imshow(mosaic_array(image, patch_size), cmap="gray", interpolation="nearest")
    mosaic_ax.set_axis_off()
    mosaic_ax.set_title(f"N = {gh * gw} patches = tokens", fontsize=9)
    tokens = patchify(image[None], patch_size)[0]
    n, d = tokens.shape
    token_ax.imshow(tokens[:max_tokens].numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
    token_ax.set_title(f"token matrix {n} x {d}", fontsize=9)
    token_ax.set_xlabel(f"C·P·P = {d}", fontsize=8)
    token_ax.set_ylabel("token" + (f" (first {max_tokens})" if n > max_tokens else ""), fontsize=8)
    token_ax.tick_params(labelsize=7)
    return fig
