"""Checkers for notebook 04, *positional embeddings*."""

from __future__ import annotations

import torch

from . import checker, correct, judge_choice, not_yet, result_problem

__all__ = ["check_tell_apart", "check_unshuffle"]


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
        problem = result_problem(got, "unshuffle")
        if problem is not None:
            return problem
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


_TELL_APART = {
    "a": (
        False,
        "another order of the same 16 patches is the shuffle of the first section: the [CLS] output did not change. "
        "Which change alters what is *inside* the patches, not only where they sit?",
    ),
    "b": (
        False,
        "the halves are two rows of whole patches each, so swapping them only moves whole, unchanged patches: the same "
        "set of tokens in another order. Which change alters what is inside the patches?",
    ),
    "c": (
        False,
        "56 pixels is exactly one patch: every patch moves one column to the right (the last column wraps round), "
        "unchanged, so the set of tokens is the same. Which change alters what is inside the patches?",
    ),
    "d": (
        True,
        "the mirror image flips the pixels *inside* every patch too, and a patch and its mirror image are different "
        "vectors: the set of tokens changes, so even a model without positions sees it. What it cannot see is any "
        "rearrangement of whole, unchanged patches: a shuffle, swapped halves, a roll by whole patches.",
    ),
}


@checker
def check_tell_apart(answer) -> object:
    """Predict, then run: which change to the photo (4 x 4 patches of 56 px) can a model without positions tell
    apart from the photo? One letter: ``"a"`` the patches in another order, ``"b"`` top and bottom halves swapped,
    ``"c"`` rolled 56 px to the right, ``"d"`` mirrored left to right."""
    return judge_choice(answer, _TELL_APART)
