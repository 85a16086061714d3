"""Pictures of notebooks 05-06: attention matrices, and what a token attends to laid over the image.

Tokens are named the same way everywhere (ticks, titles, widget readouts): ``[CLS]``, ``patch 0``,
``patch 1``, ... (:func:`token_name`); token index ``i >= 1`` is ``patch i - 1``.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import analysis, checks
from ..patches import grid_size
from .core import add_colorbar, draw_patch_lines, grey, new_figure, overlay_heatmap, set_description, to_numpy_image

__all__ = [
    "plot_attention",
    "plot_attention_panel",
    "plot_cls_attention",
    "plot_cls_attention_heads",
    "token_labels",
    "token_name",
]

MATRIX_CMAP = "magma"


def token_name(index: int, *, num_prefix_tokens: int = 1) -> str:
    """The name of token ``index``: ``"[CLS]"`` for the prefix token(s), else ``"patch k"``."""
    index = checks.nonnegative_int(index, "index", example=0)
    if index < num_prefix_tokens:
        return "[CLS]" if num_prefix_tokens == 1 else f"prefix {index}"
    return f"patch {index - num_prefix_tokens}"


def token_labels(num_tokens: int, *, num_prefix_tokens: int = 1) -> list[str]:
    """Tick labels for a token axis: ``["[CLS]", "0", "1", ...]``, the patch numbers of :func:`token_name`."""
    num_tokens = checks.nonnegative_int(num_tokens, "num_tokens", example=5)
    return ["[CLS]"] * min(num_prefix_tokens, num_tokens) + [str(i) for i in range(num_tokens - num_prefix_tokens)]


def _check_attention_matrix(weights: torch.Tensor) -> np.ndarray:
    if not isinstance(weights, torch.Tensor) or weights.dim() != 2 or weights.shape[0] != weights.shape[1]:
        shape = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
        raise ValueError(
            f"weights must be one square attention matrix (N, N); got {shape}. Pick one: attention[layer, image, head]."
        )
    return weights.detach().float().cpu().numpy()


def _draw_attention_matrix(ax, array: np.ndarray, *, num_prefix_tokens: int, query, vmin: float, vmax: float):
    n = array.shape[0]
    image = ax.imshow(array, cmap=MATRIX_CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
    if n <= 40:
        labels = token_labels(n, num_prefix_tokens=num_prefix_tokens)
        ax.set_xticks(range(n), labels, fontsize=max(4, min(8, 160 / n)), rotation=90 if n > 12 else 0)
        ax.set_yticks(range(n), labels, fontsize=max(4, min(8, 160 / n)))
    ax.set_xlabel("key: the token looked at ([CLS], patch 0, 1, …)", fontsize=8)
    ax.set_ylabel("query: the token looking", fontsize=8)
    if query is not None:
        ax.add_patch(Rectangle((-0.5, query - 0.5), n, 1, fill=False, ec="cyan", lw=1.5))
    return image


def plot_attention(
    weights,
    *,
    num_prefix_tokens: int = 1,
    query: int | None = None,
    title: str | None = None,
    vmin: float = 0.0,
    vmax: float | None = None,
    size=3.2,
) -> Figure:
    """Attention matrices ``(N, N)`` as heatmaps: row i is how much token i takes from each token.

    ``weights`` is one matrix, or a dict ``{title: matrix}`` drawn side by side on ONE colour scale
    (``vmin`` to ``vmax``, default 0 to the largest weight of all panels) with one colour bar, so that
    the panels can be compared. Every row sums to 1. ``query`` frames one row.
    """
    panels = weights if isinstance(weights, dict) else {title or "": weights}
    arrays = {name: _check_attention_matrix(w) for name, w in panels.items()}
    if not arrays:
        raise ValueError("give at least one attention matrix.")
    vmin = checks.real(vmin, "vmin", example=0.0)
    top = max(float(a.max()) for a in arrays.values()) if vmax is None else checks.real(vmax, "vmax", example=1.0)
    if top <= vmin:
        raise ValueError(f"vmax must be larger than vmin={vmin}; got {top}.")
    fig = new_figure(len(arrays) * (size + 0.2) + 0.9, size + 0.4)
    axes = fig.subplots(1, len(arrays), squeeze=False)[0]
    for ax, (name, array) in zip(axes, arrays.items(), strict=True):
        image = _draw_attention_matrix(ax, array, num_prefix_tokens=num_prefix_tokens, query=query, vmin=vmin, vmax=top)
        ax.set_title(name or f"attention weights, {array.shape[0]} tokens", fontsize=9)
    add_colorbar(fig, image, list(axes), label="attention weight")
    what = "An attention matrix" if len(arrays) == 1 else f"{len(arrays)} attention matrices side by side"
    framed = f"; the row of token {query} is framed" if query is not None else ""
    return set_description(
        fig,
        f"{what} as heat maps on one colour scale: row i, the query, is how much token i takes from each token (the "
        f"key), and every row sums to 1{framed}",
    )


def plot_attention_panel(
    image: torch.Tensor,
    weights: torch.Tensor,
    patch_size: int,
    *,
    query: int = 0,
    num_prefix_tokens: int = 1,
    title: str | None = None,
    size: float = 2.6,
) -> Figure:
    """An attention matrix ``(1+N, 1+N)`` beside the ``(C, H, W)`` image it was computed on.

    Three panels: the matrix with the query's row framed; that row of token ``query`` (0 is [CLS]) drawn
    patch for patch on the patch grid, one flat colour per patch (the weights are per patch: nothing is
    smoothed across patch borders), with each weight written in its patch when there are at most 16; and
    the image, pixel for pixel (nearest), with the same grid. The query's own patch is framed in both. The
    matrix and the patch map share one colour scale and one colour bar.
    """
    array = _check_attention_matrix(weights)
    gh, gw = grid_size(image.shape[-2:], patch_size)
    n = array.shape[0]
    if n != num_prefix_tokens + gh * gw:
        raise ValueError(
            f"the attention covers {n} tokens but a {tuple(image.shape[-2:])} image in {patch_size} px patches gives "
            f"{num_prefix_tokens} + {gh}x{gw} = {num_prefix_tokens + gh * gw}; pass the image the attention came from."
        )
    query = checks.nonnegative_int(query, "query", example=0)
    if query >= n:
        raise ValueError(f"query must be a token index in 0..{n - 1} (0 is [CLS]); got {query}.")
    top = max(float(array.max()), 1e-6)
    fig = new_figure(3 * size + 1.2, size + 0.9)
    left, right, middle = fig.subplots(1, 3, width_ratios=[1.25, 1, 1])  # matrix, its row per patch, image
    heat = _draw_attention_matrix(left, array, num_prefix_tokens=num_prefix_tokens, query=query, vmin=0.0, vmax=top)
    left.set_title(title or "attention weights", fontsize=9)
    h, w = image.shape[-2:]
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)  # both pictures in pixel coordinates, patch edges at k * P - 0.5
    middle.imshow(grey(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest", extent=extent)
    middle.set_title(f"the image, {gh} x {gw} patches", fontsize=9)
    row = array[query, num_prefix_tokens:].reshape(gh, gw)
    right.imshow(row, cmap=MATRIX_CMAP, vmin=0.0, vmax=top, interpolation="nearest", extent=extent)
    if gh * gw <= 16:
        for r in range(gh):
            for c in range(gw):
                light = row[r, c] < 0.5 * top
                right.text((c + 0.5) * patch_size - 0.5, (r + 0.5) * patch_size - 0.5, f"{row[r, c]:.2f}",
                           ha="center", va="center", fontsize=8, color="white" if light else "black")  # fmt: skip
    name = token_name(query, num_prefix_tokens=num_prefix_tokens)
    right.set_title(f"what {name} looks at, per patch", fontsize=9)
    for ax in (middle, right):
        draw_patch_lines(ax, (gh, gw), patch_size, color="tab:cyan", lw=0.8)
        if query >= num_prefix_tokens:
            r, c = divmod(query - num_prefix_tokens, gw)
            xy = (c * patch_size - 0.5, r * patch_size - 0.5)
            ax.add_patch(Rectangle(xy, patch_size, patch_size, fill=False, ec="cyan", lw=2.5))
        ax.set_xticks([])
        ax.set_yticks([])
    add_colorbar(fig, heat, [left, right, middle], label="attention weight")
    top = int(row.argmax())
    return set_description(
        fig,
        f"Left, an attention matrix of {n} tokens as a heat map, the row of {name} framed; middle, the image pixel for "
        f"pixel with its patch grid; right, the weights {name} gives each patch drawn on the patch grid, largest "
        f"({row.max():.2f}) on patch {top} (row {top // gw}, column {top % gw})",
    )


def plot_cls_attention_heads(
    images: torch.Tensor,
    attention: torch.Tensor,
    patch_size: int,
    *,
    layer: int = -1,
    titles=None,
    vmax: float | None = None,
    size: float = 1.1,
) -> Figure:
    """[CLS]'s attention over each image, one column per head (and their mean): ``(B, C, H, W)`` images,
    ``(depth, B, heads, 1+N, 1+N)`` attention. Each map is drawn one block per patch over the grey image, all on
    one colour scale (0 to ``vmax``, default the largest weight shown) with one colour bar."""
    attention = checks.attention_maps(attention)
    depth, b, heads = attention.shape[:3]
    if len(images) != b:
        raise ValueError(f"got {len(images)} images but attention for {b}; pass the images the attention came from.")
    layer = checks.whole(layer, "layer", example=-1)
    if not -depth <= layer < depth:
        raise ValueError(f"layer must be in {-depth}..{depth - 1}; got {layer}.")
    titles = [None] * b if titles is None else list(titles)
    if len(titles) != b:
        raise ValueError(f"got {len(titles)} titles for {b} images; pass one title per image.")
    gh, gw = grid_size(images.shape[-2:], patch_size)
    rows = analysis.cls_rows(attention, layer=layer).cpu()  # (B, heads, N)
    maps = torch.cat([rows, rows.mean(1, keepdim=True)], dim=1).reshape(b, heads + 1, gh, gw)
    top = float(maps.max()) if vmax is None else checks.positive_float(vmax, "vmax", example=1.0)
    columns = ["image"] + [f"head {k}" for k in range(heads)] + ["mean of heads"]
    fig = new_figure(len(columns) * size + 1.0, b * size + 0.5)
    axes = fig.subplots(b, len(columns), squeeze=False)
    for i in range(b):
        axes[i, 0].imshow(to_numpy_image(images[i]), cmap="gray")
        axes[i, 0].set_ylabel(titles[i] or "", fontsize=8)
        for j in range(heads + 1):
            overlay = overlay_heatmap(axes[i, j + 1], images[i], maps[i, j], vmax=top)
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(columns[j], fontsize=8)
    add_colorbar(fig, overlay, axes[:, 1:].ravel().tolist(), label="[CLS] attention weight")
    fig.suptitle(f"what [CLS] looks at in layer {layer % depth} (of {depth})", fontsize=9)
    peaks = "; ".join(f"{titles[i] or f'image {i}'}: {_peak(maps[i, -1], gw)}" for i in range(b))
    return set_description(
        fig,
        f"[CLS]'s attention over {b} image{'s' if b > 1 else ''}, one row each: the image, then one heat map per head "
        f"({heads}) and their mean, laid over the grey image on one colour scale. Where the mean is largest: {peaks}",
    )


def _peak(heat: torch.Tensor, gw: int) -> str:
    """Where a ``(gh, gw)`` map is largest, in words: ``"patch 5 (row 1, column 1)"``."""
    k = int(heat.flatten().argmax())
    return f"patch {k} (row {k // gw}, column {k % gw})"


def plot_cls_attention(
    images: torch.Tensor, maps: torch.Tensor, *, titles=None, vmax: float | None = None, size: float = 2.4
) -> Figure:
    """Each ``(C, H, W)`` image beside its [CLS] attention map drawn over it, one block per patch: ``(B, C, H, W)``
    images, ``(B, gh, gw)`` maps (:func:`vitlib.analysis.cls_attention_maps`), on one colour scale
    (0 to ``vmax``, default the largest weight) with one colour bar."""
    b = len(images)
    if not isinstance(maps, torch.Tensor) or maps.dim() != 3 or len(maps) != b:
        shape = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
        raise ValueError(f"maps must be (B, gh, gw) with one map per image (B = {b}); got {shape}.")
    titles = list(titles) if titles is not None else [None] * b
    if len(titles) != b:
        raise ValueError(f"got {len(titles)} titles for {b} images; pass one title per image.")
    h, w = images.shape[-2:]
    top = float(maps.max()) if vmax is None else checks.positive_float(vmax, "vmax", example=0.1)
    fig = new_figure(b * 2 * (size * w / max(h, w)) + 1.0, size * h / max(h, w) + 0.5)
    axes = fig.subplots(1, 2 * b, squeeze=False)[0]
    for i in range(b):
        axes[2 * i].imshow(to_numpy_image(images[i]), cmap="gray")
        axes[2 * i].set_title(titles[i] or "image", fontsize=8)
        overlay = overlay_heatmap(axes[2 * i + 1], images[i], maps[i], vmax=top)
        axes[2 * i + 1].set_title(f"[CLS] attention (max {float(maps[i].max()):.3f})", fontsize=8)
        for ax in axes[2 * i : 2 * i + 2]:
            ax.set_axis_off()
    add_colorbar(fig, overlay, list(axes), label="[CLS] attention weight")
    gw = maps.shape[-1]
    peaks = "; ".join(f"{titles[i] or f'image {i}'}: {_peak(maps[i], gw)}" for i in range(b))
    return set_description(
        fig,
        f"{b} image{'s' if b > 1 else ''}, each beside its [CLS] attention map laid over it as a heat map, on one "
        f"colour scale. Where each map is largest: {peaks}",
    )
