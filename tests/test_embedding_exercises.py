"""The "Your turn" checkers of notebooks 02-03: right answers pass, typical mistakes get a hint."""

import pytest
import torch
from torch import nn

from vitlib.exercises import nb02, nb03

# (that every solution passes its checker is tests/test_solutions.py's job, for all notebooks)


def test_unanswered_exercises_say_so():
    for check in (nb02.check_num_params, nb03.check_mean_pool):
        assert repr(check(None)).startswith("❌ Not yet: no answer yet")


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (384 * 768, "weights only"),
        (384 * 768 * 196 + 384 * 196, "number of patches (196) does not enter"),
        (768 * 768 + 768, "that is ViT-B's"),
        ("295296", "give one whole number"),
        (12, "is not it"),
    ],
)
def test_num_params_hints(answer, hint):
    feedback = nb02.check_num_params(answer)
    assert not feedback.passed and hint in feedback.message


def _conv_to_linear(order="cpp", bias=True, fixed=None):
    def conv_to_linear(conv):
        d, c, p, _ = conv.weight.shape
        linear = nn.Linear(c * p * p, d) if fixed is None else nn.Linear(*fixed)
        with torch.no_grad():
            w = conv.weight if order == "cpp" else conv.weight.permute(0, 2, 3, 1)
            if fixed is None:
                linear.weight.copy_(w.reshape(d, -1))
                linear.bias.copy_(conv.bias if bias else torch.zeros(d))
        return linear

    return conv_to_linear


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (_conv_to_linear(order="ppc"), "(P, P, C) order"),
        (_conv_to_linear(bias=False), "copy conv.bias into linear.bias"),
        (_conv_to_linear(fixed=(768, 512)), "Read the sizes from conv.in_channels"),
        (lambda conv: conv, "must return an nn.Linear"),
        (42, "must be a function"),
    ],
)
def test_conv_to_linear_hints(answer, hint):
    feedback = nb02.check_conv_to_linear(answer)
    assert not feedback.passed and hint in feedback.message


def test_conv_to_linear_that_changes_the_conv_is_refused():
    def destructive(conv):
        with torch.no_grad():
            conv.weight.zero_()
        return _conv_to_linear()(conv)

    feedback = nb02.check_conv_to_linear(destructive)
    assert not feedback.passed and "changed the conv's weights" in feedback.message


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda t, c: torch.cat([t, c.expand(t.shape[0], -1, -1)], dim=1), "[CLS] is at the end"),
        (lambda t, c: torch.cat([c.expand(1, -1, -1), t[:1]], dim=1), "for tokens of shape"),
        (lambda t, c: torch.cat([c.detach().expand(t.shape[0], -1, -1), t], dim=1), "learnable parameter"),
        (lambda t, c: torch.cat([c.expand(batch_size, -1, -1), t], dim=1), "tokens.shape[0]"),  # noqa: F821
    ],
)
def test_add_cls_hints(answer, hint):
    feedback = nb03.check_add_cls(answer)
    assert not feedback.passed and hint in feedback.message


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda t: t.mean(dim=1), "averages [CLS] in as well"),
        (lambda t: t[:, 1:].mean(dim=2), "Average over the token axis"),
        (lambda t: t[:, 1:].sum(dim=1), "numbers are not"),
    ],
)
def test_mean_pool_hints(answer, hint):
    feedback = nb03.check_mean_pool(answer)
    assert not feedback.passed and hint in feedback.message
