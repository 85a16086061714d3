"""Attention written out vs. F.scaled_dot_product_attention vs. nn.MultiheadAttention."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vitlib import Attention, scaled_dot_product_attention


def mha_with_weights_of(attn: Attention, dim: int) -> nn.MultiheadAttention:
    """An nn.MultiheadAttention holding the same numbers: in_proj = qkv (rows q | k | v), out_proj = proj."""
    mha = nn.MultiheadAttention(dim, attn.num_heads, batch_first=True, dropout=0.0)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.qkv.weight)
        mha.in_proj_bias.copy_(attn.qkv.bias)
        mha.out_proj.weight.copy_(attn.proj.weight)
        mha.out_proj.bias.copy_(attn.proj.bias)
    return mha.eval()


def attention_by_hand(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    """Heads split and merged with view/transpose, softmax written out."""
    b, n, d = x.shape
    h, hd = attn.num_heads, d // attn.num_heads
    w_q, w_k, w_v = attn.qkv.weight.split(d)
    b_q, b_k, b_v = attn.qkv.bias.split(d)

    def heads(t):  # (B, N, D) -> (B, H, N, hd)
        return t.view(b, n, h, hd).transpose(1, 2)

    q, k, v = heads(x @ w_q.T + b_q), heads(x @ w_k.T + b_k), heads(x @ w_v.T + b_v)
    weights = torch.softmax(q @ k.transpose(-2, -1) / hd**0.5, dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(b, n, d)
    return out @ attn.proj.weight.T + attn.proj.bias


@settings(max_examples=20, deadline=None)
@given(
    batch=st.integers(1, 3),
    tokens=st.integers(1, 12),
    head_dim=st.integers(1, 16),
    heads=st.integers(1, 4),
)
def test_written_out_attention_equals_sdpa(batch, tokens, head_dim, heads):
    g = torch.Generator().manual_seed(batch * 1000 + tokens * 100 + head_dim * 10 + heads)
    q, k, v = (torch.randn(batch, heads, tokens, head_dim, generator=g) for _ in range(3))
    out, weights = scaled_dot_product_attention(q, k, v)
    assert out.shape == (batch, heads, tokens, head_dim)
    assert weights.shape == (batch, heads, tokens, tokens)
    torch.testing.assert_close(weights.sum(-1), torch.ones(batch, heads, tokens))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=1e-6, rtol=1e-5)


def test_written_out_attention_rejects_mismatched_shapes():
    q = torch.randn(1, 4, 8)
    with pytest.raises(ValueError, match="same last size"):
        scaled_dot_product_attention(q, torch.randn(1, 4, 7), torch.randn(1, 4, 8))
    with pytest.raises(ValueError, match="same number of tokens"):
        scaled_dot_product_attention(q, torch.randn(1, 5, 8), torch.randn(1, 4, 8))


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 3), tokens=st.integers(1, 10), heads=st.sampled_from([1, 2, 4]), head_dim=st.integers(1, 8))
def test_fast_and_written_out_paths_agree(batch, tokens, heads, head_dim):
    torch.manual_seed(tokens)
    dim = heads * head_dim
    attn = Attention(dim, num_heads=heads)
    x = torch.randn(batch, tokens, dim)
    fast, none = attn(x)
    slow, weights = attn(x, need_weights=True)
    assert none is None  # the fused kernel's path hands back no weights
    assert fast.shape == slow.shape == (batch, tokens, dim)
    assert weights.shape == (batch, heads, tokens, tokens)
    torch.testing.assert_close(fast, slow, atol=1e-6, rtol=1e-6)


def test_attention_equals_by_hand_and_multihead_attention():
    torch.manual_seed(0)
    dim, heads = 48, 4
    attn = Attention(dim, num_heads=heads).eval()
    x = torch.randn(3, 7, dim)
    ours, our_weights = attn(x, need_weights=True)
    torch.testing.assert_close(ours, attention_by_hand(attn, x), atol=1e-6, rtol=1e-5)
    mha = mha_with_weights_of(attn, dim)
    theirs, their_weights = mha(x, x, x, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(our_weights, their_weights, atol=1e-6, rtol=1e-5)


def test_qkv_rows_are_q_then_k_then_v_with_heads_contiguous():
    # Zero all of qkv but the rows of head 1's keys: only head 1's keys may then differ from zero.
    torch.manual_seed(0)
    dim, heads = 12, 3
    attn = Attention(dim, num_heads=heads)
    with torch.no_grad():
        attn.qkv.weight.zero_()
        attn.qkv.bias.zero_()
        attn.qkv.bias[dim + 4 : dim + 8] = torch.arange(1.0, 5.0)  # k block, head 1 (head_dim 4)
    qkv = attn.qkv(torch.randn(1, 2, dim)).reshape(1, 2, 3, heads, 4)
    nonzero = (qkv != 0).any(-1)[0, 0]  # (3 = q|k|v, heads)
    assert nonzero.tolist() == [[False, False, False], [False, True, False], [False, False, False]]


def test_embed_dim_not_divisible_by_heads_names_the_fix():
    with pytest.raises(ValueError, match=r"dim=50 is not divisible by num_heads=4.*\[1, 2, 5, 10, 25\]"):
        Attention(50, num_heads=4)


@pytest.mark.parametrize(
    ("shape", "hint"),
    [((5, 16), "Add a batch dimension"), ((1, 5, 8), r"\(B, N, 16\); got \(1, 5, 8\)"), ((1, 2, 5, 16), "got")],
)
def test_attention_rejects_tokens_of_the_wrong_shape(shape, hint):
    attn = Attention(16, num_heads=2)
    with pytest.raises(ValueError, match=hint):
        attn(torch.randn(*shape))


def test_gradient_reaches_every_attention_parameter():
    torch.manual_seed(0)
    attn = Attention(16, num_heads=2)
    attn(torch.randn(2, 5, 16))[0].square().sum().backward()
    for name, p in attn.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_a_half_precision_input_to_float_weights_gets_the_fix():
    attn = Attention(16, num_heads=2)
    with pytest.raises(
        TypeError, match=r"x is torch.float16 but the module's weights are torch.float32.*x.to\(torch.float32\)"
    ):
        attn(torch.randn(1, 5, 16).half())
    out, _ = attn.half()(torch.randn(1, 5, 16).half())  # the same dtype on both sides runs
    assert out.dtype == torch.float16
