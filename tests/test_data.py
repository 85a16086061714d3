"""vitlib.data: the photos and digits that ship inside scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_sample_image

from vitlib.data import PHOTOS, load_digits, load_photo


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
