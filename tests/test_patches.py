"""vitlib.patches: patchify, its routes, unpatchify, and the errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vitlib.checks import valid_patch_sizes
from vitlib.patches import grid_size, patchify, unpatchify
from vitlib.routes import ROUTES, patchify_unfold

PROPERTY = settings(max_examples=40, deadline=None)


def seed_snippet(img: torch.Tensor, patch_size: int) -> torch.Tensor:
    """The seed's snippet, generalised from (1, 3, 32, 32) and P = 16 to any size."""
    b, c, h, w = img.shape
    gh, gw = h // patch_size, w // patch_size
    patches = img.unfold(2, patch_size, patch_size).unfold(3, patch_size, patch_size)
    patches = patches.contiguous().view(b, c, gh, gw, patch_size, patch_size)
    patches = patches.permute(0, 2, 3, 1, 4, 5).contiguous()
    return patches.view(b, gh * gw, -1)


@st.composite
def batches(draw, dtype=torch.float32):
    """A random (B, C, gh*P, gw*P) tensor and its P, square or not."""
    b = draw(st.integers(1, 3))
    c = draw(st.integers(1, 4))
    p = draw(st.integers(1, 6))
    gh, gw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, gh * p, gw * p, generator=g).to(dtype), p


# --- the seed's worked example ---------------------------------------------------------


def test_seed_example_shapes():
    img = torch.randn(1, 3, 32, 32)
    assert img.unfold(2, 16, 16).shape == (1, 3, 2, 32, 16)
    assert img.unfold(2, 16, 16).unfold(3, 16, 16).shape == (1, 3, 2, 2, 16, 16)
    assert img.unfold(2, 16, 16).unfold(3, 16, 16).permute(0, 2, 3, 1, 4, 5).shape == (1, 2, 2, 3, 16, 16)
    assert patchify(img, 16).shape == (1, 4, 768)
    assert torch.equal(patchify(img, 16), seed_snippet(img, 16))


def test_view_after_permute_fails_without_contiguous():
    permuted = torch.randn(1, 3, 32, 32).unfold(2, 16, 16).unfold(3, 16, 16).permute(0, 2, 3, 1, 4, 5)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        permuted.view(1, 4, -1)
    assert torch.equal(permuted.contiguous().view(1, 4, -1), permuted.reshape(1, 4, -1))


def test_patch_order_is_row_major_and_each_patch_is_c_p_p():
    img = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)  # a 2 x 3 grid of 2 x 2 patches
    tokens = patchify(img, 2)
    assert tokens.shape == (2, 6, 12)
    for b in range(2):
        for r in range(2):
            for col in range(3):
                expected = img[b, :, 2 * r : 2 * r + 2, 2 * col : 2 * col + 2].flatten()  # (C, P, P) order
                assert torch.equal(tokens[b, r * 3 + col], expected)


def test_patchify_keeps_dtype_and_works_for_integers():
    img = torch.arange(1 * 3 * 8 * 8, dtype=torch.uint8).reshape(1, 3, 8, 8)
    tokens = patchify(img, 4)
    assert tokens.dtype == torch.uint8
    assert torch.equal(unpatchify(tokens, 4, 8), img)
    assert torch.equal(patchify_unfold(img, 4), tokens)


def test_patch_size_accepts_numpy_and_tensor_integers():
    img = torch.randn(1, 2, 8, 12)
    assert torch.equal(patchify(img, np.int64(4)), patchify(img, 4))
    assert torch.equal(unpatchify(patchify(img, 4), torch.tensor(4), (8, 12)), img)


def test_whole_image_and_single_pixel_patches():
    img = torch.randn(2, 3, 5, 7)
    assert torch.equal(patchify(img, 1), img.flatten(2).transpose(1, 2))  # every pixel a token of C numbers
    square = torch.randn(2, 3, 6, 6)
    assert torch.equal(patchify(square, 6), square.reshape(2, 1, -1))


# --- grid_size and valid_patch_sizes ---------------------------------------------------


@pytest.mark.parametrize(
    ("image_size", "patch_size", "grid"),
    [((32, 32), 16, (2, 2)), (224, 16, (14, 14)), ((96, 160), 16, (6, 10)), ((7, 21), 7, (1, 3))],
)
def test_grid_size(image_size, patch_size, grid):
    assert grid_size(image_size, patch_size) == grid


