"""Checkers for notebook 08, *beyond classification*."""

from __future__ import annotations

import itertools

import torch

from . import checker, correct, not_yet, whole_answer

__all__ = ["check_fuse_qkv", "check_num_visible", "check_patch_logits"]


@checker
def check_num_visible(answer) -> object:
    """ViT-B/16 at 224 x 224, MAE masking with ratio 0.75: how many tokens enter the encoder, [CLS] included?"""
    if (number := whole_answer(answer)) is None:
        return not_yet(f"give one whole number; got {answer!r}.")
    answer = number
    if answer == 50:
        return correct("(224 / 16)² = 196 patches, 196 · 0.25 = 49 kept, plus [CLS] = 50 tokens instead of 197.")
    if answer == 49:
        return not_yet("49 patches are kept, right; MAE's encoder also gets the [CLS] token in front.")
    if answer in (147, 148):
        return not_yet("that counts the hidden patches. The encoder sees the other quarter (plus [CLS]).")
    if answer in (196, 197):
        return not_yet("that is the whole sequence. With ratio 0.75 only a quarter of the 196 patches stay.")
    return not_yet(f"{answer} is not it. Patches: (224 / 16)²; keep round(N · (1 - 0.75)); add one for [CLS].")


@checker
def check_fuse_qkv(answer) -> object:
    """``answer`` is your function ``fuse_qkv(q, k, v)``: Hugging Face's separate query, key and value
    weights, each ``(D, D)``, as timm's one ``qkv`` weight ``(3D, D)`` (rows q | k | v)."""
    if not callable(answer):
        return not_yet(f"answer must be a function fuse_qkv(q, k, v); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(6, 6, generator=g) for _ in range(3))
    got = answer(q, k, v)
    if not isinstance(got, torch.Tensor):
        return not_yet(f"fuse_qkv must return a tensor; it returned {type(got).__name__}.")
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


@checker
def check_patch_logits(answer) -> object:
    """``answer`` is your function ``patch_logits(tokens, head)``: ``tokens`` ``(B, 1+N, D)`` from
    ``forward_features`` ([CLS] first), ``head`` an ``nn.Linear(D, 1)``; return one logit per patch, ``(B, N)``."""
    if not callable(answer):
        return not_yet(f"answer must be a function patch_logits(tokens, head); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    tokens = torch.randn(2, 1 + 9, 4, generator=g)
    head = torch.nn.Linear(4, 1)
    with torch.no_grad():
        torch.nn.init.normal_(head.weight, generator=g)
        got = answer(tokens, head)
        expected = head(tokens[:, 1:]).squeeze(-1)
    if not isinstance(got, torch.Tensor):
        return not_yet(f"patch_logits must return a tensor; it returned {type(got).__name__}.")
    if got.shape == (2, 10):
        return not_yet("that is one logit per token *including* [CLS]: drop token 0, tokens[:, 1:].")
    if got.shape in ((2,), (2, 1)):
        return not_yet("one logit per image is classification (the [CLS] token). Apply the head to every patch token.")
    if got.shape == (2, 9, 1):
        return not_yet("almost: drop the last axis of size 1 with .squeeze(-1) to get (B, N).")
    if got.shape != (2, 9):
        return not_yet(f"expected (B, N) = (2, 9); got {tuple(got.shape)}.")
    if not torch.allclose(got, expected, atol=1e-6):
        return not_yet("the right shape, but not head(tokens[:, 1:]): is each patch token's logit at its own place?")
    return correct("head(tokens[:, 1:]).squeeze(-1): the same linear head on every patch token, one logit each.")
