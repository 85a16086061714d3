"""vitlib.viz.projection (notebook 02): the projection's rows seen as filters, with colour bars."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import vitlib
from vitlib import viz


@pytest.fixture
def weight():
    torch.manual_seed(0)
    return vitlib.PatchEmbedding(image_size=16, patch_size=4, in_chans=3, embed_dim=10).proj.weight


def test_plot_filters_draws_each_filter_from_a_conv_or_a_linear_weight(weight):
    conv_fig = viz.plot_filters(weight, columns=5)
    linear_fig = viz.plot_filters(weight.view(10, -1), in_chans=3, columns=5)
    assert isinstance(conv_fig, Figure)
    (image,) = conv_fig.axes[0].get_images()
    array = image.get_array()
    assert array.shape == (2 * 4 + 1, 5 * 4 + 4, 3)  # 2 rows x 5 columns of 4x4 tiles with 1-pixel gaps
    assert not conv_fig.axes[0].texts  # no numbers over the tiles: rows and columns are labelled instead
    assert [t.get_text() for t in conv_fig.axes[0].get_yticklabels()] == ["0", "5"]
    assert [t.get_text() for t in conv_fig.axes[0].get_xticklabels()] == ["+0", "+1", "+2", "+3", "+4"]
    assert len(conv_fig.axes) == 2 and "weight / filter's max" in conv_fig.axes[1].get_ylabel()  # colour bar
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
    assert viz.as_filters(torch.randn(4, 27)).shape == (4, 3, 3, 3)  # 3 times a square: RGB
    assert viz.as_filters(torch.randn(4, 16)).shape == (4, 1, 4, 4)  # else one channel
    with pytest.raises(ValueError, match=r"10 inputs is not C\*P\*P"):
        viz.as_filters(torch.randn(4, 10))


def test_plot_filter_shows_colour_and_each_channel(weight):
    fig = viz.plot_filter(weight, 2)
    assert len(fig.axes) == 5  # and one colour bar for the three channels, which share one scale
    assert [ax.get_title() for ax in fig.axes[:4]] == ["as colour", "R", "G", "B"]
    assert fig.axes[4].get_ylabel() == "weight"
    limit = weight[2].abs().max().item()
    assert {ax.get_images()[0].get_clim() for ax in fig.axes[1:4]} == {(-limit, limit)}
    np.testing.assert_allclose(fig.axes[2].get_images()[0].get_array(), weight[2, 1].detach().numpy())
    with pytest.raises(ValueError, match=r"index must be an embedding dimension in 0\.\.9; got 10"):
        viz.plot_filter(weight, 10)


def test_plot_filters_says_where_the_weights_came_from():
    weight = torch.randn(8, 3, 4, 4)
    assert "random" not in viz.plot_filters(weight).axes[0].get_title()
    title = viz.plot_filters(weight, source="random weights (untrained)").axes[0].get_title()
    assert title.endswith(":\nrandom weights (untrained)") and title.startswith("8 filters of 3x4x4")
