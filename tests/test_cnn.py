"""vitlib.cnn (the CNN baseline of notebook 09), vitlib.data.stratified_subset, and the ViT without positions."""

from __future__ import annotations

import pytest
import torch

import vitlib
from vitlib.cnn import CNN, CNNConfig
from vitlib.data import load_digits, stratified_subset
from vitlib.train import TrainConfig, evaluate, fit


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


# --- the CNN -------------------------------------------------------------------------------------------------------


def test_cnn_shapes():
    model = CNN()
    x = torch.randn(5, 1, 8, 8)
    assert model.feature_map(x).shape == (5, 64, 4, 4)
    assert model.forward_features(x).shape == (5, 64)
    assert model(x).shape == (5, 10)
    wide = CNN(in_chans=3, num_classes=7, channels=(8, 12, 24))
    assert [m.num_groups for m in wide.modules() if isinstance(m, torch.nn.GroupNorm)] == [8, 4, 8]
    assert wide(torch.randn(2, 3, 12, 20)).shape == (2, 7)
    assert wide.feature_map(torch.randn(2, 3, 12, 20)).shape == (2, 24, 6, 10)


def test_cnn_parameter_count_by_formula():
    def conv(cin, cout, k=3):
        return cin * cout * k * k + cout + 2 * cout  # weights, bias, GroupNorm's weight and bias

    expected = conv(1, 32) + conv(32, 64) + conv(64, 64) + 64 * 10 + 10
    assert sum(p.numel() for p in CNN().parameters()) == expected == 56_714
    # the same order as notebook 06's ViT
    vit = sum(p.numel() for p in vitlib.ViT.from_preset("digits_p4").parameters())
    assert 0.1 < expected / vit < 10


def test_cnn_config_and_num_classes_for_evaluate():
    model = CNN(CNNConfig(num_classes=4))
    assert model.config.num_classes == 4 and model.config.channels == (32, 64, 64)


@pytest.mark.parametrize(
    ("overrides", "error", "words"),
    [
        ({"channels": (32, 64)}, TypeError, "three ints"),
        ({"channels": (32, 0, 64)}, ValueError, "channels"),
        ({"kernel_size": 4}, ValueError, "odd"),
        ({"num_classes": 0}, ValueError, "num_classes"),
        ({"in_chans": 1.5}, TypeError, "in_chans"),
        ({"depth": 3}, TypeError, "unknown CNN setting"),
    ],
)
def test_cnn_bad_settings_are_named(overrides, error, words):
    with pytest.raises(error, match=words):
        CNN(**overrides)


def test_cnn_bad_images_are_named():
    model = CNN()
    with pytest.raises(ValueError, match="in_chans=3"):
        model(torch.randn(2, 3, 8, 8))
    with pytest.raises(TypeError, match=r"float\(\) / 255"):
        model(torch.zeros(2, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="unsqueeze"):
        model(torch.randn(1, 8, 8))
    with pytest.raises(ValueError, match="2 x 2"):
        model(torch.randn(1, 1, 1, 8))


def test_cnn_feature_map_is_translation_equivariant_away_from_the_border():
    torch.manual_seed(0)
    model = CNN().eval()
    x = torch.zeros(1, 1, 32, 32)
    x[..., 12:20, 12:20] = torch.rand(8, 8)
    shifted = torch.roll(x, shifts=(2, 2), dims=(2, 3))  # 2 pixels = one cell of the pooled map
    with torch.no_grad():
        a, b = model.feature_map(x), model.feature_map(shifted)
    torch.testing.assert_close(torch.roll(a, shifts=(1, 1), dims=(2, 3))[..., 4:12, 4:12], b[..., 4:12, 4:12])
    assert not torch.allclose(a[..., 4:12, 4:12], b[..., 4:12, 4:12])  # the map did move


def test_cnn_is_the_same_in_training_and_evaluation():
    torch.manual_seed(0)
    model = CNN()
    x = torch.randn(6, 1, 8, 8)
    with torch.no_grad():
        train_out = model.train()(x)
        torch.testing.assert_close(model.eval()(x), train_out)  # no running statistics, no dropout
        torch.testing.assert_close(model(x[:1]), train_out[:1])  # and each image independent of its batch


def test_training_the_cnn_with_fit_lowers_its_loss(digits):
    torch.manual_seed(0)
    model = CNN()
    x, y = digits.x_train[:256], digits.y_train[:256]
    history = fit(model, x, y, config=TrainConfig(epochs=6, mixup=0.0, elastic=0.0, max_shift=0.0), progress=False)
    assert len(history.loss) == 6 * 4
    assert sum(history.train_loss[-2:]) < 0.8 * sum(history.train_loss[:2])
    assert evaluate(model, digits.x_test, digits.y_test).accuracy > 0.5  # chance is 0.1


# --- the ViT without positions -------------------------------------------------------------------------------------


def test_vit_without_positions_is_blind_to_the_order_of_its_patches():
    torch.manual_seed(0)
    model = vitlib.ViT.from_preset("digits_p4", pos_embed="none").eval()
    assert "pos_embed" not in model.state_dict() and not any("pos_embed" in n for n, _ in model.named_parameters())
    x = torch.rand(3, 1, 8, 8)
    swapped = torch.cat([x[..., 4:], x[..., :4]], dim=-1)  # the left and right patch columns exchanged
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(swapped))
        with_positions = vitlib.ViT.from_preset("digits_p4").eval()
        assert not torch.allclose(with_positions(x), with_positions(swapped))


