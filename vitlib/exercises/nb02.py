"""Checkers for notebook 02, *linear projection, and the same thing as a convolution*."""

from __future__ import annotations

import torch
from torch import nn

from ..patches import patchify
from . import checker, correct, judge_choice, not_yet

__all__ = ["check_conv_to_linear", "check_overlapping"]


_OVERLAPPING = {
    "a": (
        False,
        "patchify cuts tiles that do not overlap: 2 x 2 = 4 of them on a 32 x 32 image. With stride 8 the filter "
        "lands on a window every 8 pixels: how many windows is that along each side, and can patchify cut them?",
    ),
    "b": (
        True,
        "a convolution is a linear map of each window its filter visits; with kernel 16 and stride 8 the windows "
        "overlap, (32 - 16) / 8 + 1 = 3 per side, 9 in all, so patchify (which tiles) cannot cut them, while "
        "F.unfold(img, 16, stride=8) can, and the same Linear on those windows gives the conv's numbers. The "
        "parameters stay D·C·P·P + D: neither the stride nor the number of tokens enters; the work grows with the "
        "tokens.",
    ),
    "c": (
        False,
        "each output of a convolution is a sum of weights times pixels plus a bias, so it is linear in the image "
        "whatever the stride. What does an overlap change: the map, or only which pixels each token sees?",
    ),
    "d": (
        False,
        "the parameters are the weight (D, C, P, P) and the bias (D,): D·C·P·P + D. Which of these depends on the "
        "stride, or on how many tokens come out?",
    ),
}


@checker
def check_overlapping(answer) -> object:
    """Predict, then run: ``nn.Conv2d(3, 512, kernel_size=16, stride=8)`` on a 32 x 32 image. One letter: ``"a"``
    still the Linear on ``patchify``'s patches, ``"b"`` a linear map of overlapping windows that ``F.unfold`` with
    stride 8 cuts, ``"c"`` no longer linear, ``"d"`` four times the parameters."""
    return judge_choice(answer, _OVERLAPPING)


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
