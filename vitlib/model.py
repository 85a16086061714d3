"""The whole Vision Transformer (notebook 06).

Parameter names are timm's (``patch_embed.proj``, ``cls_token``,
``pos_embed``, ``blocks.i.*``, ``norm``, ``head``), so a timm
``VisionTransformer`` state dict loads with ``strict=True``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal, overload

import torch
from torch import nn

from .checks import choice, fraction, int_pair, nonnegative_int, positive_float, positive_int
from .embedding import PatchEmbedding, learned_pos_embed, prepend_cls_token, sincos_pos_embed_2d
from .encoder import Block
from .patches import grid_size

__all__ = ["PRESETS", "ViT", "ViTConfig"]


@dataclass(frozen=True)
class ViTConfig:
    """Everything that fixes a ViT's shapes. ``image_size`` is an int or (H, W)."""

    image_size: int | tuple[int, int] = 224
    patch_size: int = 16
    in_chans: int = 3
    num_classes: int = 1000
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    pos_embed: str = "learned"  # "learned" (a parameter), "sincos" (a fixed buffer) or "none" (no positions)
    pool: str = "token"  # "token": read [CLS]; "mean": average the patch tokens
    eps: float = 1e-6
    # Regularisation for training, off by default; none of it adds a parameter.
    drop_rate: float = 0.0  # dropout after attention's proj and in the MLP (timm's proj_drop_rate)
    attn_drop_rate: float = 0.0  # dropout on the attention weights
    drop_path_rate: float = 0.0  # stochastic depth, rising linearly from 0 to this over the blocks
    # The MLP's hidden width, when it is not int(embed_dim * mlp_ratio) (e.g. a checkpoint's 3072 / 768 is exact,
    # but some widths are not a ratio that int() gives back). None: int(embed_dim * mlp_ratio). Shown in the repr
    # only when set.
    mlp_hidden_dim: int | None = field(default=None, repr=False)

    @property
    def mlp_width(self) -> int:
        """The MLP's hidden width: ``mlp_hidden_dim``, or ``int(embed_dim * mlp_ratio)``."""
        return self.mlp_hidden_dim if self.mlp_hidden_dim is not None else int(self.embed_dim * self.mlp_ratio)

    def __repr__(self) -> str:
        fields = [f"{k}={v!r}" for k, v in asdict(self).items() if k != "mlp_hidden_dim" or v is not None]
        return f"ViTConfig({', '.join(fields)})"

    def __post_init__(self):
        """A bad config cannot be built: every field is checked here, with the fix in the message."""
        # Values are checked, not rewritten: the config keeps what was passed (its repr and equality unchanged).
        size = int_pair(self.image_size, "image_size", example=224)
        positive_int(self.patch_size, "patch_size", example=16)
        grid_size(size, self.patch_size)  # patches must tile the image
        positive_int(self.in_chans, "in_chans", example=3)
        nonnegative_int(self.num_classes, "num_classes", example=10)  # 0: no head (the pooled features)
        positive_int(self.embed_dim, "embed_dim", example=192)
        nonnegative_int(self.depth, "depth", example=12)
        positive_int(self.num_heads, "num_heads", example=3)
        if self.embed_dim % self.num_heads:
            heads = [h for h in range(1, min(self.embed_dim, 32) + 1) if self.embed_dim % h == 0]
            raise ValueError(
                f"embed_dim={self.embed_dim} is not divisible by num_heads={self.num_heads}: each head gets "
                f"embed_dim/num_heads channels. Heads that divide {self.embed_dim}: {heads}."
            )
        positive_float(self.mlp_ratio, "mlp_ratio", example=4.0)
        if int(self.embed_dim * self.mlp_ratio) < 1:
            raise ValueError(
                f"mlp_ratio={self.mlp_ratio} makes the MLP int({self.embed_dim} * {self.mlp_ratio}) = 0 wide; "
                "pass e.g. mlp_ratio=4.0."
            )
        if not isinstance(self.qkv_bias, bool):
            raise TypeError(f"qkv_bias must be True or False; got {self.qkv_bias!r}.")
        choice(self.pos_embed, "pos_embed", ("learned", "sincos", "none"))  # "none": no positions (notebook 09)
        if self.pos_embed == "sincos" and self.embed_dim % 4:
            raise ValueError(
                f"pos_embed='sincos' needs embed_dim divisible by 4 (sin and cos for y and x); "
                f"got embed_dim={self.embed_dim}. Use pos_embed='learned' or e.g. "
                f"embed_dim={self.embed_dim // 4 * 4 or 4}."
            )
        choice(self.pool, "pool", ("token", "mean"))
        positive_float(self.eps, "eps", example=1e-6)
        for name in ("drop_rate", "attn_drop_rate", "drop_path_rate"):
            fraction(getattr(self, name), name, high_open=True, example=0.1)
        if self.mlp_hidden_dim is not None:
            positive_int(self.mlp_hidden_dim, "mlp_hidden_dim", example=4 * self.embed_dim)


