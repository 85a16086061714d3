"""Two teaching diagrams: the ViT pipeline with its shapes, and attention step by step.

Like :mod:`vitlib.viz`, each function returns a ``matplotlib.figure.Figure`` and draws nothing on
screen itself (a notebook displays the returned figure; a test reads its texts and pixels).
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..checks import float_images, positive_int
from ..patches import grid_size
from .core import DIVERGING, DPI, Figure, set_description, to_numpy_image
from .patches import mosaic_array

__all__ = ["attention_steps", "pipeline_stages", "plot_attention_steps", "plot_pipeline"]


def pipeline_stages(
    image_size=32, patch_size: int = 16, *, in_chans: int = 3, embed_dim: int = 512, num_classes: int = 10
) -> list[tuple[str, str]]:
    """The stages of a ViT forward pass for one image, as ``(what, shape)`` pairs.

    ``image_size`` is an int or ``(H, W)``; the defaults are the seed's example: a ``(1, 3, 32, 32)``
    image, 16 x 16 patches, width 512. The shapes are computed, so any valid size works.
    """
    h, w = (image_size, image_size) if not isinstance(image_size, tuple | list) else tuple(image_size)
    gh, gw = grid_size((h, w), patch_size)  # raises a clear ValueError when P does not tile the image
    in_chans = positive_int(in_chans, "in_chans", example=3)
    embed_dim = positive_int(embed_dim, "embed_dim", example=512)
    num_classes = positive_int(num_classes, "num_classes", example=10)
    p, n = patch_size, gh * gw
    return [
        ("image", f"(1, {in_chans}, {h}, {w})"),
        (f"cut into {n} patches\n{gh} × {gw} grid of {p} × {p}", f"(1, {n}, {in_chans}, {p}, {p})"),
        ("flatten each patch\n(C, P, P) order", f"(1, {n}, {in_chans * p * p})"),
        ("linear projection\nshared by all patches", f"(1, {n}, {embed_dim})"),
        ("prepend [CLS]", f"(1, {n + 1}, {embed_dim})"),
        ("+ position embeddings", f"(1, {n + 1}, {embed_dim})"),
        ("Transformer encoder\nblock × L", f"(1, {n + 1}, {embed_dim})"),
        ("[CLS] output\ntoken 0, final norm", f"(1, {embed_dim})"),
        ("head: linear", f"(1, {num_classes}) logits"),
    ]


def _box(ax, x: float, y: float, w: float, h: float, what: str, shape: str, color: str, low: bool) -> None:
    """One stage: a rounded box with what happens and the resulting shape (``low``: leave the top for a picture)."""
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.01,rounding_size=0.02", fc=color, ec="0.3"))
    ax.text(x + w / 2, y + h * (0.36 if low else 0.64), what, ha="center", va="center", fontsize=7.5)
    ax.text(x + w / 2, y + h * (0.1 if low else 0.2), shape, ha="center", va="center", fontsize=7.5,
            family="monospace", weight="bold")  # fmt: skip


def _arrow(ax, start, end) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, color="0.25", lw=1))


def plot_pipeline(
    image: torch.Tensor | None = None,
    patch_size: int = 16,
    *,
    embed_dim: int = 512,
    num_classes: int = 10,
    size: float = 8.4,
) -> Figure:
    """The ViT paper's figure 1 redrawn with shapes: image -> patches -> tokens -> ... -> head.

    ``image`` is an optional ``(C, H, W)`` or ``(1, C, H, W)`` image drawn in the first two boxes
    (whole, then cut into its patches); without one the seed's ``(1, 3, 32, 32)`` shapes are used and
    the boxes hold only text. Returns a Figure ``size`` inches wide, two rows of boxes.
    """
    if image is not None:
        image = float_images(image, "image", ndim=4 if getattr(image, "ndim", 0) == 4 else 3)
        if image.dim() == 4:
            if image.shape[0] != 1:
                raise ValueError(f"image must be one image (C, H, W) or (1, C, H, W); got {tuple(image.shape)}.")
            image = image[0]
        c, h, w = image.shape
    else:
        c, h, w = 3, 32, 32
    stages = pipeline_stages((h, w), patch_size, in_chans=c, embed_dim=embed_dim, num_classes=num_classes)
    fig = Figure(figsize=(size, size * 0.4), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    top, bottom = stages[:5], stages[5:]
    bw, bh, gap = 0.17, 0.34, (1 - 5 * 0.17) / 6
    colors = ["#dbe9f6"] * 3 + ["#fde2c8", "#e4d7f5", "#e4d7f5", "#d4efd2", "#fff2b3", "#fff2b3"]
    places = [(gap + i * (bw + gap), 0.56) for i in range(len(top))]
    places += [(gap + (i + 0.5) * (bw + gap), 0.08) for i in range(len(bottom))]
    for i, ((x, y), (what, shape), color) in enumerate(zip(places, stages, colors, strict=True)):
        _box(ax, x, y, bw, bh, what, shape, color, low=image is not None and i < 2)
    for (x0, y0), (x1, y1) in zip(places[:4], places[1:5], strict=True):
        _arrow(ax, (x0 + bw, y0 + bh / 2), (x1, y1 + bh / 2))
    for (x0, y0), (x1, y1) in zip(places[5:-1], places[6:], strict=True):
        _arrow(ax, (x0 + bw, y0 + bh / 2), (x1, y1 + bh / 2))
    (x4, y4), (x5, y5) = places[4], places[5]
    _arrow(ax, (x4 + bw / 2, y4), (x5 + bw / 2, y5 + bh))
    ax.text(0.5, 0.97, "Vision Transformer, one image: each stage and the shape it gives", ha="center", va="top",
            fontsize=9)  # fmt: skip
    if image is not None:
        width, height = fig.get_size_inches()
        inset_h = 0.5 * bh  # as a fraction of the figure's height; the width keeps the pixels square
        inset_w = inset_h * height / width * w / h
        pictures = (to_numpy_image(image), mosaic_array(image, patch_size))
        for (x, y), picture in zip(places[:2], pictures, strict=True):
            inset = fig.add_axes((x + bw / 2 - inset_w / 2, y + 0.45 * bh, inset_w, inset_h))
            inset.imshow(picture, interpolation="nearest")
            inset.set_axis_off()
    flow = " → ".join(f"{', '.join(what.splitlines())}: {shape}" for what, shape in stages)
    pictured = " (the first two boxes show the image, whole and cut into its patches)" if image is not None else ""
    what = "A diagram of a Vision Transformer's forward pass for one image, each stage with its shape"
    return set_description(fig, f"{what}{pictured}: {flow}")


def _one_head(t, name: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (N, d); got {type(t).__name__}.")
    while t.dim() > 2 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 2:
        raise ValueError(
            f"{name} must be one head's (N, d) tokens (leading dimensions of size 1 are dropped); "
            f"got shape {tuple(t.shape)}. Pick one image and head, e.g. q[0, 0]."
        )
    return t.detach().float().cpu()


def attention_steps(q, k, v) -> dict[str, torch.Tensor]:
    """The intermediate tensors of scaled dot-product attention for one head.

    ``q``, ``k``, ``v``: ``(N, d)`` (leading dimensions of size 1 allowed). Returns a dict with
    ``"Q"``, ``"K"``, ``"V"`` ``(N, d)``, ``"scores"`` ``(N, N)`` = Q Kᵀ / √d, ``"weights"``
    ``(N, N)`` = softmax over each row, and ``"output"`` ``(N, d)`` = weights V.
    """
    q, k, v = _one_head(q, "q"), _one_head(k, "k"), _one_head(v, "v")
    if q.shape != k.shape or k.shape[0] != v.shape[0]:
        raise ValueError(
            f"q and k must have the same shape (N, d), and v as many rows N; got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}."
        )
    scores = q @ k.T / q.shape[-1] ** 0.5
    weights = scores.softmax(dim=-1)
    return {"Q": q, "K": k, "V": v, "scores": scores, "weights": weights, "output": weights @ v}


NUMBER_SIZE = 7.5  # points: about 8 px at the figures' 80 dpi, the smallest text a projector still shows


def _matrix(fig: Figure, ax, array: np.ndarray, title: str, rows: list[str], cols: list[str] | None, *, signed: bool):
    """One panel: ``signed`` values on a diverging scale centred on 0, else weights on a 0-based one."""
    if signed:
        bound = max(float(np.abs(array).max()), 1e-6)
        image = ax.imshow(array, cmap=DIVERGING, aspect="auto", interpolation="nearest", vmin=-bound, vmax=bound)
    else:
        image = ax.imshow(array, cmap="magma", aspect="auto", interpolation="nearest", vmin=0)
    ax.set_title(title, fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    if cols is None:
        ax.set_xticks([])
        ax.set_xlabel(f"{array.shape[1]} features", fontsize=7)
    else:
        ax.set_xticks(range(len(cols)), cols, fontsize=7, rotation=90)
        ax.set_xlabel("key", fontsize=7)
        if array.shape[0] <= 8:  # write the numbers into the small square maps
            for i in range(array.shape[0]):
                for j in range(array.shape[1]):
                    shade = float(image.norm(array[i, j]))
                    light = abs(shade - 0.5) > 0.35 if signed else shade < 0.5
                    ax.text(j, i, f"{array[i, j]:.2f}", ha="center", va="center", fontsize=NUMBER_SIZE,
                            color="white" if light else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02).ax.tick_params(labelsize=6)
    return image


def plot_attention_steps(q, k, v, *, num_prefix_tokens: int = 1, size: float = 2.1, title: str | None = None) -> Figure:
    """Attention step by step for one head: Q, K, the scores Q Kᵀ / √d, the softmax, the output.

    ``q``, ``k``, ``v`` are ``(N, d)`` (leading dimensions of size 1 allowed), e.g. the seed's 5 tokens.
    Five panels, each with its colour bar (their quantities differ); the two ``(N, N)`` maps carry
    their numbers (wider panels, so that the numbers are readable), and row i of the weights sums to 1.
    Token labels: [CLS], then patch 0, 1, ... ``title`` goes above the five panels (say where the
    weights came from, e.g. "random weights").
    """
    steps = attention_steps(q, k, v)
    n, d = steps["Q"].shape
    labels = ["[CLS]"] * num_prefix_tokens + [f"patch {i}" for i in range(n - num_prefix_tokens)]
    short = ["CLS"] * num_prefix_tokens + [f"p{i}" for i in range(n - num_prefix_tokens)]
    height = size * 1.05 + 0.4 + (0.25 if title else 0.0)
    fig = Figure(figsize=(5 * size + 0.6, height), dpi=DPI, layout="constrained")
    if title:
        fig.suptitle(title, fontsize=9)
    axes = fig.subplots(1, 5, width_ratios=[1, 1, 1.6, 1.6, 1])
    _matrix(fig, axes[0], steps["Q"].numpy(), f"1. queries Q  ({n}, {d})", labels, None, signed=True)
    _matrix(fig, axes[1], steps["K"].numpy(), f"2. keys K  ({n}, {d})", labels, None, signed=True)
    _matrix(fig, axes[2], steps["scores"].numpy(), f"3. Q Kᵀ / √{d}  ({n}, {n})", labels, short, signed=True)
    _matrix(fig, axes[3], steps["weights"].numpy(), f"4. softmax per row  ({n}, {n})", labels, short, signed=False)
    _matrix(fig, axes[4], steps["output"].numpy(), f"5. weights · V  ({n}, {d})", labels, None, signed=True)
    for ax in axes[1:]:
        ax.set_yticklabels([])
    axes[0].set_ylabel("token (query row)", fontsize=7)
    return set_description(
        fig,
        f"Scaled dot-product attention for one head and {n} tokens, in five heat maps from left to right, each with "
        "its colour bar: the queries, the keys, the scores, the softmax weights (each row sums to 1) and the output; "
        "the square maps have their numbers written in",
    )
