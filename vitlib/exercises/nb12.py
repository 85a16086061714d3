"""Checkers for notebook 12, *lab: when a ViT does not learn*.

Predict, then run, one planted bug at a time: the learner picks the symptom before the cell shows it, one
letter of :data:`SYMPTOMS`, judged by ``check_<bug>_symptom``. "Your turn": ``check_eval_curve`` (which
unlabelled curve is the missing ``eval()``), ``check_report`` (which number to report, with three splits)
and ``check_accuracy`` (a broken accuracy function to diagnose and fix, without the library's evaluate).
"""

from __future__ import annotations

import numbers

import torch

from .. import train as _train
from . import Shortcut, by_hand_message, checker, correct, letter_answer, not_yet, run_by_hand

#: The four symptoms a planted bug can show, the same menu for every bug.
SYMPTOMS = {
    "a": "it learns nothing: the loss stays near ln 10 = 2.30 and the validation accuracy near 10 %",
    "b": "it learns, but ends clearly below the baseline",
    "c": "it learns about as well as the baseline (or better): nothing shows in the curves",
    "d": "the same trained model, evaluated again on the same images, gets a different accuracy",
}

# bug -> (the symptom it shows, what the learner reads when right, a hint for each wrong letter)
_BUGS = {
    "positions": (
        "b",
        "without a position table the encoder sees the four patches as a set: the same patches in another place "
        "give exactly the same logits (shown below). It still learns, from what the patches hold, but ends a few "
        "points below the baseline.",
        {
            "a": "it does learn: the contents of the four patches say most of what the digit is.",
            "c": "close: it learns, but some digits differ mainly in where their strokes are; compare the last epochs.",
            "d": "nothing random happens at evaluation here; what does the model no longer know about each patch?",
        },
    ),
    "batch_first": (
        "a",
        "read as (sequence, batch, D), the tokens of one image never meet: each token attends to the token in the "
        "same place of the *other* images of the batch. Token 0, [CLS], starts as the same vector in every image, so "
        "it only ever mixes with copies of itself: it never hears about a patch, the head sees one vector for every "
        "digit, and the loss stays at ln 10.",
        {
            "b": "look at what [CLS] can attend to when the first axis is read as the sequence: only token 0 of the "
            "other images, which is the same vector in all of them.",
            "c": "the shapes are all right, but which tokens does [CLS] attend to when the batch is read as the "
            "sequence?",
            "d": "in eval mode the model is deterministic; the symptom is in training. What reaches [CLS]?",
        },
    ),
    "softmax": (
        "c",
        "over the queries, each *column* of the weights sums to 1 and the rows do not (measured below), but the "
        "model still mixes tokens, and here it learns about as well as the baseline. The curves hide this bug; a "
        "test that each row of the weights sums to 1 finds it at once.",
        {
            "a": "it still mixes the tokens, only with weights normalised the other way; does that stop learning?",
            "b": "here it ends within about a point of the baseline; the bug is real, but not visible in accuracy.",
            "d": "the forward is deterministic; nothing changes between two evaluations.",
        },
    ),
    "cls": (
        "c",
        "from scratch, reading patch 0's token instead of [CLS] works as well (here even better): after the first "
        "block every token has attended to all the others, so any token can carry the summary. The bug is silent "
        "until a model trained to put its summary in [CLS] is read at the wrong index, as below.",
        {
            "a": "every token has attended to every other one after a block: does the head really see nothing?",
            "b": "here it learns as well as the baseline or better; the damage shows elsewhere (below).",
            "d": "the forward is deterministic; nothing changes between two evaluations.",
        },
    ),
    "lr": (
        "b",
        "at 1e-2 from the very first step the early updates are too large, the first epochs are wasted and the run "
        "ends several points below the same rate reached through a warm-up. (In notebook 11's deep post-norm "
        "model a rate reached without warm-up stopped learning altogether.)",
        {
            "a": "at 1e-2 it does not stop learning here; it learns worse. Compare it with the same rate after a "
            "warm-up.",
            "c": "compare its last epochs with the same rate reached through a warm-up: the gap is several points.",
            "d": "nothing random happens at evaluation; the damage is done in the first training steps.",
        },
    ),
    "eval": (
        "d",
        "dropout is still on when the model is evaluated, so each evaluation silences a new random half of the "
        "units: the accuracy changes from one evaluation to the next (two may happen to agree), and it is lower "
        "than the same weights give in eval mode. model.eval() (which vitlib.train.evaluate calls) turns dropout off.",
        {
            "a": "the training itself is fine (dropout is meant to be on in training); what differs at evaluation?",
            "b": "it is lower, yes, but there is a stranger symptom: evaluate the same model a few times.",
            "c": "dropout left on at evaluation costs accuracy, and something else: evaluate the same model a few "
            "times.",
        },
    ),
    "labels": (
        "a",
        "with the labels shuffled against the images there is nothing to learn: no pattern connects an image to "
        "its label. The loss stays at ln 10 and the validation accuracy at chance.",
        {
            "b": "is there anything left to learn when the labels no longer belong to their images?",
            "c": "the validation labels are still right; can a model trained on shuffled labels predict them?",
            "d": "the model is deterministic in eval mode; the symptom is in what it learns.",
        },
    ),
    "scale": (
        "c",
        "images 16 times as bright, in training and in validation alike, change almost nothing here: the patch "
        "embedding is linear and the first block's LayerNorm rescales every token. What breaks is a *mismatch*: "
        "normalised images in training and raw ones at evaluation (below).",
        {
            "a": "the first LayerNorm rescales every token: is a constant factor on every image enough to stop "
            "learning?",
            "b": "here it ends within a point of the baseline: LayerNorm absorbs a constant factor. What would hurt?",
            "d": "the forward is deterministic; nothing changes between two evaluations.",
        },
    ),
}

