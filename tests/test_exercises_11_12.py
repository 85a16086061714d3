"""The checkers of the labs, notebooks 11 and 12: right answers pass, typical wrong answers get the right hint,
and the library's own evaluation is refused where the exercise asks for it by hand."""

from __future__ import annotations

import re

import pytest
import torch
from solutions_support import load_solutions

import vitlib.train
import vitlib.variants
from vitlib.exercises import nb11, nb12

# (that every solution passes its checker is tests/test_solutions.py's job, for all notebooks)
s12 = load_solutions("12")


@pytest.mark.parametrize(
    ("answer", "passed", "hint"),
    [
        ("a", True, "post-norm without warm-up"),
        ("(A)", True, "post-norm without warm-up"),
        ("b", False, "the warm-up is what lets it start"),
        ("c", False, "residual line carries"),
        ("d", False, "one of the four stays at chance"),
        ("e", False, "give one letter"),
    ],
)
def test_stuck_run(answer, passed, hint):
    verdict = nb11.check_stuck_run(answer)
    assert verdict.passed is passed and re.search(hint, verdict.message), verdict.message


def _post_norm(block, x):
    x = block.norm1(x + block.attn(x)[0])
    return block.norm2(x + block.mlp(x))


@pytest.mark.parametrize(
    ("forward", "hint"),
    [
        (nb11._broken_forward, "the broken cell's output"),
        (_post_norm, "post-norm block"),
        (lambda block, x: x + block.attn(block.norm1(x))[0], "the MLP's line is missing"),
        (lambda block, x: None, "returns None"),
        (lambda block, x: x[:, 0], "must return a \\(B, N, D\\) tensor"),
        (lambda block, x: block.mlp(block.attn(x)[0]), "not the block's output yet"),
    ],
)
def test_fixed_block_hints(forward, hint):
    verdict = nb11.check_fixed_block(forward)
    assert not verdict and re.search(hint, verdict.message), verdict.message


def test_fixed_block_accepts_the_block_itself_written_out():
    assert nb11.check_fixed_block(lambda block, x: block(x)[0])


@pytest.mark.parametrize(
    ("answer", "passed", "hint"),
    [
        (0.0944, True, "0.3072"),
        (0.1, True, "0.0944"),
        (1, False, "notebook 05's assumption"),
        (0.755, False, "divided by 64 somewhere"),
        (6.04, False, "without the division"),
        (0.3072, False, "one channel of q"),
        (0.5, False, "Step by step"),
        (True, False, "give one number"),
        ("0.09", False, "give one number"),
    ],
)
def test_score_variance(answer, passed, hint):
    verdict = nb11.check_score_variance(answer)
    assert verdict.passed is passed and re.search(hint, verdict.message), verdict.message


def test_score_variance_is_what_the_notebook_measures():
    torch.manual_seed(0)
    attention = vitlib.variants.reinitialize(vitlib.Attention(768, num_heads=12), 0.02)
    x = torch.nn.functional.layer_norm(torch.randn(4, 197, 768), (768,))
    with torch.no_grad():
        q, k, _ = attention.qkv(x).reshape(4, 197, 3, 12, 64).permute(2, 0, 3, 1, 4)
        measured = (q @ k.transpose(-2, -1) / 8).var().item()
    assert nb11.check_score_variance(measured), measured  # the measurement is inside the accepted band
    assert measured == pytest.approx(nb11._SCORE_VARIANCE, rel=0.1)


@pytest.mark.parametrize(("answer", "passed"), [("a", False), ("b", False), ("c", True), ("d", False)])
def test_first_fix(answer, passed):
    verdict = nb11.check_first_fix(answer)
    assert verdict.passed is passed and len(verdict.message) > 60


# ---------------------------------------------------------------------------- notebook 12


SYMPTOM_ANSWERS = {
    "positions": "b",
    "batch_first": "a",
    "softmax": "c",
    "cls": "c",
    "lr": "b",
    "eval": "d",
    "labels": "a",
    "scale": "c",
}


@pytest.mark.parametrize("bug", sorted(SYMPTOM_ANSWERS))
def test_each_symptom_has_one_right_letter_and_a_hint_for_the_others(bug):
    check = getattr(nb12, f"check_{bug}_symptom")
    assert check.__name__ == f"check_{bug}_symptom"
    for letter in "abcd":
        verdict = check(letter)
        assert verdict.passed is (letter == SYMPTOM_ANSWERS[bug]), (bug, letter)
        if not verdict.passed:  # the wrong guess is named, with a hint of its own
            assert verdict.message.startswith(f"you predicted ({letter}) {nb12.SYMPTOMS[letter]}")
    assert "give one letter" in check("z").message


@pytest.mark.parametrize(("answer", "passed"), [("B", True), ("b", True), ("A", False), ("C", False), ("D", False)])
def test_eval_curve(answer, passed):
    verdict = nb12.check_eval_curve(answer)
    assert verdict.passed is passed and len(verdict.message) > 60
    assert nb12.EVAL_CURVES["B"] == "eval"


@pytest.mark.parametrize(("answer", "passed"), [("a", False), ("b", False), ("c", True), ("d", False)])
def test_report(answer, passed):
    verdict = nb12.check_report(answer)
    assert verdict.passed is passed and len(verdict.message) > 60


def _forgets_eval(model, images, labels):
    return (model(images).argmax(-1) == labels).float().mean().item()


def _percent(model, images, labels):
    return 100 * s12.solution_accuracy()(model, images, labels)


def _wrong_axis(model, images, labels):
    model.eval()
    with torch.no_grad():
        return (model(images).argmax(0) == labels[:10]).float().mean().item()  # over the images, not the classes


@pytest.mark.parametrize(
    ("accuracy", "hint"),
    [
        (_forgets_eval, "dropout is still on"),
        (_percent, "that is a percentage"),
        (_wrong_axis, "argmax over the\\s+classes"),
        (lambda model, images, labels: None, "returns None"),
        (lambda model, images, labels: "90 %", "one number"),
        (lambda model, images, labels: vitlib.train.evaluate(model, images, labels).accuracy, "evaluate or predict"),
        (lambda model, images, labels: (vitlib.train.predict(model, images) == labels).float().mean(), "predict"),
    ],
)
def test_accuracy_hints(accuracy, hint):
    verdict = nb12.check_accuracy(accuracy)
    assert not verdict and re.search(hint, verdict.message), verdict.message


def test_accuracy_checker_refuses_a_shortcut_on_a_branch_not_taken():
    def sneaky(model, images, labels, shortcut=False):
        if shortcut:
            return vitlib.train.evaluate(model, images, labels).accuracy
        return s12.solution_accuracy()(model, images, labels)

    assert "evaluate or predict" in nb12.check_accuracy(sneaky).message


def test_the_broken_accuracy_is_wrong_on_the_checkers_model():
    """The checker's model really does change its predictions with dropout on (so the exercise can fail)."""
    model, images, labels = nb12._checking_model()
    torch.manual_seed(0)
    assert _forgets_eval(model, images, labels) != _forgets_eval(model, images, labels)
