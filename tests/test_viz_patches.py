"""vitlib.viz.patches (the patch figures of notebooks 00-01): titles, axes and the pixels drawn, headless."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from vitlib import viz
from vitlib.patches import patchify


@pytest.fixture
def image():
    g = torch.Generator().manual_seed(0)
    return torch.rand(3, 32, 48, generator=g)  # a 2 x 3 grid of 16-pixel patches


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_to_numpy_image_moves_channels_last_and_drops_a_single_channel(image):
    assert viz.to_numpy_image(image).shape == (32, 48, 3)
    np.testing.assert_array_equal(viz.to_numpy_image(image), image.permute(1, 2, 0).numpy())
    assert viz.to_numpy_image(image[:1]).shape == (32, 48)
    assert viz.to_numpy_image(torch.full((1, 2, 2), 2.0)).max() == 1.0  # clamped to [0, 1]


def test_to_numpy_image_refuses_a_batch(image):
    with pytest.raises(ValueError, match=r"got shape \(1, 3, 32, 48\)") as info:
        viz.to_numpy_image(image[None])
    assert "images[0]" in str(info.value)


def test_plot_image(image):
    fig = viz.plot_image(image, title="a photo")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title() == "a photo"
    np.testing.assert_array_equal(ax.images[0].get_array(), viz.to_numpy_image(image))


def test_plot_patch_grid_draws_lines_indices_and_title(image):
    fig = viz.plot_patch_grid(image, 16)
    ax = fig.axes[0]
    assert ax.get_title() == "2 x 3 grid of 16 x 16 patches: N = 6"
    assert _texts(ax) == ["0", "1", "2", "3", "4", "5"]
    positions = [t.get_position() for t in ax.texts]
    # pixel centres at integers (imshow's default): patch 1 spans x = -0.5 + 16 .. -0.5 + 32
    assert positions[1] == (23.5, 7.5) and positions[3] == (7.5, 23.5)  # row-major: token 3 starts row 2
    assert len(ax.lines) == (2 - 1) + (3 - 1)  # inner grid lines only
    assert sorted(line.get_xdata()[0] for line in ax.lines if line.get_xdata()[0] == line.get_xdata()[1]) == [
        15.5,
        31.5,
    ]
    np.testing.assert_array_equal(ax.images[0].get_array(), viz.to_numpy_image(image))


def test_plot_patch_grid_hides_indices_when_there_are_too_many(image):
    ax = viz.plot_patch_grid(image, 2).axes[0]  # 16 x 24 = 384 patches
    assert _texts(ax) == []
    assert "N = 384" in ax.get_title()
    assert _texts(viz.plot_patch_grid(image, 16, show_indices=False).axes[0]) == []


def test_plot_patch_grid_with_a_size_that_does_not_divide_marks_the_leftover_strip(image):
    ax = viz.plot_patch_grid(image, 20).axes[0]  # 32 % 20 = 12, 48 % 20 = 8: a 1 x 2 grid fits
    assert ax.get_title() == "patch size 20: invalid"
    assert ax.get_xlabel() == "left over (hatched): 12 px of the height, 8 px of the width"
    strips = [p for p in ax.patches if p.get_hatch() == "//"]
    assert [(s.get_x(), s.get_y(), s.get_width(), s.get_height()) for s in strips] == [
        (39.5, -0.5, 8, 32),  # right: columns 40..47
        (-0.5, 19.5, 48, 12),  # bottom: rows 20..31
    ]
    assert _texts(ax) == []  # no token numbers: there are no tokens
    # the figure keeps the size of a valid one
    assert tuple(viz.plot_patch_grid(image, 20).get_size_inches()) == tuple(
        viz.plot_patch_grid(image, 16).get_size_inches()
    )


def test_mosaic_array_puts_each_patch_in_its_tile_with_gaps(image):
    mosaic = viz.mosaic_array(image, 16, gap=2)
    assert mosaic.shape == (2 + 2 * 18, 2 + 3 * 18, 3)
    tokens = patchify(image[None], 16)[0].reshape(2, 3, 3, 16, 16)
    for r in range(2):
        for c in range(3):
            top, left = 2 + r * 18, 2 + c * 18
            tile = mosaic[top : top + 16, left : left + 16]
            np.testing.assert_array_equal(tile, tokens[r, c].permute(1, 2, 0).numpy())
    assert (mosaic[:2] == 1).all() and (mosaic[:, 18:20] == 1).all()  # white gaps


def test_plot_patch_mosaic(image):
    fig = viz.plot_patch_mosaic(image, 16)
    ax = fig.axes[0]
    assert ax.get_title() == "6 patches, pulled apart"
    np.testing.assert_array_equal(ax.images[0].get_array(), viz.mosaic_array(image, 16))


def test_plot_token_matrix_shows_the_tokens_as_rows(image):
    tokens = patchify(image[None], 16)
    fig = viz.plot_token_matrix(tokens)
    ax = fig.axes[0]
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "pixel value"  # a colour bar
    assert ax.get_title() == "token matrix: 6 x 768"
    np.testing.assert_array_equal(ax.images[0].get_array(), tokens[0].numpy())
    assert "C·P·P = 768" in ax.get_xlabel() and "N = 6" in ax.get_ylabel()


def test_plot_token_matrix_caps_the_rows_and_says_so():
    tokens = torch.rand(300, 12)
    ax = viz.plot_token_matrix(tokens, max_tokens=100).axes[0]
    assert ax.images[0].get_array().shape == (100, 12)
    assert "first 100 shown" in ax.get_ylabel()


def test_plot_token_matrix_refuses_other_shapes():
    with pytest.raises(ValueError, match=r"got shape \(2, 3, 4, 5\)"):
        viz.plot_token_matrix(torch.rand(2, 3, 4, 5))


def test_plot_patch_explorer_grid_token_planes_and_matrix_with_colour_bar(image):
    fig = viz.plot_patch_explorer(image, 16, token=0)
    grid_ax, token_ax, matrix_ax, bar_ax = fig.axes  # the fourth is the colour bar of the token matrix
    assert grid_ax.get_title() == "2 x 3 grid of 16 x 16 patches: N = 6"
    assert token_ax.get_title() == "token 0 up close: R | G | B"
    assert "D = 3·16·16 = 768" in token_ax.get_xlabel()
    planes = token_ax.images[0].get_array()
    assert planes.shape == (16, 3 * 16 + 2 * 4, 3)  # three 16 x 16 planes, 4 px gaps
    token0 = patchify(image[None], 16)[0, 0].reshape(3, 16, 16)
    for k in range(3):  # plane k is channel k, drawn in its own colour only
        left = k * 20
        np.testing.assert_allclose(planes[:, left : left + 16, k], token0[k].numpy(), rtol=1e-6)
        others = [j for j in range(3) if j != k]
        assert (planes[:, left : left + 16, others] == 0).all()
    assert [t.get_text() for t in token_ax.get_xticklabels()] == ["R", "G", "B"]
    assert matrix_ax.get_title() == "token matrix: 6 x 768"
    np.testing.assert_array_equal(matrix_ax.images[0].get_array(), patchify(image[None], 16)[0].numpy())
    thirds = sorted(line.get_xdata()[0] for line in matrix_ax.lines)
    assert thirds == [255.5, 511.5]  # R | G | B marked
    assert bar_ax.get_ylabel() == "pixel value"
    assert any(p.get_edgecolor()[:3] == (0.0, 1.0, 1.0) for p in grid_ax.patches)  # token 0 framed
    centre = viz.plot_patch_explorer(image, 16).axes  # by default the patch at the centre of the grid: 1*3+1
    assert centre[1].get_title() == "token 4 up close: R | G | B"
    (frame,) = [p for p in centre[0].patches if p.get_edgecolor()[:3] == (0.0, 1.0, 1.0)]
    assert frame.get_xy() == (15.5, 15.5)


def test_plot_patch_explorer_invalid_size_keeps_the_panels_and_the_size(image):
    valid, invalid = viz.plot_patch_explorer(image, 16), viz.plot_patch_explorer(image, 20)
    assert len(invalid.axes) == len(valid.axes) == 4
    assert tuple(invalid.get_size_inches()) == tuple(valid.get_size_inches())
    assert viz.figure_pixels(invalid) == viz.figure_pixels(valid)
    grid_ax, token_ax, matrix_ax, _ = invalid.axes
    assert "invalid" in grid_ax.get_title()
    assert any(p.get_hatch() == "//" for p in grid_ax.patches)  # the leftover strip
    assert "no token" in token_ax.get_title() and "none" in matrix_ax.get_title()
    assert any("does not divide" in t.get_text() for t in matrix_ax.texts)  # the reason, in the picture


def test_plot_images_side_by_side(image):
    fig = viz.plot_images([image, 1 - image], ["left", "right"])
    assert [ax.get_title() for ax in fig.axes] == ["left", "right"]
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), viz.to_numpy_image(1 - image))
    assert len(viz.plot_images(torch.stack([image, image, image])).axes) == 3


def test_plot_images_bad_input(image):
    with pytest.raises(ValueError, match="2 images but 1 titles"):
        viz.plot_images([image, image], ["one"])
    with pytest.raises(ValueError, match="at least one image"):
        viz.plot_images([])


def test_figure_to_bytes_is_a_small_jpeg_of_the_figure(image):
    fig = viz.plot_patch_explorer(image, 16)
    data = viz.figure_to_bytes(fig)
    assert data[:3] == b"\xff\xd8\xff"  # JPEG
    picture = Image.open(io.BytesIO(data))
    width, height = fig.get_size_inches() * viz.DPI
    assert picture.size == (round(width), round(height))
    assert len(data) < 100_000
    assert viz.figure_to_bytes(fig, format="png")[:4] == b"\x89PNG"


def test_plot_image_rows_labels_one_row_per_batch_and_rejects_ragged_rows():
    batch = torch.rand(4, 1, 8, 8)
    fig = viz.plot_image_rows({"original": batch, "what the encoder sees": batch * 0.5, "MAE": batch})
    labels = [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    assert labels == ["original", "what the encoder sees", "MAE"]
    assert fig.axes[0].images[0].get_array().shape[:2] == (3 * 9 + 1, 4 * 9 + 1)  # 3 rows, 4 columns, 1 px gaps
    with pytest.raises(ValueError, match="same shape"):
        viz.plot_image_rows({"a": batch, "b": batch[:2]})
    with pytest.raises(TypeError, match="non-empty dict"):
        viz.plot_image_rows({})


def test_plot_token_matrix_says_a_crop_in_its_title():
    ax = viz.plot_token_matrix(torch.rand(216, 768), max_tokens=24).axes[0]
    assert ax.get_title() == "token matrix: 216 x 768, first 24 rows"
    assert ax.images[0].get_array().shape == (24, 768)
