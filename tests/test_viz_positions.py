"""vitlib.viz.positions (notebook 04): position similarity and position tables, with colour bars."""

import numpy as np
import pytest

import vitlib
from vitlib import viz


def test_plot_position_similarity_mosaic_and_query():
    table = vitlib.sincos_pos_embed_2d((3, 4), 32)
    fig = viz.plot_position_similarity(table, (3, 4))
    mosaic = fig.axes[0].get_images()[0].get_array()
    assert mosaic.shape == (3 * 3 + 2, 4 * 4 + 3)  # 3 x 4 panels of 3 x 4, gaps between
    sim = vitlib.position_similarity(table, (3, 4)).numpy()
    np.testing.assert_allclose(mosaic[4:7, 5:9], sim[1 * 4 + 1])  # panel of patch (1, 1)
    assert np.ma.getmaskarray(mosaic)[3, 0]  # a gap (NaN, drawn white)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "cosine similarity"
    fig = viz.plot_position_similarity(table, (3, 4), query=6)
    assert len(fig.axes) == 3  # mosaic, the query's panel, one colour bar for both
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), sim[6])
    assert "patch 6 (row 1, col 2)" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match=r"query must be a patch index in 0\.\.11; got 12"):
        viz.plot_position_similarity(table, (3, 4), query=12)


def test_plot_pos_embed_channels_and_tables():
    small = vitlib.sincos_pos_embed_2d((2, 3), 8)
    fig = viz.plot_pos_embed_channels(
        {"a": (small, (2, 3)), "b": (vitlib.resize_pos_embed(small, (4, 6), (2, 3)), (4, 6))}, channels=(0, 5)
    )
    assert len(fig.axes) == 4 + 2  # 2 tables x 2 channels, one colour bar per channel
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), small[0, 1:, 5].reshape(2, 3).numpy())
    assert fig.axes[2].get_images()[0].get_array().shape == (4, 6)
    assert fig.axes[0].get_images()[0].get_clim() == fig.axes[2].get_images()[0].get_clim()  # one scale per channel
    fig = viz.plot_pos_tables({"learned": vitlib.learned_pos_embed(7, 8), "sincos": small})
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["learned", "sincos"]
    assert len(fig.axes) == 4  # each table with its colour bar
    (sincos_ax,) = [ax for ax in fig.axes if ax.get_title() == "sincos"]
    assert sincos_ax.get_images()[0].get_array().shape == (6, 8)
