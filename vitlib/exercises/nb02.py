"""Checkers for notebook 02, *linear projection, and the same thing as a convolution*."""

from __future__ import annotations

import torch
from torch import nn

from ..checks import whole
from ..patches import patchify
from . import checker, correct, not_yet

__all__ = ["check_conv_to_linear", "check_num_params"]


@checker
def check_num_params(answer) -> object:
    """How many parameters (weights and biases) has the patch embedding of ViT-S/16
    (RGB images, 16 x 16 patches, D = 384) on 224 x 224 images?"""
    try:
        answer = whole(answer, "answer")
    except TypeError:
        return not_yet(f"give one whole number; got {answer!r}.")
    c, p, d = 3, 16, 384
    right = d * c * p * p + d
    if answer == right:
        return correct(
            f"D·C·P·P + D = 384·768 + 384 = {right:,}. The same for the Linear and the Conv2d, "
            "and the image size does not enter: the same weights see every patch."
        )
    if answer == d * c * p * p:
        return not_yet(f"{answer:,} counts the weights only; each of the D outputs also has a bias.")
    if answer in (right * 196, d * c * p * p * 196, (d * c * p * p + d) * 197):
        return not_yet(
            "the number of patches (196) does not enter: one weight matrix is shared by every patch, "
            "so the count depends on C, P and D only."
        )
    if answer == 768 * 768 + 768:
        return not_yet("that is ViT-B's (D = 768); ViT-S has D = 384.")
    return not_yet(f"{answer:,} is not it. The weight is (D, C·P·P); add one bias per output dimension.")


@checker
def check_conv_to_linear(answer) -> object:
    """``answer`` is your function ``conv_to_linear(conv)`` that returns an ``nn.Linear``
    doing what ``conv`` does to each patch, on patches from ``vitlib.patchify``:
    ``linear(patchify(x, P))`` equals ``conv(x).flatten(2).transpose(1, 2)``."""
    if not callable(answer):
        return not_yet(f"answer must be a function conv_to_linear(conv); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    for c, p, d, (h, w) in ((3, 4, 10, (8, 12)), (1, 2, 5, (6, 4)), (2, 3, 7, (9, 9))):
        conv = nn.Conv2d(c, d, kernel_size=p, stride=p)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g))
            conv.bias.copy_(torch.randn(d, generator=g))
        before = conv.weight.detach().clone()
        x = torch.randn(2, c, h, w, generator=g)
        want = conv(x).flatten(2).transpose(1, 2)
        linear = answer(conv)
        if not isinstance(linear, nn.Linear):
            return not_yet(f"conv_to_linear must return an nn.Linear; it returned {type(linear).__name__}.")
        if not torch.equal(conv.weight.detach(), before):
            return not_yet("conv_to_linear changed the conv's weights; copy them into the Linear instead.")
        if (linear.in_features, linear.out_features) != (c * p * p, d):
            return not_yet(
                f"for Conv2d({c}, {d}, kernel_size={p}) the Linear must be Linear({c * p * p}, {d}) "
                f"(C·P·P inputs, D outputs); got Linear({linear.in_features}, {linear.out_features}). "
                "Read the sizes from conv.in_channels, conv.out_channels and conv.kernel_size."
            )
        with torch.no_grad():
            got = linear(patchify(x, p))
        if torch.allclose(got, want, atol=1e-5):
            continue
        with torch.no_grad():
            no_bias = nn.functional.linear(patchify(x, p), linear.weight)
            if torch.allclose(no_bias + conv.bias, want, atol=1e-5):
                return not_yet("the weights are right but the bias is not: copy conv.bias into linear.bias too.")
            channels_last = conv.weight.permute(0, 2, 3, 1).reshape(d, -1)
            if torch.allclose(linear.weight, channels_last):
                return not_yet(
                    "your weight is in (P, P, C) order (permute(0, 2, 3, 1)), which fits einops-style '(p1 p2 c)' "
                    "patches; vitlib.patchify flattens each patch as (C, P, P), so a plain "
                    "conv.weight.view(D, -1) (or reshape) is all it takes."
                )
        return not_yet(
            f"for Conv2d({c}, {d}, kernel_size={p}) your Linear gives different numbers "
            f"(max difference {(got - want).abs().max().item():.3g}). Row d of the Linear's weight must be "
            "filter d of the conv, flattened in (C, P, P) order: conv.weight.view(D, -1)."
        )
    return correct("your Linear reproduces the Conv2d on every patch, for several C, P and D.")
