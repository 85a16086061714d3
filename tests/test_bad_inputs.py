"""The library's own bad-input suite (issue 16): one row per bad input a learner can plausibly pass.

Each row calls one public function or class with one bad value and asserts the
error's type (TypeError: the wrong kind of thing; ValueError: the right kind, a
wrong value) and that its message names the argument and the value (or the
file) and, where there is one, the fix. Never a raw internal error, never a
silent wrong answer. Hypothesis properties below: every accepted input gives a
finite result, every refused one a vitlib error naming the argument.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from vitlib import (
    Attention,
    Block,
    Mlp,
    PatchEmbedding,
    ViT,
    ViTConfig,
    ViTVAE,
    add_pos_embed,
    analysis,
    data,
    grid_size,
    hub,
    learned_pos_embed,
    masking,
    patchify,
    position_similarity,
    prepend_cls_token,
    resize_pos_embed,
    scaled_dot_product_attention,
    sincos_pos_embed_2d,
    train,
    unpatchify,
    vae,
    valid_patch_sizes,
    widgets,
)
from vitlib.encoder import DropPath
from vitlib.masking import MaskedAutoencoder, num_kept, random_masking, restore_order


def digits_vit(**overrides) -> ViT:
    return ViT.from_preset("digits", depth=1, **overrides)


def imgs(b: int = 2, dtype=torch.float32) -> torch.Tensor:
    return torch.rand(b, 1, 8, 8, generator=torch.Generator().manual_seed(0)).to(dtype)


def row(name, call, error, match, *marks):
    return pytest.param(call, error, match, id=name, marks=marks)


# --------------------------------------------------------------------------- the table

ROWS = [
    # patches
    row("patchify numpy images", lambda: patchify(np.zeros((1, 1, 8, 8)), 2), TypeError, "numpy array"),
    row("patchify patch 0", lambda: patchify(torch.zeros(1, 1, 8, 8), 0), ValueError, "patch_size .* got 0"),
    row("patchify patch float", lambda: patchify(torch.zeros(1, 1, 8, 8), 2.0), TypeError, "patch_size .* got 2.0"),
    row("patchify 3-D", lambda: patchify(torch.zeros(1, 8, 8), 2), ValueError, r"got shape \(1, 8, 8\)"),
    row("patch larger than image", lambda: grid_size(8, 16), ValueError, "patch_size=16 .* larger than the image"),
    row("grid_size bool", lambda: grid_size(True, 2), TypeError, "image_size .* got True"),
    row(
        "valid_patch_sizes 0",
        lambda: valid_patch_sizes(0),
        ValueError,
        r"image_size must hold positive ints; got \(0, 0\)",
    ),
    row("unpatchify wrong N", lambda: unpatchify(torch.zeros(1, 3, 4), 2, 4), ValueError, "N=3 tokens"),
    # embedding
    row(
        "PatchEmbedding patch 0", lambda: PatchEmbedding(image_size=8, patch_size=0), ValueError, "patch_size .* got 0"
    ),
    row(
        "PatchEmbedding embed_dim float",
        lambda: PatchEmbedding(image_size=8, patch_size=2, embed_dim=8.0),
        TypeError,
        "embed_dim .* got 8.0",
    ),
    row(
        "PatchEmbedding uint8",
        lambda: PatchEmbedding(image_size=8, patch_size=2, in_chans=1)(torch.zeros(1, 1, 8, 8, dtype=torch.uint8)),
        TypeError,
        r"torch.uint8.*images.float\(\) / 255",
    ),
    row(
        "PatchEmbedding numpy",
        lambda: PatchEmbedding(image_size=8, patch_size=2, in_chans=1)(np.zeros((1, 1, 8, 8))),
        TypeError,
        r"numpy array.*torch.from_numpy",
    ),
    row(
        "PatchEmbedding channels last",
        lambda: PatchEmbedding(image_size=8, patch_size=2, in_chans=3)(torch.zeros(1, 8, 8, 3)),
        ValueError,
        r"\(1, 8, 8, 3\): channels last.*permute\(0, 3, 1, 2\)",
    ),
    row(
        "PatchEmbedding 3-D image",  # Conv2d alone would take it as one unbatched image and give a wrong shape
        lambda: PatchEmbedding(image_size=8, patch_size=2, in_chans=1)(torch.zeros(1, 8, 8)),
        ValueError,
        r"got shape \(1, 8, 8\)\. Add a batch dimension",
    ),
    row(
        "PatchEmbedding other image size",  # Conv2d alone would cut more patches, or drop a leftover strip
        lambda: PatchEmbedding(image_size=8, patch_size=2, in_chans=1)(torch.zeros(1, 1, 10, 8)),
        ValueError,
        r"images are 10x8 but the model was built for 8x8",
    ),
    row(
        "sincos temperature 0",
        lambda: sincos_pos_embed_2d(4, 8, temperature=0),
        ValueError,
        "temperature must be > 0; got 0",
    ),
    row(
        "sincos temperature negative",
        lambda: sincos_pos_embed_2d(4, 8, temperature=-1.0),
        ValueError,
        r"temperature must be > 0; got -1.0",
    ),
    row(
        "sincos temperature nan",
        lambda: sincos_pos_embed_2d(4, 8, temperature=float("nan")),
        ValueError,
        "temperature must be a finite number; got nan",
    ),
    row("sincos odd embed_dim", lambda: sincos_pos_embed_2d(4, 7), ValueError, "divisible by 4.*got 7"),
    row("learned_pos_embed 0 tokens", lambda: learned_pos_embed(0, 8), ValueError, "num_tokens .* got 0"),
    row(
        "prepend_cls numpy",
        lambda: prepend_cls_token(np.zeros((1, 4, 8)), torch.zeros(1, 1, 8)),
        TypeError,
        "tokens must be a torch.Tensor; got ndarray",
    ),
    row(
        "add_pos_embed rows",
        lambda: add_pos_embed(torch.zeros(1, 5, 8), torch.zeros(1, 4, 8)),
        ValueError,
        "T=5 tokens .* 4 rows",
    ),
    row(
        "resize new_grid 0",
        lambda: resize_pos_embed(torch.zeros(1, 17, 4), (0, 4)),
        ValueError,
        r"new_grid .* got \(0, 4\)",
    ),
    row(
        "position_similarity prefix -1",
        lambda: position_similarity(torch.zeros(1, 17, 4), num_prefix_tokens=-1),
        ValueError,
        "num_prefix_tokens .* got -1",
    ),
    # attention and encoder
    row("Attention num_heads 0", lambda: Attention(8, num_heads=0), ValueError, "num_heads .* got 0"),
    row("Attention num_heads negative", lambda: Attention(8, num_heads=-2), ValueError, "num_heads .* got -2"),
    row("Attention num_heads float", lambda: Attention(8, num_heads=2.0), TypeError, "num_heads .* got 2.0"),
    row("Attention dim 0", lambda: Attention(0, num_heads=1), ValueError, "dim .* got 0"),
    row(
        "Attention heads do not divide",
        lambda: Attention(10, num_heads=4),
        ValueError,
        "dim=10 is not divisible by num_heads=4",
    ),
    row(
        "Attention float16 tokens, float32 weights",
        lambda: Attention(8, num_heads=2)(torch.zeros(1, 3, 8, dtype=torch.float16)),
        TypeError,
        r"x is torch.float16 but the module's weights are torch.float32: convert the input \(x.to\(torch.float32\)\)",
    ),
    row(
        "Block float16 tokens, float32 weights",
        lambda: Block(8, num_heads=2)(torch.zeros(1, 3, 8, dtype=torch.float16)),
        TypeError,
        r"x is torch.float16 but the module's weights are torch.float32",
    ),
    row(
        "Mlp float16 features, float32 weights",
        lambda: Mlp(8, 16)(torch.zeros(3, 8, dtype=torch.float16)),
        TypeError,
        r"x is torch.float16 but the module's weights are torch.float32",
    ),
    row("DropPath string", lambda: DropPath("0.1"), TypeError, r"drop_path must be a real number; got '0.1'"),
    row(
        "Attention attn_drop 1",
        lambda: Attention(8, num_heads=2, attn_drop=1.0),
        ValueError,
        r"attn_drop must be in \[0, 1\); got 1.0",
    ),
    row(
        "Attention numpy",
        lambda: Attention(8, num_heads=2)(np.zeros((1, 3, 8), dtype=np.float32)),
        TypeError,
        r"x must be a torch tensor; got a numpy array",
    ),
    row(
        "Attention wrong width",
        lambda: Attention(8, num_heads=2)(torch.zeros(1, 3, 6)),
        ValueError,
        r"\(B, N, 8\); got \(1, 3, 6\)",
    ),
    row(
        "Attention integer tokens",
        lambda: Attention(8, num_heads=2)(torch.zeros(1, 3, 8, dtype=torch.long)),
        TypeError,
        "x must be floating point; got torch.int64",
    ),
    row(
        "sdpa batch mismatch",
        lambda: scaled_dot_product_attention(torch.zeros(2, 3, 4), torch.zeros(3, 3, 4), torch.zeros(3, 3, 4)),
        ValueError,
        r"same leading .* q \(2, 3, 4\)",
    ),
    row(
        "sdpa 1-D",
        lambda: scaled_dot_product_attention(torch.zeros(4), torch.zeros(4), torch.zeros(4)),
        ValueError,
        r"q must be at least 2-D .* got shape \(4,\)",
    ),
    row(
        "sdpa integer",
        lambda: scaled_dot_product_attention(*[torch.zeros(2, 3, dtype=torch.long)] * 3),
        TypeError,
        "q must be floating point; got torch.int64",
    ),
    row(
        "sdpa numpy",
        lambda: scaled_dot_product_attention(np.zeros((2, 3)), torch.zeros(2, 3), torch.zeros(2, 3)),
        TypeError,
        "q must be a torch tensor; got a numpy array",
    ),
    row(
        "Mlp wrong feature size", lambda: Mlp(8, 16)(torch.zeros(1, 3, 6)), ValueError, r"\(B, N, 8\); got \(1, 3, 6\)"
    ),
    row("Mlp hidden 0", lambda: Mlp(8, 0), ValueError, "hidden_dim .* got 0"),
    row("Block mlp_ratio 0", lambda: Block(8, num_heads=2, mlp_ratio=0), ValueError, "mlp_ratio must be > 0; got 0"),
    row(
        "Block numpy",
        lambda: Block(8, num_heads=2)(np.zeros((1, 3, 8), dtype=np.float32)),
        TypeError,
        "torch.from_numpy",
    ),
    row(
        "Block 2-D",
        lambda: Block(8, num_heads=2)(torch.zeros(3, 8)),
        ValueError,
        r"got \(3, 8\)\. Add a batch dimension",
    ),
    # the model and its config
    row(
        "config num_heads 0",
        lambda: ViTConfig(num_heads=0),
        ValueError,
        "num_heads must be a positive whole number; got 0",
    ),
    row("config num_heads -3", lambda: ViTConfig(num_heads=-3), ValueError, "num_heads .* got -3"),
    row("config num_heads float", lambda: ViTConfig(num_heads=12.0), TypeError, "num_heads .* got 12.0"),
    row("config embed_dim 0", lambda: ViTConfig(embed_dim=0), ValueError, "embed_dim .* got 0"),
    row(
        "config embed_dim / heads",
        lambda: ViTConfig(embed_dim=100, num_heads=12),
        ValueError,
        "embed_dim=100 is not divisible by num_heads=12",
    ),
    row("config mlp_ratio 0", lambda: ViTConfig(mlp_ratio=0), ValueError, "mlp_ratio must be > 0; got 0"),
    row("config mlp_ratio -1", lambda: ViTConfig(mlp_ratio=-1.0), ValueError, r"mlp_ratio must be > 0; got -1.0"),
    row(
        "config mlp_ratio nan",
        lambda: ViTConfig(mlp_ratio=float("nan")),
        ValueError,
        "mlp_ratio must be a finite number; got nan",
    ),
    row("config depth float", lambda: ViTConfig(depth=2.0), TypeError, "depth .* got 2.0"),
    row("config depth -1", lambda: ViTConfig(depth=-1), ValueError, "depth .* got -1"),
    row("config num_classes -1", lambda: ViTConfig(num_classes=-1), ValueError, "num_classes .* got -1"),
    row("config num_classes float", lambda: ViTConfig(num_classes=10.0), TypeError, "num_classes .* got 10.0"),
    row(
        "config pos_embed",
        lambda: ViTConfig(pos_embed="rope"),
        ValueError,
        "pos_embed must be one of 'learned', 'sincos', 'none'; got 'rope'",
    ),
    row("config pool", lambda: ViTConfig(pool="max"), ValueError, "pool must be 'token' or 'mean'; got 'max'"),
    row(
        "config patch does not divide",
        lambda: ViTConfig(image_size=30, patch_size=16),
        ValueError,
        "patch_size=16 does not divide the image height 30",
    ),
    row(
        "config drop_path 1.5",
        lambda: ViTConfig(drop_path_rate=1.5),
        ValueError,
        r"drop_path_rate must be in \[0, 1\); got 1.5",
    ),
    row("ViT config not a config", lambda: ViT({"embed_dim": 8}), TypeError, "config must be a ViTConfig; got dict"),
    row("ViT unknown setting", lambda: ViT(heads=4), TypeError, r"unknown ViT setting\(s\) \['heads'\]"),
    row(
        "ViT uint8 images",
        lambda: digits_vit()(torch.zeros(2, 1, 8, 8, dtype=torch.uint8)),
        TypeError,
        r"torch.uint8.*/ 255",
    ),
    row(
        "ViT numpy images",
        lambda: digits_vit()(np.zeros((2, 1, 8, 8), dtype=np.float32)),
        TypeError,
        "torch.from_numpy",
    ),
    row(
        "ViT channels last",
        lambda: ViT(image_size=8, patch_size=2, in_chans=3, embed_dim=8, depth=1, num_heads=2)(torch.zeros(2, 8, 8, 3)),
        ValueError,
        r"permute\(0, 3, 1, 2\)",
    ),
    row("ViT wrong size", lambda: digits_vit()(torch.zeros(2, 1, 16, 16)), ValueError, "images are 16x16 but"),
    # masking (MAE)
    row("num_kept 75 percent", lambda: num_kept(16, 75), ValueError, r"got 75.0\. A percentage\? Divide by 100"),
    row("num_kept tokens 0", lambda: num_kept(0, 0.5), ValueError, "num_tokens .* got 0"),
    row(
        "random_masking numpy",
        lambda: random_masking(np.zeros((1, 16, 4)), 0.5),
        TypeError,
        "tokens must be a torch tensor; got a numpy array",
    ),
    row(
        "random_masking seed float",
        lambda: random_masking(torch.zeros(1, 16, 4), 0.5, seed=1.5),
        TypeError,
        "seed .* got 1.5",
    ),
    row(
        "restore_order float ids",
        lambda: restore_order(torch.zeros(1, 4, 2), torch.zeros(1, 4)),
        TypeError,
        r"ids_restore must hold int64 .* got torch.float32",
    ),
    row(
        "restore_order ids out of range",
        lambda: restore_order(torch.zeros(1, 4, 2), torch.tensor([[0, 1, 2, 9]])),
        ValueError,
        r"positions in \[0, 4\); got values from 0 to 9",
    ),
    row(
        "encode_visible not a ViT",
        lambda: masking.encode_visible(torch.nn.Linear(2, 2), imgs(), 0.5),
        TypeError,
        r"model must be a vitlib.ViT \(it needs patch_embed",
    ),
    row(
        "MAE encoder without patch_embed",
        lambda: MaskedAutoencoder(torch.nn.Linear(2, 2)),
        TypeError,
        r"encoder must be a vitlib.ViT \(it needs patch_embed",
    ),
    row(
        "MAE decoder_dim 0",
        lambda: MaskedAutoencoder(digits_vit(num_classes=0), decoder_dim=0),
        ValueError,
        "decoder_dim must be a positive whole number; got 0",
    ),
    row(
        "MAE decoder_dim float",
        lambda: MaskedAutoencoder(digits_vit(num_classes=0), decoder_dim=32.0),
        TypeError,
        "decoder_dim .* got 32.0",
    ),
    row(
        "MAE decoder_heads 0",
        lambda: MaskedAutoencoder(digits_vit(num_classes=0), decoder_heads=0),
        ValueError,
        "decoder_heads .* got 0",
    ),
    row(
        "MAE decoder_dim / heads",
        lambda: MaskedAutoencoder(digits_vit(num_classes=0), decoder_dim=36, decoder_heads=8),
        ValueError,
        r"decoder_dim \(36\) must be divisible by decoder_heads \(8\)",
    ),
    row(
        "MAE uint8 images",
        lambda: MaskedAutoencoder(digits_vit(num_classes=0))(torch.zeros(2, 1, 8, 8, dtype=torch.uint8)),
        TypeError,
        r"/ 255",
    ),
    row("MAE empty batch", lambda: MaskedAutoencoder(digits_vit(num_classes=0))(imgs(0)), ValueError, "batch size 0"),
    # vae
    row("ViTVAE latent_dim 0", lambda: ViTVAE(latent_dim=0), ValueError, "latent_dim .* got 0"),
    row("ViTVAE decoder_depth -1", lambda: ViTVAE(decoder_depth=-1), ValueError, "decoder_depth .* got -1"),
    row(
        "ViTVAE features", lambda: ViTVAE(features="mean"), ValueError, "features must be 'tokens' or 'cls'; got 'mean'"
    ),
    row("ViTVAE num_heads 0", lambda: ViTVAE(num_heads=0), ValueError, "num_heads .* got 0"),
    row("ViTVAE unknown setting", lambda: ViTVAE(heads=2), TypeError, r"unknown ViTVAE setting\(s\) \['heads'\]"),
    row("ViTVAE sample n 0", lambda: ViTVAE().sample(0), ValueError, "n must be a positive whole number; got 0"),
    row(
        "ViTVAE decode numpy",
        lambda: ViTVAE().decode(np.zeros((1, 16), dtype=np.float32)),
        TypeError,
        "z must be a torch tensor; got a numpy array",
    ),
    row(
        "interpolate steps float",
        lambda: vae.interpolate_latents(torch.zeros(4), torch.ones(4), steps=2.5),
        TypeError,
        "steps .* got 2.5",
    ),
    row(
        "kl integer mu",
        lambda: vae.kl_to_standard_normal(torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 4)),
        TypeError,
        "mu must be floating point; got torch.int64",
    ),
    # data
    row(
        "load_photo size 0", lambda: data.load_photo(size=0), ValueError, r"size must hold positive ints; got \(0, 0\)"
    ),
    row("load_photo name", lambda: data.load_photo("dog"), ValueError, "unknown photo 'dog'"),
    row(
        "load_digits test_fraction 1",
        lambda: data.load_digits(test_fraction=1.0),
        ValueError,
        r"test_fraction must be in \(0, 1\); got 1.0",
    ),
    row("load_digits seed -1", lambda: data.load_digits(seed=-1), ValueError, "seed .* got -1"),
    row(
        "load_translated_digits canvas too small",
        lambda: data.load_translated_digits(canvas=12),
        ValueError,
        r"canvas \(12\) must be at least the scaled digit's side, 8 \* scale = 16",
    ),
    row(
        "load_translated_digits copies 0",
        lambda: data.load_translated_digits(copies=0),
        ValueError,
        "copies must be a positive whole number; got 0",
    ),
    row(
        "load_translated_digits scale float", lambda: data.load_translated_digits(scale=1.5), TypeError, "scale .* 1.5"
    ),
    row("make_shapes n float", lambda: data.make_shapes(n=10.0), TypeError, "n .* got 10.0"),
    row("make_shapes noise -1", lambda: data.make_shapes(n=2, noise=-1), ValueError, "noise must be >= 0; got -1"),
    row(
        "make_shapes patch does not divide",
        lambda: data.make_shapes(n=2, image_size=32, patch_size=5),
        ValueError,
        "patch_size=5 does not divide",
    ),
    # hub (files in the rows below are made by the `files` fixture)
    row(
        "load_checkpoint num_heads 0",
        lambda: hub.load_checkpoint(digits_vit().state_dict(), num_heads=0),
        ValueError,
        "num_heads must be a positive whole number; got 0",
    ),
    row(
        "load_checkpoint int weights",
        lambda: hub.load_checkpoint({k: v.long() for k, v in digits_vit().state_dict().items()}, num_heads=4),
        hub.CheckpointMismatchError,
        r"wrong dtype: patch_embed.proj.weight: checkpoint torch.int64, model torch.float32",
    ),
    row(
        "load_checkpoint bool weights",
        lambda: hub.load_checkpoint(
            {k: v.bool() if k == "norm.weight" else v for k, v in digits_vit().state_dict().items()}, num_heads=4
        ),
        hub.CheckpointMismatchError,
        r"wrong dtype: norm.weight: checkpoint torch.bool",
    ),
    row(
        "load_checkpoint not a source",
        lambda: hub.load_checkpoint(42),
        TypeError,
        "source must be a path or a state dict; got int",
    ),
    # the trainers' configurations and data (the engine branch)
    row("TrainConfig grad_clip negative", lambda: train.TrainConfig(grad_clip=-1.0), ValueError, "grad_clip .* -1.0"),
    row("TrainConfig min_lr negative", lambda: train.TrainConfig(min_lr=-1e-3), ValueError, "min_lr .* -0.001"),
    row("TrainConfig lr nan", lambda: train.TrainConfig(lr=float("nan")), ValueError, "lr .* nan"),
    row(
        "TrainConfig weight_decay negative",
        lambda: train.TrainConfig(weight_decay=-0.1),
        ValueError,
        "weight_decay .* -0.1",
    ),
    row(
        "TrainConfig warmup negative",
        lambda: train.TrainConfig(warmup_steps=-1),
        ValueError,
        "warmup_steps .* -1",
    ),
    row("TrainConfig epochs float", lambda: train.TrainConfig(epochs=2.5), TypeError, "epochs .* 2.5"),
    row("TrainConfig batch_size float", lambda: train.TrainConfig(batch_size=32.0), TypeError, "batch_size .* 32.0"),
    row(
        "VAETrainConfig grad_clip negative", lambda: vae.VAETrainConfig(grad_clip=-1.0), ValueError, "grad_clip .* -1.0"
    ),
    row(
        "fit labels out of range",
        lambda: train.fit(digits_vit(), imgs(10), torch.arange(9, 19), epochs=1, progress=False),
        ValueError,
        "labels .* 18",
    ),
    row(
        "fit float labels",
        lambda: train.fit(digits_vit(), imgs(4), torch.zeros(4), epochs=1, progress=False),
        TypeError,
        "labels .*float32",
    ),
    row(
        "fit NaN images",
        lambda: train.fit(
            digits_vit(), imgs(4) * float("nan"), torch.zeros(4, dtype=torch.long), epochs=1, progress=False
        ),
        ValueError,
        "NaN",
    ),
    row(
        "fit no images",
        lambda: train.fit(digits_vit(), imgs(0), torch.zeros(0, dtype=torch.long), epochs=1, progress=False),
        ValueError,
        "no image|0 images|empty",
    ),
    row(
        "evaluate labels 9-18",
        lambda: train.evaluate(digits_vit(), imgs(10), torch.arange(9, 19)),
        ValueError,
        "labels .* 18",
    ),
    row(
        "train_vae NaN images",
        lambda: vae.train_vae(ViTVAE(), imgs(4) * float("nan"), epochs=1, progress=False),
        ValueError,
        "NaN",
    ),
    row(
        "fit a model without a head",  # its D features would be read as class scores
        lambda: train.fit(digits_vit(num_classes=0), imgs(4), torch.zeros(4, dtype=torch.long), progress=False),
        ValueError,
        r"no classification head \(num_classes=0\).*num_classes=10",
    ),
    row(
        "augment NaN strength",
        lambda: train.augment(imgs(2), max_shift=float("nan")),
        ValueError,
        "max_shift must be a finite number; got nan",
    ),
    row(
        "augment infinite strength",
        lambda: train.augment(imgs(2), elastic=float("inf")),
        ValueError,
        "elastic must be a finite number; got inf",
    ),
    row(
        "confusion_matrix of Python lists",
        lambda: train.confusion_matrix([0, 1], [1, 1]),
        TypeError,
        r"labels must be a torch tensor of class indices; got list\. Convert it: torch.as_tensor\(labels\)",
    ),
    row(
        "confusion_matrix of no labels, no num_classes",
        lambda: train.confusion_matrix(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)),
        ValueError,
        "labels and predictions are empty: no class to count. Pass num_classes",
    ),
    row(
        "vae_loss numpy logits",
        lambda: vae.vae_loss(np.zeros((2, 1, 8, 8)), imgs(2), torch.zeros(2, 4), torch.zeros(2, 4)),
        TypeError,
        "logits must be a torch tensor; got a numpy array",
    ),
    row(
        "mean_image_error no training images",
        lambda: vae.mean_image_error(imgs(0), imgs(3)),
        ValueError,
        r"train_images hold no images \(shape \(0, 1, 8, 8\)\)",
    ),
    row(
        "cls_attention_maps NaN",
        lambda: analysis.cls_attention_maps(torch.full((1, 1, 1, 5, 5), float("nan")), (2, 2)),
        ValueError,
        "attention holds NaN or infinite values",
    ),
    row(
        "cls_attention_maps negative weights",
        lambda: analysis.cls_attention_maps(-torch.ones(1, 1, 1, 5, 5), (2, 2)),
        ValueError,
        r"attention holds negative weights \(smallest -1\).*not the scores",
    ),
    row(
        "patch_explorer image_size 0",
        lambda: widgets.patch_explorer(image_size=0),
        ValueError,
        r"^image_size must hold positive ints; got \(0, 0\)",
    ),
    row(
        "patch_explorer max_tokens 0",
        lambda: widgets.patch_explorer(max_tokens=0),
        ValueError,
        r"^max_tokens must be .*got 0",
    ),
    row(
        "train_mae batch_size float",
        lambda: masking.train_mae(
            MaskedAutoencoder(digits_vit(num_classes=0)), imgs(4), steps=1, batch_size=2.0, progress=False
        ),
        TypeError,
        "batch_size .* 2.0",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), ROWS)
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match) as caught:
        call()
    assert isinstance(caught.value, (TypeError, ValueError)), "a vitlib error is a TypeError or a ValueError"


# --------------------------------------------------------------------------- checkpoint files


def _weights(tmp_path):
    model = digits_vit()
    path = tmp_path / "model.safetensors"
    save_file(model.state_dict(), str(path))
    return model, path


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        ("empty", r"cannot read model.safetensors .*not a valid .safetensors file; it is empty \(0 bytes\)"),
        ("truncated", r"cannot read model.safetensors .*not a valid .safetensors file; it is \d+ bytes.*truncated"),
        ("pickle", r"cannot read model.safetensors .*not a valid .safetensors file"),
    ],
)
def test_damaged_safetensors_files_are_named(tmp_path, damage, match):
    model, path = _weights(tmp_path)
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-100])
    else:  # a pickle renamed to .safetensors
        torch.save(model.state_dict(), path)
    with pytest.raises(ValueError, match=match):
        hub.load_checkpoint(path, num_heads=4)


@pytest.mark.parametrize("keep", [0, 200, 5000])  # bytes kept: torch.load fails with EOFError, RuntimeError, OSError
def test_damaged_torch_files_are_named(tmp_path, keep):
    model = digits_vit()
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    path.write_bytes(path.read_bytes()[:keep])
    state = "empty (0 bytes)" if keep == 0 else f"{keep} bytes"
    with pytest.raises(
        ValueError, match=rf"cannot read model.pt .*not a valid torch state dict; it is {re.escape(state)}"
    ):
        hub.load_checkpoint(path, num_heads=4)


def test_a_shard_the_index_names_but_the_folder_lacks_is_named(tmp_path):
    model = digits_vit()
    save_file(model.state_dict(), str(tmp_path / "model-00001-of-00002.safetensors"))
    index = {
        "weight_map": {name: f"model-0000{1 + i % 2}-of-00002.safetensors" for i, name in enumerate(model.state_dict())}
    }
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(
        FileNotFoundError, match=r"names the shard 'model-00002-of-00002.safetensors', which is not in the folder"
    ):
        hub.load_checkpoint(tmp_path, num_heads=4)


def test_a_checkpoint_of_nan_weights_is_refused_naming_the_tensors():
    state = digits_vit().state_dict()
    state["blocks.0.attn.qkv.weight"] = torch.full_like(state["blocks.0.attn.qkv.weight"], float("nan"))
    state["head.bias"][3] = float("inf")
    with pytest.raises(
        ValueError,
        match=r"NaN or infinite weights in 2 tensor\(s\): blocks.0.attn.qkv.weight \(12,288 of 12,288\), "
        r"head.bias \(1 of 10\)",
    ):
        hub.load_checkpoint(state, num_heads=4)


def test_a_depth_0_model_gives_its_attention_as_an_empty_stack():
    logits, attention = ViT.from_preset("digits", depth=0)(imgs(2), return_attention=True)
    assert logits.shape == (2, 10) and attention.shape == (0, 2, 4, 17, 17)
    assert torch.equal(analysis.attention_rollout(attention), torch.eye(17).expand(2, 17, 17))  # no layer: identity


def test_a_confusion_matrix_of_no_labels_with_num_classes_is_zeros():
    empty = torch.zeros(0, dtype=torch.long)
    assert torch.equal(train.confusion_matrix(empty, empty, num_classes=3), torch.zeros(3, 3, dtype=torch.long))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", r"config.json .* is not valid JSON"),
        ("[1, 2]", r"config.json .* holds a JSON list, not an object"),
        ('"vit"', r"config.json .* holds a JSON str, not an object"),
    ],
)
def test_a_broken_config_json_is_named(tmp_path, text, match):
    _weights(tmp_path)
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ValueError, match=match):
        hub.load_checkpoint(tmp_path, num_heads=4)


def test_a_config_json_without_a_field_is_named(hf_folder):
    config = json.loads((hf_folder / "config.json").read_text())
    del config["num_attention_heads"]
    (hf_folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"config.json beside .* lacks num_attention_heads"):
        hub.load_checkpoint(hf_folder)


def test_a_config_json_with_zero_heads_is_named(hf_folder):
    config = json.loads((hf_folder / "config.json").read_text())
    config["num_attention_heads"] = 0
    (hf_folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"config.json beside .* num_attention_heads must be a positive .* got 0"):
        hub.load_checkpoint(hf_folder)


@pytest.fixture
def hf_folder(tmp_path):
    """A folder as transformers' save_pretrained writes it: HF names, config.json with hidden_size etc."""
    model = digits_vit()
    state = {
        "vit.embeddings.patch_embeddings.projection.weight": model.patch_embed.proj.weight,
        "vit.embeddings.patch_embeddings.projection.bias": model.patch_embed.proj.bias,
        "vit.embeddings.cls_token": model.cls_token,
        "vit.embeddings.position_embeddings": model.pos_embed,
        "vit.layernorm.weight": model.norm.weight,
        "vit.layernorm.bias": model.norm.bias,
    }
    block = model.blocks[0]
    prefix = "vit.encoder.layer.0."
    q, k, v = block.attn.qkv.weight.chunk(3)
    qb, kb, vb = block.attn.qkv.bias.chunk(3)
    state |= {
        prefix + "layernorm_before.weight": block.norm1.weight,
        prefix + "layernorm_before.bias": block.norm1.bias,
        prefix + "layernorm_after.weight": block.norm2.weight,
        prefix + "layernorm_after.bias": block.norm2.bias,
        prefix + "attention.attention.query.weight": q,
        prefix + "attention.attention.query.bias": qb,
        prefix + "attention.attention.key.weight": k,
        prefix + "attention.attention.key.bias": kb,
        prefix + "attention.attention.value.weight": v,
        prefix + "attention.attention.value.bias": vb,
        prefix + "attention.output.dense.weight": block.attn.proj.weight,
        prefix + "attention.output.dense.bias": block.attn.proj.bias,
        prefix + "intermediate.dense.weight": block.mlp.fc1.weight,
        prefix + "intermediate.dense.bias": block.mlp.fc1.bias,
        prefix + "output.dense.weight": block.mlp.fc2.weight,
        prefix + "output.dense.bias": block.mlp.fc2.bias,
        "classifier.weight": model.head.weight,
        "classifier.bias": model.head.bias,
    }
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(tmp_path / "model.safetensors"))
    config = {
        "model_type": "vit",
        "hidden_size": 64,
        "num_attention_heads": 4,
        "num_hidden_layers": 1,
        "intermediate_size": 128,
        "image_size": 8,
        "patch_size": 2,
        "num_channels": 1,
        "layer_norm_eps": 1e-6,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_the_hf_folder_fixture_loads(hf_folder):
    assert hub.load_checkpoint(hf_folder).config.num_heads == 4  # the rows above break only what they name


@pytest.mark.parametrize("shard", ["/etc/passwd", "../outside.safetensors", "sub/../../outside.safetensors"])
def test_a_shard_outside_the_folder_is_refused(tmp_path, shard):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    model = digits_vit()
    save_file(model.state_dict(), str(tmp_path / "outside.safetensors"))  # a real file outside: never read
    index = {"weight_map": {name: shard for name in model.state_dict()}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match=r"refused shard .* inside the checkpoint's folder"):
        hub.load_checkpoint(folder, num_heads=4)


def test_an_index_without_weight_map_is_named(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text("{}")
    with pytest.raises(ValueError, match=r"model.safetensors.index.json .* has no \"weight_map\""):
        hub.load_checkpoint(tmp_path, num_heads=4)


# --------------------------------------------------------------------------- what still works


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_checkpoints_load_converted(dtype):
    model = digits_vit()
    state = {k: v.to(dtype) for k, v in model.state_dict().items()}
    loaded = hub.load_checkpoint(state, num_heads=4)
    assert loaded.patch_embed.proj.weight.dtype == torch.float32
    torch.testing.assert_close(loaded.patch_embed.proj.weight, state["patch_embed.proj.weight"].float())


@pytest.mark.parametrize("wrapper", ["model", "state_dict"])
def test_wrapped_state_dicts_still_load(wrapper):
    model = digits_vit()
    loaded = hub.load_checkpoint({wrapper: model.state_dict(), "epoch": 3}, num_heads=4)
    torch.testing.assert_close(loaded.cls_token, model.cls_token)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_float_images_are_converted_to_the_weights_dtype(dtype):
    model = digits_vit().eval()
    x = imgs(3)
    with torch.no_grad():
        out = model(x.to(dtype))
        assert out.dtype == torch.float32 and out.shape == (3, 10)
        torch.testing.assert_close(out, model(x.to(dtype).float()))


def test_batch_size_zero_and_bf16_autocast_still_work():
    model = digits_vit().eval()
    with torch.no_grad():
        assert model(imgs(0)).shape == (0, 10)
        logits, attention = model(imgs(0), return_attention=True)
        assert attention.shape == (1, 0, 4, 17, 17)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert torch.isfinite(model(imgs(2)).float()).all()


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int32, torch.bool, torch.float16, torch.float64])
def test_patchify_is_exact_for_every_dtype(dtype):
    x = (torch.arange(2 * 3 * 4 * 4) % 7).reshape(2, 3, 4, 4).to(dtype)
    patches = patchify(x, 2)
    assert patches.dtype == dtype
    assert torch.equal(unpatchify(patches, 2, 4), x)


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    embed_dim=st.integers(-2, 24),
    num_heads=st.one_of(st.integers(-2, 6), st.floats(-2, 6), st.sampled_from([2.0, True, math.nan])),
    # bounded: a huge but valid ratio is accepted and would only exhaust memory
    mlp_ratio=st.one_of(st.floats(-1, 3), st.integers(-1, 3), st.sampled_from([math.nan, math.inf, -math.inf])),
)
def test_every_config_is_refused_by_name_or_gives_finite_logits(embed_dim, num_heads, mlp_ratio):
    kwargs = {"embed_dim": embed_dim, "num_heads": num_heads, "mlp_ratio": mlp_ratio}
    try:
        model = ViT(image_size=4, patch_size=2, in_chans=1, num_classes=3, depth=1, **kwargs)
    except (TypeError, ValueError) as error:
        assert any(name in str(error) for name in kwargs), str(error)
        return
    with torch.no_grad():
        assert torch.isfinite(model(torch.rand(2, 1, 4, 4))).all()


