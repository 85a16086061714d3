"""Checkers for notebook 06, *the head, and training a real ViT*."""

from __future__ import annotations

import torch

from . import checker, correct, not_yet

__all__ = ["check_block_params", "check_mean_pool"]


@checker
def check_mean_pool(answer) -> object:
    """``answer`` is your function ``mean_pool(encoded)``: ``(B, 1+N, D)`` with [CLS] first in,
    the mean of the N patch tokens ``(B, D)`` out."""
    if not callable(answer):
        return not_yet(f"answer must be a function mean_pool(encoded); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    encoded = torch.randn(3, 5, 8, generator=g)
    encoded[:, 0] += 10.0  # a loud [CLS], so that averaging it in shows
    got = answer(encoded)
    if not isinstance(got, torch.Tensor):
        return not_yet(f"mean_pool must return a tensor; it returned {type(got).__name__}.")
    expected = encoded[:, 1:].mean(dim=1)
    if got.shape != expected.shape:
        if got.shape == (3, 5):
            return not_yet("you averaged over the channels (dim=-1); average over the tokens, dim=1.")
        if got.shape == (5, 8):
            return not_yet("you averaged over the batch (dim=0); average over the tokens, dim=1.")
        return not_yet(f"the result should be (B, D) = {tuple(expected.shape)}; got {tuple(got.shape)}.")
    if torch.allclose(got, encoded.mean(dim=1)):
        return not_yet("that average includes [CLS] (token 0); average only the patch tokens, encoded[:, 1:].")
    if torch.allclose(got, encoded[:, 0]):
        return not_yet("that is the [CLS] token itself, the seed's pooling; here average the patch tokens instead.")
    if torch.allclose(got, encoded[:, 1:].sum(dim=1)):
        return not_yet("that is the sum; divide by the number of patches (or use .mean).")
    if not torch.allclose(got, expected, atol=1e-6):
        return not_yet("not the mean of the patch tokens: encoded[:, 1:].mean(dim=1).")
    return correct("encoded[:, 1:].mean(dim=1): the patch tokens averaged, [CLS] left out (ViTConfig(pool='mean')).")


@checker
def check_block_params(answer) -> object:
    """The number of parameters of one ViT-B block (D = 768, MLP 3072), biases and LayerNorms included."""
    if isinstance(answer, bool) or not isinstance(answer, int):
        return not_yet(f"give one whole number; got {answer!r}.")
    d = 768
    right = 12 * d * d + 13 * d  # qkv 3D²+3D, proj D²+D, fc1 4D²+4D, fc2 4D²+D, two LayerNorms 4D
    if answer == right:
        return correct(
            f"qkv {3 * d * d + 3 * d:,} + proj {d * d + d:,} + fc1 {4 * d * d + 4 * d:,} + fc2 {4 * d * d + d:,} "
            f"+ 2 LayerNorms {4 * d:,} = {right:,}, i.e. 12·D² + 13·D."
        )
    if answer == 12 * d * d:
        return not_yet("that is the weight matrices only (12·D²); add the biases and the LayerNorms' weight and bias.")
    if answer == right - 4 * d:
        return not_yet("close: add the two LayerNorms, each with a weight and a bias of size D.")
    return not_yet(
        f"{answer:,} is not it. Count qkv (D x 3D + 3D), proj (D x D + D), fc1 (D x 4D + 4D), fc2 (4D x D + D) "
        "and two LayerNorms (2D each). You can check with sum(p.numel() for p in vitlib.Block(768, num_heads=12)"
        ".parameters())."
    )
