"""Checkers for notebook 07, *ViT encoder vs. VAE encoder: a ViT-VAE*.

Both exercises ask for a judgement, predicted before the notebook runs the experiment (``vitlib.exercises.reveal``):
one letter each, with an explanation for every option.
"""

from __future__ import annotations

from . import checker, judge_choice

__all__ = ["check_collapsed_code", "check_confident_code"]


_CONFIDENT = {
    "a": (
        False,
        "μ = 0 removes only the μ² term. The KL also charges a spread that differs from the prior's: per dimension "
        "½(σ² - 1 - log σ²), which is 0 only at σ = 1. Here log σ² = -4, so -log σ² = +4 is a large cost.",
    ),
    "b": (
        False,
        "½(e⁻⁴ - 1 + 4) ≈ 1.51 is the KL of *one* latent dimension. The code has 16, and the KL of N(μ, σ²) to "
        "N(0, I) is the sum over them.",
    ),
    "c": (
        True,
        "per dimension ½(0 + e⁻⁴ - 1 - (-4)) ≈ 1.51, and 16 dimensions give about 24 nats. A code much narrower than "
        "the prior is expensive even at the prior's mean: -log σ² grows without bound as σ shrinks, which is what "
        "keeps a VAE's encoder from collapsing each digit onto a single point.",
    ),
    "d": (
        False,
        "a KL divergence is never negative; it is 0 only when the two distributions are equal. A spread smaller than "
        "the prior's costs through -log σ², which is positive when log σ² < 0.",
    ),
}


@checker
def check_confident_code(answer) -> object:
    """Predict, then run: an encoder answers μ = 0 and log σ² = -4 in every one of its 16 latent dimensions. Its
    KL(N(μ, σ²) || N(0, I)) is ``"a"`` 0 (μ is the prior's mean), ``"b"`` about 1.5, ``"c"`` about 24,
    ``"d"`` negative (the code is narrower than the prior)."""
    return judge_choice(answer, _CONFIDENT)


_COLLAPSED = {
    "a": (
        False,
        "with weights and biases of both heads at zero, μ = 0 and log σ² = 0 for *every* digit: the code no longer "
        "depends on the image, so the decoder gets the same z = μ = 0 twelve times. It cannot draw twelve different "
        "digits from one input.",
    ),
    "b": (
        True,
        "KL = 0 for every digit means each digit's code is the prior itself, N(0, I): the code carries no "
        "information about the image, so μ = 0 for all of them and the decoder draws one picture, twelve times. "
        "That is posterior collapse; a collapsed *trained* VAE learns to make that one picture the average digit "
        "(exercise 3 lets you watch it happen).",
    ),
    "c": (
        False,
        "`reconstruct` decodes μ, not a random draw, so nothing random enters; and the decoder is the trained one, "
        "which draws digit-like pictures, not noise. What does the decoder get as input, for each of the twelve?",
    ),
    "d": (
        False,
        "KL = 0 is the best the KL term can do, but the KL is only half of the loss: the reconstruction term pays "
        "for a code that says nothing about the image. What does the decoder get as input, for each of the twelve?",
    ),
}


@checker
def check_collapsed_code(answer) -> object:
    """Predict, then run: set the weights and biases of the trained model's μ and log σ² heads to zero, so that its
    KL is exactly 0 for every digit. Its reconstructions of 12 test digits are ``"a"`` the twelve digits, blurrier,
    ``"b"`` twelve copies of one picture, ``"c"`` random noise, ``"d"`` as good as before: KL 0 is the best score."""
    return judge_choice(answer, _COLLAPSED)