def test_grid_size_names_the_side_and_lists_sizes_that_work():
    with pytest.raises(ValueError, match=r"patch_size=16 does not divide the image width 100") as info:
        grid_size((64, 100), 16)
    message = str(info.value)
    assert "height" not in message  # 64 is fine
    assert "[1, 2, 4]" in message  # the divisors of gcd(64, 100) = 4


def test_grid_size_names_both_sides_when_both_fail():
    with pytest.raises(ValueError, match=r"height 30 and width 50"):
        grid_size((30, 50), 4)


@pytest.mark.parametrize(
    ("image_size", "sizes"),
    [(12, [1, 2, 3, 4, 6, 12]), ((96, 160), [1, 2, 4, 8, 16, 32]), ((427, 640), [1]), ((7, 7), [1, 7])],
)
def test_valid_patch_sizes(image_size, sizes):
    assert valid_patch_sizes(image_size) == sizes


@given(st.integers(1, 200), st.integers(1, 200))
@PROPERTY
def test_valid_patch_sizes_are_exactly_the_common_divisors(h, w):
    sizes = valid_patch_sizes((h, w))
    assert sizes == [p for p in range(1, min(h, w) + 1) if h % p == 0 and w % p == 0]
    for p in sizes:
        assert grid_size((h, w), p) == (h // p, w // p)


@pytest.mark.parametrize(
    ("image_size", "error", "shown"),
    [
        ("ab", TypeError, "'ab'"),
        ("a", TypeError, "'a'"),
        ((4, 4, 4), TypeError, "(4, 4, 4)"),
        ((4, 0), ValueError, "(4, 0)"),
        (-3, ValueError, "(-3, -3)"),
        ((4.0, 4), ValueError, "(4.0, 4)"),
        (True, TypeError, "True"),
        (None, TypeError, "None"),
    ],
)
def test_bad_image_size(image_size, error, shown):
    with pytest.raises(error, match="image_size") as info:
        valid_patch_sizes(image_size)
    assert shown in str(info.value)


# --- bad input to patchify ---------------------------------------------------------------


@pytest.mark.parametrize("route", [patchify, *ROUTES.values()])
def test_three_d_image_gets_the_unsqueeze_hint(route):
    with pytest.raises(ValueError, match=r"got shape \(3, 32, 32\)") as info:
        route(torch.randn(3, 32, 32), 16)
    assert "unsqueeze(0)" in str(info.value)


@pytest.mark.parametrize("shape", [(32,), (32, 32), (1, 1, 3, 32, 32)])
def test_images_that_are_not_four_d(shape):
    with pytest.raises(ValueError, match="must be 4-D") as info:
        patchify(torch.randn(shape), 16)
    assert f"got shape {shape}" in str(info.value)
    assert "unsqueeze" not in str(info.value)  # the batch hint is only for a single (C, H, W) image


@pytest.mark.parametrize("images", [[[1.0, 2.0]], np.zeros((1, 3, 8, 8)), None])
def test_images_that_are_not_tensors(images):
    with pytest.raises(
        TypeError, match="numpy array" if isinstance(images, np.ndarray) else type(images).__name__
    ) as info:
        patchify(images, 4)
    assert (
        "torch.from_numpy" in str(info.value)
        if isinstance(images, np.ndarray)
        else "torch.as_tensor" in str(info.value)
    )


@pytest.mark.parametrize(
    ("patch_size", "error", "shown"),
    [(0, ValueError, "got 0"), (-4, ValueError, "got -4"), (4.0, TypeError, "4.0"), ("16", TypeError, "'16'")],
)
@pytest.mark.parametrize("route", [patchify, *ROUTES.values()])
def test_bad_patch_size(route, patch_size, error, shown):
    with pytest.raises(error, match="patch_size") as info:
        route(torch.randn(1, 3, 8, 8), patch_size)
    assert shown in str(info.value)


def test_bool_patch_size_is_a_type_error():
    with pytest.raises(TypeError, match="got True"):
        patchify(torch.randn(1, 3, 8, 8), True)


@pytest.mark.parametrize("route", [patchify, *ROUTES.values()])
def test_patch_size_that_does_not_divide_lists_the_sizes_that_work(route):
    with pytest.raises(ValueError, match=r"patch_size=5 does not divide the image height 32 and width 48") as info:
        route(torch.randn(2, 3, 32, 48), 5)
    assert "[1, 2, 4, 8, 16]" in str(info.value)


# --- bad input to unpatchify -------------------------------------------------------------


def test_unpatchify_square_int_and_pair_agree():
    img = torch.randn(2, 3, 8, 8)
    assert torch.equal(unpatchify(patchify(img, 4), 4, 8), unpatchify(patchify(img, 4), 4, (8, 8)))


def test_unpatchify_two_d_gets_the_unsqueeze_hint():
    with pytest.raises(ValueError, match=r"got shape \(4, 12\)") as info:
        unpatchify(torch.randn(4, 12), 2, 4)
    assert "unsqueeze(0)" in str(info.value)


def test_unpatchify_four_d_is_refused():
    with pytest.raises(ValueError, match=r"must be 3-D .* got shape \(1, 4, 3, 4\)"):
        unpatchify(torch.randn(1, 4, 3, 4), 2, 4)


def test_unpatchify_needs_a_tensor():
    with pytest.raises(TypeError, match="got list"):
        unpatchify([[0.0]], 2, 4)


def test_unpatchify_last_dimension_that_is_not_c_p_p():
    with pytest.raises(ValueError, match=r"last dimension of patches \(10\) is not C\*P\*P for patch_size=2"):
        unpatchify(torch.randn(1, 4, 10), 2, (4, 4))


def test_unpatchify_token_count_that_does_not_fit():
    with pytest.raises(ValueError, match=r"N=3 tokens, but a 4x4 image cut into 2x2 patches has 2x2=4"):
        unpatchify(torch.randn(1, 3, 12), 2, (4, 4))


def test_unpatchify_image_size_that_the_patch_size_does_not_divide():
    with pytest.raises(ValueError, match=r"patch_size=3 does not divide the image height 4 and width 4"):
        unpatchify(torch.randn(1, 4, 9), 3, 4)


@pytest.mark.parametrize(("patch_size", "error"), [(0, ValueError), (2.0, TypeError)])
def test_unpatchify_bad_patch_size(patch_size, error):
    with pytest.raises(error, match="patch_size"):
        unpatchify(torch.randn(1, 4, 12), patch_size, 4)


# --- properties over random sizes -------------------------------------------------------


@given(batches())
@PROPERTY
def test_unpatchify_inverts_patchify_exactly(case):
    x, p = case
    b, c, h, w = x.shape
    tokens = patchify(x, p)
    assert tokens.shape == (b, (h // p) * (w // p), c * p * p)
    assert torch.equal(unpatchify(tokens, p, (h, w)), x)


@given(batches())
@PROPERTY
def test_patchify_inverts_unpatchify_exactly(case):
    x, p = case
    h, w = x.shape[-2:]
    tokens = torch.randn_like(patchify(x, p))
    assert torch.equal(patchify(unpatchify(tokens, p, (h, w)), p), tokens)


def _wrong_permute(x: torch.Tensor, p: int, order: tuple[int, ...]) -> torch.Tensor:
    b, c, h, w = x.shape
    grid = x.unfold(2, p, p).unfold(3, p, p).permute(*order)
    return grid.reshape(b, (h // p) * (w // p), c * p * p)


@given(batches(), st.sampled_from([(0, 2, 3, 1, 5, 4), (0, 3, 2, 1, 4, 5), (0, 2, 3, 4, 5, 1)]))
@PROPERTY
def test_a_wrong_permute_is_caught(case, order):
    x, p = case
    c, gh, gw = x.shape[1], x.shape[2] // p, x.shape[3] // p
    wrong = _wrong_permute(x, p, order)
    right = patchify(x, p)
    # A permutation that only reorders axes of length 1 is not wrong for that size; any other is seen.
    harmless = {
        (0, 2, 3, 1, 5, 4): p == 1,
        (0, 3, 2, 1, 4, 5): gh == 1 or gw == 1,
        (0, 2, 3, 4, 5, 1): c == 1 or p == 1,
    }[order]
    if harmless:
        assert torch.equal(wrong, right)
    else:
        assert not torch.equal(wrong, right)
        assert not torch.equal(unpatchify(wrong, p, x.shape[-2:]), x)


def test_routes_table_names_three_routes():
    assert set(ROUTES) == {"reshape/permute", "Tensor.unfold", "F.unfold"}


def test_patchify_keeps_gradients():
    x = torch.randn(1, 3, 8, 8, requires_grad=True)
    patchify(x, 4).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
