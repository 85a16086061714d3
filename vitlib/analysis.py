"""Looking inside a trained ViT, the ways the ViT paper does (notebooks 06 and 08).

- :func:`cls_attention_maps`: what the [CLS] query of one layer looks at, over the patch grid.
- :func:`attention_rollout`: attention *rollout* (Abnar & Zuidema, 2020; the ViT
  paper's appendix D.8 and figure 6): how much each output token draws on each
  input token through all the layers, the residual paths included.
- :func:`cls_rollout_maps`: the [CLS] row of the rollout over the patch grid.
- :func:`mean_attention_distance`: the ViT paper's figure 7 (right) and
  appendix D.7: per layer and head, how far (in pixels) a patch looks.
- :func:`position_similarity`: how alike the position table's rows are, over the grid (figure 7, centre).

All take the attention that ``model(x, return_attention=True)`` returns, of
shape ``(depth, B, heads, T, T)``: ``T = 1 + N`` tokens ([CLS] and ``N``
patches) for the usual ViT, or ``T = N`` for a model without [CLS].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import checks
from .checks import int_pair, whole

__all__ = [
    "attention_rollout",
    "cls_attention_maps",
    "cls_rollout_maps",
    "cls_rows",
    "head_weights",
    "mean_attention_distance",
    "patch_centres",
    "position_similarity",
]


def _grid(grid, tokens: int, name: str = "attention") -> tuple[int, int, int]:
    """The patch grid ``(gh, gw)`` and the number of prefix tokens (1 for [CLS], or 0) that ``tokens`` implies."""
    gh, gw = int_pair(grid, "grid", example=(4, 4))
    n = gh * gw
    if tokens == n + 1:
        return gh, gw, 1
    if tokens == n:
        return gh, gw, 0
    raise ValueError(
        f"{name} covers {tokens} tokens but the grid {gh}x{gw} has {n} patches (expected {n + 1} tokens with "
        f"[CLS], or {n} without). Pass the model's grid, e.g. grid=model.patch_embed.grid_size."
    )


def cls_attention_maps(attention: torch.Tensor, grid, *, layer: int = -1, head: int | None = None) -> torch.Tensor:
    """What [CLS] looks at in one layer: ``(depth, B, heads, 1+N, 1+N) -> (B, gh, gw)``.

    Row 0 (the [CLS] query) of layer ``layer``'s attention, its patch columns,
    for one head or averaged over the heads (``head=None``), laid out over the
    ``(gh, gw)`` patch grid. The [CLS] key's own share is left out, so a map
    sums to at most 1.
    """
    attention = checks.attention_maps(attention)
    gh, gw = int_pair(grid, "grid", example=(4, 4))
    depth, heads = attention.shape[0], attention.shape[2]
    layer = whole(layer, "layer", example=-1)
    if not -depth <= layer < depth:
        raise ValueError(f"layer must be in [{-depth}, {depth - 1}] for {depth} layers; got {layer}.")
    rows = attention[layer, :, :, 0, 1:]  # (B, heads, N)
    if rows.shape[-1] != gh * gw:
        raise ValueError(f"attention covers {rows.shape[-1]} patches but the grid {gh}x{gw} has {gh * gw}.")
    if head is None:
        rows = rows.mean(dim=1)
    else:
        head = whole(head, "head", example=0)
        if not -heads <= head < heads:
            raise ValueError(f"head must be in [{-heads}, {heads - 1}] for {heads} heads, or None; got {head}.")
        rows = rows[:, head]
    return rows.reshape(-1, gh, gw).detach().float()


def attention_rollout(attention: torch.Tensor) -> torch.Tensor:
    """Attention rollout through all layers: ``(depth, B, heads, T, T) -> (B, T, T)``.

    As Abnar & Zuidema (2020) and the ViT paper's appendix D.8: in each layer
    the heads are averaged, the residual connection is accounted for by
    ``0.5 * A + 0.5 * I``, the rows are renormalised to sum to 1, and the
    layers' matrices are multiplied from the first to the last,
    ``R = A_depth @ ... @ A_2 @ A_1``. Row ``i`` of ``R`` says how much output
    token ``i`` draws on each input token; each row is non-negative and sums to 1.
    """
    attention = checks.attention_maps(attention)
    depth, b, _, t, _ = attention.shape
    eye = torch.eye(t, dtype=attention.dtype)
    rollout = eye.expand(b, t, t)
    for layer in range(depth):
        a = 0.5 * attention[layer].mean(dim=1) + 0.5 * eye  # (B, T, T): heads averaged, residual added
        a = a / a.sum(dim=-1, keepdim=True)
        rollout = a @ rollout
    return rollout.contiguous()


def cls_rollout_maps(attention: torch.Tensor, grid) -> torch.Tensor:
    """The [CLS] row of :func:`attention_rollout` over the patches: ``(depth, B, heads, 1+N, 1+N) -> (B, gh, gw)``.

    This is what the ViT paper's figure 6 shows (for a ViT-L/16). The [CLS]
    input's own share is left out, so a map sums to at most 1.
    """
    attention = checks.attention_maps(attention)
    gh, gw, prefix = _grid(grid, attention.shape[-1])
    if prefix != 1:
        raise ValueError(f"this attention has no [CLS] token ({attention.shape[-1]} tokens = {gh}x{gw} patches).")
    return attention_rollout(attention)[:, 0, 1:].reshape(-1, gh, gw)


def patch_centres(grid, patch_size) -> torch.Tensor:
    """Centres of the patches in pixels, row by row: ``(gh, gw), p -> (gh * gw, 2)`` as ``(y, x)``.

    Patch ``(i, j)`` of ``ph x pw`` pixels covers rows ``i*ph .. i*ph + ph - 1``;
    its centre is at ``(i * ph + (ph - 1) / 2, j * pw + (pw - 1) / 2)``.
    """
    gh, gw = int_pair(grid, "grid", example=(4, 4))
    ph, pw = int_pair(patch_size, "patch_size", example=2)
    ys = torch.arange(gh, dtype=torch.float64) * ph + (ph - 1) / 2
    xs = torch.arange(gw, dtype=torch.float64) * pw + (pw - 1) / 2
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).reshape(-1, 2)


def mean_attention_distance(attention: torch.Tensor, grid, patch_size) -> torch.Tensor:
    """How far each head looks, in pixels: ``(depth, B, heads, T, T) -> (depth, heads)``.

    The ViT paper's figure 7 (right) and appendix D.7: for each query patch,
    the attention-weighted mean of the Euclidean distances (in pixels) from
    its centre to the centres of the key patches; averaged over the query
    patches and the ``B`` images.

    [CLS] is left out, as a query and as a key (it has no place in the image):
    the patch-to-patch weights of each query are renormalised to sum to 1, so
    that the result is a true weighted mean distance, between 0 (every patch
    looks only at itself) and the largest distance on the grid; uniform
    attention gives the grid's mean pairwise distance (self-pairs included). A
    query that puts all its weight on [CLS] has no patch weights and counts as
    distance 0. ``T`` is ``1 + gh * gw`` (with [CLS]) or ``gh * gw``.
    """
    attention = checks.attention_maps(attention)
    gh, gw, prefix = _grid(grid, attention.shape[-1])
    centres = patch_centres((gh, gw), patch_size)
    distance = torch.cdist(centres, centres).float()  # (N, N) pixels
    patches = attention[..., prefix:, prefix:]  # (depth, B, heads, N, N)
    weights = patches / patches.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(torch.float32).tiny)
    per_query = (weights * distance).sum(dim=-1)  # (depth, B, heads, N)
    return per_query.mean(dim=(1, 3))


def head_weights(attention: torch.Tensor, layer: int, image: int, head: int | None) -> torch.Tensor:
    """One layer's weights for one image: ``(depth, B, heads, T, T) -> (T, T)``, one head or their mean (None)."""
    per_head = attention[layer, image]  # (heads, T, T)
    return per_head.mean(0) if head is None else per_head[head]


def cls_rows(attention: torch.Tensor, *, layer: int = -1) -> torch.Tensor:
    """What [CLS] gives each patch in one layer, per head: ``(depth, B, heads, 1+N, 1+N) -> (B, heads, N)``."""
    return checks.attention_maps(attention)[layer, :, :, 0, 1:]


def position_similarity(pos_embed: torch.Tensor, grid=None, *, num_prefix_tokens: int = 1) -> torch.Tensor:
    """Cosine similarity of every grid position with every other, laid out on the grid (the ViT paper's
    figure 7, centre): ``(1, P+gh*gw, D) -> (gh*gw, gh, gw)``.

    Entry ``[q, r, c]`` is the similarity of query position ``q`` (row-major) with the position at row ``r``,
    column ``c``. The prefix rows ([CLS]) are left out; ``grid`` defaults to a square.
    """
    gh, gw = checks.table_grid(pos_embed, grid, num_prefix_tokens)
    table = F.normalize(pos_embed[0, num_prefix_tokens:].detach().float(), dim=-1)  # (N, D), unit rows
    return (table @ table.T).reshape(gh * gw, gh, gw)
