"""vitlib.viz.attention and vitlib.viz.training (notebooks 05-06): attention matrices and overlays, the training
curve and the confusion matrix."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from vitlib import viz
from vitlib.engine import History


def test_token_names_agree_with_the_tick_labels():
    assert viz.token_labels(4) == ["[CLS]", "0", "1", "2"]
    assert [viz.token_name(i) for i in range(4)] == ["[CLS]", "patch 0", "patch 1", "patch 2"]
    assert viz.token_name(2, num_prefix_tokens=2) == "patch 0"


def test_plot_attention_single_and_side_by_side(digits_attention):
    _, attention = digits_attention
    assert isinstance(viz.plot_attention(attention[0, 0, 0], query=2), Figure)
    fig = viz.plot_attention({"a": attention[0, 0, 0] * 0.26, "b": torch.eye(5)})
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["a", "b"]
    # panels meant to be compared share ONE colour scale (0 to the largest weight) and one colour bar
    assert len(fig.axes) == 3 and fig.axes[2].get_ylabel() == "attention weight"
    assert fig.axes[0].images[0].get_clim() == fig.axes[1].images[0].get_clim() == (0.0, 1.0)
    fixed = viz.plot_attention({"a": attention[0, 0, 0], "b": torch.eye(5)}, vmax=0.5)
    assert fixed.axes[1].images[0].get_clim() == (0.0, 0.5)
    with pytest.raises(ValueError, match="vmax must be larger than vmin=0.0; got 0.0"):
        viz.plot_attention(torch.eye(2), vmax=0)
    with pytest.raises(ValueError, match=r"one square attention matrix \(N, N\).*attention\[layer, image, head\]"):
        viz.plot_attention(attention[0, 0])


def test_plot_attention_panel_checks_tokens_and_query(digits_attention):
    images, attention = digits_attention
    fig = viz.plot_attention_panel(images[0], attention[3, 0, 1], 4, query=3)
    assert any("what patch 2 looks at" in ax.get_title() for ax in fig.axes)
    matrix, per_patch, picture, bar = fig.axes
    assert len(fig.axes) == 4  # the matrix, the image, the query's row per patch, one colour bar for both maps
    assert picture.images[0].get_interpolation() == "nearest"  # the digit pixel for pixel, not smoothed
    np.testing.assert_array_equal(picture.images[0].get_array(), images[0, 0].numpy())
    heat = per_patch.images[0]  # the row of query 3: one value per patch, drawn as patches
    row = attention[3, 0, 1, 3, 1:].reshape(2, 2)
    np.testing.assert_allclose(heat.get_array(), row.numpy(), rtol=1e-6)
    assert heat.get_interpolation() == "nearest" and heat.get_extent() == picture.images[0].get_extent()
    assert heat.get_clim() == matrix.images[0].get_clim() and bar.get_ylabel() == "attention weight"
    assert sorted(t.get_text() for t in per_patch.texts) == sorted(f"{w:.2f}" for w in row.flatten().tolist())
    assert [label.get_text() for label in matrix.get_xticklabels()] == ["[CLS]", "0", "1", "2", "3"]
    with pytest.raises(ValueError, match="covers 5 tokens.*gives 1 \\+ 4x4 = 17"):
        viz.plot_attention_panel(images[0], attention[3, 0, 1], 2)
    with pytest.raises(ValueError, match=r"query must be a token index in 0\.\.4"):
        viz.plot_attention_panel(images[0], attention[3, 0, 1], 4, query=5)


def test_plot_cls_attention_heads(digits_attention):
    images, attention = digits_attention
    fig = viz.plot_cls_attention_heads(images, attention, 4, titles=["a", "b", "c"])
    assert len(fig.axes) == 3 * (1 + 4 + 1) + 1  # and one colour bar
    assert fig.axes[-1].get_ylabel() == "[CLS] attention weight"
    top = attention[-1, :, :, 0, 1:].max().item()  # the largest weight of any head: one scale for all maps
    heats = [ax.images[1] for ax in fig.axes[:-1] if len(ax.images) == 2]
    assert len(heats) == 3 * 5 and {h.get_clim() for h in heats} == {(0.0, top)}
    assert heats[0].get_array().shape == (64, 64)
    with pytest.raises(ValueError, match="got 2 titles for 3 images"):
        viz.plot_cls_attention_heads(images, attention, 4, titles=["a", "b"])
    assert "layer 3 (of 4)" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="got 2 images but attention for 3"):
        viz.plot_cls_attention_heads(images[:2], attention, 4)
    with pytest.raises(ValueError, match="layer must be in -4..3"):
        viz.plot_cls_attention_heads(images, attention, 4, layer=4)
    with pytest.raises(ValueError, match=r"attention must be 5-D \(depth, B, heads, T, T\)"):
        viz.plot_cls_attention_heads(images, attention[0], 4)


def test_plot_loss_curve():
    history = History(
        steps={"loss": [2.3, 2.0, 1.5, 1.2], "lr": [1e-3] * 4}, logs={"train_loss": [2.15, 1.35]}, log_every=2
    )
    fig = viz.plot_loss_curve(history)
    assert "4 steps" in fig.axes[0].get_title() and len(fig.axes) == 2  # loss + learning-rate twin
    history.logs["val_accuracy"] = [0.5, 0.9]
    fig = viz.plot_loss_curve(history)
    assert any("last 90.0 %" in ax.get_title() for ax in fig.axes)
    with pytest.raises(ValueError, match="no steps yet"):
        viz.plot_loss_curve(History())


def test_plot_confusion_matrix():
    confusion = torch.tensor([[5, 1], [0, 4]])
    fig = viz.plot_confusion_matrix(confusion, class_names=["cat", "dog"])
    assert len(fig.axes) == 2 and "count" in fig.axes[1].get_ylabel()  # a colour bar
    assert fig.axes[0].get_title() == "9/10 correct (90.0 %)"
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["1", "4", "5"]  # zero cells are left blank
    with pytest.raises(ValueError, match="square"):
        viz.plot_confusion_matrix(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="3 class names for 2 classes"):
        viz.plot_confusion_matrix(confusion, class_names=["a", "b", "c"])


def test_plot_cls_attention_overlays_smooth_maps_on_one_scale_with_a_colour_bar():
    images = torch.rand(2, 3, 16, 24)
    maps = torch.rand(2, 2, 3) * torch.tensor([1.0, 0.5])[:, None, None]
    fig = viz.plot_cls_attention(images, maps, titles=["a", "b"])
    assert len(fig.axes) == 2 * 2 + 1
    heats = [ax.images[1] for ax in fig.axes[:4] if len(ax.images) == 2]
    assert len(heats) == 2 and {h.get_clim() for h in heats} == {(0.0, maps.max().item())}
    assert heats[0].get_array().shape == (3 * 16, 3 * 24)  # upsampled to at least 64 px on the long side
    with pytest.raises(ValueError, match=r"maps must be \(B, gh, gw\) with one map per image \(B = 2\)"):
        viz.plot_cls_attention(images, maps[:1])
    with pytest.raises(ValueError, match="got 1 titles for 2 images"):
        viz.plot_cls_attention(images, maps, titles=["a"])
