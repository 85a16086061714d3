"""Checkers for notebook 10, *what pretraining buys*: ``check_probe`` (predict, then run: does a linear head on
the frozen MAE encoder beat the ViT trained from scratch?) and the "Your turn" exercise ``check_supported_claim``
(which claim the notebook's measurements support, and which they do not)."""

from __future__ import annotations

from . import checker, correct, judge_choice, not_yet

__all__ = ["check_probe", "check_supported_claim"]


@checker
def check_probe(answer) -> object:
    """Predict, then run: the linear probe (the pretrained encoder frozen, only the head trained on the labelled
    10 %) scores ``"above"`` or ``"below"`` the ViT trained from scratch on the same images?"""
    word = answer.strip().lower() if isinstance(answer, str) else None
    if word not in ("above", "below"):
        return not_yet(f"give one word, 'above' or 'below'; got {answer!r}.")
    if word == "below":
        return correct(
            "the probe scores below training from scratch. The MAE's objective asks the [CLS] output for nothing: "
            "the encoder learned to describe patches well enough to redraw hidden ones, in whatever directions of "
            "its 64 channels that takes, and no line has to separate the ten classes in them. Fine-tuning moves "
            "every weight and can bring the class out; a linear head can only read what is already there."
        )
    return not_yet(
        "it scores below. Think about what the MAE was trained to do: redraw hidden patches. Which token's output "
        "did that loss ever ask for, and does anything in it make the ten classes lie on either side of a line?"
    )


_CLAIMS = {
    "a": (
        False,
        "not shown here. Every model in this notebook saw only the 1,797 digits; the claim is about huge data sets, "
        "which the ViT paper measured (with *supervised* pretraining) and this notebook only quotes.",
    ),
    "b": (
        True,
        "that is what the cells measured: the same 142 labelled digits, the same recipe, two seeds; pretraining on "
        "the 1,437 training digits without their labels lifted the ViT from below the CNN to about its level "
        "on both. Images of the same kind, no new information about the labels: what it bought is a starting point.",
    ),
    "c": (
        False,
        "the probe scores low because the MAE's features are not *linearly* separable by class, not because they "
        "are useless: fine-tuning the same encoder gives the best ViT of the notebook.",
    ),
    "d": (
        False,
        "the ViT paper's results come from supervised pretraining (classifying the images of ImageNet-21k or "
        "JFT-300M, quoted in the notebook); the MAE, which pretrains a ViT without labels, came later, from other "
        "authors.",
    ),
}


@checker
def check_supported_claim(answer) -> object:
    """Which claim do the notebook's measurements support? One letter ``"a"`` to ``"d"`` (the notebook lists them)."""
    return judge_choice(answer, _CLAIMS)
