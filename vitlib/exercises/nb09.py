"""Checkers for notebook 09, *ViT vs. CNN: inductive bias, data and cost*."""

from __future__ import annotations

import numbers
from unittest import mock

import torch

from . import checker, correct, not_yet, whole_answer

__all__ = ["check_tokens_at_384", "check_vit_params"]


@checker
def check_tokens_at_384(answer) -> object:
    """Your prediction: the number of tokens N + 1 (patches and [CLS]) that ViT-L/16 reads at 384 x 384 px."""
    if (number := whole_answer(answer)) is None:
        return not_yet(f"give one whole number, the token count; got {answer!r}.")
    answer = number
    if answer == 577:
        return correct(
            "384 / 16 = 24 patches a side, 24² = 576 patches, + [CLS] = 577 tokens: 2.9 times the 197 at 224 px, "
            "so each attention matrix has (577 / 197)² ≈ 8.6 times as many entries."
        )
    if answer == 576:
        return not_yet("576 are the patches; the encoder also reads the [CLS] token.")
    if answer in (196, 197):
        return not_yet("that is the count at 224 px; the fine-tuning resolution here is 384 px.")
    if answer in (24, 25):
        return not_yet("24 is the patches along one side; the grid is 24 x 24.")
    if answer in (384 * 384, 384 * 384 // 16):
        return not_yet("a patch is 16 x 16 pixels: count patches per side (384 / 16), then square it.")
    return not_yet(f"{answer} is not it. Patches per side = image size / patch size; N = that squared; add [CLS].")


def _reference_params(depth, dim, patch, *, mlp_ratio=4.0, num_classes=1000, image_size=224, in_chans=3) -> int:
    hidden = int(dim * mlp_ratio)
    n = (image_size // patch) ** 2
    block = (dim * 3 * dim + 3 * dim) + (dim * dim + dim) + (dim * hidden + hidden) + (hidden * dim + dim) + 4 * dim
    embed = in_chans * patch * patch * dim + dim + dim + (n + 1) * dim  # projection, bias, [CLS], positions
    return embed + depth * block + 2 * dim + dim * num_classes + num_classes


@checker
def check_vit_params(answer) -> object:
    """``answer`` is your function ``vit_params(depth, dim, patch)``: the number of parameters of a ViT at 224 px
    with 3 colour channels, MLP ratio 4 and a 1000-class head, counted by formula (no model built)."""
    if not callable(answer):
        return not_yet(f"answer must be a function vit_params(depth, dim, patch); got {type(answer).__name__}.")
    cases = [(12, 192, 16), (12, 768, 16), (24, 1024, 16), (32, 1280, 14), (2, 8, 32)]

    def refuse(*args, **kwargs):
        raise RuntimeError("a model's parameters were counted")

    try:
        with mock.patch.object(torch.nn.Module, "parameters", refuse):
            got = [answer(*case) for case in cases]
    except RuntimeError as error:
        if "parameters were counted" in str(error):
            return not_yet("your function builds a model and counts its parameters; count them with a formula instead.")
        raise
    if all(g is None for g in got):
        return not_yet("your function returns None: replace `return None` with the formula.")
    if not all(isinstance(g, numbers.Integral) or (isinstance(g, float) and g.is_integer()) for g in got):
        return not_yet(f"return a whole number; got {got[0]!r}.")
    expected = [_reference_params(*case) for case in cases]
    if [int(g) for g in got] == expected:
        return correct(
            "embedding (3·P²·D + D), [CLS] (D), positions ((N+1)·D), depth x (12·D² + 13·D), final norm (2·D) and "
            f"head (1000·D + 1000): ViT-B/16 has {expected[1]:,}, ViT-H/14 {expected[3]:,}."
        )
    d, p = 768, 16
    b = got[1]
    blocks = 12 * (12 * d * d + 13 * d)
    if b == blocks:
        return not_yet("that is the 12 blocks alone; add the patch embedding, [CLS], positions, final norm and head.")
    if b == expected[1] - 1000 * d - 1000:
        return not_yet("close: add the classification head, Linear(D, 1000) with its bias.")
    if b == expected[1] - 197 * d:
        return not_yet("close: add the position table, one D-vector per token (N patches + [CLS]).")
    if b == expected[1] - 12 * 4 * d:
        return not_yet("close: each block has two LayerNorms, each with a weight and a bias of size D.")
    if b == expected[1] - 3 * p * p * d - d:
        return not_yet("add the patch embedding: a Linear(3·P·P, D), weights and bias.")
    _WRONG_TRIES.add(int(b))
    if len(_WRONG_TRIES) == 1:  # a hint first; the formula only after a second, different wrong answer
        return not_yet(
            f"for (12, 768, 16) you give {int(b):,}; the answer is near 86 M. List the parts in the order the model "
            "runs them (patch embedding, [CLS], positions, the blocks: notebook 06 counted one, the final LayerNorm, "
            "the head) and count each one's weights and biases."
        )
    return not_yet(
        f"for (12, 768, 16) you give {int(b):,}; the answer is near 86 M. Add up: patch embedding 3·P²·D + D, "
        "[CLS] D, positions (N+1)·D with N = (224 / P)², per block 12·D² + 13·D, final LayerNorm 2·D, head 1000·D "
        "+ 1000."
    )


# The wrong totals (for ViT-B/16) this kernel has seen: the whole formula is given only from the second one on.
_WRONG_TRIES: set[int] = set()
