"""Checkers for notebook 08, *beyond classification*.

Two judgement questions (one letter, an explanation for every option; the first predicted before the notebook runs
the experiment, ``vitlib.exercises.reveal``) and one function to write (``fuse_qkv``)."""

from __future__ import annotations

import itertools

import torch

from . import checker, correct, judge_choice, not_yet, result_problem

__all__ = ["check_fuse_qkv", "check_hidden_only", "check_one_patch"]


@checker
def check_fuse_qkv(answer) -> object:
    """``answer`` is your function ``fuse_qkv(q, k, v)``: Hugging Face's separate query, key and value
    weights, each ``(D, D)``, as timm's one ``qkv`` weight ``(3D, D)`` (rows q | k | v)."""
    if not callable(answer):
        return not_yet(f"answer must be a function fuse_qkv(q, k, v); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(6, 6, generator=g) for _ in range(3))
    got = answer(q, k, v)
    problem = result_problem(got, "fuse_qkv")
    if problem is not None:
        return problem
    if got.shape == (3, 6, 6):
        return not_yet("torch.stack adds a new axis: (3, D, D). nn.Linear(D, 3D) keeps a (3D, D) weight: concatenate.")
    if got.shape == (6, 18):
        return not_yet("that joins the columns (dim=1). Each output feature is a row: concatenate along dim=0.")
    if got.shape != (18, 6):
        return not_yet(f"the fused weight must be (3D, D) = (18, 6); got {tuple(got.shape)}.")
    if not torch.equal(got, torch.cat([q, k, v])):
        if any(torch.equal(got, torch.cat(order)) for order in itertools.permutations((q, k, v))):
            return not_yet("the right blocks in the wrong order: timm reads q = rows [:D], k = [D:2D], v = [2D:].")
        return not_yet("the rows are not q, k and v stacked as they are; don't transpose or mix them.")
    return correct("torch.cat([q, k, v], dim=0): timm's qkv rows are q | k | v, and its forward splits them back.")


_ONE_PATCH = {
    "a": (
        False,
        "the head is one nn.Linear applied to each token on its own, true; but the tokens it reads come out of two "
        "blocks of self-attention, in which every token attends to every other. Which tokens does a change in one "
        "patch reach after the first block?",
    ),
    "b": (
        True,
        "the head reads each token on its own, but every token it reads has attended to every patch in both blocks: "
        "a change in one patch reaches all 64 outputs. No local receptive field here, unlike a convolution's. How much "
        "each logit moves is another matter: compare the sizes printed, and whether any label flips.",
    ),
    "c": (
        False,
        "neighbours are what a convolution would reach (its receptive field grows a few pixels per layer). "
        "Self-attention has no neighbourhood: in one block every token reads every other.",
    ),
    "d": (
        False,
        "the painted patch's own token changes, and the head reads it: at least its logit moves. And through "
        "attention the change goes further.",
    ),
}


@checker
def check_one_patch(answer) -> object:
    """Predict, then run: paint the top-left 4 x 4 patch of a test image white and run the trained dense model
    (2 blocks, a linear head on each patch token) again. Of its 64 logits, the ones that change are ``"a"`` only the
    painted patch's, ``"b"`` all 64, ``"c"`` the painted patch's and its neighbours', ``"d"`` none."""
    return judge_choice(answer, _ONE_PATCH)


_HIDDEN_ONLY = {
    "a": (
        False,
        "it saves almost nothing: the decoder already predicts every patch (the tiny MAE's `pred` holds all 16 "
        "patches of every digit); the loss then only picks which ones count.",
    ),
    "b": (
        True,
        "the visible patches are the encoder's own input: redrawing them is copying, which a network can learn "
        "without inferring anything about the parts it cannot see. Counting them would spend part of the training "
        "signal on that copy task; counting only the hidden patches makes every unit of the loss a question about "
        "what is *not* visible.",
    ),
    "c": (
        False,
        "the decoder does get the visible patches: their encoded tokens sit at their own places in its input, beside "
        "the mask tokens (`restore_order`). It could redraw them; the question is whether that teaches anything.",
    ),
    "d": (
        False,
        "the mask token gets its gradient from the hidden patches' error, which both losses contain. Counting the "
        "visible patches too would not take that away.",
    ),
}


@checker
def check_hidden_only(answer) -> object:
    """MAE's loss (and ``MaskedAutoencoder``'s) counts the hidden patches only. Why? ``"a"`` to save computation,
    ``"b"`` redrawing a visible patch is copying the input, which teaches nothing about the hidden ones,
    ``"c"`` the decoder never sees the visible patches, so it could not redraw them, ``"d"`` otherwise the mask
    token would get no gradient."""
    return judge_choice(answer, _HIDDEN_ONLY)
