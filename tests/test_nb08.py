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


@pytest.mark.parametrize("name", ["num_visible", "fuse_qkv", "patch_logits"])
def test_solutions_pass_their_checkers(name):
    feedback = getattr(nb08, f"check_{name}")(getattr(_solutions(), f"solution_{name}")())
    assert feedback.passed, feedback.message


@pytest.mark.parametrize(
    ("name", "answer", "hint"),
    [
        ("num_visible", 49, "[CLS]"),
        ("num_visible", 147, "hidden patches"),
        ("num_visible", 197, "whole sequence"),
        ("fuse_qkv", lambda q, k, v: torch.stack([q, k, v]), "concatenate"),
        ("fuse_qkv", lambda q, k, v: torch.cat([q, k, v], dim=1), "dim=0"),
        ("fuse_qkv", lambda q, k, v: torch.cat([k, q, v]), "wrong order"),
        ("patch_logits", lambda t, h: h(t).squeeze(-1), "including* [CLS]"),
        ("patch_logits", lambda t, h: h(t[:, 0]), "classification"),
        ("patch_logits", lambda t, h: h(t[:, 1:]), "squeeze(-1)"),
    ],
)
def test_typical_wrong_answers_get_a_hint(name, answer, hint):
    feedback = getattr(nb08, f"check_{name}")(answer)
    assert not feedback.passed and hint in feedback.message, feedback.message


def test_unanswered_and_broken_answers_do_not_raise():
    assert "no answer yet" in nb08.check_fuse_qkv(None).message
    assert "raised" in nb08.check_patch_logits(lambda t, h: 1 / 0).message


def test_dense_head_on_vitlib_matches_the_solution():
    vit = vitlib.ViT(image_size=16, patch_size=4, in_chans=1, num_classes=0, embed_dim=8, depth=1, num_heads=2)
    head = torch.nn.Linear(8, 1)
    tokens = vit.forward_features(torch.rand(2, 1, 16, 16))
    assert _solutions().solution_patch_logits()(tokens, head).shape == (2, 16)
