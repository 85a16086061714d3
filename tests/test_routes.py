"""vitlib.routes: the other ways to the core's numbers that notebooks 01, 02 and 04 compare with it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from test_embedding import _mha, _vitlib_attention
from test_patches import batches, seed_snippet

from vitlib.embedding import PatchEmbedding, prepend_cls_token, sincos_pos_embed_2d
from vitlib.patches import patchify
from vitlib.routes import ROUTES, add_pos_embed, embed_linear, linear_weight, patchify_f_unfold, patchify_unfold

FEW = settings(max_examples=25, deadline=None)
PROPERTY = settings(max_examples=40, deadline=None)


@FEW
@given(
    c=st.integers(1, 4),
    p=st.integers(1, 5),
    d=st.integers(1, 9),
    gh=st.integers(1, 4),
    gw=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_patch_embedding_routes_agree(c, p, d, gh, gw, seed):
    torch.manual_seed(seed)
    embed = PatchEmbedding(image_size=(gh * p, gw * p), patch_size=p, in_chans=c, embed_dim=d)
    images = torch.randn(2, c, gh * p, gw * p)
    with torch.no_grad():
        conv, linear = embed(images), embed_linear(embed, images)
    assert conv.shape == (2, gh * gw, d)
    assert embed.num_patches == gh * gw and embed.grid_size == (gh, gw)
    torch.testing.assert_close(conv, linear, rtol=1e-4, atol=1e-5)


def test_linear_weight_is_a_view_in_c_p_p_order_and_the_embedding_uses_timms_names():
    embed = PatchEmbedding(image_size=32, patch_size=8, in_chans=3, embed_dim=20)
    assert list(embed.state_dict()) == ["proj.weight", "proj.bias"]
    assert embed.proj.weight.shape == (20, 3, 8, 8)
    assert linear_weight(embed).shape == (20, 192)
    assert linear_weight(embed).data_ptr() == embed.proj.weight.data_ptr()
    with torch.no_grad():
        embed.proj.weight[3, 1, 2, 5] = 7.0
    assert linear_weight(embed)[3, 1 * 64 + 2 * 8 + 5] == 7.0  # (C, P, P) order


def test_linear_route_works_with_a_channels_last_weight():
    torch.manual_seed(0)
    embed = PatchEmbedding(image_size=16, patch_size=4, in_chans=3, embed_dim=6)
    images = torch.randn(2, 3, 16, 16)
    want = embed(images)
    embed = embed.to(memory_format=torch.channels_last)
    assert not embed.proj.weight.is_contiguous()
    torch.testing.assert_close(embed_linear(embed, images), want, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(embed(images), want, rtol=1e-4, atol=1e-5)


def test_add_pos_embed_adds_and_checks():
    tokens, table = torch.randn(3, 5, 4), torch.randn(1, 5, 4)
    torch.testing.assert_close(add_pos_embed(tokens, table), tokens + table)
    with pytest.raises(
        ValueError, match=r"T=577 tokens but the position table has 197 rows.*resize_pos_embed.*\(24, 24\)"
    ):
        add_pos_embed(torch.zeros(1, 577, 4), torch.zeros(1, 197, 4))
    with pytest.raises(ValueError, match=r"T=16 tokens .* 17 rows.*forget to put \[CLS\] in front"):
        add_pos_embed(torch.zeros(1, 16, 4), torch.zeros(1, 17, 4))
    with pytest.raises(ValueError, match=r"T=7 tokens but the position table has 5 rows.*new_grid=\(gh, gw\)\)\.$"):
        add_pos_embed(torch.zeros(1, 7, 4), torch.zeros(1, 5, 4))
    with pytest.raises(ValueError, match=r"D=4 channels but pos_embed has 6; build the table with embed_dim=4"):
        add_pos_embed(torch.zeros(1, 5, 4), torch.zeros(1, 5, 6))
    with pytest.raises(ValueError, match=r"pos_embed must have shape \(1, T, D\); got \(2, 5, 4\)"):
        add_pos_embed(torch.zeros(2, 5, 4), torch.zeros(2, 5, 4))


@pytest.mark.parametrize("which", [_mha, _vitlib_attention])
def test_adding_positions_breaks_the_invariance(which):
    attention = which(16, 4, 0)
    g = torch.Generator().manual_seed(1)
    patches = 3 * torch.randn(1, 9, 16, generator=g)  # large enough for non-uniform attention
    cls_token = torch.randn(1, 1, 16, generator=g)
    perm = torch.tensor([3, 1, 4, 0, 8, 5, 2, 7, 6])
    table = 3 * sincos_pos_embed_2d((3, 3), 16)
    with torch.no_grad():
        plain = attention(add_pos_embed(prepend_cls_token(patches, cls_token), table))
        shuffled = attention(add_pos_embed(prepend_cls_token(patches[:, perm], cls_token), table))
        if isinstance(plain, tuple):  # vitlib's Attention returns (output, weights), as nn.MultiheadAttention
            plain, shuffled = plain[0], shuffled[0]
    assert (plain[:, 0] - shuffled[:, 0]).abs().max() > 1e-2
    assert not torch.allclose(shuffled[:, 1:], plain[:, 1:][:, perm], atol=1e-2)


def test_f_unfold_route_refuses_integer_images_with_a_fix():
    with pytest.raises(TypeError, match=r"torch.uint8") as info:
        patchify_f_unfold(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 4)
    assert "images.float()" in str(info.value)


@given(batches())
@PROPERTY
def test_all_routes_equal_each_other_and_the_seed_snippet(case):
    x, p = case
    want = seed_snippet(x, p)
    assert torch.equal(patchify(x, p), want)
    for name, route in ROUTES.items():
        assert torch.equal(route(x, p), want), name


@given(batches(dtype=torch.float64))
@PROPERTY
def test_routes_agree_in_double_precision(case):
    x, p = case
    assert torch.equal(patchify_unfold(x, p), patchify(x, p))
    assert torch.equal(patchify_f_unfold(x, p), patchify(x, p))
    assert patchify(x, p).dtype == torch.float64


def test_f_unfold_is_im2col_with_kernel_equal_to_stride():
    x = torch.randn(2, 3, 8, 12)
    assert torch.equal(patchify_f_unfold(x, 4), F.unfold(x, 4, stride=4).transpose(1, 2))
