"""The "Your turn" checkers of notebooks 02-03: right answers pass, typical mistakes get the matching hint, and
the answer each judgement question accepts is what torch does."""

import pytest
import torch
from torch import nn

import vitlib
from vitlib.exercises import nb02, nb03

# (that every solution passes its checker is tests/test_solutions.py's job, for all notebooks)

JUDGEMENTS = [
    (nb02.check_overlapping, "b"),
    (nb03.check_head_before_attention, "b"),
    (nb03.check_batch_dimension, "b"),
]


@pytest.mark.parametrize(("check", "right"), JUDGEMENTS, ids=lambda v: getattr(v, "__name__", v))
def test_one_letter_passes_and_every_option_gets_its_own_feedback(check, right):
    verdicts = {letter: check(letter) for letter in "abcd"}
    assert [letter for letter, v in verdicts.items() if v.passed] == [right]
    assert len({v.message for v in verdicts.values()}) == 4  # one explanation per option
    assert check(f" ({right.upper()}) ").passed  # case, spaces and brackets forgiven
    for wrong in ("e", 2, ["b"]):
        verdict = check(wrong)
        assert not verdict.passed and "one letter" in verdict.message
    assert repr(check(None)).startswith("❌ Not yet: no answer yet")


def test_overlapping_patches_are_a_linear_map_of_windows_patchify_cannot_cut():
    # what the checker accepts ("b"), run: 9 overlapping windows, the same Linear, the same parameter count
    img = torch.randn(1, 3, 32, 32)
    proj = nn.Linear(768, 8)
    overlap = nn.Conv2d(3, 8, kernel_size=16, stride=8)
    with torch.no_grad():
        overlap.weight.copy_(proj.weight.view(8, 3, 16, 16))
        overlap.bias.copy_(proj.bias)
        by_conv = overlap(img).flatten(2).transpose(1, 2)
        windows = nn.functional.unfold(img, 16, stride=8).transpose(1, 2)
    assert by_conv.shape == (1, 9, 8) and vitlib.patchify(img, 16).shape == (1, 4, 768)
    torch.testing.assert_close(proj(windows), by_conv, rtol=1e-4, atol=1e-5)
    assert sum(p.numel() for p in overlap.parameters()) == sum(p.numel() for p in proj.parameters())
    assert "3 per side" in nb02.check_overlapping("b").message


def test_a_head_on_cls_before_attention_sees_one_vector_for_every_image():
    # what the checker accepts ("b"), run: equal logits, and no gradient reaches the patch embedding
    patch_embed = vitlib.PatchEmbedding(image_size=32, patch_size=16, embed_dim=16)
    cls_token = nn.Parameter(torch.randn(1, 1, 16))
    logits = nn.Linear(16, 10)(vitlib.prepend_cls_token(patch_embed(torch.randn(4, 3, 32, 32)), cls_token)[:, 0])
    nn.functional.cross_entropy(logits, torch.arange(4)).backward()
    assert (logits == logits[0]).all()
    assert cls_token.grad.abs().sum() > 0 and (patch_embed.proj.weight.grad == 0).all()


def test_a_cls_parameter_with_a_batch_dimension_fails_on_another_batch_size():
    cls = nn.Parameter(torch.zeros(32, 1, 8))
    assert torch.cat([cls, torch.zeros(32, 4, 8)], dim=1).shape == (32, 5, 8)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        torch.cat([cls, torch.zeros(10, 4, 8)], dim=1)
    assert "32 against 10 raises" in nb03.check_batch_dimension("b").message


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
