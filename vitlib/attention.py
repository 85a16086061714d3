"""Scaled dot-product attention and multi-head self-attention (notebook 05)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Attention", "scaled_dot_product_attention"]


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention written out: ``(..., N, d) x3 -> (..., N, d), weights (..., N, N)``.

    ``softmax(q @ k^T / sqrt(d)) @ v``; row i of the weights says how much
    token i takes from every token.
    """
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"q and k need the same last size and k and v the same number of tokens; got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}."
        )
    scale = q.shape[-1] ** -0.5
    weights = ((q * scale) @ k.transpose(-2, -1)).softmax(dim=-1)  # (..., N, N)
    return weights @ v, weights


class Attention(nn.Module):
    """Multi-head self-attention with timm's layout: ``(B, N, D) -> (B, N, D)``.

    One fused ``qkv = Linear(D, 3D)`` whose output rows are ordered
    [q of all heads | k | v], heads contiguous inside each; then ``proj``.
    ``attn_drop`` and ``proj_drop`` (off by default) are dropout rates for
    training; they add no parameters.
    """

    def __init__(
        self, dim: int, *, num_heads: int = 8, qkv_bias: bool = True, attn_drop: float = 0.0, proj_drop: float = 0.0
    ):
        super().__init__()
        if dim % num_heads:
            raise ValueError(
                f"embed dim {dim} is not divisible by num_heads={num_heads}: each head gets dim/num_heads "
                f"channels. Heads that divide {dim}: {[h for h in range(1, min(dim, 32) + 1) if dim % h == 0]}."
            )
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, *, return_attention: bool = False):
        """``(B, N, D) -> (B, N, D)``; with ``return_attention`` also ``(B, heads, N, N)``.

        The fast path is ``F.scaled_dot_product_attention``; the written-out
        path runs only when the weights are asked for.
        """
        if x.dim() != 3 or x.shape[-1] != self.qkv.in_features:
            raise ValueError(
                f"attention expects tokens of shape (B, N, {self.qkv.in_features}); got {tuple(x.shape)}."
                + (" Add a batch dimension: x.unsqueeze(0)." if x.dim() == 2 else "")
            )
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, N, head_dim)
        if return_attention:
            out, weights = scaled_dot_product_attention(q, k, v)
            if self.training and self.attn_drop.p > 0:
                out = self.attn_drop(weights) @ v
        else:
            p = self.attn_drop.p if self.training else 0.0
            out, weights = F.scaled_dot_product_attention(q, k, v, dropout_p=p), None
        out = self.proj(out.transpose(1, 2).reshape(b, n, d))  # merge heads: (B, N, D)
        out = self.proj_drop(out)
        return (out, weights) if return_attention else out
