"""vitlib.viz (the patch figures of notebooks 00-01): titles, axes and the pixels drawn, headless."""

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
    assert positions[1] == (24.0, 8.0) and positions[3] == (8.0, 24.0)  # row-major: token 3 starts row 2
    assert len(ax.lines) == (2 - 1) + (3 - 1)  # inner grid lines only
    np.testing.assert_array_equal(ax.images[0].get_array(), viz.to_numpy_image(image))


def test_plot_patch_grid_hides_indices_when_there_are_too_many(image):
    ax = viz.plot_patch_grid(image, 2).axes[0]  # 16 x 24 = 384 patches
    assert _texts(ax) == []
    assert "N = 384" in ax.get_title()
    assert _texts(viz.plot_patch_grid(image, 16, show_indices=False).axes[0]) == []


def test_plot_patch_grid_refuses_a_patch_size_that_does_not_divide(image):
    with pytest.raises(ValueError, match=r"patch_size=5 does not divide the image height 32 and width 48"):
        viz.plot_patch_grid(image, 5)


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
    ax = viz.plot_token_matrix(tokens).axes[0]
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


def test_plot_patch_explorer_has_grid_mosaic_and_tokens(image):
    fig = viz.plot_patch_explorer(image, 16)
    grid_ax, mosaic_ax, token_ax = fig.axes
    assert grid_ax.get_title() == "2 x 3 grid of 16 px patches"
    assert mosaic_ax.get_title() == "N = 6 patches = tokens"
    assert token_ax.get_title() == "token matrix 6 x 768"
    np.testing.assert_array_equal(mosaic_ax.images[0].get_array(), viz.mosaic_array(image, 16))
    np.testing.assert_array_equal(token_ax.images[0].get_array(), patchify(image[None], 16)[0].numpy())


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
