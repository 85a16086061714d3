"""Pictures of notebooks 00-01: images, the patch grid, the patches as tokens, the token matrix."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import checks
from ..checks import explain_patch_size
from ..patches import grid_size, patchify
from .core import add_colorbar, draw_patch_lines, new_figure, set_description, tile_array, to_numpy_image

__all__ = [
    "draw_patch_grid",
    "draw_token_matrix",
    "draw_token_planes",
    "mosaic_array",
    "plot_image",
    "plot_images",
    "plot_patch_explorer",
    "plot_patch_grid",
    "plot_patch_mosaic",
    "plot_token_matrix",
]

CHANNEL_NAMES = ("R", "G", "B")
INVALID = "#c0392b"


def _image(image, name: str = "image") -> torch.Tensor:
    return checks.float_images(image, name, ndim=3)


def plot_image(image: torch.Tensor, *, title: str | None = None, size: float = 3.0) -> Figure:
    """One ``(C, H, W)`` image."""
    image = _image(image)
    h, w = image.shape[-2:]
    fig = new_figure(size * w / max(h, w) + 0.2, size * h / max(h, w) + (0.4 if title else 0.2))
    ax = fig.add_subplot()
    ax.imshow(to_numpy_image(image), cmap="gray")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return set_description(fig, f"An image of {w} x {h} pixels")


def plot_images(images, titles=None, *, patch_size: int | None = None, size: float = 2.6) -> Figure:
    """Images side by side, one title each: a list of ``(C, H, W)`` tensors or a ``(K, C, H, W)`` batch.
    ``patch_size`` draws the patch grid on each (its size must tile the images)."""
    images = list(images)
    if not images:
        raise ValueError("plot_images needs at least one image; got none.")
    titles = [None] * len(images) if titles is None else list(titles)
    if len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles; pass one title per image.")
    h, w = images[0].shape[-2:]
    if patch_size is not None:
        checks.tiling((h, w), patch_size)
    fig = new_figure(len(images) * (size * w / max(h, w) + 0.1) + 0.1, size * h / max(h, w) + 0.45)
    for ax, image, title in zip(fig.subplots(1, len(images), squeeze=False)[0], images, titles, strict=True):
        ax.imshow(to_numpy_image(image), cmap="gray")
        if patch_size is not None:
            draw_patch_lines(ax, (h // patch_size, w // patch_size), patch_size, color="tab:orange")
        ax.set_axis_off()
        if title:
            ax.set_title(title, fontsize=9)
    what = "An image" if len(images) == 1 else f"{len(images)} images side by side"
    named = [str(t) for t in titles if t]
    titled = f", titled {'; '.join(named)}" if named else ""
    grid = f", with the grid of {patch_size} x {patch_size}-pixel patches" if patch_size is not None else ""
    return set_description(fig, f"{what}, {w} x {h} pixels" + (" each" if len(images) > 1 else "") + grid + titled)


def draw_patch_grid(ax, image: torch.Tensor, patch_size: int, *, show_indices: bool = True, frame: int | None = None):
    """Draw a ``(C, H, W)`` image with its patch grid into ``ax``; returns ``(gh, gw)``.

    Each patch is numbered with its token index (up to 100 patches); ``frame`` outlines one patch. A
    ``patch_size`` that does not tile the image draws the grid that fits, hatches the leftover strip in
    red and says why in the title, so that the picture keeps its place and shows the problem.
    """
    image = _image(image)
    patch_size = checks.positive_int(patch_size, "patch_size", example=16)
    h, w = image.shape[-2:]
    gh, gw = h // patch_size, w // patch_size
    problem = explain_patch_size((h, w), patch_size)
    ax.imshow(to_numpy_image(image), cmap="gray")
    draw_patch_lines(ax, (gh + (h % patch_size > 0), gw + (w % patch_size > 0)), patch_size)
    if problem:
        for x, y, width, height in (
            (gw * patch_size - 0.5, -0.5, w - gw * patch_size, h),  # the strip on the right
            (-0.5, gh * patch_size - 0.5, w, h - gh * patch_size),  # the strip at the bottom
        ):
            if width > 0 and height > 0:
                ax.add_patch(Rectangle((x, y), width, height, fc=INVALID, alpha=0.45, hatch="//", ec=INVALID))
        leftover = ", ".join(
            f"{v % patch_size} px of the {n}" for n, v in (("height", h), ("width", w)) if v % patch_size
        )
        ax.set_title(f"patch size {patch_size}: invalid", fontsize=9, color=INVALID)
        ax.set_xlabel(f"left over (hatched): {leftover}", fontsize=8, color=INVALID)
    else:
        ax.set_title(f"{gh} x {gw} grid of {patch_size} x {patch_size} patches: N = {gh * gw}", fontsize=9)
    if show_indices and not problem and gh * gw <= 100:  # more labels would hide the picture
        fontsize = max(4, min(10, 120 / max(gh, gw)))
        for r in range(gh):
            for c in range(gw):
                ax.text(
                    (c + 0.5) * patch_size - 0.5,
                    (r + 0.5) * patch_size - 0.5,
                    str(r * gw + c),
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color="white",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "black", "alpha": 0.45, "lw": 0},
                )
    if frame is not None and not problem:
        r, c = divmod(frame, gw)
        xy = (c * patch_size - 0.5, r * patch_size - 0.5)
        ax.add_patch(Rectangle(xy, patch_size, patch_size, fill=False, ec="cyan", lw=2))
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    return gh, gw


def plot_patch_grid(image: torch.Tensor, patch_size: int, *, show_indices: bool = True, size: float = 3.6) -> Figure:
    """A ``(C, H, W)`` image with the patch grid drawn on it and each patch's token index (up to 100
    patches). A patch size that does not tile the image is drawn as in :func:`draw_patch_grid`."""
    image = _image(image)
    h, w = image.shape[-2:]
    fig = new_figure(size * w / max(h, w) + 0.2, size * h / max(h, w) + 0.5)
    gh, gw = draw_patch_grid(fig.add_subplot(), image, patch_size, show_indices=show_indices)
    numbered = ", each patch numbered with its token index" if show_indices and gh * gw <= 100 else ""
    if explain_patch_size((h, w), patch_size):
        numbered = "; the strip that no whole patch covers is hatched in red"
    return set_description(
        fig, f"An image of {w} x {h} pixels with a grid of {patch_size} x {patch_size} patches drawn on it{numbered}"
    )


def mosaic_array(image: torch.Tensor, patch_size: int, *, gap: int | None = None) -> np.ndarray:
    """The patches pulled apart by a white gap, in token order: ``(C, H, W) -> (H', W'[, C])``."""
    image = _image(image)
    c, h, w = image.shape
    gh, gw = grid_size((h, w), patch_size)
    gap = max(1, patch_size // 8) if gap is None else gap
    tiles = patchify(image[None], patch_size)[0].reshape(gh * gw, c, patch_size, patch_size)
    array = tiles.clamp(0, 1).permute(0, 2, 3, 1).numpy()
    return tile_array(array[..., 0] if c == 1 else array, ncols=gw, gap=gap, border=True)


def plot_patch_mosaic(image: torch.Tensor, patch_size: int, *, size: float = 3.6) -> Figure:
    """The patch grid pulled apart: each tile is one token, read left to right, top to bottom."""
    array = mosaic_array(image, patch_size)
    h, w = array.shape[:2]
    fig = new_figure(size * w / max(h, w) + 0.2, size * h / max(h, w) + 0.5)
    ax = fig.add_subplot()
    ax.imshow(array, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    gh, gw = grid_size(image.shape[-2:], patch_size)
    ax.set_title(f"{gh * gw} patches, pulled apart", fontsize=9)
    return set_description(
        fig, f"The {gh} x {gw} patches of an image pulled apart by white gaps, in token order: left to right, top down"
    )


def draw_token_matrix(ax, tokens: torch.Tensor, *, channels: int | None = None, max_tokens: int = 256):
    """Draw the ``(N, C*P*P)`` token matrix into ``ax``, one row per token; with ``channels=C`` the
    C thirds (R | G | B) of each row are marked. Returns the ``AxesImage`` (for a colour bar)."""
    if tokens.dim() == 3:
        tokens = tokens[0]
    if tokens.dim() != 2:
        raise ValueError(f"tokens must be (N, C*P*P) or (1, N, C*P*P); got shape {tuple(tokens.shape)}.")
    max_tokens = checks.positive_int(max_tokens, "max_tokens", example=256)
    n, d = tokens.shape
    shown = tokens[:max_tokens].detach().float().cpu().numpy()
    picture = ax.imshow(shown, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0, vmax=1)
    if channels and channels > 1 and d % channels == 0:
        part = d // channels
        for k in range(1, channels):
            ax.axvline(k * part - 0.5, color="white", lw=1.2)
        names = CHANNEL_NAMES if channels == 3 else [f"channel {k}" for k in range(channels)]
        ax.set_xticks([(k + 0.5) * part - 0.5 for k in range(channels)], names[:channels], fontsize=8)
        ax.tick_params(axis="x", length=0)
    else:
        ax.tick_params(labelsize=7)
    ax.set_xlabel(f"C·P·P = {d} values per token", fontsize=8)
    ax.set_ylabel(f"token (N = {n}{f', first {max_tokens} shown' if n > max_tokens else ''})", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(f"token matrix: {n} x {d}" + (f", first {max_tokens} rows" if n > max_tokens else ""), fontsize=9)
    return picture


def plot_token_matrix(patches: torch.Tensor, *, max_tokens: int = 256, channels: int | None = None, size=3.6) -> Figure:
    """The ``(N, C*P*P)`` token matrix as an image: one row per token, with a colour bar (pixel value)."""
    fig = new_figure(size + 0.9, size * 0.8 + 0.5)
    ax = fig.add_subplot()
    picture = draw_token_matrix(ax, patches, channels=channels, max_tokens=max_tokens)
    add_colorbar(fig, picture, ax, label="pixel value")
    return set_description(fig, "The token matrix as a heat map: one row per token, one column per number of the token")


def draw_token_planes(ax, image: torch.Tensor, patch_size: int, *, token: int = 0) -> None:
    """Draw token ``token`` of a ``(C, H, W)`` image as the order patchify flattens it: its C planes of
    P x P pixels side by side (R | G | B, each in its own colour), which laid end to end are its C·P·P numbers."""
    image = _image(image)
    c = image.shape[0]
    gh, gw = grid_size(image.shape[-2:], patch_size)
    token = checks.nonnegative_int(token, "token", example=0)
    if token >= gh * gw:
        raise ValueError(f"token must be a patch index in 0..{gh * gw - 1}; got {token}.")
    planes = patchify(image[None], patch_size)[0, token].reshape(c, patch_size, patch_size).clamp(0, 1).numpy()
    if c == 3:  # each plane drawn in its own colour: R values as shades of red, ...
        tiles = np.zeros((3, patch_size, patch_size, 3))
        for k in range(3):
            tiles[k, ..., k] = planes[k]
    else:
        tiles = np.repeat(planes[..., None], 3, axis=-1)
    gap = max(1, patch_size // 4)
    ax.imshow(tile_array(tiles, ncols=c, gap=gap), interpolation="nearest")
    names = CHANNEL_NAMES if c == 3 else [f"channel {k}" for k in range(c)]
    ax.set_xticks([k * (patch_size + gap) + (patch_size - 1) / 2 for k in range(c)], names[:c], fontsize=8)
    ax.set_yticks([])
    ax.tick_params(axis="x", length=0)
    ax.set_xlabel(f"flattened in this order: D = {c}·{patch_size}·{patch_size} = {c * patch_size**2}", fontsize=8)
    ax.set_title(f"token {token} up close: {' | '.join(names[:c])}", fontsize=9)


def _no_tokens(ax, reason: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, reason, ha="center", va="center", fontsize=8, color=INVALID, wrap=True, transform=ax.transAxes)


def plot_patch_explorer(
    image: torch.Tensor, patch_size: int, *, max_tokens: int = 256, token: int | None = None
) -> Figure:
    """Three panels side by side, each drawn by the single plots: the patch grid (``token`` framed; default
    the patch at the centre of the grid), that token up close as its R | G | B planes (what grows as P
    grows), and the token matrix with its thirds marked and a colour bar. A patch size that does not tile
    the image keeps the three panels (the same figure size): the grid that fits with the leftover strip
    hatched, and the reason in the other two."""
    image = _image(image)
    problem = explain_patch_size(tuple(image.shape[-2:]), patch_size)
    if token is None and not problem:
        gh, gw = grid_size(image.shape[-2:], patch_size)
        token = (gh // 2) * gw + gw // 2
    fig = new_figure(10.5, 3.6)
    grid_ax, token_ax, matrix_ax = fig.subplots(1, 3, width_ratios=[1, 0.8, 1.1])
    draw_patch_grid(grid_ax, image, patch_size, show_indices=False, frame=token)
    if problem:
        _no_tokens(token_ax, "no tokens:\nthe patches do not tile the image")
        token_ax.set_title(f"patch size {patch_size}: no token", fontsize=9, color=INVALID)
        _no_tokens(matrix_ax, "no token matrix:\n" + problem.split(". ")[0].replace(" (", "\n("))
        matrix_ax.set_title("token matrix: none", fontsize=9, color=INVALID)
        empty = matrix_ax.imshow(np.full((1, 1), np.nan), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        add_colorbar(fig, empty, matrix_ax, label="pixel value")
        return set_description(
            fig,
            f"Patch size {patch_size} does not tile this image: three panels, the image with the grid that fits and "
            "the leftover strip hatched in red, and in place of a token and of the token matrix, the reason "
            f"({problem})",
        )
    draw_token_planes(token_ax, image, patch_size, token=token)
    tokens = patchify(image[None], patch_size)[0]
    picture = draw_token_matrix(matrix_ax, tokens, channels=image.shape[0], max_tokens=max_tokens)
    add_colorbar(fig, picture, matrix_ax, label="pixel value")
    return set_description(
        fig,
        f"Three panels for patch size {patch_size}: the image with its patch grid and token {token} framed in cyan; "
        "that token up close, its colour planes side by side in the order patchify flattens them; and the token matrix "
        "as a heat map, one row per token",
    )
