"""Notebook 08's helpers: the shapes task, its plots, the mask-ratio widget and the exercise checkers."""

import pytest
import torch
from matplotlib.figure import Figure
from solutions_support import load_solutions

import vitlib
from vitlib import analysis, viz, widgets
from vitlib.data import make_shapes
from vitlib.exercises import nb08


def _solutions():
    return load_solutions("08")


# --- the shapes task ---------------------------------------------------------------------------------------------


def test_make_shapes_labels_are_the_patches_that_hold_shape_pixels():
    data = make_shapes(20, image_size=32, patch_size=4, seed=5)
    assert data.images.shape == (20, 1, 32, 32) and data.masks.shape == (20, 32, 32)
    assert data.patch_labels.shape == (20, 64) and data.patch_labels.dtype == torch.int64
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0
    # label (r, c) is 1 exactly when the mask has a pixel in that patch
    blocks = data.masks.reshape(20, 8, 4, 8, 4).any(dim=(2, 4)).reshape(20, 64)
    assert torch.equal(data.patch_labels.bool(), blocks)
    assert (data.patch_labels.sum(dim=1) >= 1).all()  # every image holds at least one shape
    # shape pixels are brighter than the background on average
    assert data.images[:, 0][data.masks].mean() > data.images[:, 0][~data.masks].mean() + 0.3


def test_make_shapes_is_seeded():
    a, b, c = make_shapes(8, seed=1), make_shapes(8, seed=1), make_shapes(8, seed=2)
    assert torch.equal(a.images, b.images) and torch.equal(a.patch_labels, b.patch_labels)
    assert not torch.equal(a.images, c.images)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be a positive whole number; got 0"),
        ({"patch_size": 5}, "5"),
        ({"max_shapes": 0}, "max_shapes"),
    ],
)
def test_make_shapes_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_shapes(**{"n": 4, **kwargs})


# --- plots -------------------------------------------------------------------------------------------------------


def test_plot_masking_and_predictions_return_figures():
    image = torch.rand(3, 32, 32)
    mask = torch.zeros(16)
    mask[:12] = 1
    fig = viz.plot_masking(image, 8, mask)
    assert isinstance(fig, Figure) and "the encoder sees 4 patches" in fig.axes[2].get_title()
    with pytest.raises(ValueError, match="16 patches"):
        viz.plot_masking(image, 8, torch.zeros(10))
    data = make_shapes(3, seed=0)
    fig = viz.plot_patch_predictions(data.images, data.patch_labels, data.patch_labels.float(), 4)
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match="one value per patch"):
        viz.plot_patch_predictions(data.images, data.patch_labels[:, :10], data.patch_labels.float(), 4)


def test_cls_attention_maps_reads_row_zero_of_the_last_layer():
    attention = torch.rand(3, 2, 4, 1 + 6, 1 + 6)
    maps = analysis.cls_attention_maps(attention, (2, 3))
    torch.testing.assert_close(maps, attention[-1, :, :, 0, 1:].mean(dim=1).reshape(2, 2, 3))
    torch.testing.assert_close(
        analysis.cls_attention_maps(attention, (2, 3), layer=0, head=1)[1].flatten(), attention[0, 1, 1, 0, 1:]
    )
    with pytest.raises(ValueError, match="grid 3x3 has 9"):
        analysis.cls_attention_maps(attention, (3, 3))
    with pytest.raises(ValueError, match="return_attention=True"):
        analysis.cls_attention_maps(attention[0], (2, 3))
    assert isinstance(viz.plot_cls_attention(torch.rand(2, 3, 16, 24), maps), Figure)


# --- the mask-ratio widget ---------------------------------------------------------------------------------------


def test_mask_ratio_explorer_follows_its_slider_and_never_raises():
    explorer = widgets.mask_ratio_explorer(torch.rand(3, 64, 64), 16, mask_ratio=0.75, seed=0)
    assert int(explorer.mask.sum()) == 12  # 16 patches, 4 kept
    assert "t-slider" in explorer.slider._dom_classes and "t-readout" in explorer.readout._dom_classes
    first = explorer.mask.clone()
    explorer.seed.value = 1
    assert int(explorer.mask.sum()) == 12 and not torch.equal(explorer.mask, first)
    explorer.slider.value = 0.5
    assert int(explorer.mask.sum()) == 8 and "keep round(16 x 0.50) = 8" in explorer.readout.value
    bundle = explorer._repr_mimebundle_()
    assert "image/jpeg" in bundle and "8 of 16" in bundle["text/plain"]


