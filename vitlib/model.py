"""The whole Vision Transformer (notebook 06).

Parameter names are timm's (``patch_embed.proj``, ``cls_token``, ``pos_embed``, ``blocks.i.*``, ``norm``,
``head``), so a timm ``VisionTransformer`` state dict loads with ``strict=True``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from . import checks
from .embedding import PatchEmbedding, learned_pos_embed, prepend_cls_token, sincos_pos_embed_2d
from .encoder import Block

__all__ = ["PRESETS", "ViT", "ViTConfig"]


@dataclass(frozen=True)
class ViTConfig:
    """Everything that fixes a ViT's shapes. ``image_size`` is an int or (H, W). Checked when made."""

    image_size: int | tuple[int, int] = 224
    patch_size: int = 16
    in_chans: int = 3
    num_classes: int = 1000  # 0: no head, the model returns the pooled features
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0  # the MLP is round(embed_dim * mlp_ratio) wide
    qkv_bias: bool = True
    pos_embed: str = "learned"  # "learned" (a parameter), "sincos" (a fixed buffer) or "none" (no positions)
    pool: str = "token"  # "token": read [CLS]; "mean": average the patch tokens
    eps: float = 1e-6
    # Regularisation for training, off by default; none of it adds a parameter.
    drop_rate: float = 0.0  # dropout after attention's proj and in the MLP (timm's proj_drop_rate)
    attn_drop_rate: float = 0.0  # dropout on the attention weights
    drop_path_rate: float = 0.0  # stochastic depth, rising linearly from 0 to this over the blocks

    def __post_init__(self):
        checks.vit_config(self)  # a bad config cannot be built: every field is checked, the fix in the message


PRESETS: dict[str, ViTConfig] = {
    # Sized for the scikit-learn digits (1 x 8 x 8): 16 patches of 2 x 2.
    "digits": ViTConfig(
        image_size=8, patch_size=2, in_chans=1, num_classes=10, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0
    ),
    # The classifier of notebook 06 (vitlib.train.train_digits): 4 patches of 4 x 4 + [CLS] = 5 tokens, the
    # seed's own layout. Learns several times faster than "digits" on the CPU.
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
        self.config = config = checks.configured(ViTConfig, config, overrides, what="ViT")
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
        rates = [config.drop_path_rate * i / max(1, config.depth - 1) for i in range(config.depth)]
        self.blocks = nn.ModuleList(
            Block(
                d,
                num_heads=config.num_heads,
                mlp_ratio=config.mlp_ratio,
                qkv_bias=config.qkv_bias,
                eps=config.eps,
                proj_drop=config.drop_rate,
                attn_drop=config.attn_drop_rate,
                drop_path=rate,
            )
            for rate in rates
        )
        self.norm = nn.LayerNorm(d, eps=config.eps)
        self.head = nn.Linear(d, config.num_classes) if config.num_classes else nn.Identity()
        self.reset_parameters()

    @classmethod
    def from_preset(cls, name: str, **overrides) -> ViT:
        """A model from :data:`PRESETS`, with any field overridden."""
        return cls(PRESETS[checks.choice(name, "preset", PRESETS)], **overrides)

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

        The model's boundary, where images are checked once: other float dtypes are converted to the
        weights' dtype; integers, numpy arrays and wrong shapes are refused with the fix.
        """
        images = checks.model_images(images, self.patch_embed)
        return prepend_cls_token(self.patch_embed(images), self.cls_token) + self.pos_embed

    def encode(self, tokens: torch.Tensor, *, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The blocks, then the final norm: ``(B, T, D) -> (B, T, D)``, and every block's attention weights
        ``(depth, B, heads, T, T)`` (``None`` unless ``need_weights``)."""
        weights = []
        for block in self.blocks:
            tokens, w = block(tokens, need_weights=need_weights)
            weights.append(w)
        tokens = self.norm(tokens)
        if not need_weights:
            return tokens, None
        b, t = tokens.shape[:2]
        no_layers = tokens.new_zeros(0, b, self.config.num_heads, t, t)  # depth 0: an empty stack of the right shape
        return tokens, torch.stack(weights) if weights else no_layers

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder's output tokens after the final norm: ``(B, C, H, W) -> (B, N+1, D)``."""
        return self.encode(self.embed(images))[0]

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, N+1, D) -> (B, D)``: the [CLS] token, or the mean of the patch tokens."""
        return tokens[:, 0] if self.config.pool == "token" else tokens[:, 1:].mean(dim=1)

    def forward(self, images: torch.Tensor, *, return_attention: bool = False):
        """``(B, C, H, W) -> (B, num_classes)``.

        With ``return_attention=True``, ``(logits, attention)``: also every block's attention weights,
        ``(depth, B, heads, N+1, N+1)``.
        """
        tokens, attention = self.encode(self.embed(images), need_weights=return_attention)
        logits = self.head(self.pool(tokens))
        return (logits, attention) if return_attention else logits

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self.config).items())
