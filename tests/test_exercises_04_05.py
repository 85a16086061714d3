"""The "Your turn" checkers of notebooks 04 and 05: right answers pass, typical wrong answers get the right hint.

(That every solution passes its checker is tests/test_solutions.py's job, for all notebooks.)
"""

import pytest
import torch

from vitlib.exercises import nb04

# --- notebook 04 ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda out, perm: out[:, perm], "shuffles a second time"),
        (lambda out, perm: out, "not back in the original order"),
        (lambda out, perm: out[0], "keep the shape"),
    ],
)
def test_unshuffle_hints(answer, hint):
    feedback = nb04.check_unshuffle(answer)
    assert not feedback.passed and hint in feedback.message


def test_unshuffle_by_writing_back_passes_too():
    def unshuffle(outputs, perm):
        result = torch.empty_like(outputs)
        result[:, perm] = outputs
        return result

    assert nb04.check_unshuffle(unshuffle).passed


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("a", "the shuffle of the first section"),
        ("B", "two rows of whole patches"),
        ("(c)", "exactly one patch"),
        ("e", "give one letter"),
        (4, "give one letter"),
    ],
)
def test_tell_apart_explains_each_wrong_option(answer, hint):
    feedback = nb04.check_tell_apart(answer)
    assert not feedback.passed and hint in feedback.message
    if isinstance(answer, str) and answer.strip("()").lower() in "abc":
        assert "inside" in feedback.message  # every wrong option points at the same question


def test_tell_apart_answer_holds_for_a_model_without_positions():
    """The checker's verdict is what the notebook's run shows: only the mirror image changes the [CLS] output."""
    g = torch.Generator().manual_seed(0)
    photo = torch.rand(1, 3, 32, 32, generator=g)
    p = 8  # a 4 x 4 grid, as in the notebook
    w = torch.randn(3 * p * p, 16, generator=g)
    cls = torch.randn(1, 1, 16, generator=g)
    w_q, w_k, w_v = (torch.randn(16, 16, generator=g) for _ in range(3))

    def cls_output(image):
        patches = image.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 1, 4, 5).reshape(1, 16, -1)
        x = torch.cat([cls, patches @ w], dim=1)
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        return ((q @ k.transpose(-2, -1) / 4).softmax(-1) @ v)[:, 0]

    perm = torch.randperm(16, generator=g)
    grid = photo.unfold(2, p, p).unfold(3, p, p)  # (1, 3, 4, 4, p, p)
    shuffled = grid.reshape(1, 3, 16, p, p)[:, :, perm].reshape(1, 3, 4, 4, p, p)
    shuffled = shuffled.permute(0, 1, 2, 4, 3, 5).reshape(1, 3, 32, 32)
    changes = {
        "a": shuffled,
        "b": torch.roll(photo, 16, dims=-2),
        "c": torch.roll(photo, p, dims=-1),
        "d": photo.flip(-1),
    }
    base = cls_output(photo)
    for letter, image in changes.items():
        differs = (cls_output(image) - base).abs().max().item() > 1e-4
        assert differs == nb04.check_tell_apart(letter).passed, letter