@settings(max_examples=40, deadline=None)
@given(
    grid=st.tuples(st.integers(-1, 5), st.integers(-1, 5)),
    embed_dim=st.integers(-4, 20),
    temperature=st.floats(allow_nan=True, allow_infinity=True, width=32),
)
def test_sincos_tables_are_finite_or_refused_by_name(grid, embed_dim, temperature):
    try:
        table = sincos_pos_embed_2d(grid, embed_dim, temperature=temperature)
    except (TypeError, ValueError) as error:
        assert any(name in str(error) for name in ("grid", "embed_dim", "temperature")), str(error)
        return
    assert table.shape == (1, 1 + grid[0] * grid[1], embed_dim) and torch.isfinite(table).all()


@settings(max_examples=40, deadline=None)
@given(ratio=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 200)), n=st.integers(-2, 40))
def test_masking_keeps_what_it_says_or_refuses_by_name(ratio, n):
    try:
        keep = num_kept(n, ratio)
    except (TypeError, ValueError) as error:
        assert "mask_ratio" in str(error) or "num_tokens" in str(error), str(error)
        return
    assert 1 <= keep <= n and math.isfinite(ratio)
    masked = random_masking(torch.rand(2, n, 3), ratio, seed=0)
    assert masked.kept.shape == (2, keep, 3) and int(masked.mask.sum()) == 2 * (n - keep)
