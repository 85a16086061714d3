"""Every picture of vitlib.viz can be read by everyone: it says what it shows, and its colours survive the common
colour-vision deficiencies.

- Text alternative: each ``plot_*`` figure is a ``vitlib.viz.Figure`` whose plot function said what it shows
  (``set_description``); ``alt_text`` adds its titles, axis labels, legends and colour-bar labels. Displayed
  by IPython (as the setup cell configures it: JPEG), the picture's metadata carries it as ``alt``, which
  tools/build_book.py and nbconvert put on the ``<img>``; tests/test_book.py checks it there.
- Colour: every colour map drawn is one of ``viz.CMAPS`` (perceptually uniform maps, one blue-to-red
  diverging map, single-hue Blues, grey), read from the figures themselves and from the source; the lines
  and dots drawn in one panel keep their colours apart under simulated deuteranopia, protanopia and
  tritanopia (Machado, Oliveira and Fernandes 2009, severity 1, in linear RGB; distance CIE76 in CIELAB).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb

import vitlib
from vitlib import viz
from vitlib.engine import History

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------- one figure per plot function


def _images(b=3, c=1, size=8, seed=0):
    return torch.rand(b, c, size, size, generator=torch.Generator().manual_seed(seed))


def _attention(depth=2, b=3, heads=4, n=5):
    return torch.rand(depth, b, heads, n, n, generator=torch.Generator().manual_seed(1)).softmax(-1)


def _history(accuracy=(0.5, 0.8, 0.9)):  # a training history of fit, 3 epochs of 2 steps
    loss = [2.3, 2.0, 1.7, 1.5, 1.3, 1.2]
    return History(steps={"loss": loss, "lr": [1e-3] * 6}, logs={"val_accuracy": list(accuracy)}, log_every=2)


EXAMPLES = {
    "plot_runs": lambda: viz.plot_runs({"pre-norm": _history(), "post-norm": _history((0.1, 0.1, 0.1))}, chance=0.1),
    "plot_attention": lambda: viz.plot_attention({"a": torch.eye(5), "b": torch.full((5, 5), 0.2)}, query=1),
    "plot_attention_distance": lambda: viz.plot_attention_distance(torch.rand(4, 4) * 6, largest=8.0, uniform=4.0),
    "plot_attention_panel": lambda: viz.plot_attention_panel(_images(1)[0], _attention()[0, 0, 0], 4, query=2),
    "plot_attention_steps": lambda: viz.plot_attention_steps(*torch.rand(3, 5, 8).unbind(0)),
    "plot_cls_attention": lambda: viz.plot_cls_attention(_images(2), torch.rand(2, 2, 2), titles=["a 1", "a 2"]),
    "plot_cls_attention_heads": lambda: viz.plot_cls_attention_heads(_images(), _attention(), 4, titles="xyz"),
    "plot_confusion_matrix": lambda: viz.plot_confusion_matrix(torch.tensor([[5, 1, 0], [0, 4, 2], [0, 0, 7]])),
    "plot_curves": lambda: viz.plot_curves(
        [10, 20, 40],
        {name: [50 + i, 60 + i, 70 + i] for i, name in enumerate(("CNN", "ViT", "MLP", "SVM"))},
        references={"ideal": [100, 100, 100]},
        xlabel="images",
        ylabel="accuracy, %",
    ),
    "plot_filter": lambda: viz.plot_filter(torch.randn(8, 3, 4, 4), 2),
    "plot_filters": lambda: viz.plot_filters(torch.randn(8, 3, 4, 4)),
    "plot_image": lambda: viz.plot_image(_images(1, 3, 16)[0], title="a photo"),
    "plot_image_grid": lambda: viz.plot_image_grid(_images(6), ncols=3, title="six samples"),
    "plot_image_rows": lambda: viz.plot_image_rows({"digit": _images(4), "seen": _images(4, seed=1)}),
    "plot_images": lambda: viz.plot_images(list(_images(2, 3, 16)), ["one", "two"]),
    "plot_interpolation": lambda: viz.plot_interpolation(
        _images(5), first=_images(1)[0], second=_images(1, seed=2)[0], highlight=2
    ),
    "plot_loss_curve": lambda: viz.plot_loss_curve(_history()),
    "plot_masking": lambda: viz.plot_masking(_images(1, 3, 16)[0], 4, torch.arange(16) % 3 == 0),
    "plot_patch_explorer": lambda: viz.plot_patch_explorer(_images(1, 3, 16)[0], 4),
    "plot_patch_grid": lambda: viz.plot_patch_grid(_images(1, 3, 16)[0], 4),
    "plot_patch_mosaic": lambda: viz.plot_patch_mosaic(_images(1, 3, 16)[0], 4),
    "plot_patch_predictions": lambda: viz.plot_patch_predictions(
        _images(), torch.arange(12).reshape(3, 4) % 2, torch.rand(3, 4), 4
    ),
    "plot_pipeline": lambda: viz.plot_pipeline(_images(1, 3, 32)[0], 16),
    "plot_pos_embed_channels": lambda: viz.plot_pos_embed_channels(
        {"sin-cos": (vitlib.sincos_pos_embed_2d((3, 3), 8), None)}, channels=(0, 1)
    ),
    "plot_pos_tables": lambda: viz.plot_pos_tables({"sin-cos": vitlib.sincos_pos_embed_2d((3, 3), 8)}),
    "plot_position_similarity": lambda: viz.plot_position_similarity(vitlib.sincos_pos_embed_2d((4, 4), 16), query=5),
    "plot_rollout_comparison": lambda: viz.plot_rollout_comparison(
        _images(2), {"last layer [CLS]": torch.rand(2, 2, 2), "rollout": torch.rand(2, 2, 2)}, titles=["a", "b"]
    ),
    "plot_reconstructions": lambda: viz.plot_reconstructions(_images(4), _images(4, seed=3)),
    "plot_token_matrix": lambda: viz.plot_token_matrix(vitlib.patchify(_images(1, 3, 16), 4)),
    "plot_vae_losses": lambda: viz.plot_vae_losses([90, 80, 70, 60], [1, 3, 4, 5], beta=[0, 0.5, 1, 1]),
}


@pytest.fixture(scope="module")
def figures():
    return {name: make() for name, make in EXAMPLES.items()}


def test_every_plot_function_has_an_example():
    assert set(EXAMPLES) == {name for name in viz.__all__ if name.startswith("plot_")}


# ---------------------------------------------------------------------------- what a figure shows, in words


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_figure_says_what_it_shows(figures, name):
    fig = figures[name]
    assert isinstance(fig, viz.Figure), f"{name} returns a {type(fig).__name__}; build it with viz.new_figure"
    assert fig.description, f"{name} does not say what its figure shows (viz.set_description)"
    text = viz.alt_text(fig)
    assert text.startswith(fig.description), text
    assert len(text.split()) >= 8, f"{name}: {text!r} says too little"
    for ax in fig.axes:  # what the figure writes, its text alternative says too
        if ax.get_title():
            assert " ".join(ax.get_title().split()) in text, f"{name}: the title {ax.get_title()!r} is missing"
    if fig.get_suptitle():
        assert fig.get_suptitle() in text


def test_alt_text_reads_titles_labels_legends_and_colour_bars():
    fig = viz.new_figure(4, 3)
    left, right = fig.subplots(1, 2)
    left.plot([0, 1], label="train")
    left.plot([1, 0], label="held out")
    left.legend()
    left.set(title="loss", xlabel="step", ylabel="nats")
    viz.add_colorbar(fig, right.imshow(np.eye(2)), right, label="weight")
    right.set_title("loss")  # a repeated panel text is said once
    fig.suptitle("training")
    assert viz.alt_text(fig) == (
        "Title: training. Panels: loss (x: step; y: nats; legend: train, held out); loss. Colour bar: weight."
    )
    viz.set_description(fig, "Two  panels\nof a run.")
    assert viz.alt_text(fig).startswith("Two panels of a run. Title: training.")
    with pytest.raises(ValueError, match="a figure's description must be a sentence"):
        viz.set_description(fig, "  ")
    assert viz.alt_text(viz.new_figure(1, 1)) == "A figure with 0 panels and no title."


def test_the_confusion_matrix_lists_its_mistakes_and_the_curves_their_values(figures):
    text = viz.alt_text(figures["plot_confusion_matrix"])
    assert "Mistakes: 2 of class 1 predicted as 2; 1 of class 0 predicted as 1." in text
    assert "16/19 correct" in text
    text = viz.alt_text(figures["plot_curves"])
    assert "At images = 10, 20, 40: CNN: 50, 60, 70; ViT: 51, 61, 71" in text and "dashed: ideal" in text


def test_ipython_displays_a_figure_with_its_text_alternative_as_the_pictures_alt():
    """The display path of a notebook cell whose last expression is a figure, with the setup cell's JPEG format."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats

    shell = InteractiveShell.instance()
    try:
        select_figure_formats(shell, {"jpeg"})
        fig = EXAMPLES["plot_patch_grid"]()
        data, metadata = shell.display_formatter.format(fig)
        assert set(data) == {"image/jpeg", "text/plain"}
        assert metadata == {"image/jpeg": {"alt": viz.alt_text(fig)}}
        select_figure_formats(shell, {"png"})  # where the picture is a PNG, the alt goes with the PNG
        data, metadata = shell.display_formatter.format(fig)
        assert "image/png" in data and metadata["image/png"]["alt"] == viz.alt_text(fig)
    finally:
        InteractiveShell.clear_instance()


