"""Pictures of notebook 04: position tables and how similar each position is to every other."""

from __future__ import annotations

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import checks
from ..analysis import position_similarity
from .core import DIVERGING, add_colorbar, new_figure, set_description, tile_array

__all__ = ["plot_pos_embed_channels", "plot_pos_tables", "plot_position_similarity"]

FRAME = "black"  # the query's frame: clear on the white gaps and on viridis's light end, for every colour vision


def plot_position_similarity(
    pos_embed: torch.Tensor,
    grid=None,
    *,
    query: int | None = None,
    num_prefix_tokens: int = 1,
    title: str | None = None,
    vmin: float | None = None,
    size: float = 4.0,
) -> Figure:
    """The ViT paper's figure 7: the cosine similarity of each position with every other.

    ``pos_embed`` ``(1, P+gh*gw, D)``. Panel ``(r, c)`` of the mosaic is a ``gh x gw`` map: how similar
    the position of patch ``(r, c)`` is to each position. With ``query`` the panel of that patch is
    framed and drawn large beside the mosaic. Colours run from ``vmin`` (default: the smallest
    similarity, for contrast; the paper uses -1) to 1, on one colour bar for both panels.
    """
    sim = position_similarity(pos_embed, grid, num_prefix_tokens=num_prefix_tokens).cpu().numpy()
    n, gh, gw = sim.shape
    if query is not None:
        query = checks.nonnegative_int(query, "query", example=0)
        if query >= n:
            raise ValueError(f"query must be a patch index in 0..{n - 1}; got {query}.")
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
    vmin = float(min(sim.min(), 0.99)) if vmin is None else checks.real(vmin, "vmin", example=-1)
    wide = query is not None
    fig = new_figure(size * (2.1 if wide else 1) + 0.7, size + 0.5)
    axes = fig.subplots(1, 2 if wide else 1, squeeze=False)[0]
    mosaic = tile_array(sim, ncols=gw, gap=1, fill=np.nan)
    image = axes[0].imshow(mosaic, cmap=cmap, vmin=vmin, vmax=1, interpolation="nearest")
    axes[0].set_xticks([c * (gw + 1) + (gw - 1) / 2 for c in range(gw)], [str(c) for c in range(gw)])
    axes[0].set_yticks([r * (gh + 1) + (gh - 1) / 2 for r in range(gh)], [str(r) for r in range(gh)])
    axes[0].tick_params(labelsize=max(4, min(8, 100 / max(gh, gw))), length=0)
    axes[0].set_xlabel("input patch column", fontsize=8)
    axes[0].set_ylabel("input patch row", fontsize=8)
    axes[0].set_title(title or f"position similarity, {gh} x {gw} grid", fontsize=9)
    if wide:
        r, c = divmod(query, gw)
        axes[0].add_patch(
            Rectangle((c * (gw + 1) - 0.9, r * (gh + 1) - 0.9), gw + 0.8, gh + 0.8, fill=False, ec=FRAME, lw=1.5)
        )
        axes[1].imshow(sim[query], cmap=cmap, vmin=vmin, vmax=1, interpolation="nearest")
        axes[1].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec=FRAME, lw=2))
        axes[1].set_xticks([])
        axes[1].set_yticks([])
        axes[1].set_title(f"patch {query} (row {r}, col {c}) vs. every position", fontsize=9)
    add_colorbar(fig, image, list(axes), label="cosine similarity")
    beside = ""
    if wide:
        beside = f"; the map of patch {query} (row {r}, column {c}) framed in black, and drawn large beside the mosaic"
    return set_description(
        fig,
        f"The cosine similarity of each position embedding with every other, as a {gh} x {gw} mosaic of small {gh} x "
        f"{gw} maps: the map at row r, column c shows how similar the position of that patch is to each position, from "
        f"dark (least similar, {vmin:.2f}) to yellow (1){beside}",
    )


def plot_pos_embed_channels(
    tables: dict, *, channels=(0, 1, 2, 3), num_prefix_tokens: int = 1, size: float = 1.5
) -> Figure:
    """Some channels of position tables, each drawn on its patch grid: one row per table.

    ``tables`` maps a label to ``(pos_embed, grid)`` (``pos_embed`` ``(1, P+gh*gw, D)``; ``grid`` may be
    ``None`` for a square one), e.g. a table before and after :func:`resize_pos_embed`. Each channel
    (column) has one colour scale for all tables, symmetric around 0, with a colour bar.
    """
    channels = list(channels)
    maps = {}
    for label, (table, grid) in tables.items():
        gh, gw = position_similarity(table, grid, num_prefix_tokens=num_prefix_tokens).shape[-2:]  # checks the grid
        maps[label] = table[0, num_prefix_tokens:].detach().float().cpu().reshape(gh, gw, -1)
    fig = new_figure(size * len(channels) + 1.2, size * len(tables) + 0.5)
    axes = fig.subplots(len(tables), len(channels), squeeze=False)
    for col, k in enumerate(channels):
        limit = max(float(m[..., k].abs().max()) for m in maps.values()) or 1.0
        for row, (label, table_maps) in enumerate(maps.items()):
            ax = axes[row, col]
            picture = ax.imshow(
                table_maps[..., k].numpy(), cmap=DIVERGING, vmin=-limit, vmax=limit, interpolation="nearest"
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"channel {k}", fontsize=8)
            if col == 0:
                gh, gw = table_maps.shape[:2]
                ax.set_ylabel(f"{label}\n{gh} x {gw}", fontsize=8)
        bar = fig.colorbar(picture, ax=list(axes[:, col]), location="bottom", shrink=0.8, pad=0.02)
        bar.ax.tick_params(labelsize=6)
        bar.set_label(f"channel {k}'s value", fontsize=7)
    names = ", ".join(f"{label} ({m.shape[0]} x {m.shape[1]})" for label, m in maps.items())
    return set_description(
        fig,
        f"Channels {', '.join(map(str, channels))} of {len(maps)} position table{'s' if len(maps) > 1 else ''}, each "
        "channel drawn on its patch "
        f"grid on a blue-to-red scale (blue negative, white 0, red positive): one row per table, {names}; one column "
        "per channel, with a colour bar under each",
    )


def plot_pos_tables(tables: dict, *, num_prefix_tokens: int = 1, size: float = 3.0) -> Figure:
    """Position tables side by side as ``(positions, D)`` heatmaps, e.g. learned vs. sin-cos; each
    ``(1, P+N, D)`` table with its own colour bar (their scales differ), symmetric around 0."""
    fig = new_figure(size * len(tables) + 0.9 * len(tables), size * 0.8 + 0.5)
    axes = fig.subplots(1, len(tables), squeeze=False)[0]
    for ax, (label, table) in zip(axes, tables.items(), strict=True):
        array = table[0, num_prefix_tokens:].detach().float().cpu().numpy()
        limit = float(np.abs(array).max()) or 1.0
        picture = ax.imshow(array, aspect="auto", cmap=DIVERGING, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(f"channel (D = {array.shape[1]})", fontsize=8)
        ax.set_ylabel(f"position (N = {array.shape[0]})", fontsize=8)
        ax.tick_params(labelsize=7)
        add_colorbar(fig, picture, ax, label="value")
    return set_description(
        fig,
        ("A position table" if len(tables) == 1 else f"{len(tables)} position tables side by side, each")
        + " as a heat map with one row per position and one column per channel, on a blue-to-red scale (blue "
        "negative, white 0, red positive)",
    )
