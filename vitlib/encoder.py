"""The pre-norm transformer encoder block (notebook 05)."""

from __future__ import annotations

import torch
from torch import nn

from .attention import Attention

__all__ = ["Block", "Mlp"]


class Mlp(nn.Module):
    """``fc1 -> GELU (exact) -> fc2``: ``(B, N, D) -> (B, N, D)``."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm encoder block with timm's names: ``(B, N, D) -> (B, N, D)``.

    LayerNorm (eps 1e-6) -> attention -> residual, then LayerNorm -> MLP ->
    residual. The two residual lines are the whole forward.
    """

    def __init__(self, dim: int, *, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True, eps: float = 1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """As ``forward``, also returning the attention weights ``(B, heads, N, N)``."""
        attended, weights = self.attn(self.norm1(x), return_attention=True)
        x = x + attended
        x = x + self.mlp(self.norm2(x))
        return x, weights