def test_mask_ratio_explorer_shows_an_invalid_ratio_instead_of_raising():
    explorer = widgets.mask_ratio_explorer(torch.rand(1, 8, 8), 4, mask_ratio=0.5)  # 4 patches
    explorer.slider.value = 0.95  # round(4 * 0.05) = 0 kept
    assert "invalid" in explorer.readout.value and "hides all 4 tokens" in explorer.readout.value
    explorer.slider.value = 0.25
    assert "invalid" not in explorer.readout.value and int(explorer.mask.sum()) == 1


def test_mask_ratio_explorer_bad_arguments():
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        widgets.mask_ratio_explorer(torch.rand(1, 3, 8, 8), 4)
    with pytest.raises(ValueError):
        widgets.mask_ratio_explorer(torch.rand(3, 10, 10), 4)


# --- exercises ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["one_patch", "fuse_qkv", "hidden_only"])
def test_solutions_pass_their_checkers(name):
    feedback = getattr(nb08, f"check_{name}")(getattr(_solutions(), f"solution_{name}")())
    assert feedback.passed, feedback.message


@pytest.mark.parametrize(
    ("name", "answer", "hint"),
    [
        ("one_patch", "a", "two blocks of self-attention"),
        ("one_patch", "c", "receptive field"),
        ("one_patch", "d", "at least its logit moves"),
        ("hidden_only", "a", "already predicts every patch"),
        ("hidden_only", "c", "restore_order"),
        ("hidden_only", "d", "mask token gets its gradient"),
        ("hidden_only", "e", "one letter"),
        ("fuse_qkv", lambda q, k, v: torch.stack([q, k, v]), "concatenate"),
        ("fuse_qkv", lambda q, k, v: torch.cat([q, k, v], dim=1), "dim=0"),
        ("fuse_qkv", lambda q, k, v: torch.cat([k, q, v]), "wrong order"),
    ],
)
def test_typical_wrong_answers_get_a_hint(name, answer, hint):
    feedback = getattr(nb08, f"check_{name}")(answer)
    assert not feedback.passed and hint in feedback.message, feedback.message


@pytest.mark.parametrize("check", [nb08.check_one_patch, nb08.check_hidden_only])
def test_every_option_has_its_own_explanation(check):
    verdicts = {letter: check(letter) for letter in "abcd"}
    assert sum(v.passed for v in verdicts.values()) == 1
    assert len({v.message for v in verdicts.values()}) == 4
    assert check(" (B) ").passed


def test_unanswered_and_broken_answers_do_not_raise():
    assert "no answer yet" in nb08.check_fuse_qkv(None).message
    assert "raised" in nb08.check_fuse_qkv(lambda q, k, v: 1 / 0).message


def test_one_patch_reaches_every_logit_of_a_dense_vit():
    """The claim behind exercise 1's answer, on an untrained dense ViT of the notebook's shape."""
    torch.manual_seed(0)
    vit = vitlib.ViT(image_size=32, patch_size=4, in_chans=1, num_classes=0, embed_dim=32, depth=2, num_heads=2)
    head = torch.nn.Linear(32, 1)
    image = torch.rand(1, 1, 32, 32)
    painted = image.clone()
    painted[..., :4, :4] = 1.0
    with torch.no_grad():
        before, after = (head(vit.forward_features(x)[:, 1:]).squeeze(-1) for x in (image, painted))
    assert before.shape == (1, 64) and bool(((after - before).abs() > 0).all())
    assert _solutions().solution_one_patch() == "b"


def test_the_tiny_mae_predicts_every_patch_and_scores_the_hidden_ones():
    """Exercise 2's option a: the decoder predicts all patches anyway; the loss picks the hidden ones."""
    from vitlib.masking import MaskedAutoencoder

    torch.manual_seed(0)
    encoder = vitlib.ViT(image_size=8, patch_size=2, in_chans=1, num_classes=0, embed_dim=16, depth=1, num_heads=2)
    mae = MaskedAutoencoder(encoder, decoder_dim=16, decoder_depth=1, mask_ratio=0.5)
    out = mae(torch.rand(3, 1, 8, 8), seed=0)
    assert out.pred.shape == (3, 16, 4) and int(out.mask.sum()) == 3 * 8