# ---------------------------------------------------------------------------- colours


def _cmaps(fig) -> set[str]:
    found = set()
    for ax in fig.axes:
        for artist in [*ax.images, *ax.collections]:
            if artist.get_array() is not None and artist.get_cmap() is not None:
                found.add(artist.get_cmap().name)
    return found


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_colour_map_drawn_is_one_that_every_colour_vision_reads(figures, name):
    assert _cmaps(figures[name]) <= viz.CMAPS, f"{name} draws with {_cmaps(figures[name]) - viz.CMAPS}"


def test_every_colour_map_named_in_the_source_is_allowed():
    named = set()
    for path in (ROOT / "vitlib" / "viz").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        named |= set(re.findall(r"cmap=\"([\w.]+)\"", text)) | set(re.findall(r"colormaps\[\"([\w.]+)\"\]", text))
        named |= set(re.findall(r"^\w*CMAP\w* = \"([\w.]+)\"", text, flags=re.M))
    assert named and named <= viz.CMAPS, f"not in viz.CMAPS: {named - viz.CMAPS}"


# Machado, Oliveira and Fernandes (2009), severity 1: linear RGB -> linear RGB as seen with each deficiency.
SIMULATIONS = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
WHITE = np.array([0.95047, 1.0, 1.08883])
APART = 15.0  # CIE76 distance below which two colours read as one (about 2.3 is just noticeable side by side)


