"""vitlib: the small library that the notebooks of *Vision Transformers, patch by patch* build.

One file per concept, in the order the notebooks teach them. The core, the reference
implementation a learner reads beside nanoGPT: patches (01), embedding (02-04),
attention and encoder (05), model and the training loop, engine (06). Around it the
tasks (train: the classifier, 06; vae, 07; masking, 08; cnn, 09), hub (checkpoints) and
analysis (what a trained model does), and the teaching harness: checks (every
learner-facing error), routes (the other ways to the same numbers that the notebooks
compare), data, viz, widgets and exercises.

The package imports lazily (PEP 562): ``import vitlib`` or ``import vitlib.env``
imports neither torch nor numpy, so ``vitlib.env.check_environment()`` can explain
a missing or broken torch instead of failing with a traceback. ``vitlib.ViT``,
``from vitlib import ViT`` and ``dir(vitlib)`` work as usual; the first access
imports the module that defines the name.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it.
_WHERE = {
    "Attention": "attention",
    "scaled_dot_product_attention": "attention",
    "PatchEmbedding": "embedding",
    "add_pos_embed": "routes",
    "learned_pos_embed": "embedding",
    "position_similarity": "analysis",
    "prepend_cls_token": "embedding",
    "resize_pos_embed": "embedding",
    "sincos_pos_embed_2d": "embedding",
    "Block": "encoder",
    "Mlp": "encoder",
    "PRESETS": "model",
    "ViT": "model",
    "ViTConfig": "model",
    "grid_size": "patches",
    "patchify": "patches",
    "unpatchify": "patches",
    "valid_patch_sizes": "checks",
    "ViTVAE": "vae",
}

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


def __getattr__(name: str):
    """Import the module that defines ``name`` on first use (a public name or a submodule, e.g. ``vitlib.viz``)."""
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise  # the submodule exists but something it imports does not
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
