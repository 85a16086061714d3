"""Checkers for notebook 06, *the head, and training a real ViT*: ``check_attention_shape``
(predict, then run), ``check_patch_size_params`` (judgement) and ``check_rollout`` (attention rollout by hand).
Mean pooling is asked once, in notebook 03.
"""

from __future__ import annotations

import contextlib

import torch

from .. import analysis
from . import checker, correct, judge_choice, not_yet, result_problem, whole_answer

__all__ = ["check_attention_shape", "check_patch_size_params", "check_rollout"]


_ATTENTION_SHAPE = (4, 6, 4, 17, 17)  # the inspectable model (depth 4, 4 heads, 16 patches + [CLS]) on 6 digits


# Which parts change between the two digits presets (digits_p4: 4 x 4-pixel patches; digits: 2 x 2): one
# explanation per option. The counts are computed in the correct answer's message, from the presets.
_PATCH_PARTS = {
    "a": (
        False,
        "the number of tokens is not a parameter count: the blocks' Linear layers act on one token at a "
        "time, with the same weights for 5 tokens or 17.",
    ),
    "b": (
        False,
        "attention mixes more tokens, but its weights (qkv, proj) are D x 3D and D x D whatever the number "
        "of tokens: the attention matrix is computed, not stored.",
    ),
    "c": (True, ""),
    "d": (
        False,
        "look at the two parts that do depend on the patches: the patch embedding maps C*P*P pixels to D, "
        "and the position table has one row per token.",
    ),
}


def _part_counts(preset: str) -> tuple[int, int, int]:
    from ..model import ViT

    with torch.device("meta"):  # shapes only: nothing is allocated
        model = ViT.from_preset(preset)
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    return count(model.patch_embed), model.pos_embed.numel(), count(model.blocks)


@checker
def check_patch_size_params(answer) -> object:
    """Judgement: from ``digits_p4`` (4 x 4-pixel patches, 4 + 1 tokens) to ``digits`` (2 x 2, 16 + 1 tokens), same
    width and depth, what happens to the parameters? One letter: ``"a"`` about 4x more (four times the tokens),
    ``"b"`` the blocks grow (attention over 17 tokens), ``"c"`` the blocks stay; the patch embedding shrinks by as
    much as the position table grows, ``"d"`` nothing changes in any part."""
    verdict = judge_choice(answer, _PATCH_PARTS)
    if not verdict:
        return verdict
    (e4, t4, b4), (e2, t2, b2) = _part_counts("digits_p4"), _part_counts("digits")
    return correct(
        f"blocks {b4:,} in both; patch embedding {e4:,} -> {e2:,} (D x C*P*P + D: 16 pixels per patch, then 4); "
        f"position table {t4:,} -> {t2:,} ((N+1) x D: 5 tokens, then 17). The three together: {e4 + t4 + b4:,} -> "
        f"{e2 + t2 + b2:,}: "
        "with these sizes the two changes cancel exactly. More tokens cost compute (attention is N x N), not weights."
    )


@checker
def check_attention_shape(answer) -> object:
    """Predict, then run: the shape of the attention the inspectable model returns for 6 test digits,
    written down by hand as a tuple of 5 whole numbers before the cell that computes it runs."""
    if isinstance(answer, torch.Size):
        return not_yet(
            "that is a torch.Size, read from the tensor after the fact. Predict it: write the five numbers "
            "yourself as a tuple, e.g. (1, 2, 3, 4, 5), before running the next cell."
        )
    if isinstance(answer, torch.Tensor) or not isinstance(answer, (tuple, list)):
        return not_yet(f"write the shape as a tuple of whole numbers, e.g. (1, 2, 3, 4, 5); got {answer!r}.")
    got = tuple(whole_answer(n) for n in answer)
    if None in got:
        return not_yet(f"every entry must be a whole number; got {answer!r}.")
    if got == _ATTENTION_SHAPE:
        return correct(
            "(4, 6, 4, 17, 17): 4 layers, 6 images, 4 heads, and a 17 x 17 matrix per head, because 8 x 8 pixels in "
            "2 x 2 patches give 16 patches, plus [CLS]."
        )
    if len(got) != 5:
        return not_yet(
            f"{len(got)} numbers; the attention has five dimensions: (layers, images, heads, queries, keys)."
        )
    if got[3:] == (16, 16):
        return not_yet("the matrix is one token larger than the number of patches: [CLS] attends and is attended to.")
    if got[3:] == (5, 5):
        return not_yet("5 tokens is the model you trained (4 x 4-pixel patches); this one cuts 2 x 2-pixel patches.")
    if sorted(got) == sorted(_ATTENTION_SHAPE):
        return not_yet("the right numbers in the wrong order: (layers, images, heads, queries, keys).")
    return not_yet(
        "not quite. Count: how many blocks (layers) and heads has the preset? How many images go in? "
        "How many tokens does an 8 x 8 image give in 2 x 2 patches, with [CLS]?"
    )


