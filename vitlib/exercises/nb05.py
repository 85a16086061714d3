"""Checkers for notebook 05, *self-attention and the encoder block*."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import attention as _attention
from ..checks import whole
from . import Shortcut, by_hand_message, checker, correct, not_yet, run_by_hand

__all__ = ["check_attention", "check_attention_shape", "check_vit_layer"]

#: The routes that compute attention for the learner; the exercise asks for the formula by hand.
ATTENTION_SHORTCUTS = (
    Shortcut("vitlib's attention", targets=(_attention,), names=("Attention",)),
    Shortcut(
        "PyTorch's fused attention (F.scaled_dot_product_attention)",
        targets=(F.scaled_dot_product_attention,),
        names=("scaled_dot_product_attention",),
    ),
    Shortcut(
        "nn.MultiheadAttention",
        targets=(nn.MultiheadAttention, F.multi_head_attention_forward),
        names=("MultiheadAttention", "multi_head_attention_forward"),
    ),
)


@checker
def check_attention(answer) -> object:
    """``answer`` is your function ``attention(q, k, v)``: tensors ``(..., N, d)`` in, the output of
    scaled dot-product attention ``(..., N, d)`` out."""
    if not callable(answer):
        return not_yet(f"answer must be a function attention(q, k, v); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    for shape in ((5, 16), (2, 3, 7, 8)):
        q, k, v = (torch.randn(*shape, generator=g) * 2 for _ in range(3))
        got, shortcut = run_by_hand(answer, (q, k, v), ATTENTION_SHORTCUTS)
        if shortcut:
            return not_yet(by_hand_message(shortcut, "compute attention", "matrix products, a division and a softmax"))
        if isinstance(got, tuple):
            return not_yet("return only the output tensor, not a tuple (the weights are not asked for here).")
        if not isinstance(got, torch.Tensor):
            return not_yet(f"attention must return a tensor; it returned {type(got).__name__}.")
        if got.shape != v.shape:
            if got.shape == shape[:-1] + (shape[-2],):
                return not_yet(f"that is the weights {tuple(got.shape)}; multiply them by v for the output.")
            return not_yet(f"the output has the shape of v, {tuple(v.shape)}; got {tuple(got.shape)}.")
        expected = F.scaled_dot_product_attention(q, k, v)
        if torch.allclose(got, expected, atol=1e-5, rtol=1e-4):
            continue
        d = shape[-1]
        unscaled = (q @ k.transpose(-2, -1)).softmax(-1) @ v
        if torch.allclose(got, unscaled, atol=1e-5, rtol=1e-4):
            return not_yet(f"divide the scores by √d = √{d} before the softmax (that is the 'scaled').")
        by_d = (q @ k.transpose(-2, -1) / d).softmax(-1) @ v
        if torch.allclose(got, by_d, atol=1e-5, rtol=1e-4):
            return not_yet(f"divide by √d, not by d: here √{d} = {d**0.5:.2f}.")
        wrong_dim = (q @ k.transpose(-2, -1) / d**0.5).softmax(-2) @ v
        if torch.allclose(got, wrong_dim, atol=1e-5, rtol=1e-4):
            return not_yet(
                "the softmax runs over the keys, the last dimension: softmax(dim=-1), so each row sums to 1."
            )
        return not_yet(
            "the shape is right but the numbers are not the attention output. Check the three steps in order: "
            "scores of every query with every key, scaled by √d; a softmax over the keys; the weighted sum of v."
        )
    return correct("softmax(q kᵀ / √d) v, equal to F.scaled_dot_product_attention for any batch shape.")


@checker
def check_attention_shape(answer) -> object:
    """ViT-B/16 (D = 768, 12 heads), one 224 x 224 image: the shape of one layer's attention
    weights ``(B, heads, N, N)``, [CLS] included, as a tuple."""
    if isinstance(answer, torch.Size):
        answer = tuple(answer)
    try:
        answer = tuple(whole(a, "each entry") for a in answer)
    except TypeError:
        return not_yet(f"give a tuple of whole numbers, like (1, 2, 3, 3); got {answer!r}.")
    if answer == (1, 12, 197, 197):
        return correct("224/16 = 14 patches a side, 196 + [CLS] = 197 tokens: one 197 x 197 map per head.")
    if answer == (1, 12, 196, 196):
        return not_yet("196 is the patches only; [CLS] is a token too, and attends and is attended to.")
    if len(answer) == 4 and answer[1] == 64:
        return not_yet("64 is each head's width (768 / 12); the second number is how many heads there are.")
    if len(answer) == 4 and answer[2:] == (197, 64):
        return not_yet("(N, 64) is the shape of q, k or v per head; the weights compare every token with every token.")
    return not_yet(f"{answer} is not it. (B, heads, N, N) with B = 1, heads = 12, N = (224 / 16)² + 1.")


@checker
def check_vit_layer(answer) -> object:
    """``answer`` is an ``nn.TransformerEncoderLayer`` for D = 192, 3 heads, computing the same as
    ``vitlib.Block(192, num_heads=3)`` on ``(B, N, D)`` tokens."""
    if not isinstance(answer, nn.TransformerEncoderLayer):
        return not_yet(f"answer must be an nn.TransformerEncoderLayer; got {type(answer).__name__}.")
    problems = []
    if answer.self_attn.embed_dim != 192 or answer.self_attn.num_heads != 3:
        problems.append(f"d_model=192 and nhead=3 (got {answer.self_attn.embed_dim} and {answer.self_attn.num_heads})")
    if answer.linear1.out_features != 768:
        problems.append(f"dim_feedforward=768, four times D (got {answer.linear1.out_features})")
    if not answer.self_attn.batch_first:
        problems.append("batch_first=True (else (B, N, D) is read as (N, B, D): the seed's bug)")
    if not answer.norm_first:
        problems.append("norm_first=True (a ViT block is pre-norm)")
    if answer.activation_relu_or_gelu != 2:
        problems.append('activation="gelu"')
    if answer.norm1.eps != 1e-6:
        problems.append(f"layer_norm_eps=1e-6 (got {answer.norm1.eps})")
    if answer.dropout.p != 0 or answer.dropout1.p != 0:
        problems.append("dropout=0.0 (the default 0.1 makes every call random in training mode)")
    if problems:
        return not_yet("still needs " + "; ".join(problems) + ".")
    return correct("pre-norm, GELU, eps 1e-6, batch-first, no dropout: with copied weights it equals the ViT block.")
