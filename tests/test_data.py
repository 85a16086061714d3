"""vitlib.data: the photos and digits that ship inside scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_sample_image

from vitlib.data import PHOTOS, load_digits, load_photo, load_translated_digits


@pytest.mark.parametrize("name", PHOTOS)
def test_photo_is_the_scikit_learn_image_as_floats(name):
    photo = load_photo(name)
    assert photo.shape == (3, 427, 640) and photo.dtype == torch.float32
    assert 0.0 <= photo.min() and photo.max() <= 1.0
    original = torch.from_numpy(np.array(load_sample_image(f"{name}.jpg"))).permute(2, 0, 1)
    assert torch.equal((photo * 255).round().to(torch.uint8), original)


def test_photo_name_may_carry_the_extension():
    assert torch.equal(load_photo("flower.jpg", 16), load_photo("flower", 16))


def test_photo_is_writable_and_not_shared():
    a = load_photo("china", 8)
    a.zero_()
    assert load_photo("china", 8).abs().sum() > 0


@pytest.mark.parametrize(("size", "shape"), [(32, (3, 32, 32)), ((96, 160), (3, 96, 160)), ((200, 50), (3, 200, 50))])
def test_photo_resized(size, shape):
    photo = load_photo("china", size)
    assert photo.shape == shape
    assert 0.0 <= photo.min() and photo.max() <= 1.0


def test_resize_center_crops_instead_of_squashing():
    full = load_photo("flower")
    # A square of the full height, from the middle: resizing it to 427 x 427 changes nothing.
    square = load_photo("flower", (427, 427))
    left = (640 - 427) // 2
    torch.testing.assert_close(square, full[:, :, left : left + 427], atol=1e-5, rtol=0)


def test_resize_keeps_the_picture():
    small = load_photo("china", (61, 91))  # about 1/7 of the 427 x 640 photo, same aspect ratio
    shrunk = torch.nn.functional.avg_pool2d(load_photo("china")[None, :, :427, :637], 7)[0]
    assert (small - shrunk).abs().mean() < 0.05


@pytest.mark.parametrize("name", ["china.png", "lena", ""])
def test_unknown_photo_names_the_choices(name):
    with pytest.raises(ValueError, match=repr(name)) as info:
        load_photo(name)
    assert "china" in str(info.value) and "flower" in str(info.value)


@pytest.mark.parametrize(
    ("size", "error"), [(0, ValueError), ((32, -1), ValueError), ("big", TypeError), (2.5, TypeError)]
)
def test_bad_photo_size(size, error):
    with pytest.raises(error, match="size"):
        load_photo("china", size)


def test_digits_split_is_seeded_stratified_and_complete():
    digits = load_digits()
    assert digits.x_train.shape == (1437, 1, 8, 8) and digits.x_test.shape == (360, 1, 8, 8)
    assert digits.x_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    assert set(digits.y_test.tolist()) == set(range(10))
    counts = np.bincount(digits.y_test.numpy())
    assert counts.min() >= 35  # stratified: about 36 of each digit
    again = load_digits()
    assert torch.equal(again.x_train, digits.x_train) and torch.equal(again.y_test, digits.y_test)
    other = load_digits(seed=1)
    assert not torch.equal(other.y_train, digits.y_train)


def test_digits_test_fraction():
    digits = load_digits(test_fraction=0.5)
    assert len(digits.y_train) + len(digits.y_test) == 1797
    assert abs(len(digits.y_test) - 898) <= 1


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_digits_bad_test_fraction(fraction):
    with pytest.raises(ValueError, match=str(fraction)):
        load_digits(test_fraction=fraction)


def test_digit_splits_keep_the_test_part_and_split_the_training_part_again():
    from vitlib.data import load_digit_splits

    splits, digits = load_digit_splits(seed=3), load_digits(seed=3)
    assert torch.equal(splits.x_test, digits.x_test) and torch.equal(splits.y_test, digits.y_test)
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (1149, 288, 360)
    # train + validation are exactly load_digits' training images, none twice
    rows = lambda x: sorted(map(tuple, x.flatten(1).tolist()))  # noqa: E731
    assert rows(torch.cat([splits.x_train, splits.x_val])) == rows(digits.x_train)
    assert torch.equal(torch.bincount(torch.cat([splits.y_train, splits.y_val])), torch.bincount(digits.y_train))
    share = torch.bincount(splits.y_val, minlength=10) / torch.bincount(digits.y_train, minlength=10)
    assert (share - 0.2).abs().max() < 0.02  # stratified: each class gives a fifth
    again, other = load_digit_splits(seed=3), load_digit_splits(seed=4)
    assert torch.equal(again.x_val, splits.x_val) and not torch.equal(other.x_val, splits.x_val)
    assert len(load_digit_splits(val_fraction=0.1, test_fraction=0.3).y_test) == 540


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"val_fraction": 0.0}, "val_fraction"), ({"val_fraction": 1}, "val_fraction")]
)
def test_digit_splits_refuse_a_bad_fraction(kwargs, match):
    from vitlib.data import load_digit_splits

    with pytest.raises(ValueError, match=match):
        load_digit_splits(**kwargs)


# --- the translated digits (notebook 10) -------------------------------------------------------------------------


def _offsets(image: torch.Tensor, digit: torch.Tensor, scale: int = 2) -> list[tuple[int, int]]:
    """Every place where ``digit`` scaled ``scale`` times sits on ``image`` with nothing else on the canvas."""
    big = digit.repeat_interleave(scale, -2).repeat_interleave(scale, -1)
    side, canvas = big.shape[-1], image.shape[-1]
    found = []
    for top in range(canvas - side + 1):
        for left in range(canvas - side + 1):
            rest = image.clone()
            crop = rest[..., top : top + side, left : left + side]
            if torch.equal(crop, big):
                crop.zero_()
                if not rest.any():
                    found.append((top, left))
    return found


def test_translated_digits_shapes_labels_and_split():
    digits = load_digits(seed=0)
    moved = load_translated_digits(seed=0)
    assert moved.x_train.shape == (4 * 1437, 1, 24, 24) and moved.x_test.shape == (360, 1, 24, 24)
    assert moved.x_train.dtype == torch.float32 and 0 <= moved.x_train.min() and moved.x_train.max() <= 1
    # the labels are load_digits' own, the training ones repeated once per copy
    assert torch.equal(moved.y_test, digits.y_test)
    assert torch.equal(moved.y_train, digits.y_train.repeat(4))
    # each image is its digit, scaled 2x, somewhere on a blank canvas: the pixel mass is 4x the digit's
    torch.testing.assert_close(moved.x_test.sum(dim=(1, 2, 3)), 4 * digits.x_test.sum(dim=(1, 2, 3)))
    torch.testing.assert_close(moved.x_train.sum(dim=(1, 2, 3)), 4 * digits.x_train.sum(dim=(1, 2, 3)).repeat(4))
    for i in (0, 1, 2):
        assert _offsets(moved.x_test[i], digits.x_test[i]), f"test image {i} is not its digit placed on the canvas"
        for copy in range(4):
            assert _offsets(moved.x_train[copy * 1437 + i], digits.x_train[i])


def test_translated_digits_are_seeded_and_places_vary():
    a, b = load_translated_digits(seed=0, copies=2), load_translated_digits(seed=0, copies=2)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_test, b.x_test)
    other = load_translated_digits(seed=1, copies=2)
    assert not torch.equal(a.x_test, other.x_test)
    digits = load_digits(seed=0)
    places = {_offsets(a.x_test[i], digits.x_test[i])[0] for i in range(40)}
    assert len(places) > 20  # 81 places on a 24 x 24 canvas: 40 digits land on many of them
    tops = [p[0] for p in places] + [p[1] for p in places]
    assert min(tops) >= 0 and max(tops) <= 8
    # the two copies of one training digit are placed independently
    assert not torch.equal(a.x_train[:1437], a.x_train[1437:])


def test_translated_digits_other_canvas_and_scale():
    moved = load_translated_digits(canvas=16, scale=1, copies=1, seed=0)
    assert moved.x_train.shape == (1437, 1, 16, 16)
    digits = load_digits(seed=0)
    assert _offsets(moved.x_test[0], digits.x_test[0], scale=1)
    exact = load_translated_digits(canvas=16, scale=2, copies=1, seed=0)  # fits in one place only
    big = digits.x_test.repeat_interleave(2, -2).repeat_interleave(2, -1)
    assert torch.equal(exact.x_test, big)
