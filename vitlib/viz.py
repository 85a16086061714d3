"""Pictures of what the notebooks compute. Every function returns a
``matplotlib.figure.Figure`` and draws nothing on screen itself, so figures
are testable without a display and widgets can reuse them.

Figures are small on purpose: they are stored inside the notebooks.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from matplotlib.figure import Figure

from .patches import grid_size, patchify

__all__ = [
    "cls_attention_maps",
    "plot_attention",
    "plot_attention_panel",
    "plot_cls_attention_heads",
    "plot_confusion_matrix",
    "plot_loss_curve",
    "token_labels",
    "figure_to_bytes",
    "mosaic_array",
    "plot_cls_attention",
    "plot_filter",
    "plot_filters",
    "plot_image",
    "plot_images",
    "plot_masking",
    "plot_patch_explorer",
    "plot_patch_grid",
    "plot_patch_mosaic",
    "plot_patch_predictions",
    "plot_pos_embed_channels",
    "plot_pos_tables",
    "plot_position_similarity",
    "plot_token_matrix",
    "plot_vae_losses",
    "plot_reconstructions",
    "plot_interpolation",
    "plot_image_grid",
    "tile_images",
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
    """A ``(C, H, W)`` image with the patch grid drawn on it and each patch's token index (up to 100 patches)."""
    gh, gw = grid_size(image.shape[-2:], patch_size)
    h, w = image.shape[-2:]
    fig = _figure(size * w / max(h, w) + 0.2, size * h / max(h, w) + 0.5)
    ax = fig.add_subplot()
    ax.imshow(to_numpy_image(image), cmap="gray", extent=(0, w, h, 0))
    for r in range(1, gh):
        ax.axhline(r * patch_size, color="white", lw=0.8)
    for c in range(1, gw):
        ax.axvline(c * patch_size, color="white", lw=0.8)
    if show_indices and gh * gw <= 100:  # more labels would hide the picture
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


def plot_images(images, titles=None, *, size: float = 2.6) -> Figure:
    """Images side by side, one title each: a list of ``(C, H, W)`` tensors or a ``(K, C, H, W)`` batch."""
    images = list(images)
    if not images:
        raise ValueError("plot_images needs at least one image; got none.")
    titles = [None] * len(images) if titles is None else list(titles)
    if len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles; pass one title per image.")
    h, w = images[0].shape[-2:]
    fig = _figure(len(images) * (size * w / max(h, w) + 0.1) + 0.1, size * h / max(h, w) + 0.45)
    for ax, image, title in zip(fig.subplots(1, len(images), squeeze=False)[0], images, titles, strict=True):
        ax.imshow(to_numpy_image(image), cmap="gray")
        ax.set_axis_off()
        if title:
            ax.set_title(title, fontsize=9)
    return fig


# --- embeddings (notebooks 02-04) -------------------------------------------------------------------------------