PRESETS: dict[str, ViTConfig] = {
    # Sized for the scikit-learn digits (1 x 8 x 8): 16 patches of 2 x 2.
    "digits": ViTConfig(
        image_size=8, patch_size=2, in_chans=1, num_classes=10, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0
    ),
    # The digits classifier trained in notebook 06 (vitlib.train.train_digits): 4 patches of 4 x 4, the seed's
    # own layout of 2 x 2 patches + [CLS] = 5 tokens. Learns several times faster than "digits" on the CPU.
    "digits_p4": ViTConfig(
        image_size=8,
        patch_size=4,
        in_chans=1,
        num_classes=10,
        embed_dim=64,
        depth=4,
        num_heads=4,
        mlp_ratio=2.0,
        drop_path_rate=0.05,
    ),
    # The standard sizes at 224 px with 16 px patches (timm's vit_*_patch16_224).
    "vit_tiny_patch16_224": ViTConfig(embed_dim=192, depth=12, num_heads=3),
    "vit_small_patch16_224": ViTConfig(embed_dim=384, depth=12, num_heads=6),
    "vit_base_patch16_224": ViTConfig(embed_dim=768, depth=12, num_heads=12),
    "vit_large_patch16_224": ViTConfig(embed_dim=1024, depth=24, num_heads=16),
    "vit_huge_patch14_224": ViTConfig(patch_size=14, embed_dim=1280, depth=32, num_heads=16),
}


