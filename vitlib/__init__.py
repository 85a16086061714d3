"""vitlib: the small library that the notebooks of *Vision Transformers, patch by patch* build.

One file per concept, in the order the notebooks teach them:
patches (01), embedding (02-04), attention and encoder (05), model and
train (06), vae (07), masking and hub (08); data, viz and widgets serve them all.
"""

from .attention import Attention, scaled_dot_product_attention
from .embedding import (
    PatchEmbedding,
    add_pos_embed,
    learned_pos_embed,
    position_similarity,
    prepend_cls_token,
    resize_pos_embed,
    sincos_pos_embed_2d,
)
from .encoder import Block, Mlp
from .model import PRESETS, ViT, ViTConfig
from .patches import grid_size, patchify, unpatchify, valid_patch_sizes
from .vae import ViTVAE

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "Attention",
    "Block",
    "Mlp",
    "PatchEmbedding",
    "ViT",
    "ViTConfig",
    "ViTVAE",
    "add_pos_embed",
    "grid_size",
    "learned_pos_embed",
    "patchify",
    "position_similarity",
    "prepend_cls_token",
    "resize_pos_embed",
    "scaled_dot_product_attention",
    "sincos_pos_embed_2d",
    "unpatchify",
    "valid_patch_sizes",
]
