"""What a trained ViT attends to, computed from the attention that ``model(x, return_attention=True)``
returns (notebooks 06 and 08). The pictures of these maps are in :mod:`vitlib.viz`."""

from __future__ import annotations

import torch

__all__ = ["cls_attention_maps"]


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
