"""Pictures of notebook 08: MAE-style masking and per-patch predictions."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..patches import grid_size, patchify
from .core import LINE_COLORS, add_colorbar, draw_patch_lines, new_figure, set_description, tile_images, to_numpy_image

__all__ = ["plot_masking", "plot_patch_predictions"]

HIDDEN = 0.35  # the opaque grey of a hidden patch: nothing of the image shows through
TRUTH = LINE_COLORS[1]  # orange frames: the true patches, over the grey image
WRONG = "cyan"  # dashed cyan frames: wrong patches, over magma (which holds no cyan)


def plot_masking(image: torch.Tensor, patch_size: int, mask: torch.Tensor, *, size: float = 2.6) -> Figure:
    """MAE-style masking of one ``(C, H, W)`` image; ``mask`` ``(N,)`` is 1 on removed patches.

    Three panels: the image cut into patches; the patches the encoder never sees painted over opaquely
    (nothing of them shows through); and the K kept patches pulled together: the encoder's whole input
    (plus [CLS]).
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
    hidden = image.clone()
    hidden[:, cover] = HIDDEN
    cols = max(1, math.ceil(math.sqrt(keep * gw / gh)))
    fig = new_figure(3 * size + 0.4, size * h / max(h, w) + 0.6)
    axes = fig.subplots(1, 3)
    axes[0].imshow(to_numpy_image(image), cmap="gray", vmin=0, vmax=1)
    draw_patch_lines(axes[0], (gh, gw), patch_size, lw=0.5)
    axes[0].set_title(f"{gh * gw} patches", fontsize=9)
    axes[1].imshow(to_numpy_image(hidden), cmap="gray", vmin=0, vmax=1)
    draw_patch_lines(axes[1], (gh, gw), patch_size, lw=0.5)
    axes[1].set_title(f"{gh * gw - keep} hidden ({(gh * gw - keep) / (gh * gw):.0%})", fontsize=9)
    if keep:
        kept = tiles[~removed.reshape(-1)].reshape(keep, c, patch_size, patch_size)
        axes[2].imshow(tile_images(kept, ncols=cols, gap=max(1, patch_size // 8)), cmap="gray", vmin=0, vmax=1)
    axes[2].set_title(f"the encoder sees {keep} patches", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return set_description(
        fig,
        f"MAE-style masking in three panels: the image cut into {gh * gw} patches; the same image with the "
        f"{gh * gw - keep} hidden patches painted over in grey; and the {keep} kept patches pulled together, the "
        "encoder's whole input",
    )


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

    Top row: each image with its true patches framed in orange. Bottom row: the predicted probability per
    patch over the image (one value per patch, so drawn as blocks) with a colour bar; a dashed cyan frame marks
    a patch where the prediction (threshold 0.5) is wrong. ``row_names`` label the rows.
    """
    b = min(len(images), max_images)
    h, w = images.shape[-2:]
    gh, gw = grid_size((h, w), patch_size)
    if labels.shape[-1] != gh * gw or probs.shape[-1] != gh * gw:
        raise ValueError(
            f"labels and probs must hold one value per patch ({gh * gw}); "
            f"got {tuple(labels.shape)} and {tuple(probs.shape)}."
        )
    fig = new_figure(b * size + 0.8, 2 * size + 0.4)
    axes = fig.subplots(2, b, squeeze=False)
    wrong = []
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
                    axes[0, i].add_patch(Rectangle(xy, patch_size, patch_size, fill=False, ec=TRUTH, lw=1.0))
                if bool(prob[r, c] > 0.5) != bool(truth[r, c]):
                    axes[1, i].add_patch(Rectangle(xy, patch_size, patch_size, fill=False, ec=WRONG, lw=1.2, ls="--"))
        wrong.append(int(((prob > 0.5) != truth).sum()))
    axes[0, 0].set_ylabel(row_names[0], fontsize=8)
    axes[1, 0].set_ylabel(row_names[1], fontsize=8)
    add_colorbar(fig, heat, axes[1, :].tolist(), label="P(shape)")
    return set_description(
        fig,
        f"Per-patch predictions for {b} images. Top row, {row_names[0]}: each image with its true patches framed in "
        f"orange. Bottom row, {row_names[1]}: the predicted probability per patch laid over the image as blocks, a "
        f"wrong patch (threshold 0.5) framed in dashed cyan. Wrong patches per image: {', '.join(map(str, wrong))} of "
        f"{gh * gw}",
    )
