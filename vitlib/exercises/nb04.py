"""Checkers for notebook 04, *positional embeddings*."""

from __future__ import annotations

import torch

from ..checks import whole
from . import checker, correct, not_yet

__all__ = ["check_num_positions", "check_unshuffle"]


@checker
def check_unshuffle(answer) -> object:
    """``answer`` is your function ``unshuffle(outputs, perm)``: ``outputs`` ``(B, N, D)`` were
    computed from patch tokens shuffled as ``tokens[:, perm]``; put them back in the original
    patch order, so that (without positions) they equal the outputs of the unshuffled tokens."""
    if not callable(answer):
        return not_yet(f"answer must be a function unshuffle(outputs, perm); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    for n in (5, 9, 16):
        outputs = torch.randn(2, n, 3, generator=g)
        perm = torch.randperm(n, generator=g)
        while torch.equal(perm[perm], torch.arange(n)):  # an involution would hide a swapped index
            perm = torch.randperm(n, generator=g)
        shuffled = outputs[:, perm]
        got = answer(shuffled, perm)
        if not isinstance(got, torch.Tensor):
            return not_yet(f"unshuffle must return a tensor; it returned {type(got).__name__}.")
        if got.shape != outputs.shape:
            return not_yet(f"the result must keep the shape {tuple(outputs.shape)}; got {tuple(got.shape)}.")
        if torch.equal(got, shuffled[:, perm]):
            return not_yet(
                "indexing with perm again shuffles a second time. Output i of the shuffled run belongs to "
                "patch perm[i]; undo it with the inverse permutation, the one that sorts perm back into 0, 1, 2, ..."
            )
        if not torch.equal(got, outputs):
            return not_yet(
                "not back in the original order. Output i of the shuffled run belongs to patch perm[i]: "
                "either index with the inverse permutation, or write each output back into the slot that perm names."
            )
    return correct("the inverse permutation puts every output back on its own patch.")


@checker
def check_num_positions(answer) -> object:
    """ViT-B/16 trained at 224 x 224 is fine-tuned at 384 x 384. How many rows has its
    resized position table ([CLS] included)?"""
    try:
        answer = whole(answer, "answer")
    except TypeError:
        return not_yet(f"give one whole number; got {answer!r}.")
    if answer == 577:
        return correct("384 / 16 = 24 patches a side: 24·24 = 576 positions, plus the [CLS] row = 577.")
    if answer == 576:
        return not_yet("576 is the patch grid (24 x 24); the table also has a row for [CLS].")
    if answer == 197:
        return not_yet("197 is the table at 224 px (14·14 + 1); at 384 px the grid is 384 / 16 = 24 a side.")
    return not_yet(f"{answer} is not it. Patches per side: 384 / 16; square it for the grid; add one for [CLS].")