__all__ = [
    "SYMPTOMS",
    "check_accuracy",
    "check_eval_curve",
    "check_report",
    *[f"check_{bug}_symptom" for bug in _BUGS],
]


def _symptom_checker(bug: str):
    expected, right, hints = _BUGS[bug]

    @checker
    def check(answer) -> object:
        letter = letter_answer(answer, "abcd")
        if letter is None:
            return not_yet(f"give one letter, 'a', 'b', 'c' or 'd' (the symptoms listed above); got {answer!r}.")
        if letter == expected:
            return correct(right)
        hint = hints[letter]
        return not_yet(f"you predicted ({letter}) {SYMPTOMS[letter]}. {hint[0].upper()}{hint[1:]}")

    check.__name__ = check.__qualname__ = f"check_{bug}_symptom"
    check.__doc__ = f"Predict, then run: the symptom of the planted bug '{bug}', one letter of SYMPTOMS."
    return check


check_positions_symptom = _symptom_checker("positions")
check_batch_first_symptom = _symptom_checker("batch_first")
check_softmax_symptom = _symptom_checker("softmax")
check_cls_symptom = _symptom_checker("cls")
check_lr_symptom = _symptom_checker("lr")
check_eval_symptom = _symptom_checker("eval")
check_labels_symptom = _symptom_checker("labels")
check_scale_symptom = _symptom_checker("scale")


# The unlabelled curves of the notebook's "Your turn": which run each letter is.
EVAL_CURVES = {"A": "lr", "B": "eval", "C": "labels", "D": "baseline"}
_CURVE_HINTS = {
    "lr": "A nearly loses its first epoch (its loss starts at ln 10, its validation accuracy lowest of those that "
    "learn): the full learning rate from the first step, no warm-up.",
    "labels": "C never leaves chance: loss at ln 10, 10 %. Shuffled labels (or a missing batch_first) look like that.",
    "baseline": "D has the lowest training loss and the best validation accuracy of the four: the baseline.",
}


@checker
def check_eval_curve(answer) -> object:
    """Which of the unlabelled runs A, B, C, D was evaluated without ``model.eval()``? One letter."""
    letter = letter_answer(answer, EVAL_CURVES)
    if letter not in EVAL_CURVES:
        return not_yet(f"give one letter, 'A', 'B', 'C' or 'D'; got {answer!r}.")
    if EVAL_CURVES[letter] == "eval":
        return correct(
            "B. It learns from its first epoch (unlike A, whose first epoch at the full rate is nearly lost); its "
            "training loss stays above the baseline's, since it trains with dropout 0.5 (as it should); and its "
            "validation accuracy stays below the baseline's and dips at the last epoch while its training loss "
            "still falls: each evaluation runs with dropout on, a new random half of the units silenced. The same "
            "weights after model.eval() score higher, and the same every time."
        )
    return not_yet(
        f"{_CURVE_HINTS[EVAL_CURVES[letter]]} Which run learns, but trains with a noisier, higher loss and is "
        "scored lower than its weights deserve?"
    )


