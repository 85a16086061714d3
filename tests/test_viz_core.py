"""vitlib.viz.core: the drawing code every picture shares (tiles, grid lines, colour bars, overlays)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

import vitlib.viz
from vitlib import viz
from vitlib.viz import core


def test_every_public_function_is_listed_and_reexported():
    for module in (core, vitlib.viz.patches, vitlib.viz.projection, vitlib.viz.positions, vitlib.viz.attention):
        for name in module.__all__:
            assert name in viz.__all__ and getattr(viz, name) is getattr(module, name), name
    public = {
        n
        for n, v in vars(viz).items()
        if callable(v) and not n.startswith("_") and v.__module__.startswith("vitlib.viz")
    }
    assert public <= set(viz.__all__)
    assert "cls_attention_maps" not in viz.__all__  # computation lives in vitlib.analysis


def test_tile_array_places_each_tile_with_gaps_border_and_fill():
    tiles = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    canvas = core.tile_array(tiles, ncols=2, gap=1, fill=np.nan)
    assert canvas.shape == (3 * 2 + 2, 2 * 3 + 1)  # 3 rows of 2 columns, gaps between only
    np.testing.assert_array_equal(canvas[3:5, 4:7], tiles[3])  # row 1, column 1
    assert np.isnan(canvas[2]).all() and np.isnan(canvas[:, 3]).all()  # the gaps
    assert np.isnan(canvas[6:8, 4:7]).all()  # the empty sixth place
    bordered = core.tile_array(tiles[:2], ncols=2, gap=2, border=True)
    assert bordered.shape == (2 + 2 + 2, 2 + 3 + 2 + 3 + 2)
    np.testing.assert_array_equal(bordered[2:4, 7:10], tiles[1])
    assert (bordered[:2] == 1).all()  # white border by default
    colour = core.tile_array(np.zeros((3, 2, 2, 3)), ncols=3, gap=1)
    assert colour.shape == (2, 8, 3)
    with pytest.raises(ValueError, match="non-empty"):
        core.tile_array(np.zeros((0, 2, 2)), ncols=1)
    with pytest.raises(ValueError, match="ncols must be a positive whole number; got 0"):
        core.tile_array(tiles, ncols=0)


def test_tile_images_is_tile_array_with_a_border():
    images = torch.rand(5, 1, 4, 4)
    array = viz.tile_images(images, ncols=3)
    assert array.shape == (2 * 5 + 1, 3 * 5 + 1)
    np.testing.assert_array_equal(array[1:5, 6:10], images[1, 0].numpy())
    with pytest.raises(TypeError, match="ncols must be a whole number"):
        viz.tile_images(images, ncols=2.5)


def test_draw_patch_lines_uses_the_pixel_edge_convention():
    fig = Figure()
    ax = fig.add_subplot()
    core.draw_patch_lines(ax, (2, 3), 4)
    horizontal = sorted(line.get_ydata()[0] for line in ax.lines if list(line.get_ydata()) == [line.get_ydata()[0]] * 2)
    vertical = sorted(line.get_xdata()[0] for line in ax.lines if list(line.get_xdata()) == [line.get_xdata()[0]] * 2)
    assert horizontal == [3.5] and vertical == [3.5, 7.5]


def test_upsample_map_draws_patches_as_blocks():
    """Each patch's value fills its block: nothing smoothed across a patch border (issue 25)."""
    heat = torch.tensor([[0.0, 1.0], [0.25, 0.5]])
    blocks = core.upsample_map(heat, (8, 8))
    assert blocks.shape == (8, 8)
    np.testing.assert_array_equal(blocks, np.kron(heat.numpy(), np.ones((4, 4))))
    with pytest.raises(ValueError, match=r"one \(gh, gw\) map"):
        core.upsample_map(torch.zeros(2, 2, 2), (4, 4))


