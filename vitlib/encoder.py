"""The pre-norm transformer encoder block (notebook 05)."""

from __future__ import annotations

import torch
from torch import nn

from . import checks
from .attention import Attention

__all__ = ["Block", "DropPath", "Mlp"]


class Mlp(nn.Module):
    """``fc1 -> GELU (exact) -> fc2`` for every token alike: ``(..., D) -> (..., D)``; ``drop`` is a dropout rate."""

    def __init__(self, dim: int, hidden_dim: int, *, drop: float = 0.0):
        super().__init__()
        (dim, hidden_dim), drop = checks.sizes(dim=dim, hidden_dim=hidden_dim), checks.rate(drop, "drop")
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.drop2 = nn.Dropout(drop)

    @checks.explained(checks.features_in)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class DropPath(nn.Module):
    """Stochastic depth: in training, drop a residual branch for whole samples with probability ``p``.

    ``(B, ...) -> (B, ...)``; kept samples are scaled by ``1 / (1 - p)``, so the expected value is unchanged.
    The identity in eval mode or at ``p = 0``.
    """

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = checks.rate(p, "drop_path")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        # Drawn from the CPU's global generator, then moved to x's device: a seed gives the same mask anywhere.
        keep = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype).bernoulli_(1.0 - self.p)
        return x * keep.to(x.device) / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Block(nn.Module):
    """Pre-norm encoder block with timm's names: ``(B, N, D) -> (B, N, D)``.

    LayerNorm (eps 1e-6) -> attention -> residual, then LayerNorm -> MLP -> residual: the two lines of
    ``forward``. The MLP is ``round(dim * mlp_ratio)`` wide. Dropout and drop-path (stochastic depth) rates
    are off by default. Like :class:`Attention` it returns ``(tokens, weights)``, the weights ``None`` unless
    ``need_weights=True``.
    """

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        eps: float = 1e-6,
        proj_drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
    ):
        super().__init__()
        hidden = checks.mlp_width(dim, mlp_ratio)  # round(dim * mlp_ratio), refused if it is 0
        self.norm1 = nn.LayerNorm(dim, eps=checks.positive_float(eps, "eps", example=1e-6))
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        self.drop_path1 = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, hidden, drop=proj_drop)
        self.drop_path2 = DropPath(drop_path)

    @checks.explained(checks.tokens_in)
    def forward(self, x: torch.Tensor, *, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, N, D) -> (B, N, D)`` and the attention weights ``(B, heads, N, N)`` (``None`` unless asked)."""
        attended, weights = self.attn(self.norm1(x), need_weights=need_weights)
        x = x + self.drop_path1(attended)
        x = x + self.drop_path2(self.mlp(self.norm2(x)))
        return x, weights
