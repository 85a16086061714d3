"""MAE-style random masking of patch tokens (notebook 08).

A masked autoencoder (He et al. 2021, "Masked Autoencoders Are Scalable
Vision Learners") hides a random 75 % of the patches and lets the encoder see
only the rest: the sequence really gets shorter, so the encoder does a
quarter of the work. The masking follows MAE's ``random_masking``: one random
number per token, ``argsort`` gives a shuffle (``ids_shuffle``), the first
``K`` shuffled tokens are kept, and ``argsort(ids_shuffle)`` (``ids_restore``)
puts everything back in place for the decoder.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

__all__ = ["Masked", "encode_visible", "num_kept", "random_masking", "restore_order"]


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
    if isinstance(mask_ratio, bool) or not isinstance(mask_ratio, (int, float)):
        kind = type(mask_ratio).__name__
        raise TypeError(f"mask_ratio must be a number in [0, 1); got {mask_ratio!r} of type {kind}.")
    if not (0.0 <= mask_ratio < 1.0) or math.isnan(mask_ratio):
        raise ValueError(
            f"mask_ratio must be in [0, 1) (the fraction of patches to hide, e.g. 0.75); got {mask_ratio}."
            + (" A percentage? Divide by 100." if 1.0 < mask_ratio <= 100.0 else "")
        )
    if isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens <= 0:
        raise ValueError(f"num_tokens must be a positive int; got {num_tokens!r}.")
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
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 3:
        shape = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
        raise ValueError(f"tokens must be a (B, N, D) tensor (patch tokens, without [CLS]); got {shape}.")
    if generator is not None and seed is not None:
        raise ValueError("give either seed or generator, not both.")
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
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
    if shuffled.dim() != 3 or shuffled.shape[:2] != ids_restore.shape:
        raise ValueError(
            f"shuffled must be (B, N, D) with (B, N) = ids_restore.shape {tuple(ids_restore.shape)}; "
            f"got {tuple(shuffled.shape)}. Append one mask token per removed patch first."
        )
    return shuffled.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, shuffled.shape[-1]))


def encode_visible(
    model, images: torch.Tensor, mask_ratio: float = 0.75, *, generator=None, seed: int | None = None
) -> tuple[torch.Tensor, Masked]:
    """MAE's encoder pass with a :class:`vitlib.ViT`: only the kept patches go through the blocks.

    ``(B, C, H, W) -> (B, 1+K, D)`` ([CLS] and the K visible tokens, after the
    final norm) and the :class:`Masked` record (its ``kept`` holds the
    embedded tokens before the blocks). Positions are added *before* masking,
    so every kept token still knows where it came from.
    """
    patches = model.patch_embed(images) + model.pos_embed[:, 1:]  # (B, N, D), each with its position
    masked = random_masking(patches, mask_ratio, generator=generator, seed=seed)
    cls = (model.cls_token + model.pos_embed[:, :1]).expand(images.shape[0], -1, -1)
    tokens = torch.cat([cls, masked.kept], dim=1)  # (B, 1+K, D)
    return model.norm(model.blocks(tokens)), masked
