"""Checkers for notebook 01, *patchify: unfold, permute, view*."""

from __future__ import annotations

import math

import torch

from ..patches import patchify
from . import checker, correct, not_yet

__all__ = ["check_patchify", "check_token_index", "check_valid_patch_sizes"]


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
            got = answer(images, p)
        except RuntimeError as error:
            return not_yet(
                f"my_patchify failed on images of shape {shape} with P = {p}: {error}. "
                "Compute the sizes from images.shape instead of hard-coding the example's numbers "
                "(and use reshape, or contiguous() before view, after a permute)."
            )
        if not isinstance(got, torch.Tensor):
            return not_yet(f"my_patchify must return a tensor; it returned {type(got).__name__}.")
        if got.shape != want.shape:
            return not_yet(
                f"for images of shape {shape} and P = {p} the result must be (B, N, C*P*P) = {tuple(want.shape)}; "
                f"got {tuple(got.shape)}. Did you hard-code a size from the notebook's example?"
            )
        if torch.equal(got, want):
            continue
        b, c, h, w = shape
        grid = images.reshape(b, c, h // p, p, w // p, p)
        channels_last = grid.permute(0, 2, 4, 3, 5, 1).reshape(b, -1, c * p * p)
        column_major = grid.permute(0, 4, 2, 1, 3, 5).reshape(b, -1, c * p * p)
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
            f"and P = {p}, compare a single patch, e.g. my_patchify(x, P)[0, 1] with x[0, :, :P, P:2*P].flatten()."
        )
    return correct("same numbers as vitlib.patchify on square and non-square images, for several B, C and P.")


@checker
def check_token_index(answer) -> object:
    """A 64 x 128 image (H x W) cut into 16 x 16 patches: which token (0-based) holds the
    pixel at row 40, column 100?"""
    if isinstance(answer, (tuple, list)) and len(answer) == 2 and tuple(answer) == (2, 6):
        return not_yet(
            "(2, 6) is the patch's (row, column) in the 4 x 8 grid; give one token index: row * (W/P) + column."
        )
    if isinstance(answer, bool) or not isinstance(answer, int):
        return not_yet(f"give one whole number (a token index); got {answer!r}.")
    if answer == 22:
        return correct("row 40 is in patch row 40 // 16 = 2, column 100 in patch column 100 // 16 = 6: 2·8 + 6 = 22.")
    if answer == 26:
        return not_yet("26 counts down the columns first (6·4 + 2); tokens are numbered along each row first.")
    if answer == 23:
        return not_yet("token indices start at 0 (the top-left patch is token 0).")
    return not_yet(
        f"{answer} is not it. Find the patch's row (40 // 16) and column (100 // 16), then count: "
        "each full row of patches before it holds W/P = 8 tokens."
    )


@checker
def check_valid_patch_sizes(answer) -> object:
    """Every patch size P that tiles a 96 x 160 image exactly, as a list of ints."""
    try:
        given = sorted({int(v) for v in answer})
    except (TypeError, ValueError):
        return not_yet(f"give a list of whole numbers, like [1, 3]; got {answer!r}.")
    want = [p for p in range(1, 97) if 96 % p == 0 and 160 % p == 0]
    if given == want:
        return correct(f"P must divide both 96 and 160, so it divides gcd(96, 160) = {math.gcd(96, 160)}: {want}.")
    extra = [p for p in given if p not in want]
    missing = [p for p in want if p not in given]
    parts = []
    if extra:
        bad = "; ".join(f"{p} does not divide {' or '.join(str(v) for v in (96, 160) if v % p)}" for p in extra[:3])
        parts.append(f"these do not tile it: {bad}")
    if missing:
        parts.append(f"{len(missing)} size(s) that work are missing (hint: P must divide both 96 and 160)")
    return not_yet("; ".join(parts) + ".")