def _rollout_reference(attention: torch.Tensor) -> torch.Tensor:
    depth, b, _, t, _ = attention.shape
    eye = torch.eye(t)
    out = eye.expand(b, t, t)
    for layer in range(depth):
        a = 0.5 * attention[layer].mean(1) + 0.5 * eye
        out = (a / a.sum(-1, keepdim=True)) @ out
    return out


_SHORTCUT = "vitlib-shortcut-refused"


def _refuse(*args, **kwargs):
    raise RuntimeError("vitlib-shortcut-refused")


@contextlib.contextmanager
def _shortcuts_refused():
    """While checking, vitlib's own rollout functions raise, however they were imported: their code is swapped."""
    funcs = [analysis.attention_rollout, analysis.cls_rollout_maps]
    saved = [f.__code__ for f in funcs]
    try:
        for f in funcs:
            f.__code__ = _refuse.__code__
        yield
    finally:
        for f, code in zip(funcs, saved, strict=True):
            f.__code__ = code


@checker
def check_rollout(answer) -> object:
    """``answer`` is your function ``rollout(attention)``: ``(depth, B, heads, T, T) -> (B, T, T)``, attention
    rollout written by hand (heads averaged, 0.5 A + 0.5 I, rows renormalised, layers multiplied first to last)."""
    if not callable(answer):
        return not_yet(f"answer must be a function rollout(attention); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    attention = torch.randn(3, 2, 4, 5, 5, generator=g).mul(2).softmax(-1)
    try:
        with _shortcuts_refused():
            got = answer(attention.clone())
    except RuntimeError as error:
        if str(error) != _SHORTCUT:
            raise
        return not_yet("that calls vitlib.analysis's own rollout; write the four steps yourself with torch.")
    problem = result_problem(got, "rollout")
    if problem is not None:
        return problem
    expected = _rollout_reference(attention)
    if got.shape != expected.shape:
        return not_yet(f"the result should be (B, T, T) = {tuple(expected.shape)}; got {tuple(got.shape)}.")
    if torch.allclose(got, expected, atol=1e-5):
        return correct("heads averaged, half the identity added, rows renormalised, layers multiplied: rollout.")
    eye = torch.eye(5)
    no_residual = eye.expand(2, 5, 5)
    reversed_order = eye.expand(2, 5, 5)
    for layer in range(3):
        no_residual = attention[layer].mean(1) @ no_residual
        a = 0.5 * attention[layer].mean(1) + 0.5 * eye
        reversed_order = reversed_order @ a
    if torch.allclose(got, no_residual, atol=1e-5):
        return not_yet("the residual connection is missing: use 0.5 * A + 0.5 * I in each layer, not A alone.")
    if torch.allclose(got, reversed_order, atol=1e-5):
        return not_yet("the layers are multiplied in the wrong order: the later layer goes on the left, R = A2 @ A1.")
    head0 = _rollout_reference(attention[:, :, :1])
    if torch.allclose(got, head0, atol=1e-5):
        return not_yet("that uses head 0 only; average over the heads (dim=2 of the input) first.")
    return not_yet(
        "not rollout yet. Per layer: A = mean over heads; 0.5 * A + 0.5 * I; divide each row by its sum; "
        "then multiply into the running product, later layers on the left."
    )
