"""Checkers for notebook 05, *self-attention and the encoder block*: ``check_multi_head`` (find the bug in a
written-out multi-head attention, and fix it) and ``check_zeroed_branches`` (predict, then run: a block whose
branches end in zeroed layers)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import Attention
from . import Shortcut, checker, correct, judge_choice, not_yet, result_problem, run_by_hand

__all__ = ["check_multi_head", "check_zeroed_branches"]

#: Routes that would compute the whole module for the learner; the exercise asks for its parts.
MODULE_SHORTCUTS = (
    Shortcut("the module itself, attn(x)", targets=(Attention,)),
    Shortcut(
        "nn.MultiheadAttention",
        targets=(nn.MultiheadAttention, F.multi_head_attention_forward),
        names=("MultiheadAttention", "multi_head_attention_forward"),
    ),
)


def _heads(x: torch.Tensor, attn: Attention) -> torch.Tensor:
    """``(B, N, D) -> (B, H, N, hd)``: each head's output, before the merge."""
    b, n, d = x.shape
    h = attn.num_heads
    q, k, v = attn.qkv(x).reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
    return ((q @ k.transpose(-2, -1) / (d // h) ** 0.5).softmax(dim=-1)) @ v


def _merged_without_transpose(x: torch.Tensor, attn: Attention) -> torch.Tensor:  # the notebook's broken cell
    return attn.proj(_heads(x, attn).reshape(x.shape))


def _merged_with_wrong_swap(x: torch.Tensor, attn: Attention) -> torch.Tensor:  # tokens and channels swapped
    return attn.proj(_heads(x, attn).transpose(2, 3).reshape(x.shape))


def _cases():
    """Two modules and inputs, with weights far from their initial values so that every wrong line shows."""
    g = torch.Generator().manual_seed(0)
    for dim, heads, n in ((16, 4, 5), (24, 3, 7)):
        torch.manual_seed(dim)
        attn = Attention(dim, num_heads=heads).eval()
        with torch.no_grad():
            for p in attn.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        yield attn, torch.randn(2, n, dim, generator=g)


@checker
def check_multi_head(answer) -> object:
    """``answer`` is your fixed ``multi_head(x, attn)``: ``vitlib.Attention``'s multi-head attention written out
    with ``attn.qkv`` and ``attn.proj``, ``(B, N, D) -> (B, N, D)``, equal to ``attn(x)[0]``."""
    if not callable(answer):
        return not_yet(f"answer must be a function multi_head(x, attn); got {type(answer).__name__}.")
    for attn, x in _cases():
        with torch.no_grad():
            expected = attn(x)[0]
            try:
                got, shortcut = run_by_hand(answer, (x, attn), MODULE_SHORTCUTS)
            except RuntimeError as error:
                if "view" in str(error):
                    return not_yet(
                        "view() refuses a tensor whose memory is not in the new order (after a transpose or permute): "
                        "use reshape() instead, which copies when it must (notebook 01)."
                    )
                if "cannot be multiplied" in str(error):
                    return not_yet(
                        f"attn.proj takes tokens of length D = {x.shape[-1]}: merge each token's heads into one row "
                        f"(B, N, D) before it ({error})."
                    )
                raise
            tools = "attn.qkv, the softmax and attn.proj"
            problem = result_problem(got, "multi_head", shortcut, task="write the heads out", tools=tools)
            if problem is not None:
                return problem
            if got.shape != x.shape:
                return not_yet(
                    f"the output must have the input's shape (B, N, D) = {tuple(x.shape)}; got {tuple(got.shape)}."
                )
            if torch.allclose(got, expected, atol=1e-5, rtol=1e-4):
                continue
            if torch.allclose(got, _merged_without_transpose(x, attn), atol=1e-5):
                return not_yet(
                    "still the broken numbers. Every shape is right, so look at what each reshape groups together: "
                    "print the shape of `weights @ v`, and ask which numbers must end up side by side in one token's "
                    "row of length D, and in which order reshape reads them."
                )
            if torch.allclose(got, _merged_with_wrong_swap(x, attn), atol=1e-5):
                return not_yet(
                    "that swaps each head's tokens with its channels. The axis to move is the heads' one: for each "
                    "token, its H heads of hd channels must sit next to each other before the reshape."
                )
            return not_yet(
                "the shape is right but the numbers are not attn(x)[0]. Which line differs from the written-out heads "
                "of the section 'Many heads: split, attend, merge'?"
            )
    return correct(
        "`weights @ v` is (B, H, N, hd): reshape reads it head by head, so without `.transpose(1, 2)` a 'token' of "
        "the result is made of pieces of several tokens of one head. Moving the heads next to the channels first, "
        "(B, N, H, hd), puts each token's H heads side by side: then reshape to (B, N, D) merges them."
    )


_ZEROED = {
    "a": (
        False,
        "zeros would need the residual lines gone. In `x = x + attn(norm1(x))[0]` the branch adds to x: what is x "
        "plus a branch that ends in a layer of zero weights and zero bias?",
    ),
    "b": (
        True,
        "each branch ends in a layer whose weights and bias are 0, so it adds exactly 0: equations (2) and (3) "
        "leave z as it was, and the block is the identity, bit for bit. The LayerNorms only feed the branches; the "
        "residual line from the input to the output passes through nothing.",
    ),
    "c": (
        False,
        "in a pre-norm block LayerNorm only feeds the branches (`attn(norm1(x))`); the line that carries x to the "
        "output passes through no LayerNorm. What do the branches add, when their last layer is all zeros?",
    ),
    "d": (
        False,
        "nothing of the random weights reaches the output: a layer with zero weights and zero bias outputs exactly "
        "0, whatever went in. So what is left of `x + branch`?",
    ),
}


@checker
def check_zeroed_branches(answer) -> object:
    """Predict, then run: a ``vitlib.Block`` with ``attn.proj`` and ``mlp.fc2`` set to zero (weights and biases).
    What is ``block(x)[0]``? One letter: ``"a"`` zeros, ``"b"`` x itself, ``"c"`` LayerNorm(x), ``"d"`` something
    else."""
    return judge_choice(answer, _ZEROED)
