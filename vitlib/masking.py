"""MAE-style random masking of patch tokens (notebook 08).

A masked autoencoder (He et al. 2021, "Masked Autoencoders Are Scalable
Vision Learners") hides a random 75 % of the patches and lets the encoder see
only the rest: the sequence really gets shorter, so the encoder does a
quarter of the work. The masking follows MAE's ``random_masking``: one random
number per token, ``argsort`` gives a shuffle (``ids_shuffle``), the first
``K`` shuffled tokens are kept, and ``argsort(ids_shuffle)`` (``ids_restore``)
puts everything back in place for the decoder. :class:`MaskedAutoencoder`
adds MAE's small decoder, which redraws the hidden patches (``train_mae``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import nn

from . import checks
from .checks import float_images, fraction, positive_float, positive_int, tensor, whole
from .embedding import sincos_pos_embed_2d
from .encoder import Block
from .engine import History, Recipe, evaluating, run_training
from .model import ViT
from .patches import patchify, unpatchify
from .train import check_images

__all__ = [
    "MAEOutput",
    "MAETrainConfig",
    "Masked",
    "MaskedAutoencoder",
    "encode_visible",
    "num_kept",
    "random_masking",
    "restore_order",
    "train_mae",
]


class Masked(NamedTuple):
    """What :func:`random_masking` returns (unpacks as ``kept, mask, ids_restore``).

    - ``kept``: ``(B, K, D)`` the visible tokens, in shuffled order;
    - ``mask``: ``(B, N)`` 0 for a kept token, 1 for a removed one, in the original order;
    - ``ids_restore``: ``(B, N)`` the permutation that undoes the shuffle.
    """

    kept: torch.Tensor
    mask: torch.Tensor
    ids_restore: torch.Tensor

    @property
    def ids_keep(self) -> torch.Tensor:
        """``(B, K)`` the original positions of the kept tokens, in the order of ``kept``."""
        return self.ids_restore.argsort(dim=1)[:, : self.kept.shape[1]]


def num_kept(num_tokens: int, mask_ratio: float) -> int:
    """How many of ``num_tokens`` stay visible: ``round(N * (1 - mask_ratio))``, at least 1.

    Raises ``ValueError`` for a ratio outside [0, 1) or one that would hide every token.
    """
    try:
        mask_ratio = fraction(mask_ratio, "mask_ratio", high_open=True, example=0.75)
    except ValueError as error:
        ratio = float(mask_ratio)
        hint = " A percentage? Divide by 100." if 1.0 < ratio <= 100.0 else ""
        raise ValueError(
            f"mask_ratio must be in [0, 1) (the fraction of patches to hide, e.g. 0.75); got {ratio}.{hint}"
        ) from error
    num_tokens = positive_int(num_tokens, "num_tokens", example=16)
    keep = round(num_tokens * (1.0 - mask_ratio))
    if keep == 0:
        raise ValueError(
            f"mask_ratio={mask_ratio} hides all {num_tokens} tokens (round({num_tokens} * {1 - mask_ratio:.3g}) = 0); "
            f"the encoder needs at least one. Use a ratio below {1 - 0.5 / num_tokens:.3f}."
        )
    return keep


def random_masking(
    tokens: torch.Tensor,
    mask_ratio: float = 0.75,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Masked:
    """Keep a random ``round(N * (1 - mask_ratio))`` tokens of each image: ``(B, N, D) -> Masked``.

    Each image gets its own random subset. ``seed`` (or a ``torch.Generator``)
    makes the choice repeatable. ``restore_order(kept_and_filled, ids_restore)``
    undoes the shuffle.
    """
    tensor(tokens, "tokens")
    if tokens.dim() != 3:
        raise ValueError(
            f"tokens must be a (B, N, D) tensor (patch tokens, without [CLS]); got shape {tuple(tokens.shape)}."
        )
    if generator is not None and seed is not None:
        raise ValueError("give either seed or generator, not both.")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}. Or pass seed=0.")
    if seed is not None:
        generator = torch.Generator().manual_seed(whole(seed, "seed", example=0))
    b, n, d = tokens.shape
    keep = num_kept(n, mask_ratio)
    noise = torch.rand(b, n, generator=generator).to(tokens.device)  # one random number per token
    ids_shuffle = noise.argsort(dim=1)  # ascending: the smallest K are kept
    ids_restore = ids_shuffle.argsort(dim=1)
    ids_keep = ids_shuffle[:, :keep]
    kept = tokens.gather(1, ids_keep.unsqueeze(-1).expand(-1, -1, d))  # (B, K, D)
    mask = torch.ones(b, n, device=tokens.device)
    mask[:, :keep] = 0
    mask = mask.gather(1, ids_restore)  # back to the original order: 0 kept, 1 removed
    return Masked(kept, mask, ids_restore)


def restore_order(shuffled: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
    """Undo the shuffle: ``(B, N, D)`` in shuffled order (kept first) -> original order.

    MAE's decoder appends a mask token for every removed patch to the kept
    tokens and calls this to put each token back on its patch.
    """
    tensor(shuffled, "shuffled")
    tensor(ids_restore, "ids_restore")
    if ids_restore.dtype != torch.int64:
        raise TypeError(
            f"ids_restore must hold int64 indices (as random_masking returns them); got {ids_restore.dtype}. "
            "Convert it: ids_restore.long()."
        )
    if shuffled.dim() != 3 or shuffled.shape[:2] != ids_restore.shape:
        raise ValueError(
            f"shuffled must be (B, N, D) with (B, N) = ids_restore.shape {tuple(ids_restore.shape)}; "
            f"got {tuple(shuffled.shape)}. Append one mask token per removed patch first."
        )
    n = ids_restore.shape[1]
    if ids_restore.numel() and (int(ids_restore.min()) < 0 or int(ids_restore.max()) >= n):
        raise ValueError(
            f"ids_restore must hold positions in [0, {n}); got values from {int(ids_restore.min())} to "
            f"{int(ids_restore.max())}. Pass the ids_restore that random_masking returned."
        )
    return shuffled.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, shuffled.shape[-1]))


def encode_visible(
    model, images: torch.Tensor, mask_ratio: float = 0.75, *, generator=None, seed: int | None = None
) -> tuple[torch.Tensor, Masked]:
    """MAE's encoder pass with a :class:`vitlib.ViT`: only the kept patches go through the blocks.

    ``(B, C, H, W) -> (B, 1+K, D)`` ([CLS] and the K visible tokens, after the
    final norm) and the :class:`Masked` record (its ``kept`` holds the
    embedded tokens before the blocks). Positions are added *before* masking,
    so every kept token still knows where it came from. ``model`` is a ViT (anything
    with ``patch_embed``, ``pos_embed``, ``cls_token``, ``blocks`` and ``norm``).
    """
    _check_encoder(model, "model")
    images = checks.model_images(images, model.patch_embed)  # the model's boundary, as in ViT.embed
    patches = model.patch_embed(images) + model.pos_embed[:, 1:]  # (B, N, D), each with its position
    masked = random_masking(patches, mask_ratio, generator=generator, seed=seed)
    cls = (model.cls_token + model.pos_embed[:, :1]).expand(images.shape[0], -1, -1)
    tokens = torch.cat([cls, masked.kept], dim=1)  # (B, 1+K, D)
    return model.encode(tokens)[0], masked


def _check_encoder(model, name: str) -> None:
    missing = [a for a in ("patch_embed", "pos_embed", "cls_token", "encode") if not hasattr(model, a)]
    if missing:
        raise TypeError(
            f"{name} must be a vitlib.ViT (it needs {', '.join(missing)}); got {type(model).__name__}. "
            "Build one with vitlib.ViT(...) or ViT.from_preset('digits', num_classes=0)."
        )


class MAEOutput(NamedTuple):
    """What :meth:`MaskedAutoencoder.forward` returns.

    - ``loss``: mean squared error over the pixels of the hidden patches only;
    - ``pred``: ``(B, N, C*P*P)`` the decoder's pixels for every patch, in patchify's layout;
    - ``mask``: ``(B, N)`` 1 for a hidden patch, 0 for a visible one.
    """

    loss: torch.Tensor
    pred: torch.Tensor
    mask: torch.Tensor


class MaskedAutoencoder(nn.Module):
    """MAE: a :class:`vitlib.ViT` encoder on the visible patches, a small decoder for all of them.

    The decoder's names are MAE's own (``decoder_embed``, ``mask_token``,
    ``decoder_pos_embed``, ``decoder_blocks``, ``decoder_norm``,
    ``decoder_pred``). It maps the encoded tokens to its own width, appends
    one shared, learned ``mask_token`` per hidden patch, puts every token back
    on its patch (:func:`restore_order`), adds fixed 2-D sin-cos positions, and
    predicts each patch's pixels: ``(B, C, H, W) -> (B, N, C*P*P)``.
    """

    def __init__(
        self,
        encoder,
        *,
        decoder_dim: int = 64,
        decoder_depth: int = 1,
        decoder_heads: int = 4,
        mlp_ratio: float = 2.0,
        mask_ratio: float = 0.75,
    ):
        super().__init__()
        if not isinstance(encoder, ViT):
            _check_encoder(encoder, "encoder")  # names what is missing
            raise TypeError(f"encoder must be a vitlib.ViT; got {type(encoder).__name__}.")
        decoder_dim = positive_int(decoder_dim, "decoder_dim", example=64)
        decoder_depth = positive_int(decoder_depth, "decoder_depth", example=1)
        decoder_heads = positive_int(decoder_heads, "decoder_heads", example=4)
        mlp_ratio = positive_float(mlp_ratio, "mlp_ratio", example=2.0)
        checks.sincos_width(decoder_dim, "decoder_dim")  # for the decoder's 2-D sin-cos positions
        if decoder_dim % decoder_heads:
            raise ValueError(
                f"decoder_dim ({decoder_dim}) must be divisible by decoder_heads ({decoder_heads}); "
                f"try decoder_heads={math.gcd(decoder_dim, decoder_heads)}."
            )
        num_kept(encoder.patch_embed.num_patches, mask_ratio)  # checks the ratio now, not at the first step
        self.encoder, self.mask_ratio = encoder, mask_ratio
        config = encoder.config
        self.patch_size = config.patch_size
        self.decoder_embed = nn.Linear(config.embed_dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.randn(1, 1, decoder_dim) * 0.02)
        self.register_buffer("decoder_pos_embed", sincos_pos_embed_2d(encoder.patch_embed.grid_size, decoder_dim))
        self.decoder_blocks = nn.ModuleList(
            Block(decoder_dim, num_heads=decoder_heads, mlp_ratio=mlp_ratio) for _ in range(decoder_depth)
        )
        self.decoder_norm = nn.LayerNorm(decoder_dim, eps=1e-6)
        self.decoder_pred = nn.Linear(decoder_dim, config.in_chans * config.patch_size**2)

    def decode(self, visible: torch.Tensor, masked: Masked) -> torch.Tensor:
        """The encoder's ``(B, 1+K, D)`` output -> pixels of every patch ``(B, N, C*P*P)``."""
        x = self.decoder_embed(visible)  # (B, 1+K, d)
        b, n = masked.ids_restore.shape
        hidden = self.mask_token.expand(b, n - masked.kept.shape[1], -1)  # one per hidden patch
        patches = restore_order(torch.cat([x[:, 1:], hidden], dim=1), masked.ids_restore)  # (B, N, d) in place
        x = torch.cat([x[:, :1], patches], dim=1) + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x, _ = block(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:]  # drop [CLS]

    def forward(self, images: torch.Tensor, *, mask_ratio: float | None = None, generator=None, seed=None):
        """Hide, encode, decode: ``(B, C, H, W) ->`` :class:`MAEOutput` (the loss counts hidden patches only).

        Images follow the library's dtype policy (:func:`vitlib.checks.float_images`); an empty
        batch is refused (its loss would be 0 / 0 = NaN).
        """
        images = float_images(images, "images", dtype=self.decoder_pred.weight.dtype)
        if images.shape[0] == 0:
            raise ValueError(
                f"images hold no image (batch size 0, shape {tuple(images.shape)}): "
                "the loss of an empty batch is undefined; pass at least one image."
            )
        ratio = self.mask_ratio if mask_ratio is None else mask_ratio
        if ratio == 0:
            raise ValueError("mask_ratio=0 hides nothing, so there is nothing to reconstruct; use e.g. 0.5.")
        visible, masked = encode_visible(self.encoder, images, ratio, generator=generator, seed=seed)
        pred = self.decode(visible, masked)
        per_patch = ((pred - patchify(images, self.patch_size)) ** 2).mean(dim=-1)  # (B, N)
        loss = (per_patch * masked.mask).sum() / masked.mask.sum()
        return MAEOutput(loss, pred, masked.mask)

    @torch.no_grad()
    def reconstruct(
        self, images: torch.Tensor, *, mask_ratio: float | None = None, seed: int = 0, fill: float = 0.5
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What the encoder sees (hidden patches set to ``fill``) and the reconstruction, both ``(B, C, H, W)``.

        The reconstruction keeps the visible patches as they are and pastes
        the decoder's pixels into the hidden ones, as MAE's figures do.
        """
        images = float_images(images, "images", dtype=self.decoder_pred.weight.dtype)
        with evaluating(self):
            out = self(images, mask_ratio=mask_ratio, seed=seed)
        patches, hidden = patchify(images, self.patch_size), out.mask.unsqueeze(-1).bool()
        size = tuple(images.shape[-2:])
        seen = unpatchify(patches.masked_fill(hidden, fill), self.patch_size, size)
        redrawn = unpatchify(torch.where(hidden, out.pred, patches), self.patch_size, size)
        return seen, redrawn


@dataclass(frozen=True)
class MAETrainConfig(Recipe):
    """The MAE's recipe (:func:`train_mae`): :class:`~vitlib.engine.Recipe`'s fields and its own, ``steps``
    random batches (drawn with replacement) and the ``mask_ratio`` (None: the model's own).

    ``warmup_steps=None`` warms up over a 40th of the steps (at least 1). Checked when made.
    """

    lr: float = 3e-3
    grad_clip: float | None = None
    steps: int = 800
    mask_ratio: float | None = None

    def __post_init__(self):
        super().__post_init__()
        checks.positive_int(self.steps, "steps", example=800)
        if self.mask_ratio is not None:
            fraction(self.mask_ratio, "mask_ratio", high_open=True, example=0.75)


def train_mae(
    model: MaskedAutoencoder,
    images: torch.Tensor,
    *,
    config: MAETrainConfig | None = None,
    progress: bool = True,
    **overrides,
) -> History:
    """Train ``model`` in place on ``(N, C, H, W)`` images (no labels); return the engine's History.

    The task is the model and its loss, the error on the hidden patches (:class:`MaskedAutoencoder`); each of
    the ``steps`` draws a random batch. Batches and masks come from a generator seeded with ``config.seed``;
    keywords override fields of ``config`` (``train_mae(mae, x, steps=400, mask_ratio=0.5)``).
    """
    config = checks.configured(MAETrainConfig, config, overrides)
    if not isinstance(model, MaskedAutoencoder):
        raise TypeError(f"model must be a vitlib.masking.MaskedAutoencoder; got {type(model).__name__}.")
    embed = model.encoder.patch_embed
    images = check_images(images, "images", dtype=embed.proj.weight.dtype)
    expected = (embed.proj.in_channels, *embed.image_size)  # (C, H, W)
    if tuple(images.shape[1:]) != expected:
        shape = ", ".join(map(str, expected))
        raise ValueError(f"images must be (N, {shape}) for this encoder; got {tuple(images.shape)}.")
    warmup = max(1, config.steps // 40) if config.warmup_steps is None else config.warmup_steps
    recipe = replace(config, warmup_steps=warmup)

    def batches(generator: torch.Generator):  # a random batch per step
        while True:
            yield images[torch.randint(0, images.shape[0], (config.batch_size,), generator=generator)]

    def loss_fn(model: MaskedAutoencoder, x: torch.Tensor, generator: torch.Generator, step: int):
        return model(x, mask_ratio=config.mask_ratio, generator=generator).loss, {}

    def on_log(history: History) -> dict:
        return {"loss": f"{history.steps['loss'][-1]:.4f}"}

    return run_training(
        model,
        loss_fn,
        batches,
        steps=config.steps,
        recipe=recipe,
        log_every=50,
        on_log=on_log,
        progress=progress,
        desc="training the MAE",
    )
