"""vitlib.embedding: the patch embedding, [CLS], position tables, resizing (the other routes: test_routes.py)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import vitlib
from vitlib.analysis import position_similarity
from vitlib.embedding import (
    PatchEmbedding,
    learned_pos_embed,
    prepend_cls_token,
    resize_pos_embed,
    sincos_pos_embed_2d,
)

FEW = settings(max_examples=25, deadline=None)


# --- PatchEmbedding: Linear == Conv2d ------------------------------------------------------------------------------


@FEW
@given(
    c=st.integers(1, 4),
    p=st.integers(1, 5),
    d=st.integers(1, 9),
    gh=st.integers(1, 4),
    gw=st.integers(1, 4),
    b=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_linear_on_patches_equals_conv2d_with_the_same_weights(c, p, d, gh, gw, b, seed):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(b, c, gh * p, gw * p, generator=g)
    linear = nn.Linear(c * p * p, d)
    conv = nn.Conv2d(c, d, kernel_size=p, stride=p)
    with torch.no_grad():
        conv.weight.copy_(linear.weight.view(d, c, p, p))  # (C, P, P) order: a plain view
        conv.bias.copy_(linear.bias)
        by_linear = linear(vitlib.patchify(images, p))
        by_conv = conv(images).flatten(2).transpose(1, 2)
    assert by_linear.shape == by_conv.shape == (b, gh * gw, d)
    torch.testing.assert_close(by_linear, by_conv, rtol=1e-4, atol=1e-5)


def test_channels_last_patches_need_a_permuted_copy_of_the_weight():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 5, kernel_size=4, stride=4)
    x = torch.randn(1, 3, 8, 8)
    want = conv(x).flatten(2).transpose(1, 2)
    p_p_c = x.reshape(1, 3, 2, 4, 2, 4).permute(0, 2, 4, 3, 5, 1).reshape(1, 4, 48)
    plain = nn.functional.linear(p_p_c, conv.weight.view(5, -1), conv.bias)
    assert not torch.allclose(plain, want, atol=1e-3)
    permuted = nn.functional.linear(p_p_c, conv.weight.permute(0, 2, 3, 1).reshape(5, -1), conv.bias)
    torch.testing.assert_close(permuted, want)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        conv.weight.permute(0, 2, 3, 1).view(5, -1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"image_size": 30, "patch_size": 16}, ValueError, r"patch_size=16 does not divide the image height 30"),
        ({"image_size": (32, 40), "patch_size": 16}, ValueError, r"width 40"),
        ({"image_size": 32, "patch_size": 0}, ValueError, r"patch_size must be a positive whole number; got 0"),
        ({"image_size": 32, "patch_size": 8.0}, TypeError, r"got 8\.0"),
        ({"image_size": 32, "patch_size": 8, "embed_dim": 0}, ValueError, r"embed_dim must be a positive .*got 0"),
        ({"image_size": 32, "patch_size": 8, "in_chans": -1}, ValueError, r"in_chans must be a positive .*got -1"),
    ],
)
def test_patch_embedding_rejects_bad_sizes(kwargs, error, match):
    with pytest.raises(error, match=match):
        PatchEmbedding(**kwargs)


def test_patch_embedding_rejects_bad_images_with_a_fix():
    embed = PatchEmbedding(image_size=32, patch_size=8, in_chans=3, embed_dim=4)
    with pytest.raises(ValueError, match=r"got shape \(3, 32, 32\).*unsqueeze\(0\)"):
        embed(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match=r"1 channels .* expects 3.*in_chans=1"):
        embed(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"48x32 .* built for 32x32.*resize_pos_embed"):
        embed(torch.zeros(1, 3, 48, 32))
    with pytest.raises(TypeError, match=r"got a numpy array.*torch\.from_numpy\(images\)\.float\(\)"):
        embed(torch.zeros(1, 3, 32, 32).numpy())


# --- [CLS] -----------------------------------------------------------------------------------------------------------


@FEW
@given(b=st.integers(1, 5), n=st.integers(1, 6), d=st.integers(1, 8))
def test_prepend_cls_token_puts_the_one_parameter_first(b, n, d):
    tokens = torch.randn(b, n, d)
    cls_token = nn.Parameter(torch.randn(1, 1, d))
    out = prepend_cls_token(tokens, cls_token)
    assert out.shape == (b, n + 1, d)
    assert torch.equal(out[:, 1:], tokens)
    assert torch.equal(out[:, 0], cls_token[0].expand(b, d))
    out[:, 0].sum().backward()
    torch.testing.assert_close(cls_token.grad, torch.full((1, 1, d), float(b)))  # summed over the batch


def test_expand_is_a_view_with_stride_zero_and_repeat_a_copy():
    cls_token = nn.Parameter(torch.randn(1, 1, 6))
    expanded, repeated = cls_token.expand(4, -1, -1), cls_token.repeat(4, 1, 1)
    assert expanded.stride() == (0, 6, 1) and expanded.data_ptr() == cls_token.data_ptr()
    assert repeated.stride() == (6, 6, 1) and repeated.data_ptr() != cls_token.data_ptr()


def test_prepend_cls_token_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"cls_token must have shape \(1, 1, D\) = \(1, 1, 8\); got \(1, 8\)"):
        prepend_cls_token(torch.zeros(2, 3, 8), torch.zeros(1, 8))
    with pytest.raises(ValueError, match=r"got \(2, 1, 8\)"):  # a batch dimension in the parameter: a tutorial bug
        prepend_cls_token(torch.zeros(2, 3, 8), torch.zeros(2, 1, 8))
    with pytest.raises(ValueError, match=r"tokens must be 3-D \(B, N, D\); got shape \(3, 8\)"):
        prepend_cls_token(torch.zeros(3, 8), torch.zeros(1, 1, 8))
    with pytest.raises(TypeError, match="cls_token must be a torch.Tensor; got list"):
        prepend_cls_token(torch.zeros(1, 3, 8), [0.0] * 8)


# --- adding the table ----------------------------------------------------------------------------------------------


# --- learned and sin-cos tables --------------------------------------------------------------------------------------


def test_learned_pos_embed_is_timms_init_and_seedable():
    a = learned_pos_embed(197, 768, generator=torch.Generator().manual_seed(0))
    b = learned_pos_embed(197, 768, generator=torch.Generator().manual_seed(0))
    assert a.shape == (1, 197, 768) and torch.equal(a, b)
    assert abs(a.std().item() - 0.02) < 0.001 and abs(a.mean().item()) < 0.001
    with pytest.raises(ValueError, match="num_tokens must be a positive whole number; got 0"):
        learned_pos_embed(0, 8)
    with pytest.raises(TypeError, match=r"embed_dim must be a whole number \(an int\); got 8\.5"):
        learned_pos_embed(5, 8.5)


@FEW
@given(gh=st.integers(1, 8), gw=st.integers(1, 8), quarter=st.integers(1, 24), cls=st.booleans())
def test_sincos_table_shape_and_cls_row(gh, gw, quarter, cls):
    d = 4 * quarter
    table = sincos_pos_embed_2d((gh, gw), d, cls_token=cls)
    assert table.shape == (1, gh * gw + cls, d)
    assert table.dtype == torch.float32
    if cls:
        assert torch.equal(table[0, 0], torch.zeros(d))
    rows = table[0, int(cls) :]
    torch.testing.assert_close(rows.norm(dim=1), torch.full((gh * gw,), math.sqrt(d / 2)))  # sin^2 + cos^2 per pair


@FEW
@given(gh=st.integers(2, 12), gw=st.integers(2, 12), quarter=st.integers(6, 64))
def test_sincos_neighbours_are_more_similar_than_far_positions(gh, gw, quarter):
    # holds for D >= 24; for tiny D the fastest frequency (1 rad per patch) wraps around after ~6 patches
    sim = position_similarity(sincos_pos_embed_2d((gh, gw), 4 * quarter), (gh, gw))
    for q in range(gh * gw):
        r, c = divmod(q, gw)
        near, far = [], []
        for rr in range(gh):
            for cc in range(gw):
                distance = math.hypot(rr - r, cc - c)
                if distance == 1:
                    near.append(sim[q, rr, cc])
                elif distance >= 2:
                    far.append(sim[q, rr, cc])
        assert far == [] or min(near) > max(far)


def test_sincos_similarity_depends_only_on_the_displacement():
    sim = position_similarity(sincos_pos_embed_2d((6, 7), 64), (6, 7))
    # patch (1, 1) vs (3, 4) and patch (2, 0) vs (4, 3): the same displacement (2, 3)
    torch.testing.assert_close(sim[1 * 7 + 1, 3, 4], sim[2 * 7 + 0, 4, 3])


def test_sincos_rejects_a_width_that_four_does_not_divide():
    with pytest.raises(ValueError, match=r"embed_dim divisible by 4 .*got 30\. Use e\.g\. embed_dim=28 or 32"):
        sincos_pos_embed_2d((4, 4), 30)
    with pytest.raises(ValueError, match=r"got 2\. Use e\.g\. embed_dim=4 or 4"):
        sincos_pos_embed_2d(4, 2)
    with pytest.raises(ValueError, match=r"grid must hold positive ints; got \(0, 4\)"):
        sincos_pos_embed_2d((0, 4), 8)


# --- resizing ------------------------------------------------------------------------------------------------------

grids = st.tuples(st.integers(1, 7), st.integers(1, 7))


@FEW
@given(grid=grids, prefix=st.integers(0, 2), d=st.integers(1, 6))
def test_resize_to_the_same_grid_returns_the_table_unchanged(grid, prefix, d):
    table = torch.randn(1, prefix + grid[0] * grid[1], d)
    assert resize_pos_embed(table, grid, grid, num_prefix_tokens=prefix) is table


@FEW
@given(old=grids, new=grids, prefix=st.integers(0, 2), antialias=st.booleans())
def test_resize_keeps_the_prefix_rows_and_gives_the_new_grid(old, new, prefix, antialias):
    table = torch.randn(1, prefix + old[0] * old[1], 5)
    out = resize_pos_embed(table, new, old, num_prefix_tokens=prefix, antialias=antialias)
    assert out.shape == (1, prefix + new[0] * new[1], 5)
    assert torch.equal(out[:, :prefix], table[:, :prefix])


@FEW
@given(old=grids, new=grids)
def test_resize_keeps_rows_as_rows_on_non_square_grids(old, new):
    # a table that varies only down the rows must still vary only down the rows (no transposed grid)
    (oh, ow), (nh, nw) = old, new
    by_row = torch.randn(oh, 1, 3).expand(oh, ow, 3).reshape(1, oh * ow, 3)
    out = resize_pos_embed(torch.cat([torch.zeros(1, 1, 3), by_row], dim=1), new, old)[0, 1:].reshape(nh, nw, 3)
    torch.testing.assert_close(out, out[:, :1].expand(nh, nw, 3))


@pytest.mark.parametrize(("side", "height", "width"), [(14, 384, 384), (14, 160, 224), (4, 64, 96), (7, 112, 48)])
def test_resize_matches_hugging_face_without_antialias(side, height, width):
    from transformers import ViTConfig
    from transformers.models.vit.modeling_vit import ViTEmbeddings

    d, p = 16, 16
    table = torch.randn(1, 1 + side * side, d, generator=torch.Generator().manual_seed(side))
    embeddings = ViTEmbeddings(ViTConfig(hidden_size=d, image_size=side * p, patch_size=p, num_channels=3))
    with torch.no_grad():
        embeddings.position_embeddings.copy_(table)
        want = embeddings.interpolate_pos_encoding(torch.zeros(1, 1, d), height, width)
    got = resize_pos_embed(table, (height // p, width // p), antialias=False)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    if (height, width) != (side * p, side * p):
        assert not torch.allclose(resize_pos_embed(table, (height // p, width // p), antialias=True), want, atol=1e-4)


def test_resize_keeps_a_constant_table_constant_and_its_dtype():
    table = torch.full((1, 1 + 16, 4), 0.5, dtype=torch.float64)
    out = resize_pos_embed(table, (6, 3))
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, torch.full((1, 1 + 18, 4), 0.5, dtype=torch.float64))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (
            (torch.zeros(1, 1 + 15, 4), (4, 4)),
            {},
            r"holds 15 grid positions, which is not a square grid; pass old_grid=\(gh, gw\)",
        ),
        ((torch.zeros(1, 1 + 15, 4), (4, 4), (4, 4)), {}, r"old_grid=\(4, 4\) has 16 positions but pos_embed has 15"),
        ((torch.zeros(1, 17, 4), (4, 4)), {"interpolation": "area"}, r"interpolation must be one of .*got 'area'"),
        ((torch.zeros(1, 17, 4), (4, 4)), {"interpolation": "nearest"}, r"pass antialias=False with 'nearest'"),
        ((torch.zeros(1, 17, 4), (4, 4)), {"num_prefix_tokens": -1}, r"num_prefix_tokens must be .* >= 0; got -1"),
        ((torch.zeros(1, 2, 4), (4, 4)), {"num_prefix_tokens": 2}, r"2 rows, none left for the grid"),
        ((torch.zeros(17, 4), (4, 4)), {}, r"pos_embed must have shape \(1, T, D\); got \(17, 4\)"),
        ((torch.zeros(1, 17, 4), (0, 4)), {}, r"new_grid must hold positive ints; got \(0, 4\)"),
    ],
)
def test_resize_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        resize_pos_embed(*args, **kwargs)


def test_resize_nearest_without_antialias_copies_values():
    table = torch.arange(1 + 4, dtype=torch.float32).reshape(1, 5, 1)
    out = resize_pos_embed(table, (4, 4), interpolation="nearest", antialias=False)
    assert out[0, 1:, 0].reshape(4, 4).tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]


# --- why positions are needed: equivariance and invariance ---------------------------------------------------------


def _mha(d, heads, seed):
    torch.manual_seed(seed)
    layer = nn.MultiheadAttention(d, heads, batch_first=True).eval()
    return lambda x: layer(x, x, x, need_weights=False)[0]


def _vitlib_attention(d, heads, seed):
    torch.manual_seed(seed)
    attention = vitlib.Attention(d, num_heads=heads).eval()
    return lambda x: attention(x)[0]


@FEW
@given(n=st.integers(2, 12), seed=st.integers(0, 2**16), which=st.sampled_from([_mha, _vitlib_attention]))
def test_attention_without_positions_is_equivariant_and_cls_invariant(n, seed, which):
    attention = which(16, 4, seed)
    g = torch.Generator().manual_seed(seed)
    patches = torch.randn(2, n, 16, generator=g)
    cls_token = torch.randn(1, 1, 16, generator=g)
    perm = torch.randperm(n, generator=g)
    with torch.no_grad():
        out = attention(prepend_cls_token(patches, cls_token))
        out_shuffled = attention(prepend_cls_token(patches[:, perm], cls_token))
    torch.testing.assert_close(out_shuffled[:, 1:], out[:, 1:][:, perm], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out_shuffled[:, 0], out[:, 0], rtol=1e-4, atol=1e-5)