def test_pos_embed_choice_is_checked():
    with pytest.raises(ValueError, match="'none'"):
        vitlib.ViT.from_preset("digits_p4", pos_embed="absent")


@pytest.mark.parametrize(
    ("preset", "published"),
    [
        ("vit_tiny_patch16_224", 5.7e6),
        ("vit_small_patch16_224", 22e6),
        ("vit_base_patch16_224", 86e6),
        ("vit_large_patch16_224", 307e6),
        ("vit_huge_patch14_224", 632e6),
    ],
)
def test_preset_sizes_match_the_papers(preset, published):
    with torch.device("meta"):  # shapes only: no memory for the weights
        model = vitlib.ViT.from_preset(preset)
    count = sum(p.numel() for p in model.parameters())
    assert abs(count - published) / published < 0.02, f"{preset}: {count:,} vs {published:,.0f}"


# --- stratified_subset ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 1.0])
def test_subset_keeps_every_class_in_its_share(digits, fraction):
    x, y = stratified_subset(digits.x_train, digits.y_train, fraction, seed=3)
    full = torch.bincount(digits.y_train, minlength=10)
    counts = torch.bincount(y, minlength=10)
    assert (counts >= 1).all()
    assert torch.equal(counts, torch.round(fraction * full.double()).long().clamp(min=1))
    assert x.shape == (len(y), 1, 8, 8)
    assert abs(len(y) - fraction * len(digits.y_train)) <= 10
    # the images travel with their labels: each subset image is a training image of the same label
    flat = digits.x_train.flatten(1)
    for image, label in zip(x[:20], y[:20], strict=True):
        match = (flat == image.flatten()).all(dim=1).nonzero().flatten()
        assert len(match) >= 1 and (digits.y_train[match] == label).any()


def test_subset_is_deterministic_per_seed_and_nested(digits):
    a = stratified_subset(digits.x_train, digits.y_train, 0.25, seed=1)
    b = stratified_subset(digits.x_train, digits.y_train, 0.25, seed=1)
    c = stratified_subset(digits.x_train, digits.y_train, 0.25, seed=2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    # a smaller fraction of the same seed is part of a larger one
    small = stratified_subset(digits.x_train, digits.y_train, 0.1, seed=1)[0].flatten(1)
    large = a[0].flatten(1)
    assert all((large == row).all(dim=1).any() for row in small)


def test_subset_of_a_rare_class_keeps_one():
    labels = torch.tensor([0] * 50 + [1])
    _, y = stratified_subset(torch.arange(51.0), labels, 0.1, seed=0)
    assert torch.equal(torch.bincount(y), torch.tensor([5, 1]))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        ((0.0,), {}, ValueError, r"fraction must be in \(0, 1\]"),
        ((1.5,), {}, ValueError, "fraction=0.25"),
        (("half",), {}, TypeError, "fraction"),
        ((0.5,), {"seed": -1}, ValueError, "seed"),
        ((0.5,), {"seed": 1.0}, TypeError, "seed"),
    ],
)
def test_subset_bad_arguments_are_named(digits, args, kwargs, error, words):
    with pytest.raises(error, match=words):
        stratified_subset(digits.x_train, digits.y_train, *args, **kwargs)


def test_subset_bad_data_is_named(digits):
    with pytest.raises(ValueError, match="one label per image"):
        stratified_subset(digits.x_train, digits.y_train[:-1], 0.5)
    with pytest.raises(TypeError, match="labels.long"):
        stratified_subset(digits.x_train, digits.y_train.float(), 0.5)
    with pytest.raises(TypeError, match="torch tensors"):
        stratified_subset(digits.x_train.numpy(), digits.y_train, 0.5)
    with pytest.raises(ValueError, match="empty"):
        stratified_subset(torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long), 0.5)