def _filters(weight: torch.Tensor, in_chans: int | None) -> torch.Tensor:
    """A projection weight as ``(D, C, P, P)`` filters, from a conv ``(D, C, P, P)`` or linear ``(D, C*P*P)`` one."""
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor; got {type(weight).__name__}.")
    weight = weight.detach().float().cpu()
    if weight.dim() == 4:
        return weight
    if weight.dim() != 2:
        raise ValueError(f"weight must be (D, C, P, P) or (D, C*P*P); got shape {tuple(weight.shape)}.")
    k = weight.shape[1]
    c = in_chans or (3 if k % 3 == 0 and _is_square(k // 3) else 1)  # a guess; pass in_chans to be sure
    p = int(round((k / c) ** 0.5))
    if c * p * p != k:
        raise ValueError(
            f"a linear weight with {weight.shape[1]} inputs is not C*P*P for in_chans={c}; pass in_chans=C."
        )
    return weight.view(weight.shape[0], c, p, p)  # (C, P, P) order, as patchify flattens


def _is_square(n: int) -> bool:
    return n > 0 and int(round(n**0.5)) ** 2 == n


def _filter_picture(filt: torch.Tensor) -> tuple[np.ndarray, dict]:
    """One ``(C, P, P)`` filter as an imshow array: RGB with 0 at mid-gray, or one channel on a diverging map."""
    scale = filt.abs().max().clamp_min(1e-12)
    if filt.shape[0] == 3:
        return (0.5 + 0.5 * filt / scale).permute(1, 2, 0).numpy(), {}
    return filt[0].numpy(), {"cmap": "RdBu_r", "vmin": -scale.item(), "vmax": scale.item()}


def plot_filters(
    weight: torch.Tensor, *, in_chans: int | None = None, max_filters: int = 32, columns: int = 8, size: float = 5.0
) -> Figure:
    """The projection rows as little ``C x P x P`` pictures, one per embedding dimension.

    ``weight`` is ``proj.weight`` ``(D, C, P, P)`` or a linear weight ``(D, C*P*P)``
    (read in (C, P, P) order). Each filter is scaled on its own: mid-gray is 0,
    RGB filters show which colour and where a patch must be bright to excite it.
    Filters run left to right, then top to bottom, numbered in the corner.
    """
    filters = _filters(weight, in_chans)
    d, c, p, _ = filters.shape
    shown = filters[:max_filters]
    columns = min(columns, len(shown))
    rows = -(-len(shown) // columns)
    gap = max(1, p // 6)
    cell = p + gap
    colour = c == 3
    canvas = (
        np.ones((rows * cell - gap, columns * cell - gap, 3))
        if colour
        else np.full((rows * cell - gap, columns * cell - gap), np.nan)
    )
    for i, filt in enumerate(shown):
        r, col = divmod(i, columns)
        scale = filt.abs().max().clamp_min(1e-12)
        tile = (0.5 + 0.5 * filt / scale).permute(1, 2, 0).numpy() if colour else (filt[0] / scale).numpy()
        canvas[r * cell : r * cell + p, col * cell : col * cell + p] = tile
    fig = _figure(size, size * canvas.shape[0] / canvas.shape[1] + 0.35)
    ax = fig.add_subplot()
    if colour:
        ax.imshow(canvas, interpolation="nearest")
    else:
        import matplotlib

        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
        ax.imshow(canvas, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    for i in range(len(shown)):
        r, col = divmod(i, columns)
        ax.text(
            col * cell - 0.5,
            r * cell - 0.5,
            str(i),
            fontsize=6,
            va="top",
            ha="left",
            color="black",
            bbox={"boxstyle": "square,pad=0.05", "fc": "white", "alpha": 0.7, "lw": 0},
        )
    ax.set_axis_off()
    more = f", first {len(shown)} shown" if d > len(shown) else ""
    ax.set_title(f"{d} filters of {c}x{p}x{p}, one per embedding dimension{more}", fontsize=9)
    return fig


def plot_filter(weight: torch.Tensor, index: int, *, in_chans: int | None = None, size: float = 2.2) -> Figure:
    """Filter ``index`` large: the colour picture and each channel on a diverging map (red +, blue -)."""
    filters = _filters(weight, in_chans)
    d, c, p, _ = filters.shape
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < d:
        raise ValueError(f"index must be an int in 0..{d - 1} (an embedding dimension); got {index!r}.")
    filt = filters[index]
    panels = (1 if c == 3 else 0) + c
    fig = _figure(size * panels + 0.3, size + 0.55)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    scale = filt.abs().max().clamp_min(1e-12).item()
    start = 0
    if c == 3:
        array, _ = _filter_picture(filt)
        axes[0].imshow(array, interpolation="nearest")
        axes[0].set_title("as colour", fontsize=8)
        start = 1
    names = ("R", "G", "B") if c == 3 else tuple(f"channel {k}" for k in range(c))
    for k in range(c):
        ax = axes[start + k]
        ax.imshow(filt[k].numpy(), cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        ax.set_title(names[k], fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"embedding dim {index} of {d}: row {index} of the weight, seen as {c}x{p}x{p}", fontsize=9)
    return fig


def _similarity_mosaic(sim: np.ndarray, gap: int = 1) -> np.ndarray:
    """``(gh*gw, gh, gw)`` similarities -> one array with a panel per query patch, NaN gaps between."""
    n, gh, gw = sim.shape
    rows, cols = gh, gw
    canvas = np.full((rows * (gh + gap) - gap, cols * (gw + gap) - gap), np.nan)
    for q in range(n):
        r, c = divmod(q, cols)
        top, left = r * (gh + gap), c * (gw + gap)
        canvas[top : top + gh, left : left + gw] = sim[q]
    return canvas


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

    Panel ``(r, c)`` of the mosaic is a ``gh x gw`` map: how similar the
    position of patch ``(r, c)`` is to each position. With ``query`` the panel
    of that patch is framed and drawn large beside the mosaic. Colours run
    from ``vmin`` (default: the smallest similarity, for contrast; the paper
    uses -1) to 1.
    """
    import matplotlib
    from matplotlib.patches import Rectangle

    from .embedding import position_similarity

    sim = position_similarity(pos_embed, grid, num_prefix_tokens=num_prefix_tokens).cpu().numpy()
    n, gh, gw = sim.shape
    if query is not None and (isinstance(query, bool) or not isinstance(query, int) or not 0 <= query < n):
        raise ValueError(f"query must be a patch index in 0..{n - 1}; got {query!r}.")
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
    vmin = float(min(sim.min(), 0.99)) if vmin is None else vmin
    wide = query is not None
    fig = _figure(size * (2.1 if wide else 1) + 0.5, size + 0.5)
    axes = fig.subplots(1, 2 if wide else 1, squeeze=False)[0]
    image = axes[0].imshow(_similarity_mosaic(sim), cmap=cmap, vmin=vmin, vmax=1, interpolation="nearest")
    axes[0].set_xticks([c * (gw + 1) + (gw - 1) / 2 for c in range(gw)], [str(c) for c in range(gw)])
    axes[0].set_yticks([r * (gh + 1) + (gh - 1) / 2 for r in range(gh)], [str(r) for r in range(gh)])
    axes[0].tick_params(labelsize=max(4, min(8, 100 / max(gh, gw))), length=0)
    axes[0].set_xlabel("input patch column", fontsize=8)
    axes[0].set_ylabel("input patch row", fontsize=8)
    axes[0].set_title(title or f"position similarity, {gh} x {gw} grid", fontsize=9)
    if wide:
        r, c = divmod(query, gw)
        axes[0].add_patch(
            Rectangle((c * (gw + 1) - 0.9, r * (gh + 1) - 0.9), gw + 0.8, gh + 0.8, fill=False, ec="red", lw=1.5)
        )
        axes[1].imshow(sim[query], cmap=cmap, vmin=vmin, vmax=1, interpolation="nearest")
        axes[1].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=2))
        axes[1].set_xticks([])
        axes[1].set_yticks([])
        axes[1].set_title(f"patch {query} (row {r}, col {c}) vs. every position", fontsize=9)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="cosine similarity")
    return fig


def plot_pos_embed_channels(
    tables: dict, *, channels=(0, 1, 2, 3), num_prefix_tokens: int = 1, size: float = 1.5
) -> Figure:
    """Some channels of position tables, each drawn on its patch grid: one row per table.

    ``tables`` maps a label to ``(pos_embed, grid)`` (``grid`` may be ``None``
    for a square one), e.g. a table before and after :func:`resize_pos_embed`.
    """
    from .embedding import _table_grid

    channels = list(channels)
    fig = _figure(size * len(channels) + 1.2, size * len(tables) + 0.3)
    axes = fig.subplots(len(tables), len(channels), squeeze=False)
    for row, (label, (table, grid)) in enumerate(tables.items()):
        gh, gw = _table_grid(table, grid, num_prefix_tokens)
        maps = table[0, num_prefix_tokens:].detach().float().cpu().reshape(gh, gw, -1)
        for col, k in enumerate(channels):
            ax = axes[row, col]
            ax.imshow(maps[..., k].numpy(), cmap="RdBu_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"channel {k}", fontsize=8)
        axes[row, 0].set_ylabel(f"{label}\n{gh} x {gw}", fontsize=8)
    return fig


def plot_pos_tables(tables: dict, *, num_prefix_tokens: int = 1, size: float = 3.0) -> Figure:
    """Position tables side by side as ``(positions, D)`` heatmaps, e.g. learned vs. sin-cos."""
    fig = _figure(size * len(tables) + 0.3, size * 0.8 + 0.5)
    axes = fig.subplots(1, len(tables), squeeze=False)[0]
    for ax, (label, table) in zip(axes, tables.items(), strict=True):
        array = table[0, num_prefix_tokens:].detach().float().cpu().numpy()
        limit = float(np.abs(array).max()) or 1.0
        ax.imshow(array, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(f"channel (D = {array.shape[1]})", fontsize=8)
        ax.set_ylabel(f"position (N = {array.shape[0]})", fontsize=8)
        ax.tick_params(labelsize=7)
    return fig


# --- beyond classification (notebook 08) ------------------------------------------------------------------------


def _draw_grid(ax, h: int, w: int, patch_size: int, color: str = "white", lw: float = 0.5) -> None:
    for r in range(patch_size, h, patch_size):
        ax.axhline(r - 0.5, color=color, lw=lw)
    for c in range(patch_size, w, patch_size):
        ax.axvline(c - 0.5, color=color, lw=lw)


def plot_masking(image: torch.Tensor, patch_size: int, mask: torch.Tensor, *, size: float = 2.6) -> Figure:
    """MAE-style masking of one ``(C, H, W)`` image; ``mask`` ``(N,)`` is 1 on removed patches.

    Three panels: the image cut into patches, the patches the encoder never
    sees greyed out, and the K kept patches pulled together: the encoder's
    whole input (plus [CLS]).
    """
    c, h, w = image.shape
    gh, gw = grid_size((h, w), patch_size)
    mask = torch.as_tensor(mask).reshape(-1)
    if mask.numel() != gh * gw:
        raise ValueError(f"mask has {mask.numel()} entries but the image has {gh}x{gw} = {gh * gw} patches.")
    removed = mask.bool().reshape(gh, gw)
    keep = int((~removed).sum())
    tiles = patchify(image[None], patch_size)[0]  # (N, C*P*P)
    cover = removed.repeat_interleave(patch_size, 0).repeat_interleave(patch_size, 1)  # (H, W)
    greyed = image.clone()
    greyed[:, cover] = 0.25 * greyed[:, cover] + 0.6  # pale: never seen by the encoder
    cols = max(1, math.ceil(math.sqrt(keep * gw / gh)))
    rows = max(1, math.ceil(keep / cols))
    kept_tiles = tiles[~removed.reshape(-1)].reshape(keep, c, patch_size, patch_size)
    gap = max(1, patch_size // 8)
    cell = patch_size + gap
    canvas = torch.ones(c, rows * cell + gap, cols * cell + gap)
    for k in range(keep):
        r, col = divmod(k, cols)
        canvas[:, gap + r * cell : gap + r * cell + patch_size, gap + col * cell : gap + col * cell + patch_size] = (
            kept_tiles[k]
        )
    fig = _figure(3 * size + 0.4, size * h / max(h, w) + 0.6)
    axes = fig.subplots(1, 3)
    axes[0].imshow(to_numpy_image(image), cmap="gray", vmin=0, vmax=1)
    _draw_grid(axes[0], h, w, patch_size)
    axes[0].set_title(f"{gh * gw} patches", fontsize=9)
    axes[1].imshow(to_numpy_image(greyed), cmap="gray", vmin=0, vmax=1)
    _draw_grid(axes[1], h, w, patch_size)
    axes[1].set_title(f"{gh * gw - keep} hidden ({(gh * gw - keep) / (gh * gw):.0%})", fontsize=9)
    axes[2].imshow(to_numpy_image(canvas), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[2].set_title(f"the encoder sees {keep} patches", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_patch_predictions(
    images: torch.Tensor,
    labels: torch.Tensor,
    probs: torch.Tensor,
    patch_size: int,
    *,
    max_images: int = 6,
    size: float = 1.7,
    row_names: tuple[str, str] = ("truth", "predicted"),
) -> Figure:
    """Per-patch predictions: ``images`` ``(B, C, H, W)``, ``labels`` and ``probs`` ``(B, N)``.

    Top row: each image with its true patches framed in green. Bottom row:
    the predicted probability per patch over the image; a red frame marks a
    patch where the prediction (threshold 0.5) is wrong. ``row_names`` label the rows.
    """
    from matplotlib.patches import Rectangle

    b = min(len(images), max_images)
    h, w = images.shape[-2:]
    gh, gw = grid_size((h, w), patch_size)
    if labels.shape[-1] != gh * gw or probs.shape[-1] != gh * gw:
        raise ValueError(
            f"labels and probs must hold one value per patch ({gh * gw}); "
            f"got {tuple(labels.shape)} and {tuple(probs.shape)}."
        )
    fig = _figure(b * size + 0.8, 2 * size + 0.4)
    axes = fig.subplots(2, b, squeeze=False)
    for i in range(b):
        truth = labels[i].reshape(gh, gw).bool()
        prob = probs[i].detach().float().reshape(gh, gw)
        for ax in axes[:, i]:
            ax.imshow(to_numpy_image(images[i]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        heat = axes[1, i].imshow(
            prob.numpy(), cmap="magma", vmin=0, vmax=1, alpha=0.6, extent=(-0.5, w - 0.5, h - 0.5, -0.5)
        )
        for r in range(gh):
            for c in range(gw):
                xy = (c * patch_size - 0.5, r * patch_size - 0.5)
                if truth[r, c]:
                    axes[0, i].add_patch(Rectangle(xy, patch_size, patch_size, fill=False, ec="#2ecc71", lw=1.0))
                if bool(prob[r, c] > 0.5) != bool(truth[r, c]):
                    axes[1, i].add_patch(Rectangle(xy, patch_size, patch_size, fill=False, ec="red", lw=1.2))
    axes[0, 0].set_ylabel(row_names[0], fontsize=8)
    axes[1, 0].set_ylabel(row_names[1], fontsize=8)
    fig.colorbar(heat, ax=axes[1, :].tolist(), shrink=0.8, label="P(shape)")
    return fig


def cls_attention_maps(attention: torch.Tensor, grid, *, layer: int = -1, head: int | None = None) -> torch.Tensor:
    """What [CLS] looks at: ``(depth, B, heads, 1+N, 1+N) -> (B, gh, gw)``.

    Row 0 (the [CLS] query) of one layer's attention, its patch columns, for
    one head or averaged over the heads (``head=None``).
    """
    if attention.dim() != 5:
        raise ValueError(
            f"attention must be (depth, B, heads, 1+N, 1+N) as model(x, return_attention=True) returns it; "
            f"got {tuple(attention.shape)}."
        )
    gh, gw = grid
    rows = attention[layer, :, :, 0, 1:]  # (B, heads, N)
    if rows.shape[-1] != gh * gw:
        raise ValueError(f"attention covers {rows.shape[-1]} patches but the grid {gh}x{gw} has {gh * gw}.")
    rows = rows.mean(dim=1) if head is None else rows[:, head]
    return rows.reshape(-1, gh, gw).detach().float()


def plot_cls_attention(images: torch.Tensor, maps: torch.Tensor, *, titles=None, size: float = 2.4) -> Figure:
    """Each image beside its [CLS] attention map laid over it: ``(B, C, H, W)``, ``(B, gh, gw)``."""
    b = len(images)
    h, w = images.shape[-2:]
    titles = list(titles) if titles is not None else [None] * b
    fig = _figure(b * 2 * (size * w / max(h, w)) + 0.3, size * h / max(h, w) + 0.5)
    axes = fig.subplots(1, 2 * b, squeeze=False)[0]
    for i in range(b):
        heat = maps[i].detach().float().cpu().numpy()
        axes[2 * i].imshow(to_numpy_image(images[i]), cmap="gray")
        axes[2 * i].set_title(titles[i] or "image", fontsize=8)
        axes[2 * i + 1].imshow(to_numpy_image(images[i]), cmap="gray")
        axes[2 * i + 1].imshow(
            heat, cmap="inferno", alpha=0.65, extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="bilinear"
        )
        axes[2 * i + 1].set_title(f"[CLS] attention (max {heat.max():.3f})", fontsize=8)
        for ax in axes[2 * i : 2 * i + 2]:
            ax.set_axis_off()
    return fig


# --- the ViT-VAE (notebook 07) ------------------------------------------------------------------------------------


def tile_images(images: torch.Tensor, *, ncols: int, gap: int = 1) -> np.ndarray:
    """A batch laid out on one canvas with white gaps, row by row: ``(K, C, H, W) -> (H', W'[, C])``."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) == 0:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a non-empty batch (K, C, H, W); got {shape}.")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int; got {ncols!r}.")
    k, c, h, w = images.shape
    ncols = min(ncols, k)
    nrows = math.ceil(k / ncols)
    canvas = torch.ones(c, nrows * (h + gap) + gap, ncols * (w + gap) + gap)
    for i, image in enumerate(images.detach().float().cpu().clamp(0, 1)):
        r, col = divmod(i, ncols)
        top, left = gap + r * (h + gap), gap + col * (w + gap)
        canvas[:, top : top + h, left : left + w] = image
    return to_numpy_image(canvas)


def plot_image_grid(images: torch.Tensor, *, ncols: int = 8, title: str | None = None, size: float = 0.55) -> Figure:
    """A ``(K, C, H, W)`` batch as a grid (prior samples, for instance); ``size`` inches per image."""
    array = tile_images(images, ncols=ncols)
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig = _figure(ncols * size + 0.2, nrows * size + (0.4 if title else 0.2))
    ax = fig.add_subplot()
    ax.imshow(array, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_image_rows(rows: dict, *, title: str | None = None, size: float = 0.55) -> Figure:
    """Batches of the same shape as labelled rows: ``{"original": (K, C, H, W), ...}``, one row each."""
    if not isinstance(rows, dict) or not rows:
        raise TypeError("rows must be a non-empty dict {row name: (K, C, H, W) tensor}.")
    batches = list(rows.values())
    if not all(isinstance(b, torch.Tensor) for b in batches):
        raise TypeError("every row must be a torch.Tensor (K, C, H, W).")
    if len({tuple(b.shape) for b in batches}) != 1:
        shapes = {name: tuple(b.shape) for name, b in rows.items()}
        raise ValueError(f"every row must have the same shape (K, C, H, W), one image per column; got {shapes}.")
    k, h = len(batches[0]), batches[0].shape[-2]
    array = tile_images(torch.cat(batches), ncols=k)
    fig = _figure(k * size + 1.0, len(rows) * size + (0.45 if title else 0.25))
    ax = fig.add_subplot()
    ax.imshow(array, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([1 + i * (h + 1) + h / 2 - 0.5 for i in range(len(rows))], list(rows), fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_reconstructions(
    originals: torch.Tensor, reconstructions: torch.Tensor, *, title: str | None = None, size: float = 0.55
) -> Figure:
    """Originals (top row) above their reconstructions (bottom row): two ``(K, C, H, W)`` batches."""
    if not isinstance(originals, torch.Tensor) or not isinstance(reconstructions, torch.Tensor):
        raise TypeError("originals and reconstructions must be torch.Tensors (K, C, H, W).")
    if originals.shape != reconstructions.shape:
        raise ValueError(
            f"originals {tuple(originals.shape)} and reconstructions {tuple(reconstructions.shape)} must have the "
            "same shape (K, C, H, W): one reconstruction per original."
        )
    return plot_image_rows({"original": originals, "decoded μ": reconstructions}, title=title, size=size)


def _epoch_means(values, steps_per_epoch: int) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=float)
    epochs = len(values) // steps_per_epoch
    means = values[: epochs * steps_per_epoch].reshape(epochs, steps_per_epoch).mean(1)
    return (np.arange(epochs) + 1) * steps_per_epoch, means


def plot_vae_losses(reconstruction, kl, *, beta=None, steps_per_epoch: int | None = None, size: float = 3.0) -> Figure:
    """The two loss terms per step, side by side (their scales differ), with per-epoch means if
    ``steps_per_epoch`` is given; ``beta`` (one value per step) is drawn on the KL panel's right axis."""
    reconstruction, kl = list(reconstruction), list(kl)
    if not reconstruction or len(reconstruction) != len(kl):
        raise ValueError(
            f"reconstruction and kl must be non-empty and of equal length (one value per step); got "
            f"{len(reconstruction)} and {len(kl)}."
        )
    if beta is not None and len(beta) != len(kl):
        raise ValueError(f"beta must hold one value per step ({len(kl)}); got {len(beta)}.")
    fig = _figure(2 * size + 0.8, size * 0.75 + 0.3)
    axes = fig.subplots(1, 2)
    steps = np.arange(1, len(kl) + 1)
    for ax, values, name, color in (
        (axes[0], reconstruction, "reconstruction (BCE, nats per image)", "tab:blue"),
        (axes[1], kl, "KL to N(0, I) (nats per image)", "tab:orange"),
    ):
        ax.plot(steps, values, color=color, lw=0.6, alpha=0.45, label="per step")
        if steps_per_epoch and len(values) >= steps_per_epoch:
            x, means = _epoch_means(values, steps_per_epoch)
            ax.plot(x, means, color=color, lw=1.8, marker="o", ms=2.5, label="epoch mean")
            ax.legend(fontsize=7, loc="upper right")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    if beta is not None:
        twin = axes[1].twinx()
        twin.plot(steps, list(beta), color="gray", lw=1.0, ls="--")
        twin.set_ylabel("β (dashed)", fontsize=8, color="gray")
        twin.set_ylim(0, max(max(beta), 1e-9) * 1.1)
        twin.tick_params(labelsize=7, colors="gray")
    return fig


def plot_interpolation(
    images: torch.Tensor,
    *,
    first: torch.Tensor | None = None,
    second: torch.Tensor | None = None,
    highlight: int | None = None,
    title: str | None = None,
    size: float = 0.7,
) -> Figure:
    """A strip of decoded points between two latents, ``(steps, C, H, W)``; the two original
    ``(C, H, W)`` images (if given) at the ends; ``highlight`` frames one step."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) < 2:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a strip (steps >= 2, C, H, W); got {shape}.")
    steps = len(images)
    if highlight is not None and not 0 <= highlight < steps:
        raise ValueError(f"highlight must be a step in 0..{steps - 1}; got {highlight}.")
    ends = [x for x in (first, second) if x is not None]
    panels = [first] if first is not None else []
    panels += list(images) + ([second] if second is not None else [])
    fig = _figure(len(panels) * size + 0.3 + 0.15 * len(ends), size + (0.55 if title else 0.35))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    offset = 1 if first is not None else 0
    for i, (ax, image) in enumerate(zip(axes, panels, strict=True)):
        ax.imshow(to_numpy_image(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        step = i - offset
        if 0 <= step < steps:
            ax.set_title(f"{step / (steps - 1):.2f}", fontsize=7)
            color, width = ("tab:red", 2.5) if step == highlight else ("lightgray", 0.5)
        else:
            ax.set_title("first" if step < 0 else "second", fontsize=7, color="tab:blue")
            color, width = "tab:blue", 1.5
        for spine in ax.spines.values():
            spine.set_color(color)
            spine.set_linewidth(width)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


# --- attention, training and evaluation (notebooks 05-06) -------------------------------------------------------


def token_labels(num_tokens: int, *, num_prefix_tokens: int = 1) -> list[str]:
    """Tick labels for a token axis: ``["CLS", "0", "1", ...]``."""
    return ["CLS"] * num_prefix_tokens + [str(i) for i in range(num_tokens - num_prefix_tokens)]


def _check_attention_matrix(weights: torch.Tensor) -> np.ndarray:
    if not isinstance(weights, torch.Tensor) or weights.dim() != 2 or weights.shape[0] != weights.shape[1]:
        shape = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
        raise ValueError(
            f"weights must be one square attention matrix (N, N); got {shape}. Pick one: attention[layer, image, head]."
        )
    return weights.detach().float().cpu().numpy()


def _draw_attention_matrix(ax, array: np.ndarray, *, num_prefix_tokens: int, query: int | None) -> object:
    from matplotlib.patches import Rectangle

    n = array.shape[0]
    image = ax.imshow(array, cmap="magma", vmin=0, vmax=max(float(array.max()), 1e-6), interpolation="nearest")
    if n <= 40:
        labels = token_labels(n, num_prefix_tokens=num_prefix_tokens)
        ax.set_xticks(range(n), labels, fontsize=max(4, min(8, 160 / n)), rotation=90 if n > 12 else 0)
        ax.set_yticks(range(n), labels, fontsize=max(4, min(8, 160 / n)))
    ax.set_xlabel("key: the token looked at", fontsize=8)
    ax.set_ylabel("query: the token looking", fontsize=8)
    if query is not None:
        ax.add_patch(Rectangle((-0.5, query - 0.5), n, 1, fill=False, ec="cyan", lw=1.5))
    return image


def plot_attention(
    weights, *, num_prefix_tokens: int = 1, query: int | None = None, title: str | None = None, size=3.2
) -> Figure:
    """Attention matrices ``(N, N)`` as heatmaps: row i is how much token i takes from each token.

    ``weights`` is one matrix, or a dict ``{title: matrix}`` drawn side by side.
    Every row sums to 1. ``query`` frames one row.
    """
    panels = weights if isinstance(weights, dict) else {title or "": weights}
    arrays = {name: _check_attention_matrix(w) for name, w in panels.items()}
    if not arrays:
        raise ValueError("give at least one attention matrix.")
    fig = _figure(len(arrays) * (size + 0.2) + 0.9, size + 0.4)
    axes = fig.subplots(1, len(arrays), squeeze=False)[0]
    for ax, (name, array) in zip(axes, arrays.items(), strict=True):
        image = _draw_attention_matrix(ax, array, num_prefix_tokens=num_prefix_tokens, query=query)
        ax.set_title(name or f"attention weights, {array.shape[0]} tokens", fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8, label="weight")  # one scale per panel: their ranges differ
    return fig


def plot_attention_panel(
    image: torch.Tensor,
    weights: torch.Tensor,
    patch_size: int,
    *,
    query: int = 0,
    num_prefix_tokens: int = 1,
    title: str | None = None,
    size: float = 3.0,
) -> Figure:
    """An attention matrix ``(1+N, 1+N)`` beside the ``(C, H, W)`` image it was computed on.

    Right: the row of token ``query`` (0 is [CLS]) spread back onto the patch
    grid and laid over the image; the query's own patch is framed.
    """
    from matplotlib.patches import Rectangle

    array = _check_attention_matrix(weights)
    gh, gw = grid_size(image.shape[-2:], patch_size)
    n = array.shape[0]
    if n != num_prefix_tokens + gh * gw:
        raise ValueError(
            f"the attention covers {n} tokens but a {tuple(image.shape[-2:])} image in {patch_size} px patches gives "
            f"{num_prefix_tokens} + {gh}x{gw} = {num_prefix_tokens + gh * gw}; pass the image the attention came from."
        )
    if isinstance(query, bool) or not isinstance(query, int) or not 0 <= query < n:
        raise ValueError(f"query must be a token index in 0..{n - 1} (0 is [CLS]); got {query!r}.")
    h, w = image.shape[-2:]
    fig = _figure(2 * size + 1.2, size + 0.9)
    left, right = fig.subplots(1, 2)
    heat = _draw_attention_matrix(left, array, num_prefix_tokens=num_prefix_tokens, query=query)
    left.set_title(title or "attention weights", fontsize=9)
    fig.colorbar(heat, ax=left, shrink=0.8)
    row = array[query, num_prefix_tokens:].reshape(gh, gw)
    right.imshow(to_numpy_image(image), cmap="gray", extent=(0, w, h, 0))
    right.imshow(row, cmap="magma", alpha=0.5, extent=(0, w, h, 0), interpolation="nearest", vmin=0)
    for k in range(1, gh):
        right.axhline(k * patch_size, color="white", lw=0.5)
    for k in range(1, gw):
        right.axvline(k * patch_size, color="white", lw=0.5)
    if query >= num_prefix_tokens:
        r, c = divmod(query - num_prefix_tokens, gw)
        right.add_patch(
            Rectangle((c * patch_size, r * patch_size), patch_size, patch_size, fill=False, ec="cyan", lw=2)
        )
    name = "[CLS]" if query < num_prefix_tokens else f"patch {query - num_prefix_tokens}"
    right.set_title(f"what {name} looks at (max {row.max():.2f})", fontsize=9)
    right.set_xticks([])
    right.set_yticks([])
    return fig


def plot_loss_curve(history, *, size: float = 3.0) -> Figure:
    """A training :class:`~vitlib.train.History`: the loss per step with its epoch means and the
    learning rate; beside it the validation accuracy per epoch, if there is one."""
    loss = np.asarray(history.loss, dtype=float)
    if loss.size == 0:
        raise ValueError("the history holds no steps yet; train first (vitlib.train.fit).")
    accuracy = list(getattr(history, "epoch_accuracy", []))
    fig = _figure((2 if accuracy else 1) * (size + 0.9) + 0.3, size * 0.8 + 0.4)
    axes = fig.subplots(1, 2 if accuracy else 1, squeeze=False)[0]
    steps = np.arange(1, loss.size + 1)
    ax = axes[0]
    ax.plot(steps, loss, color="tab:blue", lw=0.6, alpha=0.4, label="per step")
    spe = history.steps_per_epoch
    if spe and loss.size >= spe:
        x, means = _epoch_means(loss, spe)
        ax.plot(x, means, color="tab:blue", lw=1.8, marker="o", ms=2.5, label="epoch mean")
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("training loss (cross-entropy)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"training loss, {loss.size} steps", fontsize=9)
    if len(history.lr) == loss.size:
        twin = ax.twinx()
        twin.plot(steps, history.lr, color="gray", lw=1.0, ls="--")
        twin.set_ylabel("learning rate (dashed)", fontsize=8, color="gray")
        twin.tick_params(labelsize=7, colors="gray")
        twin.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    if accuracy:
        ax = axes[1]
        epochs = np.arange(1, len(accuracy) + 1)
        ax.plot(epochs, 100 * np.asarray(accuracy), color="tab:green", marker="o", ms=3)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel("accuracy on held-out data (%)", fontsize=8)
        ax.set_ylim(max(0, 100 * min(accuracy) - 5), 100.5)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.set_title(f"held-out accuracy, last {100 * accuracy[-1]:.1f} %", fontsize=9)
    return fig


def plot_confusion_matrix(
    confusion: torch.Tensor, *, class_names=None, title: str | None = None, size: float = 3.6
) -> Figure:
    """A ``(K, K)`` confusion matrix: row = true class, column = predicted; counts written in."""
    if not isinstance(confusion, torch.Tensor) or confusion.dim() != 2 or confusion.shape[0] != confusion.shape[1]:
        shape = tuple(confusion.shape) if isinstance(confusion, torch.Tensor) else type(confusion).__name__
        raise ValueError(f"confusion must be a square (K, K) matrix of counts; got {shape}.")
    counts = confusion.detach().cpu().numpy()
    k = counts.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"got {len(names)} class names for {k} classes.")
    fig = _figure(size + 0.8, size + 0.4)
    ax = fig.add_subplot()
    # the diagonal dwarfs the mistakes: colour by log count so a single error still shows
    ax.imshow(np.log1p(counts), cmap="Blues", interpolation="nearest")
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                color = "white" if i == j else "tab:red"
                ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(k), names, fontsize=7)
    ax.set_yticks(range(k), names, fontsize=7)
    ax.set_xlabel("predicted class", fontsize=8)
    ax.set_ylabel("true class", fontsize=8)
    total, right = counts.sum(), np.trace(counts)
    ax.set_title(title or f"{int(right)}/{int(total)} correct ({100 * right / max(total, 1):.1f} %)", fontsize=9)
    return fig


def plot_cls_attention_heads(
    images: torch.Tensor, attention: torch.Tensor, patch_size: int, *, layer: int = -1, titles=None, size: float = 1.1
) -> Figure:
    """[CLS]'s attention over each image, one column per head (and their mean):
    ``(B, C, H, W)`` images, ``(depth, B, heads, 1+N, 1+N)`` attention."""
    if not isinstance(attention, torch.Tensor) or attention.dim() != 5:
        raise ValueError(
            "attention must be (depth, B, heads, 1+N, 1+N) as model(x, return_attention=True) returns it; "
            f"got {tuple(attention.shape) if isinstance(attention, torch.Tensor) else type(attention).__name__}."
        )
    depth, b, heads = attention.shape[:3]
    if len(images) != b:
        raise ValueError(f"got {len(images)} images but attention for {b}; pass the images the attention came from.")
    if not -depth <= layer < depth:
        raise ValueError(f"layer must be in {-depth}..{depth - 1}; got {layer}.")
    gh, gw = grid_size(images.shape[-2:], patch_size)
    h, w = images.shape[-2:]
    titles = [None] * b if titles is None else list(titles)
    columns = ["image"] + [f"head {k}" for k in range(heads)] + ["mean of heads"]
    fig = _figure(len(columns) * size + 0.3, b * size + 0.5)
    axes = fig.subplots(b, len(columns), squeeze=False)
    for i in range(b):
        rows = attention[layer, i, :, 0, 1:].detach().float().cpu()  # (heads, N)
        maps = list(rows.reshape(heads, gh, gw)) + [rows.mean(0).reshape(gh, gw)]
        axes[i, 0].imshow(to_numpy_image(images[i]), cmap="gray")
        axes[i, 0].set_ylabel(titles[i] or "", fontsize=8)
        for j, heat in enumerate(maps, start=1):
            axes[i, j].imshow(to_numpy_image(images[i]), cmap="gray", extent=(0, w, h, 0))
            axes[i, j].imshow(
                heat.numpy(), cmap="magma", alpha=0.65, extent=(0, w, h, 0), interpolation="nearest", vmin=0, vmax=1
            )
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(columns[j], fontsize=8)
    fig.suptitle(f"what [CLS] looks at in layer {layer % depth} (of {depth}); colour 0 to 1", fontsize=9)
    return fig
