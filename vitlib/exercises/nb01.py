"""Checkers for notebook 01, *patchify: unfold, permute, view*."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import patches, routes
from ..checks import whole
from ..patches import patchify
from . import Shortcut, checker, correct, judge_choice, not_yet, result_problem, run_by_hand, sentence

__all__ = ["check_patchify", "check_permute_fix", "check_same_tokens"]

#: The routes that cut the patches for the learner; the exercise asks for reshape/permute by hand.
PATCHIFY_SHORTCUTS = (
    Shortcut(
        "vitlib's patchify",
        targets=(patches.patchify, routes.patchify_unfold, routes.patchify_f_unfold),
        names=("patchify", "patchify_unfold", "patchify_f_unfold"),
    ),
    Shortcut(
        "unfold (F.unfold, nn.Unfold or Tensor.unfold)",
        targets=(F.unfold, torch.Tensor.unfold, nn.Unfold),
        names=("unfold", "Unfold"),
    ),
)

_TRANSPOSED_HINT = (
    "each patch comes out transposed: your permute puts the patch's column axis before its row axis, "
    "the very mistake this notebook shows. Each patch must keep (C, P rows, P columns) order: compare "
    "the last two entries of your permute with the order of the axes after the first reshape."
)


@checker
def check_patchify(answer) -> object:
    """``answer`` is your function ``my_patchify(images, P)``: ``(B, C, H, W) -> (B, N, C*P*P)``,
    with the same numbers as ``vitlib.patchify`` (row-major grid, each patch in (C, P, P) order)."""
    if not callable(answer):
        return not_yet(f"answer must be a function my_patchify(images, patch_size); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    for shape, p in (((2, 3, 8, 12), 4), ((1, 1, 6, 6), 3), ((3, 2, 4, 10), 2)):
        images = torch.randn(shape, generator=g)
        want = patchify(images, p)
        try:
            got, shortcut = run_by_hand(answer, (images, p), PATCHIFY_SHORTCUTS)
        except RuntimeError as error:
            if "view" in str(error):
                return not_yet(
                    f"my_patchify failed on images of shape {shape} with P = {p}: {sentence(error)} "
                    "After a permute the tensor is not contiguous: use reshape, or contiguous() before view."
                )
            return not_yet(
                f"my_patchify failed on images of shape {shape} with P = {p}: {sentence(error)} "
                "Compute the sizes from images.shape and the patch size instead of hard-coding the example's numbers."
            )
        problem = result_problem(got, "my_patchify", shortcut, task="cut the patches", tools="reshape and permute")
        if problem is not None:
            return problem
        if got.shape != want.shape:
            return not_yet(
                f"for images of shape {shape} and P = {p} the result must be (B, N, C*P*P) = {tuple(want.shape)}; "
                f"got {tuple(got.shape)}. Read every size from images.shape and the patch size."
            )
        if torch.equal(got, want):
            continue
        b, c, h, w = shape
        grid = images.reshape(b, c, h // p, p, w // p, p)
        channels_last = grid.permute(0, 2, 4, 3, 5, 1).reshape(b, -1, c * p * p)
        column_major = grid.permute(0, 4, 2, 1, 3, 5).reshape(b, -1, c * p * p)
        transposed = grid.permute(0, 2, 4, 1, 5, 3).reshape(b, -1, c * p * p)
        if torch.equal(got, transposed):
            return not_yet(_TRANSPOSED_HINT)
        if torch.equal(got, channels_last):
            return not_yet(
                "your patches are flattened in (P, P, C) order (channels last, like einops '(p1 p2 c)'); "
                "the seed and vitlib flatten each patch as (C, P, P): put the channel axis before the two pixel axes."
            )
        if torch.equal(got, column_major):
            return not_yet(
                "your tokens go down the columns first; tokens must be in row-major order: "
                "left to right along the top row of patches, then the next row. Swap the two grid axes in your permute."
            )
        return not_yet(
            f"the shape {tuple(got.shape)} is right but the numbers are not: for images of shape {shape} "
            f"and P = {p}. Compare a single patch: token 1 of image 0 must equal "
            "images[0, :, :P, P:2*P].flatten(), the second patch of the top row."
        )
    return correct("same numbers as vitlib.patchify on square and non-square images, for several B, C and P.")


_SAME_TOKENS = {
    "a": (
        False,
        "same shape, other numbers: each unfold appends its window as the *last* axis. Cut the width first and the "
        "last two axes come out as (pixel column, pixel row). What does that do to every patch?",
    ),
    "b": (
        True,
        "after the permute the tensor is not contiguous, and reshape copies exactly where view would refuse: the "
        "same numbers as contiguous().view(). The others differ although nothing raises: (a) cuts the width first, "
        "so its windows end as (pixel column, pixel row) and every patch is transposed; (c) leaves F.unfold's "
        "patches as columns, (1, 768, 4); (d) reads the grid column by column, so tokens 1 and 2 trade places.",
    ),
    "c": (
        False,
        "F.unfold gives the right numbers in another layout: look at the shape it prints. What did the cell "
        "'Three routes, one answer' do after F.unfold?",
    ),
    "d": (
        False,
        "permute(0, 3, 2, 1, 4, 5) puts the patch column before the patch row, so the tokens go down the grid's "
        "columns (the second mistake of the picture section): on a 2 x 2 grid, which two tokens trade places?",
    ),
}


@checker
def check_same_tokens(answer) -> object:
    """Predict, then run: which change to the seed's patchify of a ``(1, 3, 32, 32)`` image (patches of 16) still
    gives exactly the tokens of ``vitlib.patchify``? One letter: ``"a"`` the width unfolded before the height,
    ``"b"`` ``reshape`` in place of ``contiguous().view``, ``"c"`` ``F.unfold`` without the transpose, ``"d"``
    ``permute(0, 3, 2, 1, 4, 5)``."""
    return judge_choice(answer, _SAME_TOKENS)


@checker
def check_permute_fix(answer) -> object:
    """Find the bug: ``buggy_patchify`` reshapes to ``(B, C, H/P, P, W/P, P)`` and then permutes with
    ``(0, 2, 4, 1, 5, 3)``; its shapes are right, its numbers are not. ``answer`` is the permute order
    that fixes it, as a tuple of six ints."""
    if isinstance(answer, torch.Size):
        answer = tuple(answer)
    try:
        order = tuple(whole(v, "each entry", example=0) for v in answer)
    except TypeError:
        return not_yet(f"give the six axes of the permute as a tuple of ints, like (0, 1, 2, 3, 4, 5); got {answer!r}.")
    if sorted(order) != list(range(6)):
        return not_yet(f"a permute of a 6-D tensor names each axis 0-5 exactly once; got {order}.")
    if order == (0, 2, 4, 1, 3, 5):
        return correct(
            "(B, H/P, W/P, C, P rows, P columns): the grid first, then each patch in (C, P, P) order, "
            "as vitlib.patchify. The buggy order swapped each patch's rows and columns: the shapes cannot show it."
        )
    if order == (0, 2, 4, 1, 5, 3):
        return not_yet("that is the buggy order itself: which two axes does it put in the wrong place?")
    if order[:3] == (0, 4, 2):
        return not_yet("that numbers the tokens down the columns; the tokens go along each row of patches first.")
    if order[:3] == (0, 2, 4) and order[3] != 1:
        return not_yet("the channel axis must come first inside each token: (C, P, P), not channels last.")
    return not_yet(
        f"{order} is not it. After the first reshape the axes are (B, C, H/P, P, W/P, P) = (0, 1, 2, 3, 4, 5): "
        "bring the two grid axes to the front, then keep each patch's own axes in their order."
    )
