"""Pictures of notebook 07: batches of images in rows and grids, the VAE's two losses, a latent walk."""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.figure import Figure

from .. import checks
from .core import LINE_COLORS, epoch_means, new_figure, set_description, tile_images, to_numpy_image

__all__ = ["plot_image_grid", "plot_image_rows", "plot_interpolation", "plot_reconstructions", "plot_vae_losses"]

HIGHLIGHT = "#D55E00"  # Okabe and Ito's vermillion: the current step, beside light grey and blue frames


def plot_image_grid(images: torch.Tensor, *, ncols: int = 8, title: str | None = None, size: float = 0.55) -> Figure:
    """A ``(K, C, H, W)`` batch as a grid (prior samples, for instance); ``size`` inches per image."""
    array = tile_images(images, ncols=ncols)
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig = new_figure(ncols * size + 0.2, nrows * size + (0.4 if title else 0.2))
    ax = fig.add_subplot()
    ax.imshow(array, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    h, w = images.shape[-2:]
    return set_description(fig, f"{len(images)} images of {w} x {h} pixels in a grid, {nrows} rows of {ncols}")


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
    fig = new_figure(k * size + 1.0, len(rows) * size + (0.45 if title else 0.25))
    ax = fig.add_subplot()
    ax.imshow(array, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([1 + i * (h + 1) + h / 2 - 0.5 for i in range(len(rows))], list(rows), fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)
    names = "; ".join(f"row {i + 1}, {name}" for i, name in enumerate(rows))
    return set_description(fig, f"{len(rows)} rows of {k} images each, one column per example: {names}")


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
    fig = plot_image_rows({"original": originals, "decoded μ": reconstructions}, title=title, size=size)
    return set_description(
        fig, f"{len(originals)} images (top row) above what the VAE decodes from each one's mean code μ (bottom row)"
    )


def plot_vae_losses(reconstruction, kl, *, beta=None, steps_per_epoch: int | None = None, size: float = 3.0) -> Figure:
    """The two loss terms per step ``(steps,)``, side by side (their scales differ), with per-epoch means if
    ``steps_per_epoch`` is given; ``beta`` ``(steps,)`` is drawn on the KL panel's right axis. The legends sit
    below the panels, so that they cover no curve."""
    reconstruction, kl = list(reconstruction), list(kl)
    if not reconstruction or len(reconstruction) != len(kl):
        raise ValueError(
            f"reconstruction and kl must be non-empty and of equal length (one value per step); got "
            f"{len(reconstruction)} and {len(kl)}."
        )
    if beta is not None and len(beta) != len(kl):
        raise ValueError(f"beta must hold one value per step ({len(kl)}); got {len(beta)}.")
    fig = new_figure(2 * size + 0.8, size * 0.75 + 0.7)
    axes = fig.subplots(1, 2)
    steps = np.arange(1, len(kl) + 1)
    for ax, values, name, color in (
        (axes[0], reconstruction, "reconstruction (BCE, nats per image)", LINE_COLORS[0]),
        (axes[1], kl, "KL to N(0, I) (nats per image)", LINE_COLORS[1]),
    ):
        ax.plot(steps, values, color=color, lw=0.6, alpha=0.45, label="per step")
        if steps_per_epoch and len(values) >= steps_per_epoch:
            x, means = epoch_means(values, steps_per_epoch)
            ax.plot(x, means, color=color, lw=1.8, marker="o", ms=2.5, label="epoch mean")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    extra = ([], [])
    if beta is not None:
        twin = axes[1].twinx()
        twin.plot(steps, list(beta), color="gray", lw=1.0, ls="--", label="β (right axis)")
        twin.set_ylabel("β (dashed)", fontsize=8, color="gray")
        twin.set_ylim(0, max(max(beta), 1e-9) * 1.1)
        twin.tick_params(labelsize=7, colors="gray")
        extra = twin.get_legend_handles_labels()
    for ax, (more_handles, more_labels) in ((axes[0], ([], [])), (axes[1], extra)):
        handles, labels = ax.get_legend_handles_labels()
        # below the panel: inside, a legend would cover the β curve, which rises to the top
        ax.legend(
            handles + more_handles,
            labels + more_labels,
            fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncol=3,
            frameon=False,
        )
    beta_text = f", and β on its right axis (dashed), from {beta[0]:g} to {beta[-1]:g}" if beta is not None else ""
    return set_description(
        fig,
        f"Two line charts of the VAE's loss terms at each of {len(kl)} steps, side by side: the reconstruction term, "
        f"from {reconstruction[0]:.3g} to {reconstruction[-1]:.3g}, and the KL term, from {kl[0]:.3g} to {kl[-1]:.3g}"
        f"{beta_text}",
    )


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
    if highlight is not None:
        highlight = checks.nonnegative_int(highlight, "highlight", example=0)
        if highlight >= steps:
            raise ValueError(f"highlight must be a step in 0..{steps - 1}; got {highlight}.")
    ends = [x for x in (first, second) if x is not None]
    panels = [first] if first is not None else []
    panels += list(images) + ([second] if second is not None else [])
    fig = new_figure(len(panels) * size + 0.3 + 0.15 * len(ends), size + (0.55 if title else 0.35))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    offset = 1 if first is not None else 0
    for i, (ax, image) in enumerate(zip(axes, panels, strict=True)):
        ax.imshow(to_numpy_image(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        step = i - offset
        if 0 <= step < steps:
            ax.set_title(f"{step / (steps - 1):.2f}", fontsize=7)
            color, width = (HIGHLIGHT, 2.5) if step == highlight else ("lightgray", 0.5)
        else:
            ax.set_title("first" if step < 0 else "second", fontsize=7, color=LINE_COLORS[0])
            color, width = LINE_COLORS[0], 1.5
        for spine in ax.spines.values():
            spine.set_color(color)
            spine.set_linewidth(width)
    if title:
        fig.suptitle(title, fontsize=9)
    ends = ", with the two original images at its ends (framed in blue)" if len(ends) == 2 else ""
    framed = f"; the one at t = {highlight / (steps - 1):.2f} framed thick" if highlight is not None else ""
    return set_description(
        fig,
        f"A strip of {steps} images decoded at evenly spaced points t = 0 to 1 on the line between two latent codes"
        f"{ends}{framed}",
    )
