"""vitlib.checks: the argument checks every module shares (kinds, values, messages that name the fix)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from vitlib import checks


@pytest.mark.parametrize("value", [3, np.int64(3), torch.tensor(3), np.uint8(3)])
def test_whole_accepts_every_kind_of_integer(value):
    out = checks.whole(value, "n")
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, 3.0, "3", None, torch.tensor([1, 2]), torch.tensor(3.0), np.float32(3)])
def test_whole_refuses_what_is_not_a_whole_number(value):
    with pytest.raises(TypeError, match=r"n must be a whole number \(an int\); got .*Pass e\.g\. n=4\."):
        checks.whole(value, "n", example=4)


def test_sizes_and_their_messages():
    with pytest.raises(
        ValueError, match=r"^num_heads must be a positive whole number; got 0\. Pass e\.g\. num_heads=3\.$"
    ):
        checks.positive_int(0, "num_heads", example=3)
    with pytest.raises(ValueError, match=r"^seed must be a whole number >= 0; got -1\.$"):
        checks.nonnegative_int(-1, "seed")
    assert checks.nonnegative_int(0, "seed") == 0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_real_refuses_non_finite_numbers(value):
    with pytest.raises(ValueError, match="lr must be a finite number"):
        checks.real(value, "lr")


@pytest.mark.parametrize("value", [True, "0.1", None, [0.1], torch.tensor([0.1, 0.2])])
def test_real_refuses_what_is_not_a_number(value):
    with pytest.raises(TypeError, match="lr must be a real number"):
        checks.real(value, "lr")


def test_real_accepts_numpy_and_0d_tensors():
    assert checks.real(np.float32(0.5), "x") == 0.5
    assert checks.real(torch.tensor(0.25), "x") == 0.25
    assert checks.positive_float(2, "x") == 2.0 and checks.nonnegative_float(0, "x") == 0.0
    with pytest.raises(ValueError, match="x must be > 0; got 0.0"):
        checks.positive_float(0, "x")
    with pytest.raises(ValueError, match="x must be >= 0; got -1.0"):
        checks.nonnegative_float(-1, "x")


def test_fraction_ends():
    assert checks.fraction(0.0, "p") == 0.0 and checks.fraction(1.0, "p") == 1.0
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\); got 1\.0"):
        checks.fraction(1.0, "p", high_open=True)
    with pytest.raises(ValueError, match=r"p must be in \(0, 1\]; got 0\.0"):
        checks.fraction(0.0, "p", low_open=True)


@pytest.mark.parametrize(("size", "expected"), [(8, (8, 8)), ((4, 6), (4, 6)), ([2, 3], (2, 3)), (np.int64(5), (5, 5))])
def test_int_pair(size, expected):
    assert checks.int_pair(size, "image_size") == expected


@pytest.mark.parametrize(
    ("size", "error"),
    [("32", TypeError), (True, TypeError), ((1, 2, 3), TypeError), (None, TypeError), ((0, 4), ValueError)],
)
def test_int_pair_refuses(size, error):
    with pytest.raises(error, match="image_size must"):
        checks.int_pair(size, "image_size")


def test_choice_names_the_choices():
    assert checks.choice("mean", "pool", ("token", "mean")) == "mean"
    with pytest.raises(ValueError, match=r"^pool must be 'token' or 'mean'; got 'max'\.$"):
        checks.choice("max", "pool", ("token", "mean"))
    with pytest.raises(ValueError, match=r"must be one of 'a', 'b', 'c'; got 1"):
        checks.choice(1, "x", ("a", "b", "c"))
    with pytest.raises(ValueError, match="got True"):  # True == 1, but it is not the choice 1
        checks.choice(True, "x", (1, 2))


def test_float_images_policy():
    x = torch.rand(2, 1, 4, 4)
    assert checks.float_images(x) is x  # float32: as it is, no copy
    assert checks.float_images(x.double(), dtype=torch.float32).dtype == torch.float32
    assert checks.float_images(x.half()).dtype == torch.float16  # no dtype asked: kept
    with pytest.raises(TypeError, match=r"images must be floating point; got torch.uint8.*images.float\(\) / 255"):
        checks.float_images((x * 255).to(torch.uint8))
    with pytest.raises(TypeError, match=r"numpy array.*torch.from_numpy\(images\).float\(\)"):
        checks.float_images(x.numpy())
    with pytest.raises(ValueError, match=r"4-D \(B, C, H, W\); got shape \(1, 4, 4\).*unsqueeze\(0\)"):
        checks.float_images(x[0])
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    assert checks.float_images(bad) is bad  # finite not asked
    with pytest.raises(ValueError, match="images hold 1 NaN or infinite value"):
        checks.float_images(bad, finite=True)


def test_tokens_check():
    x = torch.zeros(2, 5, 8)
    assert checks.tokens(x, dim=8) is x
    with pytest.raises(ValueError, match=r"x must be tokens of shape \(B, N, 8\); got \(5, 8\)\. Add a batch"):
        checks.tokens(x[0], dim=8)
    with pytest.raises(TypeError, match=r"x must be floating point; got torch.int64"):
        checks.tokens(x.long(), dim=8)
    with pytest.raises(TypeError, match="torch.from_numpy"):
        checks.tokens(x.numpy(), dim=8)


@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_positive_int_is_exactly_the_positive_integers(n):
    if n >= 1:
        assert checks.positive_int(n, "n") == n
    else:
        with pytest.raises(ValueError, match=f"n must be a positive whole number; got {n}"):
            checks.positive_int(n, "n")


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_fraction_accepts_exactly_the_finite_values_in_range(value):
    inside = math.isfinite(value) and 0.0 <= value < 1.0
    if inside:
        assert checks.fraction(value, "mask_ratio", high_open=True) == value
    else:
        with pytest.raises(ValueError, match="mask_ratio must be"):
            checks.fraction(value, "mask_ratio", high_open=True)


@given(st.one_of(st.integers(1, 64), st.tuples(st.integers(-3, 64), st.integers(-3, 64))))
def test_int_pair_property(size):
    pair = (size, size) if isinstance(size, int) else size
    if min(pair) >= 1:
        assert checks.int_pair(size, "grid") == pair
    else:
        with pytest.raises(ValueError, match=r"grid must hold positive ints"):
            checks.int_pair(size, "grid")
