"""Interactive controls for JupyterLab (ipywidgets 8), thin layers over :mod:`vitlib.viz`.

Each widget also carries a static picture of its current state, so a
notebook executed headless (nbconvert, nbval, GitHub's viewer) still shows a
figure where a live JupyterLab shows the controls.
"""

from __future__ import annotations

import base64
import html

import ipywidgets as widgets
import torch

from . import viz
from .data import PHOTOS, load_photo
from .patches import grid_size, patchify, valid_patch_sizes

__all__ = ["FigureWidget", "patch_explorer"]


class FigureWidget(widgets.VBox):
    """A VBox whose display also offers a static image of its current state.

    JupyterLab with the widget manager shows the live controls (its widget
    renderer ranks first); anything without it falls back to the image.
    """

    def __init__(self, children, *, summary, picture, **kwargs):
        super().__init__(children, **kwargs)
        self._summary = summary  # () -> str, one line for text/plain
        self._picture = picture  # () -> (mime type, bytes) of the current state

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        mime, data = self._picture()
        bundle[mime] = base64.b64encode(data).decode("ascii")
        bundle["text/plain"] = self._summary()
        return bundle


def _explain_patch_size(image_size: tuple[int, int], patch_size: int) -> str | None:
    """``None`` when ``patch_size`` tiles the image, else the reason it does not."""
    try:
        grid_size(image_size, patch_size)
    except ValueError:
        h, w = image_size
        sides = [f"{name} {v} (remainder {v % patch_size})" for name, v in (("height", h), ("width", w)) if v % patch_size]
        return (
            f"patch size {patch_size} does not divide the {' and the '.join(sides)}. "
            f"Sizes that work for {h}x{w}: {', '.join(map(str, valid_patch_sizes(image_size)))}."
        )
    return None


def patch_explorer(
    *, photo: str = "china", image_size=224, patch_size: int = 16, min_patch: int = 4, max_patch: int = 64
) -> FigureWidget:
    """A photo picker and a patch-size slider showing the patch grid, the
    mosaic of patches, the token matrix, and readouts of N and C·P·P.

    A patch size that does not divide the image is shown as invalid, with
    the reason, instead of raising.
    """
    if photo not in PHOTOS:
        raise ValueError(f"unknown photo {photo!r}; choose one of {list(PHOTOS)}.")
    images = {name: load_photo(name, image_size) for name in PHOTOS}
    size = tuple(images[photo].shape[-2:])
    picker = widgets.Dropdown(options=list(PHOTOS), value=photo, description="photo")
    picker.add_class("t-photo")
    slider = widgets.IntSlider(
        value=patch_size, min=min_patch, max=max_patch, step=1, description="patch size", continuous_update=False
    )
    slider.add_class("t-slider")
    readout = widgets.HTML()
    readout.add_class("t-readout")
    picture = widgets.Image(format=viz.FORMAT)
    picture.add_class("t-plot")

    def state() -> tuple[torch.Tensor, int, str | None]:
        return images[picker.value], slider.value, _explain_patch_size(size, slider.value)

    def summary() -> str:
        image, p, problem = state()
        if problem:
            return f"patch explorer: {picker.value}.jpg {size[0]}x{size[1]}, INVALID: {problem}"
        gh, gw = grid_size(size, p)
        return (
            f"patch explorer: {picker.value}.jpg {size[0]}x{size[1]}, patch size {p}: "
            f"N = {gh}x{gw} = {gh * gw} tokens of C·P·P = 3·{p}·{p} = {3 * p * p} numbers"
        )

    def draw() -> bytes:
        image, p, problem = state()
        if problem:
            fig = viz.plot_image(image, title=f"patch size {p}: invalid", size=3.6)
        else:
            fig = viz.plot_patch_explorer(image, p)
        return viz.figure_to_bytes(fig)

    def update(_change=None) -> None:
        image, p, problem = state()
        try:
            if problem:
                readout.value = f"<b style='color:#c0392b'>✗ invalid</b>: {html.escape(problem)}"
            else:
                gh, gw = grid_size(size, p)
                readout.value = (
                    f"<b>N = {gh} × {gw} = {gh * gw}</b> tokens &nbsp;·&nbsp; "
                    f"<b>C·P·P = 3·{p}·{p} = {3 * p * p}</b> numbers per token &nbsp;·&nbsp; "
                    f"patches: {tuple(patchify(image[None], p).shape)}"
                )
            picture.value = draw()
        except Exception as error:  # a widget must never die in front of a class
            readout.value = f"<b style='color:#c0392b'>error</b>: {html.escape(str(error))}"

    picker.observe(update, names="value")
    slider.observe(update, names="value")
    update()
    explorer = FigureWidget(
        [widgets.HBox([picker, slider]), readout, picture],
        summary=summary,
        picture=lambda: (f"image/{viz.FORMAT}", picture.value),
    )
    # Named handles, so a notebook cell or a test can move the controls in code.
    explorer.picker, explorer.slider, explorer.readout, explorer.picture = picker, slider, readout, picture
    return explorer
