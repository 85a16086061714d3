"""Attention, training and evaluation pictures (viz) and the attention explorer (widgets), notebooks 05-06."""

import pytest
import torch
from matplotlib.figure import Figure

from vitlib import ViT, viz, widgets
from vitlib.train import History


@pytest.fixture(scope="module")
def digits_attention():
    torch.manual_seed(0)
    model = ViT.from_preset("digits_p4").eval()
    images = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        _, attention = model(images, return_attention=True)
    return images, attention  # (4, 3, 4, 5, 5)


def test_token_labels():
    assert viz.token_labels(4) == ["CLS", "0", "1", "2"]


def test_plot_attention_single_and_side_by_side(digits_attention):
    _, attention = digits_attention
    assert isinstance(viz.plot_attention(attention[0, 0, 0], query=2), Figure)
    fig = viz.plot_attention({"a": attention[0, 0, 0], "b": torch.eye(5)})
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["a", "b"]
    with pytest.raises(ValueError, match=r"one square attention matrix \(N, N\).*attention\[layer, image, head\]"):
        viz.plot_attention(attention[0, 0])


def test_plot_attention_panel_checks_tokens_and_query(digits_attention):
    images, attention = digits_attention
    fig = viz.plot_attention_panel(images[0], attention[3, 0, 1], 4, query=3)
    assert any("what patch 2 looks at" in ax.get_title() for ax in fig.axes)
    with pytest.raises(ValueError, match="covers 5 tokens.*gives 1 \\+ 4x4 = 17"):
        viz.plot_attention_panel(images[0], attention[3, 0, 1], 2)
    with pytest.raises(ValueError, match=r"query must be a token index in 0\.\.4"):
        viz.plot_attention_panel(images[0], attention[3, 0, 1], 4, query=5)


def test_plot_cls_attention_heads(digits_attention):
    images, attention = digits_attention
    fig = viz.plot_cls_attention_heads(images, attention, 4, titles=["a", "b", "c"])
    assert len(fig.axes) == 3 * (1 + 4 + 1)
    assert "layer 3 (of 4)" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="got 2 images but attention for 3"):
        viz.plot_cls_attention_heads(images[:2], attention, 4)
    with pytest.raises(ValueError, match="layer must be in -4..3"):
        viz.plot_cls_attention_heads(images, attention, 4, layer=4)
    with pytest.raises(ValueError, match=r"\(depth, B, heads, 1\+N, 1\+N\)"):
        viz.plot_cls_attention_heads(images, attention[0], 4)


def test_plot_loss_curve():
    history = History(loss=[2.3, 2.0, 1.5, 1.2], lr=[1e-3] * 4, epoch_loss=[2.15, 1.35], steps_per_epoch=2)
    fig = viz.plot_loss_curve(history)
    assert "4 steps" in fig.axes[0].get_title() and len(fig.axes) == 2  # loss + learning-rate twin
    history.epoch_accuracy = [0.5, 0.9]
    fig = viz.plot_loss_curve(history)
    assert any("last 90.0 %" in ax.get_title() for ax in fig.axes)
    with pytest.raises(ValueError, match="no steps yet"):
        viz.plot_loss_curve(History())


def test_plot_confusion_matrix():
    confusion = torch.tensor([[5, 1], [0, 4]])
    fig = viz.plot_confusion_matrix(confusion, class_names=["cat", "dog"])
    assert fig.axes[0].get_title() == "9/10 correct (90.0 %)"
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["1", "4", "5"]  # zero cells are left blank
    with pytest.raises(ValueError, match="square"):
        viz.plot_confusion_matrix(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="3 class names for 2 classes"):
        viz.plot_confusion_matrix(confusion, class_names=["a", "b", "c"])


def test_attention_explorer_moves_and_never_raises(digits_attention):
    images, attention = digits_attention
    explorer = widgets.attention_explorer(images, attention, 4, titles=["x", "y", "z"], layer=1, head=2)
    assert explorer.readout.value.startswith("x, layer 1, head 2: [CLS]")
    first = explorer.picture.value
    explorer.image.value = 2
    explorer.head.value = -1
    explorer.query.value = 4
    assert explorer.readout.value.startswith("z, layer 1, mean of heads: patch 3")
    assert explorer.picture.value != first
    bundle = explorer._repr_mimebundle_()
    assert "image/jpeg" in bundle and bundle["text/plain"].startswith("attention explorer: z")
    # the picked weights are what the readout says
    row = attention[1, 2].mean(0)[4]
    assert f"{row.max().item():.2f}" in explorer.readout.value


def test_attention_explorer_rejects_bad_arguments(digits_attention):
    images, attention = digits_attention
    with pytest.raises(ValueError, match=r"\(depth, B, heads, 1\+N, 1\+N\)"):
        widgets.attention_explorer(images, attention[0], 4)
    with pytest.raises(ValueError, match="B = 3"):
        widgets.attention_explorer(images[:2], attention, 4)
    with pytest.raises(ValueError, match="covers 5 tokens"):
        widgets.attention_explorer(images, attention, 2)
    with pytest.raises(ValueError, match=r"head must be an int in -1\.\.3 \(-1: the mean of the heads\)"):
        widgets.attention_explorer(images, attention, 4, head=4)
