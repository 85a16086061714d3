"""Plots and widgets of notebooks 02-04: filters, position similarity, position tables."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import vitlib
from vitlib import viz, widgets


@pytest.fixture
def weight():
    torch.manual_seed(0)
    return vitlib.PatchEmbedding(image_size=16, patch_size=4, in_chans=3, embed_dim=10).proj.weight


def _pixels(fig: Figure) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())


def test_plot_filters_draws_each_filter_from_a_conv_or_a_linear_weight(weight):
    conv_fig = viz.plot_filters(weight, columns=5)
    linear_fig = viz.plot_filters(weight.view(10, -1), in_chans=3, columns=5)
    assert isinstance(conv_fig, Figure)
    (image,) = conv_fig.axes[0].get_images()
    array = image.get_array()
    assert array.shape == (2 * 4 + 1, 5 * 4 + 4, 3)  # 2 rows x 5 columns of 4x4 tiles with 1-pixel gaps
    # tile 0 is filter 0 scaled so that 0 is mid-gray
    f0 = weight[0].detach()
    torch.testing.assert_close(
        torch.as_tensor(array[:4, :4]), (0.5 + 0.5 * f0 / f0.abs().max()).permute(1, 2, 0).double()
    )
    np.testing.assert_array_equal(linear_fig.axes[0].get_images()[0].get_array(), array)
    assert "10 filters of 3x4x4" in conv_fig.axes[0].get_title()


def test_plot_filters_grayscale_and_bad_shapes():
    fig = viz.plot_filters(torch.randn(6, 1, 3, 3))
    assert fig.axes[0].get_images()[0].get_cmap().name.startswith("RdBu_r")
    with pytest.raises(ValueError, match=r"weight must be \(D, C, P, P\) or \(D, C\*P\*P\); got shape \(6,\)"):
        viz.plot_filters(torch.randn(6))
    with pytest.raises(ValueError, match=r"10 inputs is not C\*P\*P for in_chans=3; pass in_chans=C"):
        viz.plot_filters(torch.randn(4, 10), in_chans=3)


def test_plot_filter_shows_colour_and_each_channel(weight):
    fig = viz.plot_filter(weight, 2)
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == ["as colour", "R", "G", "B"]
    np.testing.assert_allclose(fig.axes[2].get_images()[0].get_array(), weight[2, 1].detach().numpy())
    with pytest.raises(ValueError, match=r"index must be an int in 0\.\.9 \(an embedding dimension\); got 10"):
        viz.plot_filter(weight, 10)


def test_plot_position_similarity_mosaic_and_query():
    table = vitlib.sincos_pos_embed_2d((3, 4), 32)
    fig = viz.plot_position_similarity(table, (3, 4))
    mosaic = fig.axes[0].get_images()[0].get_array()
    assert mosaic.shape == (3 * 3 + 2, 4 * 4 + 3)  # 3 x 4 panels of 3 x 4, gaps between
    sim = vitlib.position_similarity(table, (3, 4)).numpy()
    np.testing.assert_allclose(mosaic[4:7, 5:9], sim[1 * 4 + 1])  # panel of patch (1, 1)
    assert np.ma.getmaskarray(mosaic)[3, 0]  # a gap (NaN, drawn white)
    fig = viz.plot_position_similarity(table, (3, 4), query=6)
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), sim[6])
    assert "patch 6 (row 1, col 2)" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match=r"query must be a patch index in 0\.\.11; got 12"):
        viz.plot_position_similarity(table, (3, 4), query=12)


def test_plot_pos_embed_channels_and_tables():
    small = vitlib.sincos_pos_embed_2d((2, 3), 8)
    fig = viz.plot_pos_embed_channels(
        {"a": (small, (2, 3)), "b": (vitlib.resize_pos_embed(small, (4, 6), (2, 3)), (4, 6))}, channels=(0, 5)
    )
    assert len(fig.axes) == 4
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), small[0, 1:, 5].reshape(2, 3).numpy())
    assert fig.axes[2].get_images()[0].get_array().shape == (4, 6)
    fig = viz.plot_pos_tables({"learned": vitlib.learned_pos_embed(7, 8), "sincos": small})
    assert [ax.get_title() for ax in fig.axes] == ["learned", "sincos"]
    assert fig.axes[1].get_images()[0].get_array().shape == (6, 8)


def test_filter_explorer_slider_changes_the_picture_and_never_raises(weight, monkeypatch):
    explorer = widgets.filter_explorer(weight)
    assert "t-slider" in explorer.slider._dom_classes and "t-plot" in explorer.picture._dom_classes
    assert explorer.slider.max == 9
    before = explorer.picture.value
    explorer.slider.value = 4
    assert explorer.picture.value != before
    assert "embedding dim 4 of 10" in explorer.readout.value and "embedding dim 4" in repr(explorer)
    explorer.slider.value = 99  # clamped by the slider, never an error
    assert explorer.slider.value == 9 and "embedding dim 9 of 10" in explorer.readout.value
    monkeypatch.setattr(viz, "plot_filter", lambda *a, **k: 1 / 0)
    explorer.slider.value = 3  # a failing plot shows the reason instead of raising
    assert "error" in explorer.readout.value and "division by zero" in explorer.readout.value
    bundle = explorer._repr_mimebundle_()
    assert "image/jpeg" in bundle and bundle["text/plain"].startswith("filter explorer")
    with pytest.raises(ValueError, match=r"index must be an int in 0\.\.9; got 10"):
        widgets.filter_explorer(weight, index=10)


def test_position_similarity_explorer_query_slider_and_table_picker(monkeypatch):
    tables = {"sincos": vitlib.sincos_pos_embed_2d((4, 5), 32), "learned": vitlib.learned_pos_embed(21, 32)}
    explorer = widgets.position_similarity_explorer(tables, (4, 5))
    assert explorer.slider.max == 19 and explorer.slider.value == 2 * 5 + 2  # the middle patch
    assert "t-slider" in explorer.slider._dom_classes and "t-table" in explorer.picker._dom_classes
    before = explorer.picture.value
    explorer.slider.value = 0
    assert explorer.picture.value != before
    assert "query patch 0 (row 0, col 0)" in explorer.readout.value
    assert (
        "most similar other position: 1 (row 0, col 1)" in explorer.readout.value
        or "5 (row 1, col 0)" in explorer.readout.value
    )
    explorer.picker.value = "learned"
    assert explorer.readout.value.startswith("learned: query patch 0")
    explorer.slider.value = -5  # clamped
    assert explorer.slider.value == 0
    monkeypatch.setattr(viz, "plot_position_similarity", lambda *a, **k: 1 / 0)
    explorer.slider.value = 7
    assert "error" in explorer.readout.value
    with pytest.raises(ValueError, match="all tables must share one patch grid"):
        widgets.position_similarity_explorer(
            {"a": vitlib.sincos_pos_embed_2d(3, 8), "b": vitlib.sincos_pos_embed_2d(4, 8)}
        )
    with pytest.raises(ValueError, match=r"query must be a patch index in 0\.\.8; got 9"):
        widgets.position_similarity_explorer(vitlib.sincos_pos_embed_2d(3, 8), query=9)
