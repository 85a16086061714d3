"""Scaled dot-product attention and multi-head self-attention (notebook 05)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .checks import fraction, positive_int, tensor, tokens

__all__ = ["Attention", "scaled_dot_product_attention"]


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention written out: ``(..., N, d) x3 -> (..., N, d), weights (..., N, N)``.

    ``softmax(q @ k^T / sqrt(d)) @ v``; row i of the weights says how much
    token i takes from every token. The leading dimensions (batch, heads) of
    ``q``, ``k`` and ``v`` must be equal; all three floating point, at least 2-D.
    """
    for name, value in (("q", q), ("k", k), ("v", v)):
        tensor(value, name)
        if not torch.is_floating_point(value):
            raise TypeError(f"{name} must be floating point; got {value.dtype}. Convert it: {name}.float().")
        if value.dim() < 2:
            raise ValueError(
                f"{name} must be at least 2-D (..., N, d): tokens by channels; got shape {tuple(value.shape)}. "
                f"For one token add a dimension: {name}.unsqueeze(0)."
            )
    if not q.shape[:-2] == k.shape[:-2] == v.shape[:-2]:
        raise ValueError(
            f"q, k and v need the same leading (batch, heads) dimensions; got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}."
        )
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
        dim = positive_int(dim, "dim", example=64)
        num_heads = positive_int(num_heads, "num_heads", example=4)
        attn_drop = fraction(attn_drop, "attn_drop", high_open=True, example=0.0)
        proj_drop = fraction(proj_drop, "proj_drop", high_open=True, example=0.0)
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

        ``x`` must be a floating-point tensor of ``dim`` channels (a clear error otherwise).

        The fast path is ``F.scaled_dot_product_attention``; the written-out
        path runs only when the weights are asked for.
        """
        tokens(x, "x", dim=self.qkv.in_features)  # cheap: type, dtype and shape only
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