class ViT(nn.Module):
    """Vision Transformer: ``(B, C, H, W) -> logits (B, num_classes)``.

    Build with a config, a preset name, or keywords::

        ViT(ViTConfig(embed_dim=192, depth=12, num_heads=3))
        ViT.from_preset("digits", depth=2)
        ViT(image_size=32, patch_size=4, num_classes=10, embed_dim=64, depth=2, num_heads=2)
    """

    def __init__(self, config: ViTConfig | None = None, /, **overrides):
        super().__init__()
        unknown = sorted(set(overrides) - set(ViTConfig.__dataclass_fields__))
        if unknown:
            raise TypeError(
                f"unknown ViT setting(s) {unknown}; the settings are {list(ViTConfig.__dataclass_fields__)}."
            )
        if config is not None and not isinstance(config, ViTConfig):
            raise TypeError(
                f"config must be a ViTConfig; got {type(config).__name__}. "
                "Pass e.g. ViT(ViTConfig(embed_dim=192, depth=12, num_heads=3)) or keywords: ViT(embed_dim=192, ...)."
            )
        config = replace(config or ViTConfig(), **overrides)  # ViTConfig.__post_init__ checks every field
        self.config = config
        d = config.embed_dim
        self.patch_embed = PatchEmbedding(
            image_size=config.image_size, patch_size=config.patch_size, in_chans=config.in_chans, embed_dim=d
        )
        num_tokens = self.patch_embed.num_patches + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        if config.pos_embed == "learned":
            self.pos_embed = nn.Parameter(learned_pos_embed(num_tokens, d))
        elif config.pos_embed == "sincos":
            self.register_buffer("pos_embed", sincos_pos_embed_2d(self.patch_embed.grid_size, d))
        else:  # "none": adding zeros, so a token carries no hint of where its patch was (not in the state dict)
            self.register_buffer("pos_embed", torch.zeros(1, num_tokens, d), persistent=False)
        drop_paths = [config.drop_path_rate * i / max(1, config.depth - 1) for i in range(config.depth)]
        self.blocks = nn.Sequential(
            *(
                Block(
                    d,
                    num_heads=config.num_heads,
                    mlp_ratio=config.mlp_ratio,
                    mlp_hidden_dim=config.mlp_width,
                    qkv_bias=config.qkv_bias,
                    eps=config.eps,
                    proj_drop=config.drop_rate,
                    attn_drop=config.attn_drop_rate,
                    drop_path=p,
                )
                for p in drop_paths
            )
        )
        self.norm = nn.LayerNorm(d, eps=config.eps)
        self.head = nn.Linear(d, config.num_classes) if config.num_classes else nn.Identity()
        self.reset_parameters()

    @classmethod
    def from_preset(cls, name: str, **overrides) -> ViT:
        """A model from :data:`PRESETS`, with any field overridden."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}.")
        return cls(PRESETS[name], **overrides)

    def reset_parameters(self) -> None:
        """timm's init: trunc-normal(0.02) Linear weights, zero biases, [CLS] ~ N(0, 1e-6)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.cls_token, std=1e-6)
        if isinstance(self.pos_embed, nn.Parameter):
            with torch.no_grad():
                self.pos_embed.copy_(learned_pos_embed(self.pos_embed.shape[1], self.config.embed_dim))

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Patches, [CLS] in front, then positions: ``(B, C, H, W) -> (B, N+1, D)``.

        The model's boundary: ``images`` are checked here once (the library's dtype policy,
        :func:`vitlib.checks.float_images`: other float dtypes are converted to the weights' dtype,
        integer images and numpy arrays are refused with the fix), and by the patch embedding's shape check.
        """
        tokens = self.patch_embed(images)
        tokens = prepend_cls_token(tokens, self.cls_token)
        return tokens + self.pos_embed

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder's output tokens after the final norm: ``(B, C, H, W) -> (B, N+1, D)``."""
        return self.norm(self.blocks(self.embed(images)))

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, N+1, D) -> (B, D)``: the [CLS] token, or the mean of the patch tokens."""
        return tokens[:, 0] if self.config.pool == "token" else tokens[:, 1:].mean(dim=1)

    @overload
    def forward(self, images: torch.Tensor, *, return_attention: Literal[False] = False) -> torch.Tensor: ...
    @overload
    def forward(
        self, images: torch.Tensor, *, return_attention: Literal[True]
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def forward(self, images: torch.Tensor, *, return_attention: bool = False):
        """``(B, C, H, W) -> (B, num_classes)``.

        With ``return_attention=True`` also every layer's attention weights,
        ``(depth, B, heads, N+1, N+1)``: ``logits, attention = model(x, return_attention=True)``.
        """
        x = self.embed(images)
        maps = []
        for block in self.blocks:
            x = block(x, return_attention=return_attention)
            if return_attention:
                x, weights = x
                maps.append(weights)
        logits = self.head(self.pool(self.norm(x)))
        return (logits, torch.stack(maps)) if return_attention else logits

    def extra_repr(self) -> str:
        items = asdict(self.config).items()
        return ", ".join(f"{k}={v}" for k, v in items if k != "mlp_hidden_dim" or v is not None)
