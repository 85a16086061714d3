"""Checkers for notebook 11, *lab: why the block is built this way*: ``check_stuck_run`` (predict, then run:
which of four runs learns nothing), and the "Your turn" exercises ``check_fixed_block`` (a broken block to
diagnose and fix), ``check_score_variance`` (predict a number, then measure it) and ``check_first_fix``
(which change to try first, from a measurement)."""

from __future__ import annotations

import numbers

import torch

from . import checker, correct, letter_answer, not_yet

__all__ = ["check_first_fix", "check_fixed_block", "check_score_variance", "check_stuck_run"]


_STUCK = {
    "a": (
        True,
        "post-norm without warm-up. Its first steps, at the full learning rate, push the stack of LayerNorms into "
        "a state it does not leave: every image gets the same class, and the gradient that reaches the first blocks "
        "is a small fraction of the last block's (measured below). With the same rate reached through a warm-up, "
        "the same model learns.",
    ),
    "b": (
        False,
        "post-norm *with* warm-up learns: the warm-up is what lets it start at all. Look again at the other "
        "post-norm run, the one that gets the full learning rate from its first step.",
    ),
    "c": (
        False,
        "pre-norm without warm-up learns (more slowly than with it): its residual line carries the signal and the "
        "gradient past every LayerNorm untouched. Which run has no such clean path, and gets the full rate at once?",
    ),
    "d": (
        False,
        "one of the four stays at chance (a loss of ln 10 = 2.30, 10 % accuracy). Which one has no clean residual "
        "path and gets the full learning rate from its first step?",
    ),
}


@checker
def check_stuck_run(answer) -> object:
    """Predict, then run: which of the four runs (post- or pre-norm, with or without warm-up) learns nothing?
    One letter: ``"a"`` post-norm without warm-up, ``"b"`` post-norm with, ``"c"`` pre-norm without, ``"d"`` none."""
    letter = letter_answer(answer, "abcd")
    if letter is None:
        return not_yet(f"give one letter, 'a', 'b', 'c' or 'd'; got {answer!r}.")
    passed, message = _STUCK[letter]
    return (correct if passed else not_yet)(message)


def _reference_forward(block, x):
    h = x + block.attn(block.norm1(x))[0]  # attention returns (output, weights)
    return h + block.mlp(block.norm2(h))


def _broken_forward(block, x):  # the notebook's broken cell
    h = block.norm1(x)
    x = h + block.attn(h)[0]
    h = block.norm2(x)
    return x + block.mlp(h)


def _post_norm_forward(block, x):
    x = block.norm1(x + block.attn(x)[0])
    return block.norm2(x + block.mlp(x))


@checker
def check_fixed_block(answer) -> object:
    """``answer`` is your fixed ``block_forward(block, x)``: the pre-norm block of ``vitlib.Block``, written
    with its parts (``block.norm1``, ``block.attn``, ``block.norm2``, ``block.mlp``), ``(B, N, D) -> (B, N, D)``."""
    if not callable(answer):
        return not_yet(f"answer must be a function block_forward(block, x); got {type(answer).__name__}.")
    from ..encoder import Block

    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    block = Block(16, num_heads=2).eval()
    with torch.no_grad():  # weights far from their small initial values, so that a wrong line shows
        for name, p in block.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (1.0 if name.startswith("norm") else 0.0))
        x = torch.randn(2, 5, 16, generator=g) * 3 + 1
        got = answer(block, x.clone())
        if got is None:
            return not_yet("your function returns None: return the block's output.")
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return not_yet(
                f"block_forward must return a (B, N, D) tensor like its input, {tuple(x.shape)}; got {shape}."
            )
        if torch.allclose(got, block(x)[0], atol=1e-5):
            return correct(
                "each residual line adds the sub-layer's output to x itself, not to the normalised x: "
                "x = x + attn(norm1(x)); x = x + mlp(norm2(x)). Only the branches see a LayerNorm; the line from the "
                "input to the output never passes through one, so the signal and the gradient can go straight through."
            )
        if torch.allclose(got, _broken_forward(block, x), atol=1e-5):
            return not_yet(
                "that is the broken cell's output. Which tensor is added back in the line `x = h + block.attn(h)[0]`? "
                "The residual must carry the block's input, not its normalised copy."
            )
        if torch.allclose(got, _post_norm_forward(block, x), atol=1e-5):
            return not_yet(
                "that is the post-norm block (LayerNorm after the sum); ViT's block normalises before each branch."
            )
        h = x + block.attn(block.norm1(x))[0]
        if torch.allclose(got, h, atol=1e-5):
            return not_yet("the first line is right; the MLP's line is missing: h + mlp(norm2(h)).")
    return not_yet(
        "not the block's output yet. Two residual lines: first add attention of the normalised input to the input, "
        "then add the MLP of the normalised result to that result."
    )


