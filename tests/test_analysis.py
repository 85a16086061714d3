"""vitlib.analysis: cases worked by hand, properties, and bad inputs with clear errors."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vitlib import ViT, ViTConfig
from vitlib.analysis import (
    attention_rollout,
    cls_attention_maps,
    cls_rollout_maps,
    mean_attention_distance,
    patch_centres,
    position_similarity,
)


def identity_attention(depth=3, b=2, heads=4, t=17) -> torch.Tensor:
    return torch.eye(t).expand(depth, b, heads, t, t).clone()


def uniform_attention(depth=2, b=1, heads=3, t=17) -> torch.Tensor:
    return torch.full((depth, b, heads, t, t), 1.0 / t)


def random_attention(depth, b, heads, t, seed) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(depth, b, heads, t, t, generator=g).mul(3).softmax(-1)


def mean_pairwise_distance(gh: int, gw: int, p: int) -> float:
    """The mean Euclidean distance in pixels over all ordered pairs of patch centres (self-pairs included)."""
    centres = [(i * p, j * p) for i in range(gh) for j in range(gw)]
    total = sum(math.dist(a, b) for a, b in itertools.product(centres, repeat=2))
    return total / len(centres) ** 2


# --- worked by hand -------------------------------------------------------------------------------------------


def test_identity_attention_gives_identity_rollout():
    rollout = attention_rollout(identity_attention())
    assert rollout.shape == (2, 17, 17)
    torch.testing.assert_close(rollout, torch.eye(17).expand(2, 17, 17))


def test_identity_attention_has_distance_zero():
    distance = mean_attention_distance(identity_attention(depth=3, heads=4), (4, 4), 2)
    assert distance.shape == (3, 4)
    torch.testing.assert_close(distance, torch.zeros(3, 4))


@pytest.mark.parametrize(("gh", "gw", "p"), [(4, 4, 2), (2, 3, 5), (14, 14, 16), (1, 4, 1)])
def test_uniform_attention_gives_the_grids_mean_pairwise_distance(gh, gw, p):
    attention = uniform_attention(t=1 + gh * gw)  # [CLS] gets its share too: it must be left out
    expected = mean_pairwise_distance(gh, gw, p)
    distance = mean_attention_distance(attention, (gh, gw), p)
    torch.testing.assert_close(distance, torch.full((2, 3), expected), rtol=1e-5, atol=1e-5)
    # without a [CLS] token: the same
    no_cls = uniform_attention(t=gh * gw)
    torch.testing.assert_close(mean_attention_distance(no_cls, (gh, gw), p), distance, rtol=1e-5, atol=1e-5)


def test_distance_of_looking_at_the_right_neighbour():
    """Every patch of a 1 x 3 grid of 4-pixel patches looks at the next one (the last at the first): 4, 4, 8 px."""
    a = torch.zeros(1, 1, 1, 4, 4)
    a[..., 0, 0] = 1.0  # [CLS] looks at itself
    a[..., 1, 2] = a[..., 2, 3] = a[..., 3, 1] = 1.0
    torch.testing.assert_close(mean_attention_distance(a, (1, 3), 4), torch.tensor([[16 / 3]]))


def test_weight_on_cls_is_left_out():
    """Half of each patch's weight on [CLS], half on one neighbour: the distance is the neighbour's, not half of it."""
    a = torch.zeros(1, 1, 1, 3, 3)
    a[..., 0, 0] = 1.0
    a[..., 1, 0] = a[..., 1, 2] = 0.5
    a[..., 2, 0] = a[..., 2, 1] = 0.5
    torch.testing.assert_close(mean_attention_distance(a, (1, 2), 3), torch.tensor([[3.0]]))


def test_rollout_of_one_layer_by_hand():
    a = torch.tensor([[0.2, 0.8], [0.6, 0.4]])
    heads = torch.stack([a, a.flip(-1)])  # two heads; their mean is [[0.5, 0.5], [0.5, 0.5]]
    rollout = attention_rollout(heads[None, None])
    torch.testing.assert_close(rollout, torch.tensor([[[0.75, 0.25], [0.25, 0.75]]]))


def test_rollout_multiplies_the_layers_first_to_last():
    a1 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # layer 1: both look at token 0
    a2 = torch.tensor([[0.0, 1.0], [0.0, 1.0]])  # layer 2: both look at token 1
    m1, m2 = 0.5 * a1 + 0.5 * torch.eye(2), 0.5 * a2 + 0.5 * torch.eye(2)  # rows already sum to 1
    rollout = attention_rollout(torch.stack([a1, a2])[:, None, None])
    torch.testing.assert_close(rollout[0], m2 @ m1)
    assert not torch.allclose(m2 @ m1, m1 @ m2)


def test_cls_maps_read_row_zero_over_the_grid():
    attention = random_attention(2, 3, 4, 17, seed=0)
    maps = cls_attention_maps(attention, (4, 4), layer=1, head=2)
    torch.testing.assert_close(maps, attention[1, :, 2, 0, 1:].reshape(3, 4, 4))
    torch.testing.assert_close(
        cls_attention_maps(attention, (4, 4)), attention[-1, :, :, 0, 1:].mean(1).reshape(3, 4, 4)
    )
    rollout_maps = cls_rollout_maps(attention, (4, 4))
    torch.testing.assert_close(rollout_maps, attention_rollout(attention)[:, 0, 1:].reshape(3, 4, 4))


def test_patch_centres():
    torch.testing.assert_close(
        patch_centres((2, 3), 4),
        torch.tensor([[1.5, 1.5], [1.5, 5.5], [1.5, 9.5], [5.5, 1.5], [5.5, 5.5], [5.5, 9.5]], dtype=torch.float64),
    )


def test_on_a_model():
    torch.manual_seed(0)
    model = ViT(ViTConfig(image_size=8, patch_size=2, in_chans=1, num_classes=10, embed_dim=16, depth=3, num_heads=2))
    _, attention = model(torch.rand(5, 1, 8, 8), return_attention=True)
    assert attention_rollout(attention).shape == (5, 17, 17)
    distance = mean_attention_distance(attention, model.patch_embed.grid_size, 2)
    assert distance.shape == (3, 2)
    assert (distance > 0).all() and (distance <= math.dist((0, 0), (6, 6))).all()


# --- properties -----------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    depth=st.integers(1, 4),
    b=st.integers(1, 3),
    heads=st.integers(1, 3),
    gh=st.integers(1, 4),
    gw=st.integers(1, 4),
    p=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_properties(depth, b, heads, gh, gw, p, seed):
    t = 1 + gh * gw
    attention = random_attention(depth, b, heads, t, seed)
    rollout = attention_rollout(attention)
    assert (rollout >= 0).all()
    torch.testing.assert_close(rollout.sum(-1), torch.ones(b, t))
    distance = mean_attention_distance(attention, (gh, gw), p)
    largest = math.dist((0, 0), ((gh - 1) * p, (gw - 1) * p))
    assert distance.shape == (depth, heads)
    assert (distance >= 0).all() and (distance <= largest + 1e-4).all()


# --- bad inputs -----------------------------------------------------------------------------------------------


def test_wrong_dims():
    with pytest.raises(ValueError, match=r"5-D \(depth, B, heads, T, T\).*attention\[None\]"):
        attention_rollout(torch.rand(2, 4, 17, 17))
    with pytest.raises(ValueError, match="5-D"):
        mean_attention_distance(torch.rand(17, 17), (4, 4), 2)
    with pytest.raises(ValueError, match="depth, B, heads"):
        cls_attention_maps(torch.rand(2, 4, 17, 17), (4, 4))


def test_not_a_tensor():
    with pytest.raises(TypeError, match="return_attention=True"):
        attention_rollout([[1.0]])


def test_non_square_attention():
    with pytest.raises(ValueError, match="17 x 16"):
        attention_rollout(torch.rand(1, 1, 1, 17, 16).softmax(-1))


def test_negative_or_nan_weights():
    a = random_attention(1, 1, 1, 5, 0)
    a[0, 0, 0, 1, 2] = -0.1
    with pytest.raises(ValueError, match="negative weights.*not the scores"):
        attention_rollout(a)
    a[0, 0, 0, 1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        mean_attention_distance(a, (2, 2), 2)


def test_mismatched_grid():
    with pytest.raises(ValueError, match=r"17 tokens but the grid 3x3 has 9 patches.*grid="):
        mean_attention_distance(random_attention(1, 1, 1, 17, 0), (3, 3), 2)
    with pytest.raises(ValueError, match="16 patches but the grid 3x3"):
        cls_attention_maps(random_attention(1, 1, 1, 17, 0), (3, 3))


def test_bad_grid_patch_size_layer_head():
    a = random_attention(2, 1, 2, 17, 0)
    with pytest.raises(ValueError, match="grid"):
        mean_attention_distance(a, (0, 4), 2)
    with pytest.raises(TypeError, match="patch_size"):
        mean_attention_distance(a, (4, 4), 2.5)
    with pytest.raises(ValueError, match="layer must be in"):
        cls_attention_maps(a, (4, 4), layer=2)
    with pytest.raises(ValueError, match="head must be in"):
        cls_attention_maps(a, (4, 4), head=5)
    with pytest.raises(TypeError, match="head"):
        cls_attention_maps(a, (4, 4), head=True)


def test_rollout_map_needs_cls():
    with pytest.raises(ValueError, match="no \\[CLS\\]"):
        cls_rollout_maps(random_attention(1, 1, 1, 16, 0), (4, 4))


def test_position_similarity_is_cosine_on_the_grid():
    table = torch.randn(1, 1 + 3 * 5, 8)
    sim = position_similarity(table, (3, 5))
    assert sim.shape == (15, 3, 5)
    flat = sim.reshape(15, 15)
    torch.testing.assert_close(flat, flat.T)
    torch.testing.assert_close(flat.diagonal(), torch.ones(15))
    want = nn.functional.cosine_similarity(table[0, 1 + 4], table[0, 1 + 12], dim=0)
    torch.testing.assert_close(sim[4, 2, 2], want)
    with pytest.raises(ValueError, match=r"holds 15 grid positions, which is not a square grid; pass grid=\(gh, gw\)"):
        position_similarity(table)