def test_overlay_heatmap_draws_grey_image_then_the_heat_per_patch():
    fig = Figure()
    ax = fig.add_subplot()
    image = torch.rand(3, 8, 8)
    heat = core.overlay_heatmap(ax, image, torch.tensor([[0.0, 1.0], [0.5, 0.25]]))
    backdrop, ax_image = ax.images
    np.testing.assert_allclose(backdrop.get_array(), image.mean(0).numpy(), rtol=1e-6)  # grey, not colour
    assert heat is ax_image and heat.get_array().shape == (64, 64)  # 8 px digits: upsampled 8x
    np.testing.assert_array_equal(heat.get_array(), np.kron([[0.0, 1.0], [0.5, 0.25]], np.ones((32, 32))))  # 4 blocks
    assert heat.get_clim() == (0.0, 1.0)
    assert backdrop.get_extent() == heat.get_extent() == [-0.5, 7.5, 7.5, -0.5]
    alpha = heat.get_alpha()  # more opaque where the heat is larger: low values leave the image visible
    assert alpha.shape == (64, 64) and alpha.min() >= 0.25 and alpha.max() <= 0.9
    array = np.asarray(heat.get_array())
    assert alpha[np.unravel_index(array.argmax(), array.shape)] == pytest.approx(0.9)


def test_add_colorbar_adds_a_labelled_axes():
    fig = Figure()
    ax = fig.add_subplot()
    picture = ax.imshow(np.eye(2))
    bar = core.add_colorbar(fig, picture, ax, label="weight")
    assert len(fig.axes) == 2 and bar.ax.get_ylabel() == "weight"


def test_figure_pixels_is_the_size_of_the_encoded_picture():
    fig = viz.new_figure(3.0, 2.0)
    fig.add_subplot().plot([0, 1])
    for dpi in (viz.DPI, 2 * viz.DPI):
        picture = Image.open(io.BytesIO(viz.figure_to_bytes(fig, dpi=dpi)))
        assert picture.size == viz.figure_pixels(fig, dpi=dpi) == (3 * dpi, 2 * dpi)


def test_epoch_means():
    ends, means = core.epoch_means([1, 3, 5, 7, 9], 2)
    np.testing.assert_array_equal(ends, [2, 4])
    np.testing.assert_array_equal(means, [2, 6])


def test_plot_curves_draws_each_curve_spread_and_reference():
    fig = viz.plot_curves(
        [10, 100, 1000],
        {"a": [1.0, 2.0, 3.0], "b": [2.0, 2.5, 2.6]},
        spread={"a": (10, [0.5, 1.5])},
        references={"model": [1.0, 1.5, 2.0]},
        point_labels=["p", "q", "r"],
        xlabel="n",
        ylabel="y",
        log_x=True,
    )
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_legend().get_lines()] == ["a", "b", "model"]
    assert len(ax.lines) == 4  # two curves, one spread bar, one reference
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.texts] == ["p", "q", "r"]


def test_plot_curves_can_show_single_measurements_as_points_on_a_fixed_range():
    fig = viz.plot_curves(
        [1, 2, 3], {"a": [80.0, 90.0, 85.0]}, xlabel="n", ylabel="accuracy", join=False, ylim=(0, 100)
    )
    ax = fig.axes[0]
    (line,) = ax.lines
    assert line.get_linestyle() == "None" and line.get_marker() not in (None, "None", "")  # points, not a line
    assert ax.get_ylim() == (0.0, 100.0)
    assert viz.alt_text(fig).startswith("A chart of points of accuracy against n")


def test_plot_curves_refuses_mismatched_lengths_and_unknown_spread():
    with pytest.raises(ValueError, match="curve 'a' has 2 values for 3 positions"):
        viz.plot_curves([1, 2, 3], {"a": [1, 2]}, xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="spread names 'b'"):
        viz.plot_curves([1, 2], {"a": [1, 2]}, spread={"b": (1, [1, 2])}, xlabel="x", ylabel="y")


def test_plot_images_draws_the_patch_grid_when_asked_and_refuses_one_that_does_not_tile():
    images = torch.rand(2, 1, 8, 8)
    fig = viz.plot_images(images, ["a", "b"], patch_size=4)
    for ax in fig.axes:
        assert sorted(line.get_ydata()[0] for line in ax.lines if line.get_ydata()[0] == line.get_ydata()[1]) == [3.5]
    assert "grid of 4 x 4-pixel patches" in viz.alt_text(fig)
    assert not viz.plot_images(images).axes[0].lines  # no grid unless asked
    with pytest.raises(ValueError, match="patch_size"):
        viz.plot_images(images, patch_size=3)
