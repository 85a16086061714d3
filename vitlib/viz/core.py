"""What every picture shares: figure creation, encoding, images as arrays, tiles on a canvas,
patch-grid lines, colour bars and heat maps laid over an image; the colours every picture may use, and
each figure's text alternative (:func:`alt_text`).

Pixel convention (one, everywhere): images are drawn with ``imshow``'s default extent, so pixel
``(r, c)`` is centred on ``(c, r)`` and the edge between patch ``k - 1`` and patch ``k`` lies at
``k * P - 0.5``.
"""

from __future__ import annotations

import io

import matplotlib.figure
import numpy as np
import torch
import torch.nn.functional as F

from .. import checks

__all__ = [
    "CMAPS",
    "DIVERGING",
    "DPI",
    "FORMAT",
    "Figure",
    "LINE_COLORS",
    "MARKERS",
    "add_colorbar",
    "alt_text",
    "draw_patch_lines",
    "epoch_means",
    "figure_pixels",
    "figure_to_bytes",
    "grey",
    "new_figure",
    "overlay_heatmap",
    "set_description",
    "tile_array",
    "tile_images",
    "to_numpy_image",
    "upsample_map",
]

DPI = 80
FORMAT = "jpeg"  # photos are 6x smaller as JPEG than as PNG, and figures are stored in notebooks
HEAT_CMAP = "inferno"
DIVERGING = "RdBu_r"  # signed values (weights, position tables): red +, blue -, white 0
# The colour maps a picture may use, all readable with the common colour-vision deficiencies (tests check every
# figure): perceptually uniform ones for magnitudes, one diverging map that runs blue to red (never red to green),
# single-hue Blues (lightness alone) for counts, and grey for the images themselves.
CMAPS = frozenset({"viridis", "cividis", "magma", "inferno", "plasma", DIVERGING, "Blues", "gray"})
# Lines, dots and frames that must be told apart: Okabe and Ito's colours, distinct with deuteranopia, protanopia
# and tritanopia (tests/test_viz_accessibility.py simulates each), each series also with its own marker.
LINE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def new_figure(width: float, height: float) -> Figure:
    """A :class:`Figure` (one that says what it shows) of ``width x height`` inches at :data:`DPI`, laid out by
    matplotlib's constrained layout."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def figure_to_bytes(fig: matplotlib.figure.Figure, *, format: str = FORMAT, dpi: int = DPI) -> bytes:
    """The encoded image of a figure, JPEG by default (for widgets and tests); ``figure_pixels`` gives its size."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=format, dpi=dpi)
    return buffer.getvalue()


def figure_pixels(fig: matplotlib.figure.Figure, *, dpi: int = DPI) -> tuple[int, int]:
    """The ``(width, height)`` in pixels of :func:`figure_to_bytes` at ``dpi`` (no tight bounding box)."""
    width, height = fig.get_size_inches()
    return int(round(width * dpi)), int(round(height * dpi))


