"""Figures for :mod:`vitlib.analysis` (notebooks 06 and 08): attention distance, rollout beside last-layer attention.

Built with ``matplotlib.figure.Figure`` and :mod:`vitlib.viz`'s helpers only;
heat maps are drawn one block per patch over the grey image, with a colour bar.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from .core import (
    HEAT_CMAP,
    LINE_COLORS,
    MARKERS,
    add_colorbar,
    new_figure,
    overlay_heatmap,
    set_description,
    to_numpy_image,
)

__all__ = ["plot_attention_distance", "plot_rollout_comparison"]


def plot_attention_distance(
    distance: torch.Tensor,
    *,
    largest: float | None = None,
    uniform: float | None = None,
    title: str | None = None,
    size: float = 3.2,
) -> Figure:
    """The ViT paper's figure 7 (right) for one model: ``(depth, heads)`` distances in pixels.

    Layer on the x axis, one dot per head (one colour and marker per head, the same
    across layers). ``largest`` (the largest distance on the grid) and
    ``uniform`` (the distance of attention spread evenly over all patches)
    are drawn as dashed reference lines when given.
    """
    if not isinstance(distance, torch.Tensor) or distance.dim() != 2:
        raise ValueError(
            "distance must be the (depth, heads) tensor that vitlib.analysis.mean_attention_distance returns; got "
            f"{tuple(distance.shape) if isinstance(distance, torch.Tensor) else type(distance).__name__}."
        )
    values = distance.detach().float().cpu().numpy()
    depth, heads = values.shape
    fig = new_figure(size * 1.35, size)
    ax = fig.subplots()
    for h in range(heads):
        style = {"color": LINE_COLORS[h % len(LINE_COLORS)], "marker": MARKERS[h % len(MARKERS)]}
        ax.scatter(range(depth), values[:, h], s=28, label=f"head {h}", zorder=3, **style)
    for y, text in ((largest, "largest distance on the grid"), (uniform, "attention spread evenly")):
        if y is not None:
            ax.axhline(y, color="grey", lw=0.8, ls="--", zorder=1)
            ax.text(depth - 0.6, y, text, fontsize=7, va="bottom", ha="right", color="dimgrey")
    ax.set_xticks(range(depth), [str(i) for i in range(depth)])
    ax.set_xlim(-0.5, depth - 0.5)
    top = max(float(values.max()), largest or 0.0)
    ax.set_ylim(0, top * 1.12 if top > 0 else 1)
    ax.set_xlabel("layer (block)", fontsize=8)
    ax.set_ylabel("mean attention distance (pixels)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncols=min(heads, 4), loc="lower right")
    ax.set_title(title or "how far each head looks", fontsize=9)
    references = ((largest, "the largest distance on the grid"), (uniform, "attention spread evenly"))
    lines = [f"{text} at {y:.1f}" for y, text in references if y is not None]
    per_layer = "; ".join(f"layer {i}: {values[i].min():.1f} to {values[i].max():.1f}" for i in range(depth))
    return set_description(
        fig,
        f"A dot chart of the mean attention distance in pixels of each of {heads} heads (one colour and marker per "
        f"head) in each of {depth} layers"
        + (f", with dashed lines for {' and '.join(lines)}" if lines else "")
        + f". Range over the heads, {per_layer}",
    )


def plot_rollout_comparison(
    images: torch.Tensor,
    panels: dict,
    *,
    titles=None,
    suptitle: str | None = None,
    size: float = 1.5,
    overlay: bool = True,
) -> Figure:
    """Each image, then one heat map per entry of ``panels`` laid over it: ``(B, C, H, W)``, ``{name: (B, gh, gw)}``.

    For example ``{"last layer [CLS]": cls_attention_maps(a, grid), "rollout": cls_rollout_maps(a, grid)}``.
    Each map is drawn one block per patch over the grey image; each row has one
    colour scale per panel column, shown by a colour bar under that column.
    ``overlay=False`` draws each map on its own beside the image instead, one cell per patch (nearest), so
    that nothing of the picture shows through it.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be (B, C, H, W); got {getattr(images, 'shape', type(images).__name__)}.")
    if not isinstance(panels, dict) or not panels:
        raise ValueError("panels must be a non-empty dict {name: (B, gh, gw) maps}.")
    b = len(images)
    for name, maps in panels.items():
        if not isinstance(maps, torch.Tensor) or maps.dim() != 3 or len(maps) != b:
            raise ValueError(
                f"panel {name!r} must be (B, gh, gw) maps with B = {b}; got {getattr(maps, 'shape', maps)}."
            )
    titles = [None] * b if titles is None else [str(t) for t in titles]
    h, w = images.shape[-2:]
    columns = ["image", *panels]
    fig = new_figure(len(columns) * size + 0.2, b * size + 1.0)
    axes = fig.subplots(b, len(columns), squeeze=False)
    for j, (_, maps) in enumerate(panels.items(), start=1):
        maps = maps.detach().float().cpu()
        vmax = float(maps.max()) if float(maps.max()) > 0 else 1.0
        for i in range(b):
            if overlay:
                im = overlay_heatmap(axes[i, j], images[i], maps[i], vmin=0.0, vmax=vmax)
            else:
                im = axes[i, j].imshow(maps[i].numpy(), cmap=HEAT_CMAP, vmin=0.0, vmax=vmax, interpolation="nearest")
        add_colorbar(fig, im, list(axes[:, j]), fontsize=6)
    for i in range(b):
        axes[i, 0].imshow(to_numpy_image(images[i]), cmap="gray", extent=(0, w, h, 0))
        axes[i, 0].set_ylabel(titles[i] or "", fontsize=8)
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(columns[j], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    names = ", ".join(str(name) for name in panels)
    return set_description(
        fig,
        f"{b} image{'s' if b > 1 else ''}, one per row, each followed by heat maps "
        f"{'laid over it' if overlay else 'beside it, one cell per patch, with nothing of the image under them'}: "
        f"{names}; each column on its own colour scale, with a colour bar under it",
    )