# ViT-B: D = 768, 12 heads of 64; this library's initialisation: weights of std 0.02, biases 0. The tokens entering
# attention come out of LayerNorm (mean 0, variance 1 per token); q = W_q x has variance 768 * 0.02**2 per channel.
_Q_VARIANCE = 768 * 0.02**2
_SCORE_VARIANCE = 64 * _Q_VARIANCE**2 / 64  # q . k over 64 channels, divided by sqrt(64): variance squared


@checker
def check_score_variance(answer) -> object:
    """Predict, then measure: the variance of the attention scores ``q · k / sqrt(64)`` of a fresh ViT-B block
    (D = 768, 12 heads of 64, this library's initialisation: std 0.02, biases 0) on LayerNorm's output.
    One number."""
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        return not_yet(f"give one number, the variance; got {answer!r}.")
    value = float(answer)
    if abs(value - _SCORE_VARIANCE) <= 0.2 * _SCORE_VARIANCE:
        return correct(
            f"each q and k channel has variance 768 x 0.02² = {_Q_VARIANCE:.4f}; a score sums 64 products and is "
            f"divided by √64, so its variance is {_Q_VARIANCE:.4f}² = {_SCORE_VARIANCE:.4f}. Scores of standard "
            f"deviation {_SCORE_VARIANCE**0.5:.2f} barely move a softmax: this is why a fresh vitlib ViT attends "
            "almost uniformly. With PyTorch's default initialisation the q variance would be 1/3, and the scores' 1/9."
        )
    if abs(value - 1.0) < 0.05:
        return not_yet(
            "1 is what √d gives when q and k have variance 1 (notebook 05's assumption). Here they do not: what "
            "is the variance of a weighted sum of 768 unit-variance inputs with weights of standard deviation 0.02?"
        )
    if abs(value - 8 * _SCORE_VARIANCE) <= 0.2 * 8 * _SCORE_VARIANCE:
        return not_yet("close: you divided by 64 somewhere, or not at all. The scores are divided by √64 = 8.")
    if abs(value - 64 * _SCORE_VARIANCE) <= 0.2 * 64 * _SCORE_VARIANCE:
        return not_yet("that is the variance without the division by √64; the block divides the scores by 8.")
    if abs(value - _Q_VARIANCE) <= 0.2 * _Q_VARIANCE:
        return not_yet("that is the variance of one channel of q (or k). A score multiplies a q by a k: combine two.")
    return not_yet(
        "not quite. Step by step: the variance of one channel of q = W_q x (768 inputs of variance 1, weights of "
        "standard deviation 0.02); then of a sum of 64 products q_i k_i; then of that sum divided by √64."
    )


_FIRST_FIX = {
    "a": (
        False,
        "the learning rate acts only once training starts; the collapse is there at initialisation, before a "
        "single step. Something in the forward pass itself makes every token alike.",
    ),
    "b": (
        False,
        "a warm-up changes the first steps; the profile was measured before any step. What in the forward pass "
        "makes all the tokens of an image the same vector after three blocks?",
    ),
    "c": (
        True,
        "the profile is measured at initialisation, so no optimiser setting can be the cause: the forward pass "
        "itself makes every token of an image the same vector within three blocks. That is what you measured "
        "for the block without its residual connections (token spread 0.00): each attention layer averages the "
        "tokens, and nothing adds the input back. Look for a line that reads x = attn(...) instead of "
        "x = x + attn(...).",
    ),
    "d": (
        False,
        "without 1/√d the attention is *sharper*, which would keep tokens apart rather than make them alike; "
        "and at this initialisation the scores are tiny either way. The collapse comes from somewhere else.",
    ),
}


@checker
def check_first_fix(answer) -> object:
    """Which change would you try first? One letter: ``"a"`` a lower learning rate, ``"b"`` a warm-up,
    ``"c"`` look for a missing residual connection, ``"d"`` remove the 1/sqrt(d)."""
    letter = letter_answer(answer, "abcd")
    if letter is None:
        return not_yet(f"give one letter, 'a', 'b', 'c' or 'd'; got {answer!r}.")
    passed, message = _FIRST_FIX[letter]
    return (correct if passed else not_yet)(message)