def to_numpy_image(image: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` tensor in [0, 1] -> ``(H, W, C)`` or ``(H, W)`` array for ``imshow``."""
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a torch.Tensor (C, H, W); got {type(image).__name__}.")
    if image.dim() != 3:
        raise ValueError(f"image must be 3-D (C, H, W); got shape {tuple(image.shape)}. Use images[0] for a batch.")
    array = image.detach().float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
    return array[..., 0] if array.shape[-1] == 1 else array


def grey(image: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` -> ``(H, W)``: the mean of the channels, the backdrop of a heat map."""
    array = to_numpy_image(image)
    return array if array.ndim == 2 else array.mean(-1)


def tile_array(
    tiles, *, ncols: int, gap: int = 1, border: bool = False, fill: float = 1.0, rows: int | None = None
) -> np.ndarray:
    """Tiles laid out row by row on one canvas with ``gap`` pixels between them:
    ``(K, h, w[, C]) -> (rows*(h+gap)-gap, ncols*(w+gap)-gap[, C])``, plus ``gap`` all round with ``border``.

    ``fill`` is the value of the gaps (1.0 white for images, ``np.nan`` for a colour map's "bad" colour);
    ``rows`` reserves rows beyond what ``K`` tiles need. The one tiling routine behind every mosaic.
    """
    tiles = np.asarray(tiles, dtype=float)
    if tiles.ndim not in (3, 4) or len(tiles) == 0:
        raise ValueError(f"tiles must be a non-empty (K, h, w) or (K, h, w, C) array; got shape {tiles.shape}.")
    ncols = checks.positive_int(ncols, "ncols", example=8)
    gap = checks.nonnegative_int(gap, "gap", example=1)
    k, h, w = tiles.shape[:3]
    ncols = min(ncols, k)
    nrows = max(-(-k // ncols), rows or 0)
    edge = gap if border else 0
    shape = (nrows * (h + gap) - gap + 2 * edge, ncols * (w + gap) - gap + 2 * edge, *tiles.shape[3:])
    canvas = np.full(shape, fill, dtype=float)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        top, left = edge + r * (h + gap), edge + c * (w + gap)
        canvas[top : top + h, left : left + w] = tile
    return canvas


def tile_images(images: torch.Tensor, *, ncols: int, gap: int = 1) -> np.ndarray:
    """A batch laid out on one canvas with white gaps, row by row: ``(K, C, H, W) -> (H', W'[, C])``."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) == 0:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a non-empty batch (K, C, H, W); got {shape}.")
    ncols = checks.positive_int(ncols, "ncols", example=8)
    array = images.detach().float().cpu().clamp(0, 1).numpy().transpose(0, 2, 3, 1)  # (K, H, W, C)
    if array.shape[-1] == 1:
        array = array[..., 0]
    return tile_array(array, ncols=ncols, gap=gap, border=True)


def draw_patch_lines(ax, grid, patch_size: int, *, color: str = "white", lw: float = 0.6) -> None:
    """The inner edges of a ``(gh, gw)`` grid of ``patch_size`` px patches, at ``k * P - 0.5`` (see the module)."""
    gh, gw = grid
    for r in range(1, gh):
        ax.axhline(r * patch_size - 0.5, color=color, lw=lw)
    for c in range(1, gw):
        ax.axvline(c * patch_size - 0.5, color=color, lw=lw)


def add_colorbar(fig: matplotlib.figure.Figure, mappable, ax, *, label: str | None = None, fontsize: int = 7):
    """A colour bar for ``mappable`` beside ``ax`` (one axes or a list of them), labelled; returns it."""
    bar = fig.colorbar(mappable, ax=ax, shrink=0.8, pad=0.02)
    if label:
        bar.set_label(label, fontsize=fontsize)
    bar.ax.tick_params(labelsize=fontsize)
    return bar


def upsample_map(heat, size) -> np.ndarray:
    """A ``(gh, gw)`` map of one value per patch, drawn as patches: each value fills its patch's block of the
    ``(H, W)`` image (nearest, never smoothed across a patch border, which would show attention where none
    is): ``-> (H, W)``."""
    heat = torch.as_tensor(heat).detach().float().cpu()
    if heat.dim() != 2:
        raise ValueError(f"heat must be one (gh, gw) map; got shape {tuple(heat.shape)}.")
    h, w = size
    blocks = F.interpolate(heat[None, None], size=(h, w), mode="nearest")
    return blocks[0, 0].numpy()


def overlay_heatmap(ax, image: torch.Tensor, heat, *, vmin: float = 0.0, vmax: float | None = None, cmap=None):
    """A ``(gh, gw)`` heat map, one block per patch, over the grey ``(C, H, W)`` image; returns the heat's
    ``AxesImage`` (pass it to :func:`add_colorbar`), whose array is ``(s*H, s*W)`` with ``s`` the smallest
    whole factor that makes the longer side at least 64 (1 for photos). ``vmax`` defaults to the map's
    maximum. The heat is more opaque where it is larger (alpha 0.25 to 0.9), so that low values leave
    the image visible and high ones show their colour instead of blending with the grey."""
    h, w = image.shape[-2:]
    scale = max(1, -(-64 // max(h, w)))  # small images (8 x 8 digits) get a finer heat map than their pixels
    smooth = upsample_map(heat, (h * scale, w * scale))  # patches as blocks
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)
    ax.imshow(grey(image), cmap="gray", vmin=0, vmax=1, extent=extent)
    top = max(float(smooth.max()) if vmax is None else vmax, vmin + 1e-6)
    alpha = 0.25 + 0.65 * np.clip((smooth - vmin) / (top - vmin), 0.0, 1.0)
    return ax.imshow(
        smooth,
        cmap=cmap or HEAT_CMAP,
        alpha=alpha,
        vmin=vmin,
        vmax=top,
        interpolation="nearest",
        extent=extent,
    )


def epoch_means(values, steps_per_epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-epoch means of per-step values: ``(steps,) -> (epochs,) end steps, (epochs,) means``."""
    values = np.asarray(values, dtype=float)
    epochs = len(values) // steps_per_epoch
    means = values[: epochs * steps_per_epoch].reshape(epochs, steps_per_epoch).mean(1)
    return (np.arange(epochs) + 1) * steps_per_epoch, means


# --- text alternatives: what a figure shows, in words ---------------------------------------------------------------


class Figure(matplotlib.figure.Figure):
    """A matplotlib ``Figure`` that carries its text alternative: displayed in a notebook, its picture's display
    metadata holds ``{"image/jpeg": {"alt": alt_text(fig)}}`` (for each image type IPython draws it as), which
    the book (tools/build_book.py) and nbconvert's HTML put on the ``<img>``. Every ``plot_*`` figure is one
    (:func:`new_figure`); the plot function says what it shows with :func:`set_description`."""

    description: str | None = None

    def _repr_mimebundle_(self, include=None, exclude=None):
        # No data of its own: IPython's figure formatters (the inline backend's figure_formats) draw the picture.
        return {}, {mime: {"alt": alt_text(self)} for mime in _image_types(self)}


def _image_types(fig) -> list[str]:
    """The image types that IPython's display formatters draw ``fig`` as (``["image/jpeg"]`` in the series)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel and ipywidgets
        return []
    shell = get_ipython()
    if shell is None:
        return []
    found = []
    for mime, formatter in shell.display_formatter.formatters.items():
        if mime.startswith("image/"):
            try:
                formatter.lookup(fig)
            except KeyError:
                continue
            found.append(mime)
    return found


def set_description(fig: matplotlib.figure.Figure, text: str) -> matplotlib.figure.Figure:
    """Say what ``fig`` shows, in one sentence (a plot function does this before it returns the figure);
    :func:`alt_text` adds the figure's titles and labels. Returns ``fig``."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a figure's description must be a sentence; got {text!r}.")
    fig.description = " ".join(text.split())
    return fig


MAX_PANELS = 8  # panels named in a text alternative; more are counted


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def _panel_text(ax) -> str:
    """One axes in words: its title, then its axis labels and legend entries."""
    title = _clean(" ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t))
    details = []
    # An axis without ticks is no scale: its label names a row of panels (y) or says what is below the panel (x).
    for axis, label, ticks in (("x", ax.get_xlabel(), ax.get_xticks()), ("y", ax.get_ylabel(), ax.get_yticks())):
        if label:
            name = axis if len(ticks) else {"x": "below", "y": "row"}[axis]
            details.append(f"{name}: {_clean(label)}")
    legend = ax.get_legend()
    if legend is not None:
        entries = [_clean(t.get_text()) for t in legend.get_texts() if t.get_text()]
        if entries:
            details.append("legend: " + ", ".join(entries))
    if title and details:
        return f"{title} ({'; '.join(details)})"
    return title or "; ".join(details)


def alt_text(fig: matplotlib.figure.Figure) -> str:
    """What ``fig`` shows, in words: the sentence its plot function set (:func:`set_description`), then what the
    figure itself says: its title, each panel's title, axis labels and legend (up to ``MAX_PANELS`` panels;
    repeated ones once, none that the sentence already says), and its colour bars' labels. The text alternative
    of its picture (an ``<img>``'s ``alt``); never empty."""
    parts = []
    what = getattr(fig, "description", None)
    if what:
        parts.append(what.rstrip(".") + ".")
    suptitle = _clean(fig.get_suptitle()) if hasattr(fig, "get_suptitle") else ""
    if suptitle:
        parts.append(f"Title: {suptitle}.")
    panels, bars = [], []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        if ax.get_label() == "<colorbar>":
            label = _clean(ax.get_ylabel() or ax.get_xlabel())
            if label and label not in bars:
                bars.append(label)
            continue
        text = _panel_text(ax)
        if text and text not in panels and text not in (what or ""):  # said once, not again
            panels.append(text)
    if panels:
        more = f"; and {len(panels) - MAX_PANELS} more" if len(panels) > MAX_PANELS else ""
        parts.append(("Panel: " if len(panels) == 1 else "Panels: ") + "; ".join(panels[:MAX_PANELS]) + more + ".")
    if bars:
        parts.append(("Colour bar: " if len(bars) == 1 else "Colour bars: ") + "; ".join(bars) + ".")
    if not parts:
        count = sum(ax.get_label() != "<colorbar>" for ax in fig.axes)
        parts.append(f"A figure with {count} panel{'s' if count != 1 else ''} and no title.")
    return " ".join(parts)