_REPORT = {
    "a": (
        False,
        "picking the best of three *test* accuracies uses the test digits to choose: the number you report is "
        "then the luckiest of three, an overestimate. The test part must not decide anything.",
    ),
    "b": (
        False,
        "the validation accuracy chose the setting, so it is the best of three: optimistic. It tells you which "
        "setting to keep, not how well that setting does on digits it has never influenced.",
    ),
    "c": (
        True,
        "choose on validation, then read the test part once, for the chosen model only, and report that number. "
        "The test digits had no say in any choice, so their accuracy is an honest estimate for new digits.",
    ),
    "d": (
        False,
        "the training accuracy measures what the model memorised (with 10 % of the digits it reached about 100 % "
        "while validation stayed far lower): it says nothing about new digits.",
    ),
}


@checker
def check_report(answer) -> object:
    """Three settings were tried. Which number do you report? One letter: ``"a"`` the best test accuracy,
    ``"b"`` the best validation accuracy, ``"c"`` the test accuracy of the setting chosen on validation, read
    once, ``"d"`` the chosen setting's training accuracy."""
    letter = letter_answer(answer, "abcd")
    if letter is None:
        return not_yet(f"give one letter, 'a', 'b', 'c' or 'd'; got {answer!r}.")
    passed, message = _REPORT[letter]
    return (correct if passed else not_yet)(message)


#: The library's own evaluation, which does the whole job; the exercise asks for the steps by hand.
EVALUATE_SHORTCUTS = (
    Shortcut(
        "vitlib.train's evaluate or predict", targets=(_train.evaluate, _train.predict), names=("evaluate", "predict")
    ),
)


def _checking_model():
    """A small ViT with dropout 0.5 and weights large enough that dropout changes its predictions."""
    from ..model import ViT

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = ViT.from_preset("digits_p4", depth=1, drop_rate=0.5)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.weight.normal_(std=0.3)
    images = torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = torch.randint(0, 10, (200,), generator=torch.Generator().manual_seed(2))
    return model.train(), images, labels


@checker
def check_accuracy(answer) -> object:
    """``answer`` is your fixed ``accuracy(model, images, labels)``: the fraction of ``(N, C, H, W)`` images
    whose predicted class (the largest logit) is their label, a float in [0, 1], without vitlib's evaluate."""
    if not callable(answer):
        return not_yet(f"answer must be a function accuracy(model, images, labels); got {type(answer).__name__}.")
    model, images, labels = _checking_model()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        first, shortcut = run_by_hand(answer, (model, images, labels), EVALUATE_SHORTCUTS)
        if shortcut:
            return not_yet(by_hand_message(shortcut, "compute the accuracy", "the model's forward, argmax and a mean"))
        model.train()
        second, _ = run_by_hand(answer, (model, images, labels), EVALUATE_SHORTCUTS)
    if first is None:
        return not_yet("your function returns None: return the accuracy, a fraction in [0, 1].")
    if isinstance(first, torch.Tensor) and first.numel() == 1:
        first, second = first.item(), second.item()
    if isinstance(first, bool) or not isinstance(first, numbers.Real):
        return not_yet(f"accuracy must return one number, a fraction in [0, 1]; got {type(first).__name__}.")
    with torch.no_grad():
        expected = (model.eval()(images).argmax(-1) == labels).float().mean().item()
    if first == second == expected or (abs(first - expected) < 1e-6 and abs(second - expected) < 1e-6):
        return correct(
            "model.eval() first: dropout is off, so the same model always gets the same accuracy. (Even better, "
            "wrap the forward in torch.no_grad() and put the model back in the mode it was in, as "
            "vitlib.train.evaluate does.)"
        )
    if abs(first - 100 * expected) < 1e-4:
        return not_yet("that is a percentage; return the fraction, in [0, 1].")
    if first != second:
        return not_yet(
            "two calls on the same model and the same images gave two different numbers: dropout is still on. "
            "What must happen to the model before it is evaluated?"
        )
    return not_yet(
        f"you return {first}, the accuracy is {expected:.4f}. Compare each image's largest logit (argmax over the "
        "classes, the last dimension) with its label, in eval mode."
    )
