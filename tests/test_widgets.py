"""vitlib.widgets, driven from code (no browser): callbacks, invalid values, constructor errors, the
picture's size, the static copy, and no side effects on the caller's model."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

import vitlib
from vitlib import ViTVAE, viz, widgets


@pytest.fixture(scope="module")
def explorer():
    return widgets.patch_explorer(photo="china", image_size=(96, 144), patch_size=16)


@pytest.fixture(autouse=True)
def _reset(request):
    yield
    if "explorer" in request.fixturenames:
        ex = request.getfixturevalue("explorer")
        ex.slider.value, ex.picker.value = 16, "china"


def test_initial_state(explorer):
    assert "N = 6 × 9 = 54" in explorer.readout.value
    assert "D = C·P·P = 3·16·16 = 768" in explorer.readout.value
    assert "(1, 54, 768)" in explorer.readout.value
    assert explorer.picture.value[:3] == b"\xff\xd8\xff"


def test_moving_the_slider_changes_readout_and_picture(explorer):
    before_text, before_picture = explorer.readout.value, explorer.picture.value
    explorer.slider.value = 48
    assert explorer.readout.value != before_text
    assert "N = 2 × 3 = 6" in explorer.readout.value and "3·48·48 = 6912" in explorer.readout.value
    assert explorer.picture.value != before_picture
    explorer.slider.value = 16
    assert explorer.readout.value == before_text


def test_picking_the_other_photo_changes_the_picture(explorer):
    before = explorer.picture.value
    explorer.picker.value = "flower"
    assert explorer.picture.value != before
    assert "flower.jpg" in repr(explorer)


def test_an_invalid_size_shows_the_reason_and_does_not_raise(explorer):
    explorer.slider.value = 20  # 96 % 20 = 16, 144 % 20 = 4
    readout = explorer.readout.value
    assert "invalid" in readout
    assert "height 96 (remainder 16 px)" in readout and "width 144 (remainder 4 px)" in readout
    # only the sizes the slider can reach (4..48), not 1, 2, 3
    assert "Sizes that work for 96x144 within 4..48: 4, 6, 8, 12, 16, 24, 48." in readout
    assert explorer.picture.value[:3] == b"\xff\xd8\xff"  # still a picture
    assert "INVALID" in repr(explorer)


def test_an_invalid_size_keeps_the_layout_panels_and_size(explorer):
    def layout():  # panels, shown width, the picture's pixel size (its shown height follows from it)
        return explorer.panels, explorer.picture.layout.width, Image.open(io.BytesIO(explorer.picture.value)).size

    valid = layout()
    explorer.slider.value = 20
    assert layout() == valid
    assert valid[0] == 4 and f"t-panels-{valid[0]}" in explorer.picture._dom_classes
    grid_ax = explorer.figure.axes[0]
    assert "invalid" in grid_ax.get_title() and any(p.get_hatch() == "//" for p in grid_ax.patches)


def test_the_slider_reaches_only_ends_that_work_and_is_wide():
    ex = widgets.patch_explorer(image_size=224, patch_size=32, max_patch=64)
    assert (ex.slider.min, ex.slider.max) == (4, 56)  # 64 does not divide 224; 56 does
    assert ex.slider.slider.layout.width == "420px"
    stepped = widgets.patch_explorer(image_size=224, patch_size=32, valid_only=True)
    assert list(stepped.slider.options) == [4, 7, 8, 14, 16, 28, 32, 56]
    stepped.slider.value = 56
    assert "N = 4 × 4 = 16" in stepped.readout.value
    with pytest.raises(ValueError, match=r"with valid_only=True, patch_size must be one of \[4, 7"):
        widgets.patch_explorer(image_size=224, patch_size=20, valid_only=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patch_size": 2}, r"patch_size must be in the slider's range 4\.\.56 .*got 2"),
        ({"patch_size": 64}, r"patch_size must be in the slider's range 4\.\.56 .*got 64"),
        ({"min_patch": 60, "max_patch": 70}, r"no patch size in min_patch\.\.max_patch = 60\.\.70 tiles a 224x224"),
    ],
)
def test_a_start_value_outside_the_slider_is_refused_not_clamped(kwargs, message):
    with pytest.raises(ValueError, match=message):
        widgets.patch_explorer(**{"image_size": 224, **kwargs})


def test_the_patch_size_text_has_one_source():
    from vitlib.checks import explain_patch_size

    ex = widgets.patch_explorer(image_size=(96, 144), patch_size=16)
    ex.slider.value = 20
    assert explain_patch_size((96, 144), 20, within=(4, 48)) in ex.readout.value
    assert explain_patch_size((96, 144), 16) is None


def test_an_invalid_size_on_one_side_names_only_that_side(explorer):
    explorer.slider.value = 32  # 96 = 3 x 32, 144 % 32 = 16
    assert "width 144 (remainder 16 px)" in explorer.readout.value
    assert "height" not in explorer.readout.value


def test_mimebundle_has_a_static_picture_and_a_meaningful_text(explorer):
    explorer.slider.value = 24
    bundle = explorer._repr_mimebundle_()
    picture = base64.b64decode(bundle[f"image/{viz.FORMAT}"])
    # the static copy at 1x (small in a stored notebook), the picture shown at 2x
    assert Image.open(io.BytesIO(picture)).size == viz.figure_pixels(explorer.figure)
    assert Image.open(io.BytesIO(explorer.picture.value)).size == viz.figure_pixels(explorer.figure, dpi=2 * viz.DPI)
    text = bundle["text/plain"]
    assert text.startswith("patch explorer: china.jpg 96x144, patch size 24")
    assert "N = 4x6 = 24 tokens" in text and "3·24·24 = 1728" in text
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live widget, for JupyterLab


def test_the_picture_says_what_it_shows_live_and_in_the_stored_output(explorer):
    """IPython displays the widget with its static picture's text alternative as the picture's metadata (what a stored
    notebook keeps, and the book puts on the <img>); the live picture carries it as its tooltip (the <img>'s title)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    explorer.slider.value = 24
    alt = viz.alt_text(explorer.figure)
    assert "grid of 24 x 24 patches" in alt and explorer.picture.tooltip == alt
    shell = InteractiveShell.instance()
    try:
        with capture_output() as captured:
            shell.display_formatter.format(explorer)  # what a cell ending in `explorer` does
    finally:
        InteractiveShell.clear_instance()
    (output,) = captured.outputs
    assert set(output.data) == set(explorer._repr_mimebundle_())
    assert output.data["text/plain"] == explorer._repr_mimebundle_()["text/plain"]
    assert output.metadata == {f"image/{viz.FORMAT}": {"alt": alt}} == explorer.picture_metadata()
    explorer.slider.value = 16  # a new picture, a new text
    assert explorer.picture.tooltip == viz.alt_text(explorer.figure) != alt


def test_a_failing_figure_is_reported_in_the_readout_not_raised(explorer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("figure broke")

    monkeypatch.setattr(viz, "plot_patch_explorer", broken)
    explorer.slider.value = 12
    assert "error" in explorer.readout.value and "figure broke" in explorer.readout.value


def test_controls_carry_css_classes_for_browser_tests(explorer):
    assert "t-photo" in explorer.picker._dom_classes
    assert "t-slider" in explorer.slider._dom_classes
    assert "t-readout" in explorer.readout._dom_classes
    assert "t-plot" in explorer.picture._dom_classes


def test_grid_view_draws_only_the_grid():
    grid = widgets.patch_explorer(image_size=(96, 144), patch_size=16, view="grid")
    full = widgets.patch_explorer(image_size=(96, 144), patch_size=16)
    assert grid.picture.value == viz.figure_to_bytes(viz.plot_patch_grid(_photo(96, 144), 16), dpi=2 * viz.DPI)
    assert grid.picture.value != full.picture.value
    assert grid.readout.value == full.readout.value


def _photo(h, w):
    from vitlib.data import load_photo

    return load_photo("china", (h, w))


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [({"photo": "lena"}, "'lena'"), ({"view": "mosaic"}, "'mosaic'")],
)
def test_bad_arguments_name_the_value(kwargs, shown):
    with pytest.raises(ValueError, match=shown):
        widgets.patch_explorer(**kwargs)


def test_an_initial_patch_size_that_does_not_divide_is_shown_not_raised():
    ex = widgets.patch_explorer(image_size=(96, 144), patch_size=7)  # in the slider's range 4..48
    assert "invalid" in ex.readout.value and "INVALID" in repr(ex)


def test_figure_widget_reads_problem_draws_and_shows_errors_instead_of_raising():
    import ipywidgets
    from matplotlib.figure import Figure

    from vitlib.widgets import FigureWidget

    slider = ipywidgets.IntSlider(value=1, min=0, max=5)
    button = ipywidgets.Button(description="go")  # no value trait: must be skipped, not observed
    calls = []

    def draw():
        calls.append(slider.value)
        if slider.value == 3:
            raise RuntimeError("cannot draw 3")
        return Figure(figsize=(1, 1))

    widget = FigureWidget(
        {"slider": slider, "button": button},
        name="test widget",
        describe=lambda: f"value {slider.value}",
        draw=draw,
        problem=lambda: "4 is odd here" if slider.value == 4 else None,
    ).watch()
    assert calls == [1] and widget.slider is slider and widget.button is button
    assert "t-readout" in widget.readout._dom_classes and "t-plot" in widget.picture._dom_classes
    assert widget.readout.value == "value 1" and repr(widget) == "test widget: value 1"
    slider.value = 2
    assert calls == [1, 2]
    slider.value = 4  # the widget's own problem: invalid, the picture kept, the summary says so
    assert calls == [1, 2] and "✗ invalid" in widget.readout.value and "4 is odd here" in widget.readout.value
    assert repr(widget) == "test widget: INVALID: 4 is odd here"
    slider.value = 3  # must not raise
    assert calls == [1, 2, 3]
    assert "error" in widget.readout.value and "cannot draw 3" in widget.readout.value


# --- every widget: pictures at their natural size -----------------------------------------------------------------


def test_pictures_are_drawn_at_twice_the_dpi_and_shown_at_their_natural_size(explorer):
    width, height = viz.figure_pixels(explorer.figure)
    picture = Image.open(io.BytesIO(explorer.picture.value))
    assert picture.size == (2 * width, 2 * height)  # sharp on a high-density screen
    assert picture.size[1] * width == picture.size[0] * height  # the figure's own aspect ratio
    assert explorer.picture.layout.width == f"{width}px"  # its natural width (tests/test_browser.py measures it)
    assert explorer.picture.layout.align_self == "flex-start"  # not stretched by the flex column
    # narrower outputs: shrunk to fit, the height following the width (tests/test_browser.py measures it)
    assert (explorer.picture.layout.max_width, explorer.picture.layout.height) == ("100%", "auto")


# --- notebook 02 and 04 widgets ---------------------------------------------------------------------------------


@pytest.fixture
def weight():
    torch.manual_seed(0)
    return vitlib.PatchEmbedding(image_size=16, patch_size=4, in_chans=3, embed_dim=10).proj.weight


def test_filter_explorer_slider_changes_the_picture_and_never_raises(weight, monkeypatch):
    explorer = widgets.filter_explorer(weight)
    assert "t-slider" in explorer.slider._dom_classes and "t-plot" in explorer.picture._dom_classes
    assert explorer.slider.max == 9
    before = explorer.picture.value
    explorer.slider.value = 4
    assert explorer.picture.value != before
    assert "embedding dim 4 of 10" in explorer.readout.value and "embedding dim 4" in repr(explorer)
    explorer.slider.value = 99  # typed above the slider's maximum: shown as invalid, never clamped to 9
    assert explorer.slider.slider.value == 4 and "invalid" in explorer.readout.value
    assert "embedding dim 99 is above the largest value the slider offers; type one in 0..9" in explorer.readout.value
    explorer.slider.slider.value = 6  # moving the slider again: valid, and the box follows it
    assert explorer.slider.value == 6 and "embedding dim 6 of 10" in explorer.readout.value
    monkeypatch.setattr(viz, "plot_filter", lambda *a, **k: 1 / 0)
    explorer.slider.value = 3  # a failing plot shows the reason instead of raising
    assert "error" in explorer.readout.value and "division by zero" in explorer.readout.value
    bundle = explorer._repr_mimebundle_()
    assert "image/jpeg" in bundle and bundle["text/plain"].startswith("filter explorer")
    with pytest.raises(ValueError, match=r"index must be an embedding dimension in 0\.\.9; got 10"):
        widgets.filter_explorer(weight, index=10)


def test_position_similarity_explorer_query_slider_and_table_picker(monkeypatch):
    tables = {"sincos": vitlib.sincos_pos_embed_2d((4, 5), 32), "learned": vitlib.learned_pos_embed(21, 32)}
    explorer = widgets.position_similarity_explorer(tables, (4, 5))
    assert explorer.slider.max == 19 and explorer.slider.value == 2 * 5 + 2  # the middle patch
    assert "t-slider" in explorer.slider._dom_classes and "t-table" in explorer.picker._dom_classes
    before = explorer.picture.value
    explorer.picker.value = "learned"
    explorer.slider.value = 0
    assert explorer.picture.value != before
    assert explorer.readout.value.startswith("learned: query patch 0 (row 0, col 0)")
    assert "most similar other position: " in explorer.readout.value
    monkeypatch.setattr(viz, "plot_position_similarity", lambda *a, **k: 1 / 0)
    explorer.slider.value = 7
    assert "error" in explorer.readout.value
    with pytest.raises(ValueError, match="all tables must share one patch grid"):
        widgets.position_similarity_explorer(
            {"a": vitlib.sincos_pos_embed_2d(3, 8), "b": vitlib.sincos_pos_embed_2d(4, 8)}
        )
    with pytest.raises(ValueError, match=r"query must be a patch index in 0\.\.8; got 9"):
        widgets.position_similarity_explorer(vitlib.sincos_pos_embed_2d(3, 8), query=9)


def test_position_similarity_readout_reports_a_tie():
    # a symmetric table: the corner patch 0 of a 3 x 3 grid is exactly as similar to (0, 1) as to (1, 0)
    table = vitlib.sincos_pos_embed_2d((3, 3), 16)
    sim = vitlib.position_similarity(table)[0].flatten()
    assert torch.isclose(sim[1], sim[3], atol=1e-6)  # the premise
    explorer = widgets.position_similarity_explorer(table, query=0)
    readout = explorer.readout.value
    assert "a tie: 2 other positions are equally most similar" in readout
    assert "1 (row 0, col 1)" in readout and "3 (row 1, col 0)" in readout
    explorer.slider.value = 4  # the centre: four neighbours tie
    assert "a tie: 4 other positions" in explorer.readout.value
    learned = widgets.position_similarity_explorer(vitlib.learned_pos_embed(10, 16), query=0)
    assert "most similar other position: " in learned.readout.value and "tie" not in learned.readout.value


# --- notebooks 05-06: the attention explorer ---------------------------------------------------------------------


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
    row = attention[1, 2].mean(0)[4]  # the picked weights are what the readout says
    assert f"{row.max().item():.2f}" in explorer.readout.value


def test_attention_explorer_names_tokens_alike_in_control_readout_and_picture(digits_attention):
    images, attention = digits_attention
    explorer = widgets.attention_explorer(images, attention, 4, query=3)
    labels = [label for label, _ in explorer.query.options]
    assert labels == ["[CLS]", "patch 0", "patch 1", "patch 2", "patch 3"]
    assert explorer.query.label == "patch 2" and "t-query" in explorer.query._dom_classes
    assert ": patch 2 gives its largest weight" in explorer.readout.value
    matrix, overlay = explorer.figure.axes[0], explorer.figure.axes[1]
    assert "what patch 2 looks at" in overlay.get_title()
    assert matrix.get_yticklabels()[3].get_text() == "2"  # row 3 of the matrix is labelled patch 2
    top = int(attention[0, 0, 0, 3].argmax())
    assert f"to {viz.token_name(top)};" in explorer.readout.value


def test_attention_explorer_makes_repeated_titles_unique(digits_attention):
    images, attention = digits_attention
    repeated = widgets.attention_explorer(images, attention, 4, titles=["digit 7", "digit 3", "digit 7"])
    labels = [label for label, _ in repeated.image.options]
    assert labels == ["image 0: digit 7", "image 1: digit 3", "image 2: digit 7"]
    repeated.image.value = 2
    assert repeated.readout.value.startswith("image 2: digit 7, layer 0")
    distinct = widgets.attention_explorer(images, attention, 4, titles=["a 7", "a 3", "a 1"])
    assert [label for label, _ in distinct.image.options] == ["a 7", "a 3", "a 1"]  # unique titles stay as given


def test_attention_explorer_rejects_bad_arguments(digits_attention):
    images, attention = digits_attention
    with pytest.raises(ValueError, match=r"attention must be 5-D \(depth, B, heads, T, T\)"):
        widgets.attention_explorer(images, attention[0], 4)
    with pytest.raises(ValueError, match="B = 3"):
        widgets.attention_explorer(images[:2], attention, 4)
    with pytest.raises(ValueError, match="covers 5 tokens"):
        widgets.attention_explorer(images, attention, 2)
    with pytest.raises(ValueError, match=r"head must be a head in -1\.\.3 \(-1: the mean of the heads\); got 4"):
        widgets.attention_explorer(images, attention, 4, head=4)
    with pytest.raises(ValueError, match=r"query must be a token index in 0\.\.4 .*got 5"):
        widgets.attention_explorer(images, attention, 4, query=5)
    with pytest.raises(ValueError, match="got 2 titles for 3 images"):  # too few titles: not silently hidden
        widgets.attention_explorer(images, attention, 4, titles=["a", "b"])


# --- notebook 07: the ViT-VAE widgets leave the model as it was ----------------------------------------------------


def _tiny_vae() -> ViTVAE:
    torch.manual_seed(0)
    return ViTVAE(latent_dim=4, embed_dim=16, num_heads=2, depth=1, mlp_ratio=2.0)


@pytest.mark.parametrize("training", [True, False])
def test_vae_widgets_leave_the_models_mode_as_it_was(training):
    model = _tiny_vae().train(training)
    model.decoder.eval()  # a mixed state must come back exactly
    modes = [m.training for m in model.modules()]
    x = torch.rand(5, 1, 8, 8)
    explorer = widgets.latent_interpolation(model, x, first=0, second=3, steps=5)
    explorer.slider.value = 0.0
    assert [m.training for m in model.modules()] == modes
    with torch.no_grad():
        torch.testing.assert_close(explorer.current, model.eval().decode(model.encode(x[:1])[0])[0])
    model.train(training)
    model.decoder.eval()
    sampler = widgets.prior_sampler(model, n=4, seed=0)
    sampler.button.click()
    assert [m.training for m in model.modules()] == modes
    assert not sampler.samples.requires_grad


def test_latent_interpolation_says_when_an_index_is_out_of_range():
    model, x = _tiny_vae(), torch.rand(5, 1, 8, 8)
    explorer = widgets.latent_interpolation(model, x, first=0, second=3, steps=5)
    picture = explorer.picture.value
    explorer.first.value = 5000  # an IntText keeps what was typed: the readout says why nothing changed
    assert explorer.first.value == 5000
    assert "invalid" in explorer.readout.value and "first = 5000: not an image index; type one in 0..4" in (
        explorer.readout.value
    )
    assert explorer.picture.value == picture and "INVALID" in repr(explorer)
    explorer.first.value = 1
    assert "t = 0.50:" in explorer.readout.value and explorer.picture.value != picture
    with pytest.raises(ValueError, match=r"first must be an image index in 0\.\.4; got 5000"):
        widgets.latent_interpolation(model, x, first=5000)


def test_prior_sampler_shows_a_negative_seed_as_invalid():
    sampler = widgets.prior_sampler(_tiny_vae(), n=4, seed=0)
    sampler.seed.value = -3
    assert "invalid" in sampler.readout.value and "seed -3 is negative" in sampler.readout.value
    sampler.button.click()  # from an invalid seed, the next click starts at 0
    assert sampler.seed.value == 0 and sampler.readout.value.startswith("seed 0")
    with pytest.raises(ValueError, match="seed must be a whole number >= 0; got -1"):
        widgets.prior_sampler(_tiny_vae(), seed=-1)


# --- notebook 08: the mask-ratio explorer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "message"),
    [
        (75, r"mask_ratio must be in the slider's range 0\.\.0\.95 .*got 75\. A percentage\? Divide by 100\."),
        (0.96, r"got 0\.96"),
        (-0.1, r"got -0\.1"),
    ],
)
def test_mask_ratio_outside_the_slider_is_refused_not_clamped(ratio, message):
    with pytest.raises(ValueError, match=message):
        widgets.mask_ratio_explorer(torch.rand(3, 64, 64), 16, mask_ratio=ratio)


def test_mask_ratio_explorer_paints_hidden_patches_opaque():
    image = torch.rand(3, 64, 64)
    explorer = widgets.mask_ratio_explorer(image, 16, mask_ratio=0.75, seed=0)
    hidden_panel = explorer.figure.axes[1].images[0].get_array()
    hidden = explorer.mask.bool().reshape(4, 4).repeat_interleave(16, 0).repeat_interleave(16, 1).numpy()
    np.testing.assert_allclose(
        hidden_panel[hidden], viz.masking.HIDDEN, rtol=1e-6
    )  # nothing of the image shows through
    np.testing.assert_allclose(hidden_panel[~hidden], image.permute(1, 2, 0).numpy()[~hidden])
