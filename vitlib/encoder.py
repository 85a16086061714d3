"""The pre-norm transformer encoder block (notebook 05)."""

from __future__ import annotations

from typing import Literal, overload

import torch
from torch import nn

from .attention import Attention
from .checks import fraction, positive_float, positive_int, tokens

__all__ = ["Block", "DropPath", "Mlp"]


class Mlp(nn.Module):
    """``fc1 -> GELU (exact) -> fc2``: ``(B, N, D) -> (B, N, D)``; ``drop`` is a dropout rate (off by default)."""

    def __init__(self, dim: int, hidden_dim: int, *, drop: float = 0.0):
        super().__init__()
        dim = positive_int(dim, "dim", example=64)
        self.hidden_dim = hidden_dim = positive_int(hidden_dim, "hidden_dim", example=4 * dim)  # the stored width
        drop = fraction(drop, "drop", high_open=True, example=0.0)
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., D) -> (..., D)``; a clear error if the last size is not ``dim``."""
        if not isinstance(x, torch.Tensor) or x.dim() == 0 or x.shape[-1] != self.fc1.in_features:
            tokens(x, "x", dim=self.fc1.in_features, ndim=max(getattr(x, "ndim", 3), 1))
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class DropPath(nn.Module):
    """Stochastic depth: in training, drop a residual branch for whole samples with probability ``p``.

    ``(B, ...) -> (B, ...)``; kept samples are scaled by ``1 / (1 - p)``, so
    the expected value is unchanged. The identity in eval mode or at ``p = 0``.
    """

    def __init__(self, p: float = 0.0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop-path probability must be in [0, 1); got {p}.")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        # Drawn from the CPU's global generator, like every random draw of the library, then moved to x's device:
        # a seed gives the same mask on any device, and the mask is where x is (on a GPU too).
        keep = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype).bernoulli_(1.0 - self.p)
        return x * keep.to(x.device) / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Block(nn.Module):
    """Pre-norm encoder block with timm's names: ``(B, N, D) -> (B, N, D)``.

    LayerNorm (eps 1e-6) -> attention -> residual, then LayerNorm -> MLP ->
    residual. The MLP is ``mlp_hidden_dim`` wide, or ``int(dim * mlp_ratio)``
    when that is None. The two residual lines are the whole forward. Dropout and
    drop-path (stochastic depth) rates are off by default and add no
    parameters.
    """

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        mlp_ratio: float = 4.0,
        mlp_hidden_dim: int | None = None,
        qkv_bias: bool = True,
        eps: float = 1e-6,
        proj_drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
    ):
        super().__init__()
        dim = positive_int(dim, "dim", example=64)
        mlp_ratio = positive_float(mlp_ratio, "mlp_ratio", example=4.0)
        eps = positive_float(eps, "eps", example=1e-6)
        drop_path = fraction(drop_path, "drop_path", high_open=True, example=0.1)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        self.drop_path1 = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        hidden = int(dim * mlp_ratio) if mlp_hidden_dim is None else mlp_hidden_dim
        self.mlp = Mlp(dim, positive_int(hidden, "mlp_hidden_dim", example=4 * dim), drop=proj_drop)
        self.drop_path2 = DropPath(drop_path)

    def _check(self, x: torch.Tensor) -> None:
        """Cheap (type, dtype and shape; no pass over the data), so a direct call gets a clear error."""
        tokens(x, "x", dim=self.norm1.normalized_shape[0])

    @overload
    def forward(self, x: torch.Tensor, *, return_attention: Literal[False] = False) -> torch.Tensor: ...
    @overload
    def forward(self, x: torch.Tensor, *, return_attention: Literal[True]) -> tuple[torch.Tensor, torch.Tensor]: ...

    def forward(self, x: torch.Tensor, *, return_attention: bool = False):
        """``(B, N, D) -> (B, N, D)``; with ``return_attention`` also the weights ``(B, heads, N, N)``."""
        self._check(x)
        attn = self.attn(self.norm1(x), return_attention=return_attention)
        attended, weights = attn if return_attention else (attn, None)
        x = x + self.drop_path1(attended)
        x = x + self.drop_path2(self.mlp(self.norm2(x)))
        return (x, weights) if return_attention else x
