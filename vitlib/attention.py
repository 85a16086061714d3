"""Scaled dot-product attention and multi-head self-attention (notebook 05)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import checks

__all__ = ["Attention", "scaled_dot_product_attention"]


@checks.explained(checks.qkv_inputs)
def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention written out: ``(..., N, d) x3 -> (..., N, d), weights (..., N, N)``.

    ``softmax(q @ k^T / sqrt(d)) @ v``; row i of the weights says how much token i takes from every token.
    """
    scale = q.shape[-1] ** -0.5  # keeps the scores' variance near 1 whatever d is (notebook 05)
    weights = ((q * scale) @ k.transpose(-2, -1)).softmax(dim=-1)  # (..., N, N)
    return weights @ v, weights


class Attention(nn.Module):
    """Multi-head self-attention with timm's layout: ``(B, N, D) -> (B, N, D)``.

    One fused ``qkv = Linear(D, 3D)`` whose output rows are ordered [q of all heads | k | v], heads
    contiguous inside each; then ``proj``. ``attn_drop`` and ``proj_drop`` are dropout rates for training
    (off by default; no parameters). Like ``nn.MultiheadAttention`` it returns ``(output, weights)``, the
    weights ``None`` unless ``need_weights=True``.
    """

    def __init__(
        self, dim: int, *, num_heads: int = 8, qkv_bias: bool = True, attn_drop: float = 0.0, proj_drop: float = 0.0
    ):
        super().__init__()
        checks.attention_args(dim, num_heads, attn_drop, proj_drop)
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    @checks.explained(checks.tokens_in)
    def forward(self, x: torch.Tensor, *, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, N, D) -> (B, N, D)`` and the weights ``(B, heads, N, N)`` (``None`` unless ``need_weights``)."""
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, N, head_dim)
        if need_weights:  # written out, to hand the weights back
            out, weights = scaled_dot_product_attention(q, k, v)
            if self.training and self.attn_drop.p > 0:
                out = self.attn_drop(weights) @ v
        else:  # PyTorch's fused kernel: the same numbers, without materialising the weights
            p = self.attn_drop.p if self.training else 0.0
            out, weights = F.scaled_dot_product_attention(q, k, v, dropout_p=p), None
        out = self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, d)))  # merge the heads: (B, N, D)
        return out, weights
