"""vitlib.widgets.patch_explorer, driven from code (no browser): callbacks, invalid sizes, static picture."""

from __future__ import annotations

import base64

import pytest

from vitlib import viz, widgets


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
    assert "height 96 (remainder 16)" in readout and "width 144 (remainder 4)" in readout
    assert "1, 2, 3, 4, 6, 8, 12, 16, 24, 48" in readout
    assert explorer.picture.value[:3] == b"\xff\xd8\xff"  # still a picture (the photo, titled invalid)
    assert "INVALID" in repr(explorer)


def test_an_invalid_size_on_one_side_names_only_that_side(explorer):
    explorer.slider.value = 32  # 96 = 3 x 32, 144 % 32 = 16
    assert "width 144 (remainder 16)" in explorer.readout.value
    assert "height" not in explorer.readout.value


def test_mimebundle_has_a_static_picture_and_a_meaningful_text(explorer):
    explorer.slider.value = 24
    bundle = explorer._repr_mimebundle_()
    picture = base64.b64decode(bundle[f"image/{viz.FORMAT}"])
    assert picture == explorer.picture.value
    text = bundle["text/plain"]
    assert text.startswith("patch explorer: china.jpg 96x144, patch size 24")
    assert "N = 4x6 = 24 tokens" in text and "3·24·24 = 1728" in text
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live widget, for JupyterLab


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
    assert grid.picture.value == viz.figure_to_bytes(viz.plot_patch_grid(_photo(96, 144), 16))
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
    ex = widgets.patch_explorer(image_size=(96, 144), patch_size=7)
    assert "invalid" in ex.readout.value and "INVALID" in repr(ex)


def test_figure_widget_watch_redraws_on_change_and_shows_errors_instead_of_raising():
    import ipywidgets

    from vitlib.widgets import FigureWidget

    slider = ipywidgets.IntSlider(value=1, min=0, max=5)
    button = ipywidgets.Button(description="go")  # no value trait: must be skipped, not observed
    calls = []

    def redraw():
        calls.append(slider.value)
        if slider.value == 3:
            raise RuntimeError("cannot draw 3")

    widget = FigureWidget({"slider": slider, "button": button}, summary=lambda: "test widget")
    widget.watch(redraw)
    assert calls == [1] and widget.slider is slider and widget.button is button
    assert "t-readout" in widget.readout._dom_classes and "t-plot" in widget.picture._dom_classes
    slider.value = 2
    assert calls == [1, 2]
    slider.value = 3  # must not raise
    assert calls == [1, 2, 3]
    assert "error" in widget.readout.value and "cannot draw 3" in widget.readout.value
