"""Pictures of notebook 02: the rows of the patch projection seen as little C x P x P filters."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from .. import checks
from .core import DIVERGING, add_colorbar, new_figure, set_description, tile_array

__all__ = ["as_filters", "plot_filter", "plot_filters"]


def as_filters(weight: torch.Tensor, in_chans: int | None = None) -> torch.Tensor:
    """A projection weight as filters: conv ``(D, C, P, P)`` or linear ``(D, C*P*P)`` ``-> (D, C, P, P)``.

    A linear weight is read in (C, P, P) order, as patchify flattens; without ``in_chans`` it is taken
    as RGB when ``C*P*P`` is 3 times a square, else as one channel (pass ``in_chans`` to be sure).
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor; got {type(weight).__name__}.")
    weight = weight.detach().float().cpu()
    if weight.dim() == 4:
        return weight
    if weight.dim() != 2:
        raise ValueError(f"weight must be (D, C, P, P) or (D, C*P*P); got shape {tuple(weight.shape)}.")
    k = weight.shape[1]
    guesses = [checks.positive_int(in_chans, "in_chans", example=3)] if in_chans is not None else [3, 1]
    for c in guesses:
        p = math.isqrt(k // c)
        if c * p * p == k:
            return weight.view(weight.shape[0], c, p, p)
    raise ValueError(f"a linear weight with {k} inputs is not C*P*P for in_chans={guesses[0]}; pass in_chans=C.")


def plot_filters(
    weight: torch.Tensor,
    *,
    in_chans: int | None = None,
    max_filters: int = 32,
    columns: int = 8,
    size: float = 5.0,
    source: str | None = None,
) -> Figure:
    """The projection rows as little ``C x P x P`` pictures, one per embedding dimension.

    ``weight`` is ``proj.weight`` ``(D, C, P, P)`` or a linear weight ``(D, C*P*P)``. Each filter is
    scaled by its own largest absolute weight, so the colour bar runs from -1 to 1 of that maximum:
    mid-grey (RGB) or white (one channel) is 0; an RGB filter shows which colour and where a patch must be
    bright to excite it. Filter ``row label + column label`` sits at that row and column. ``source`` (say where
    the weights came from, e.g. ``"random weights (untrained)"``) is added to the title.
    """
    filters = as_filters(weight, in_chans)
    d, c, p, _ = filters.shape
    shown = filters[: checks.positive_int(max_filters, "max_filters", example=32)]
    columns = min(checks.positive_int(columns, "columns", example=8), len(shown))
    rows = -(-len(shown) // columns)
    gap = max(1, p // 6)
    scaled = shown / shown.flatten(1).abs().amax(1).clamp_min(1e-12)[:, None, None, None]  # each in [-1, 1]
    colour = c == 3
    tiles = (0.5 + 0.5 * scaled).permute(0, 2, 3, 1).numpy() if colour else scaled[:, 0].numpy()
    canvas = tile_array(tiles, ncols=columns, gap=gap, fill=1.0 if colour else np.nan)
    fig = new_figure(size + 0.9, size * canvas.shape[0] / canvas.shape[1] + 0.6)
    ax = fig.add_subplot()
    cmap = "gray" if colour else matplotlib.colormaps[DIVERGING].with_extremes(bad="white")
    if colour:
        ax.imshow(canvas, interpolation="nearest")
    else:
        ax.imshow(canvas, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([k * (p + gap) + (p - 1) / 2 for k in range(columns)], [f"+{k}" for k in range(columns)])
    ax.set_yticks([r * (p + gap) + (p - 1) / 2 for r in range(rows)], [str(r * columns) for r in range(rows)])
    ax.tick_params(labelsize=7, length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_ylabel("filter index (row + column)", fontsize=8)
    label = "weight / filter's max" + (" (each channel; 0 = mid-grey)" if colour else "")
    add_colorbar(fig, ScalarMappable(Normalize(-1, 1), cmap), ax, label=label)
    more = f", first {len(shown)} shown" if d > len(shown) else ""
    title = f"{d} filters of {c}x{p}x{p}, one per embedding dimension{more}"
    ax.set_title(title + (f":\n{source}" if source else ""), fontsize=9)
    shown_as = "in colour, mid-grey for 0" if colour else "on a blue-to-red scale, white for 0"
    return set_description(
        fig,
        f"The rows of the patch projection drawn as {len(shown)} small {c} x {p} x {p} pictures in a grid of {rows} x "
        f"{columns}, one per embedding dimension, each scaled by its own largest weight and shown {shown_as}",
    )


def plot_filter(weight: torch.Tensor, index: int, *, in_chans: int | None = None, size: float = 2.2) -> Figure:
    """Filter ``index`` large: the colour picture and each channel on a diverging map (red +, blue -),
    the channels on one colour scale with its colour bar."""
    filters = as_filters(weight, in_chans)
    d, c, p, _ = filters.shape
    index = checks.nonnegative_int(index, "index", example=0)
    if index >= d:
        raise ValueError(f"index must be an embedding dimension in 0..{d - 1}; got {index}.")
    filt = filters[index]
    panels = (1 if c == 3 else 0) + c
    fig = new_figure(size * panels + 0.9, size + 0.55)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    scale = filt.abs().max().clamp_min(1e-12).item()
    start = 0
    if c == 3:
        axes[0].imshow((0.5 + 0.5 * filt / scale).permute(1, 2, 0).numpy(), interpolation="nearest")
        axes[0].set_title("as colour", fontsize=8)
        start = 1
    names = ("R", "G", "B") if c == 3 else tuple(f"channel {k}" for k in range(c))
    for k in range(c):
        ax = axes[start + k]
        picture = ax.imshow(filt[k].numpy(), cmap=DIVERGING, vmin=-scale, vmax=scale, interpolation="nearest")
        ax.set_title(names[k], fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    add_colorbar(fig, picture, list(axes[start:]), label="weight")
    fig.suptitle(f"embedding dim {index} of {d}: row {index} of the weight, seen as {c}x{p}x{p}", fontsize=9)
    colour = "as a colour picture, then " if c == 3 else ""
    return set_description(
        fig,
        f"Filter {index} of the patch projection, large: {colour}each of its {c} channels as a {p} x {p} map on one "
        "blue-to-red scale (blue negative, white 0, red positive)",
    )