def _lab(color, deficiency: str | None = None) -> np.ndarray:
    srgb = np.asarray(to_rgb(color))
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    if deficiency:
        linear = np.clip(np.asarray(SIMULATIONS[deficiency]) @ linear, 0, 1)
    xyz = SRGB_TO_XYZ @ linear / WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _closest(colors, deficiency: str) -> tuple[float, str, str]:
    return min(
        (float(np.linalg.norm(_lab(a, deficiency) - _lab(b, deficiency))), a, b)
        for a, b in itertools.combinations(colors, 2)
    )


@pytest.mark.parametrize("deficiency", sorted(SIMULATIONS))
def test_the_line_colours_stay_apart_with_each_deficiency(deficiency):
    distance, a, b = _closest(viz.LINE_COLORS, deficiency)
    assert distance >= APART, f"with {deficiency}, {a} and {b} are {distance:.1f} apart"
    assert len(set(viz.MARKERS)) == len(viz.MARKERS) == len(viz.LINE_COLORS)  # and a second cue: one marker each


def test_the_simulation_merges_what_red_green_deficiencies_merge():
    """The check can fail: matplotlib's default cycle (blue, orange, green, red) is told apart with normal vision,
    but with deuteranopia or protanopia its green merges with red or orange."""
    default_cycle = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    assert _closest(default_cycle, None)[0] > 2 * APART
    for deficiency in ("deuteranopia", "protanopia"):
        distance, a, b = _closest(default_cycle, deficiency)
        assert distance < APART and "tab:green" in (a, b), (deficiency, distance, a, b)


def _colour_groups(ax) -> list[list]:
    """The colours of the data series of one axes that only colour tells apart: lines grouped by line style and
    marker (a dashed reference line beside solid curves has another cue), and the scatter dots of each series.
    Within a group, each distinct colour once (grid lines are not in ``ax.lines``)."""
    groups: dict = {}
    for line in ax.lines:
        if line.get_visible():
            groups.setdefault((line.get_linestyle(), line.get_marker()), []).append(line.get_color())
    for collection in ax.collections:
        if collection.get_array() is None and len(collection.get_facecolor()):  # scatter dots, not a heat map
            groups.setdefault("dots", []).append(tuple(collection.get_facecolor()[0][:3]))
    unique_groups = []
    for colours in groups.values():
        unique = []
        for colour in colours:
            if not any(np.allclose(to_rgb(colour), to_rgb(seen)) for seen in unique):
                unique.append(colour)
        unique_groups.append(unique)
    return unique_groups


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("deficiency", sorted(SIMULATIONS))
def test_series_told_apart_by_colour_alone_stay_apart(figures, name, deficiency):
    for ax in figures[name].axes:
        for colours in _colour_groups(ax):
            if len(colours) > 1:
                distance, a, b = _closest(colours, deficiency)
                where = f"{name}, panel {ax.get_title()!r}"
                assert distance >= APART, f"{where}: with {deficiency}, {a} and {b} merge ({distance:.1f})"


def test_the_curves_and_the_heads_each_get_their_own_colour_and_marker(figures):
    lines = [line for line in figures["plot_curves"].axes[0].lines if line.get_label() in ("CNN", "ViT", "MLP", "SVM")]
    assert [line.get_color() for line in lines] == list(viz.LINE_COLORS[:4])
    assert [line.get_marker() for line in lines] == list(viz.MARKERS[:4])
    dots = figures["plot_attention_distance"].axes[0].collections
    assert [tuple(np.round(d.get_facecolor()[0][:3], 3)) for d in dots] == [
        tuple(np.round(to_rgb(c), 3)) for c in viz.LINE_COLORS[:4]
    ]
