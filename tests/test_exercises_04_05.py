"""The "Your turn" checkers of notebooks 04 and 05: right answers pass, typical wrong answers get the right hint.

(That every solution passes its checker is tests/test_solutions.py's job, for all notebooks.)
"""

import pytest
import torch
import torch.nn.functional as F
from solutions_support import load_solutions
from torch import nn

from vitlib.exercises import nb04, nb05

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


# --- notebook 05 ----------------------------------------------------------------------------------------------------


def _multi_head(merge, core=None):
    """A written-out multi-head attention whose merge step is ``merge(heads_out)``, (B, H, N, hd) -> (B, N, D)."""

    def multi_head(x, attn):
        B, N, D = x.shape
        H, hd = attn.num_heads, D // attn.num_heads
        q, k, v = attn.qkv(x).reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4)
        out = (q @ k.transpose(-2, -1) / hd**0.5).softmax(dim=-1) @ v if core is None else core(q, k, v)
        return attn.proj(merge(out))

    return multi_head


def test_multi_head_the_notebooks_broken_cell_gets_a_hint_not_the_fix():
    feedback = nb05.check_multi_head(_multi_head(lambda o: o.reshape(o.shape[0], o.shape[2], -1)))
    assert not feedback.passed and "still the broken numbers" in feedback.message
    assert "transpose" not in feedback.message  # the first hint points the way without the code


@pytest.mark.parametrize(
    ("merge", "hint"),
    [
        (lambda o: o.transpose(2, 3).reshape(o.shape[0], o.shape[2], -1), "swaps each head's tokens with its channels"),
        (lambda o: o.transpose(1, 2).view(o.shape[0], o.shape[2], -1), "use reshape() instead"),
        (lambda o: o.transpose(1, 2), "merge each token's heads into one row"),
        (lambda o: o.flip(1).transpose(1, 2).reshape(o.shape[0], o.shape[2], -1), "Which line differs"),
        (lambda o: None, "cannot|must return a tensor|raised"),
    ],
)
def test_multi_head_hints(merge, hint):
    feedback = nb05.check_multi_head(_multi_head(merge))
    assert not feedback.passed
    assert any(h in feedback.message for h in hint.split("|")), feedback.message


def test_multi_head_wrong_shape_says_which():
    feedback = nb05.check_multi_head(lambda x, attn: attn.qkv(x))
    assert not feedback.passed and "the input's shape (B, N, D) = (2, 5, 16); got (2, 5, 48)" in feedback.message


def test_multi_head_fixed_passes_with_any_correct_merge_and_fused_core():
    permuted = _multi_head(lambda o: o.permute(0, 2, 1, 3).reshape(o.shape[0], o.shape[2], -1))
    assert nb05.check_multi_head(permuted).passed
    fused = _multi_head(lambda o: o.transpose(1, 2).reshape(o.shape[0], o.shape[2], -1), F.scaled_dot_product_attention)
    assert nb05.check_multi_head(fused).passed  # the exercise is the merge: PyTorch's attention core is allowed


def test_multi_head_refuses_the_module_itself():
    verdict = nb05.check_multi_head(lambda x, attn: attn(x)[0])
    assert not verdict.passed and "attn(x)" in verdict.message and "by hand" in verdict.message

    def through_pytorch(x, attn):
        mha = nn.MultiheadAttention(x.shape[-1], attn.num_heads, batch_first=True)
        with torch.no_grad():
            mha.in_proj_weight.copy_(attn.qkv.weight)
            mha.in_proj_bias.copy_(attn.qkv.bias)
            mha.out_proj.weight.copy_(attn.proj.weight)
            mha.out_proj.bias.copy_(attn.proj.bias)
        return mha(x, x, x, need_weights=False)[0]

    verdict = nb05.check_multi_head(through_pytorch)
    assert not verdict.passed and "nn.MultiheadAttention" in verdict.message


def test_multi_head_solution_is_by_hand():
    assert nb05.check_multi_head(load_solutions("05").solution_multi_head()).passed


def test_multi_head_the_broken_cell_really_is_broken_and_the_right_shape():
    import vitlib

    attn = vitlib.Attention(16, num_heads=4).eval()
    x = torch.randn(2, 5, 16)
    broken = _multi_head(lambda o: o.reshape(o.shape[0], o.shape[2], -1))
    with torch.no_grad():
        assert broken(x, attn).shape == attn(x)[0].shape and not torch.allclose(broken(x, attn), attn(x)[0])


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("a", "residual lines gone"),
        ("C", "passes through no LayerNorm"),
        ("(d)", "outputs exactly 0"),
        ("x", "one letter"),
    ],
)
def test_zeroed_branches_explains_each_wrong_option(answer, hint):
    feedback = nb05.check_zeroed_branches(answer)
    assert not feedback.passed and hint in feedback.message


def test_zeroed_branches_answer_is_what_the_block_does():
    import vitlib

    block = vitlib.Block(32, num_heads=2).eval()
    with torch.no_grad():
        for layer in (block.attn.proj, block.mlp.fc2):
            layer.weight.zero_()
            layer.bias.zero_()
        x = torch.randn(3, 7, 32) * 5 + 2
        assert torch.equal(block(x)[0], x)
    assert nb05.check_zeroed_branches("b").passed
