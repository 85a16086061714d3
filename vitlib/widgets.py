"""Interactive controls for JupyterLab (ipywidgets 8), thin layers over :mod:`vitlib.viz`.

Each widget also carries a static picture of its current state, so a notebook executed headless
(nbconvert, nbval, GitHub's viewer) still shows a figure where a live JupyterLab shows the controls.

Rules every widget here keeps:

- a bad constructor argument (a start value outside a control's range, too few titles, ...) raises a
  ``ValueError``/``TypeError`` naming the value and the range; a value the learner *moves to* or *types*
  that does not work is shown as invalid in the readout, with the reason, the same way everywhere: each
  widget says why in its ``problem()`` (``str | None``), which :class:`FigureWidget` reads; a callback never
  raises;
- a slider's value is typed in the box beside it (``t-value``), not in the slider's own readout, which
  would clamp a value above the maximum to the maximum without a word: a typed value outside the range is
  shown as invalid like any other;
- the caller's model is left as it was: computations run under ``no_grad`` in eval mode, and every
  module's previous mode is restored afterwards;
- pictures are drawn at twice :data:`vitlib.viz.DPI` and shown at their natural size halved, so they
  are sharp on a high-density screen and never stretched to the output's width.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable

import ipywidgets as widgets
import torch
import traitlets
from matplotlib.figure import Figure

from . import analysis, checks, viz
from .checks import explain_patch_size, valid_patch_sizes
from .data import PHOTOS, load_photo
from .engine import evaluating
from .masking import num_kept, random_masking
from .patches import grid_size, patchify
from .vae import ViTVAE, interpolate_latents

__all__ = [
    "SCALE",
    "FigureWidget",
    "attention_explorer",
    "filter_explorer",
    "latent_interpolation",
    "mask_ratio_explorer",
    "patch_explorer",
    "position_similarity_explorer",
    "prior_sampler",
]

SCALE = 2  # pictures are encoded at SCALE x viz.DPI and displayed at 1 / SCALE of their pixels
SLIDER_WIDTH = "420px"  # wide enough to land on one value with the mouse


def _wide() -> widgets.Layout:
    """A fresh layout for a slider (one per widget: a layout is itself a widget model)."""
    return widgets.Layout(width=SLIDER_WIDTH)


class _Picture(widgets.Image):
    """An ``Image`` whose ``tooltip`` (its text alternative) reaches the page as the ``<img>``'s title. ipywidgets 8.1's
    view reads ``description.length`` before it sets a tooltip, and an ``Image`` has no description, so the view
    fails (jupyter-widgets/ipywidgets#3860, fixed by the open #3921); an empty one lets it set the title."""

    description = traitlets.Unicode("").tag(sync=True)


class FigureWidget(widgets.VBox):
    """Controls in a row, a readout, and a picture; its display also offers a static copy of the picture.

    JupyterLab with the widget manager shows the live controls (its widget renderer ranks first); anything
    without it falls back to the image. Each control is also an attribute under its name
    (``explorer.slider``), so a notebook cell or a test can move it in code; ``hidden`` controls are watched
    and reachable the same way but not shown.

    A widget is four functions of its controls' values: ``problem()`` says why they cannot be shown (``None``
    when they can), ``describe()`` says in words what is shown, ``draw()`` returns the picture (a ``Figure``),
    and ``readout()`` (optional, HTML; else the escaped ``describe()``). On every change the base class asks
    :meth:`problem` (the widget's own, then every typed value against its slider's range): an invalid state
    shows "✗ invalid: why" and keeps the last picture, unless ``draws_invalid`` (the picture can show what is
    wrong). State: ``readout`` (HTML), ``picture`` (the image shown), ``figure`` (the last ``Figure`` shown,
    or ``None``) and ``panels`` (its number of axes, colour bars included; also the CSS class
    ``t-panels-<n>`` of the picture, for the browser test).
    The picture says what it shows (:func:`vitlib.viz.alt_text`): live, as its tooltip (the ``<img>``'s
    title), and static, as the ``alt`` of the stored picture's metadata.
    """

    def __init__(
        self,
        controls: dict,
        *,
        name: str,
        describe: Callable[[], str],
        draw: Callable[[], Figure],
        problem: Callable[[], str | None] | None = None,
        readout: Callable[[], str] | None = None,
        draws_invalid: bool = False,
        hidden: dict | None = None,
    ):
        self.readout = widgets.HTML()  # what the picture shows, in words; errors are shown here too
        self.readout.add_class("t-readout")  # t-… classes: the handles of the browser tests
        # Not stretched by the flex column: the picture keeps the width that show() gives it, its natural size, and
        # in an output narrower than that (a projector at 1024 px, a side panel open) it shrinks to fit, its height
        # following (auto), never stretched.
        self.picture = _Picture(
            format=viz.FORMAT,
            layout=widgets.Layout(align_self="flex-start", max_width="100%", height="auto", object_fit="contain"),
        )
        self.picture.add_class("t-plot")
        self.figure: Figure | None = None
        self.panels = 0
        # The controls wrap onto a second line where the output is narrow (a projector at 1024 x 768).
        row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([row, self.readout, self.picture])
        self._controls = {**controls, **(hidden or {})}
        for key, control in self._controls.items():
            setattr(self, key, control)
        self._name, self._describe, self._draw, self._problem = name, describe, draw, problem
        self._readout, self._draws_invalid = readout, draws_invalid
        self._typed = [(c, c.slider) for c in self._controls.values() if isinstance(c, _Typed)]

    def problem(self) -> str | None:
        """Why the current values cannot be shown, or ``None``: a typed value outside its slider's range first,
        then the widget's own rule."""
        for typed, slider in self._typed:
            if not slider.min <= typed.value <= slider.max:
                side = "above the largest" if typed.value > slider.max else "below the smallest"
                return (
                    f"{slider.description} {typed.value:g} is {side} value the slider offers; "
                    f"type one in {slider.min:g}..{slider.max:g}"
                )
        return self._problem() if self._problem is not None else None

    def summary(self) -> str:
        """One line of text for what is shown (``text/plain``, the notebook's stored output)."""
        why = self.problem()
        return f"{self._name}: " + (f"INVALID: {why}" if why else self._describe())

    def redraw(self) -> None:
        """Show the current state: readout and picture, or the reason it cannot be shown."""
        why = self.problem()
        if why:
            self.readout.value = f"<b style='color:#c0392b'>✗ invalid</b>: {html.escape(why)}"
        else:
            self.readout.value = self._readout() if self._readout is not None else html.escape(self._describe())
        if not why or self._draws_invalid:
            self.show(self._draw())

    def show(self, fig: Figure) -> None:
        """Show ``fig``: encoded at ``SCALE`` x its DPI, displayed at its natural size (1 / SCALE)."""
        width, _height = viz.figure_pixels(fig)
        self.figure, self.panels = fig, len(fig.axes)
        # One message to the page: the picture, its size and its class change together, so a page (or the
        # browser test) never sees the new picture with the old class, or with none.
        with self.picture.hold_sync():
            kept = [c for c in self.picture._dom_classes if not c.startswith("t-panels-")]
            self.picture._dom_classes = (*kept, f"t-panels-{self.panels}")
            self.picture.value = viz.figure_to_bytes(fig, dpi=SCALE * viz.DPI)
            # The picture's text alternative: ipywidgets puts a widget's tooltip on its <img> as its title.
            self.picture.tooltip = viz.alt_text(fig)
        self.picture.layout.width = f"{width}px"

    def watch(self, *more_controls) -> FigureWidget:
        """Redraw now and whenever a control's value changes; returns the widget.

        An exception while redrawing is shown in the readout instead of raised: a widget must never die in
        front of a class.
        """

        def safe_redraw(_change=None) -> None:
            try:
                self.redraw()
            except Exception as error:
                self.readout.value = f"<b style='color:#c0392b'>error</b>: {html.escape(str(error))}"

        for control in (*self._controls.values(), *more_controls):
            if isinstance(control, _Typed):
                control.on_change(safe_redraw)
            elif "value" in control.trait_names():  # buttons have no value; they act through on_click
                control.observe(safe_redraw, names="value")
        safe_redraw()
        return self

    def __repr__(self) -> str:
        return self.summary()

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        if self.figure is not None:  # the static copy at 1x: small in the stored notebook
            bundle[f"image/{viz.FORMAT}"] = base64.b64encode(viz.figure_to_bytes(self.figure)).decode("ascii")
        bundle["text/plain"] = self.summary()
        return bundle

    def picture_metadata(self) -> dict:
        """The display metadata of the static picture: its text alternative, ``{"image/jpeg": {"alt": ...}}`` (as a
        :class:`vitlib.viz.Figure` displays), or ``{}`` before the first picture."""
        return {} if self.figure is None else {f"image/{viz.FORMAT}": {"alt": viz.alt_text(self.figure)}}

    def _ipython_display_(self):
        # What IPython shows for the widget (the last expression of a cell, or display(w)): the bundle above, with
        # the picture's metadata, which _repr_mimebundle_ cannot carry and keep returning the bundle alone.
        from IPython.display import display

        display(self._repr_mimebundle_(), metadata=self.picture_metadata(), raw=True)


class _Typed(widgets.HBox):
    """A slider (its own readout hidden) and a box beside it for typing its value (``t-value``).

    ``value`` is what the learner typed or slid to; a typed value outside the slider's range stays in the box
    (and :meth:`FigureWidget.problem` names it), instead of being clamped. Moving the slider sets the box.
    """

    def __init__(self, slider: widgets.widget_int._Int | widgets.widget_float._Float, *, width: str = "5.5em"):
        slider.readout = False
        box_type = widgets.FloatText if isinstance(slider, widgets.FloatSlider) else widgets.IntText
        self.slider = slider
        self.box = box_type(value=slider.value, layout=widgets.Layout(width=width))
        self.box.add_class("t-value")
        super().__init__([slider, self.box], layout=widgets.Layout(align_items="center"))
        self._callbacks: list = []
        slider.observe(self._slid, names="value")
        self.box.observe(self._typed, names="value")

    @property
    def value(self):
        """What the learner typed or slid to (set it to move the control from code)."""
        return self.box.value

    @value.setter
    def value(self, value) -> None:
        self.box.value = value

    min = property(lambda self: self.slider.min)
    max = property(lambda self: self.slider.max)
    step = property(lambda self: self.slider.step)
    description = property(lambda self: self.slider.description)

    def on_change(self, callback) -> None:
        self._callbacks.append(callback)

    def _notify(self) -> None:
        for callback in self._callbacks:
            callback()

    def _slid(self, _change) -> None:
        if self.box.value != self.slider.value:
            self.box.value = self.slider.value  # notifies through _typed
        else:
            self._notify()

    def _typed(self, _change) -> None:
        if self.slider.min <= self.box.value <= self.slider.max and self.box.value != self.slider.value:
            self.slider.value = self.box.value  # a slider snaps to its step: the box follows it in _slid
        else:
            self._notify()


def _index(value, name: str, size: int, *, what: str = "an index", extra: str = "", low: int = 0) -> int:
    """A start value for a control over ``low..size-1``, refused (not clamped) outside it."""
    value = checks.whole(value, name, example=low)
    if not low <= value < size:
        raise ValueError(f"{name} must be {what} in {low}..{size - 1}{extra}; got {value}.")
    return value


# --- notebooks 00-01 ----------------------------------------------------------------------------------------------


def patch_explorer(
    *,
    photo: str = "china",
    image_size=224,
    patch_size: int = 16,
    min_patch: int = 4,
    max_patch: int = 64,
    view: str = "full",
    valid_only: bool = False,
    max_tokens: int = 256,
) -> FigureWidget:
    """A photo picker and a patch-size slider showing the patch grid, one token up close (its R | G | B
    planes), the token matrix (its first ``max_tokens`` rows, said in its title when it has more), and
    readouts of N and C·P·P.

    ``view="grid"`` shows only the photo with its numbered patch grid (the small version that notebook 00
    uses). The slider runs from the smallest to the largest size in ``min_patch..max_patch`` that tiles the
    image, so both ends work; a size in between that does not tile the image is shown as invalid, with the
    reason and the leftover strip hatched, in the same layout. ``valid_only=True`` makes the slider step
    through the sizes that work only. A ``patch_size`` outside the slider's range raises ``ValueError``.
    """
    photo = checks.choice(photo, "photo", PHOTOS)
    view = checks.choice(view, "view", ("full", "grid"))
    max_tokens = checks.positive_int(max_tokens, "max_tokens", example=24)
    min_patch = checks.positive_int(min_patch, "min_patch", example=4)
    max_patch = checks.positive_int(max_patch, "max_patch", example=64)
    image_size = checks.int_pair(image_size, "image_size", example=224)  # named as the learner passed it
    images = {name: load_photo(name, image_size) for name in PHOTOS}
    size = tuple(images[photo].shape[-2:])
    sizes = [p for p in valid_patch_sizes(size) if min_patch <= p <= max_patch]
    if not sizes:
        raise ValueError(
            f"no patch size in min_patch..max_patch = {min_patch}..{max_patch} tiles a {size[0]}x{size[1]} image; "
            f"sizes that do: {valid_patch_sizes(size)}."
        )
    low, high = sizes[0], sizes[-1]
    patch_size = checks.positive_int(patch_size, "patch_size", example=16)
    if not low <= patch_size <= high:
        raise ValueError(
            f"patch_size must be in the slider's range {low}..{high} (the sizes from min_patch={min_patch} to "
            f"max_patch={max_patch} that tile {size[0]}x{size[1]}: {', '.join(map(str, sizes))}); got {patch_size}."
        )
    picker = widgets.Dropdown(options=list(PHOTOS), value=photo, description="photo")
    picker.add_class("t-photo")
    if valid_only:
        if patch_size not in sizes:
            raise ValueError(f"with valid_only=True, patch_size must be one of {sizes}; got {patch_size}.")
        slider = widgets.SelectionSlider(options=sizes, value=patch_size, description="patch size")
    else:
        slider = _Typed(widgets.IntSlider(value=patch_size, min=low, max=high, step=1, description="patch size"))
    inner = slider.slider if isinstance(slider, _Typed) else slider
    inner.continuous_update = False
    inner.layout = _wide()
    slider.add_class("t-slider")

    def problem() -> str | None:
        return explain_patch_size(size, slider.value, within=(low, high))

    def describe() -> str:
        p = slider.value
        gh, gw = grid_size(size, p)
        return (
            f"{picker.value}.jpg {size[0]}x{size[1]}, patch size {p}: "
            f"N = {gh}x{gw} = {gh * gw} tokens of D = C·P·P = 3·{p}·{p} = {3 * p * p} numbers"
        )

    def readout() -> str:
        p = slider.value
        gh, gw = grid_size(size, p)
        return (
            f"<b>N = {gh} × {gw} = {gh * gw}</b> tokens &nbsp;·&nbsp; "
            f"<b>D = C·P·P = 3·{p}·{p} = {3 * p * p}</b> numbers per token &nbsp;·&nbsp; "
            f"patches: {tuple(patchify(images[picker.value][None], p).shape)}"
        )

    def draw() -> Figure:
        image, p = images[picker.value], slider.value
        return (
            viz.plot_patch_grid(image, p)
            if view == "grid"
            else viz.plot_patch_explorer(image, p, max_tokens=max_tokens)
        )

    return FigureWidget(
        {"picker": picker, "slider": slider},
        name="patch explorer",
        describe=describe,
        draw=draw,
        problem=problem,
        readout=readout,
        draws_invalid=True,  # the leftover strip is hatched: the picture shows why the size does not tile
    ).watch()


# --- notebook 02 --------------------------------------------------------------------------------------------------


def filter_explorer(weight: torch.Tensor, *, in_chans: int | None = None, index: int = 0) -> FigureWidget:
    """A slider over the embedding dimensions showing each projection row as a ``C x P x P`` filter
    (notebook 02), with its numbers in a readout.

    ``weight`` is ``proj.weight`` ``(D, C, P, P)`` or a linear weight ``(D, C*P*P)``. An ``index``
    outside ``0..D-1`` raises ``ValueError``.
    """
    filters = viz.as_filters(weight, in_chans)  # checks the shape up front
    d, c, p, _ = filters.shape
    index = _index(index, "index", d, what="an embedding dimension")
    slider = _Typed(
        widgets.IntSlider(
            value=index, min=0, max=d - 1, step=1, description="embedding dim", continuous_update=False, layout=_wide()
        )
    )
    slider.slider.style.description_width = "initial"
    slider.add_class("t-slider")

    def describe() -> str:
        k = slider.value
        f = filters[k]
        return (
            f"embedding dim {k} of {d}: filter {c}x{p}x{p} = {c * p * p} weights, "
            f"min {f.min().item():+.3f}, max {f.max().item():+.3f}, norm {f.norm().item():.3f}"
        )

    return FigureWidget(
        {"slider": slider},
        name="filter explorer",
        describe=describe,
        draw=lambda: viz.plot_filter(filters, slider.value),
    ).watch()


# --- notebook 04 --------------------------------------------------------------------------------------------------


def position_similarity_explorer(
    tables, grid=None, *, query: int | None = None, num_prefix_tokens: int = 1
) -> FigureWidget:
    """A query-patch slider over the position-similarity grid (the ViT paper's figure 7, notebook 04):
    the query's panel is framed and drawn large.

    ``tables`` is one position table ``(1, P+gh*gw, D)`` or a dict of named tables of the same grid (then
    a picker switches between them). The readout names the most similar other position, or all of them
    when several tie (a sin-cos table is symmetric, so two positions can be exactly as similar). A
    ``query`` outside ``0..gh*gw-1`` raises ``ValueError``.
    """
    tables = dict(tables) if isinstance(tables, dict) else {"position table": tables}
    if not tables:
        raise ValueError("tables is empty; pass a position table (1, T, D) or a dict of them.")
    sims = {
        name: analysis.position_similarity(table, grid, num_prefix_tokens=num_prefix_tokens)
        for name, table in tables.items()
    }
    grids = {name: tuple(sim.shape[-2:]) for name, sim in sims.items()}
    if len(set(grids.values())) != 1:
        raise ValueError(f"all tables must share one patch grid; got {grids}.")
    gh, gw = next(iter(grids.values()))
    n = gh * gw
    query = (
        (gh // 2) * gw + gw // 2 if query is None else _index(query, "query", n, what="a patch index")
    )  # default: the middle patch
    picker = widgets.Dropdown(options=list(tables), value=next(iter(tables)), description="table")
    picker.add_class("t-table")
    picker.layout.display = None if len(tables) > 1 else "none"
    slider = _Typed(
        widgets.IntSlider(
            value=query, min=0, max=n - 1, step=1, description="query patch", continuous_update=False, layout=_wide()
        )
    )
    slider.slider.style.description_width = "initial"
    slider.add_class("t-slider")

    def describe() -> str:
        q = slider.value
        r, c = divmod(q, gw)
        sim = sims[picker.value][q].clone().flatten()
        sim[q] = float("-inf")
        top = sim.max()
        best = torch.isclose(sim, top, rtol=0, atol=1e-6).nonzero().flatten().tolist()
        where = ", ".join(f"{b} (row {b // gw}, col {b % gw})" for b in best)
        found = (
            f"most similar other position: {where}, {top.item():+.2f}"
            if len(best) == 1
            else f"a tie: {len(best)} other positions are equally most similar, {top.item():+.2f}: {where}"
        )
        neighbours = [
            sims[picker.value][q, rr, cc].item()
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
            if 0 <= rr < gh and 0 <= cc < gw
        ]
        mean_neighbour = f", mean with its neighbours {sum(neighbours) / len(neighbours):+.2f}" if neighbours else ""
        return f"{picker.value}: query patch {q} (row {r}, col {c}) of {gh}x{gw}; {found}{mean_neighbour}"

    def draw() -> Figure:
        return viz.plot_position_similarity(
            tables[picker.value],
            (gh, gw),
            query=slider.value,
            num_prefix_tokens=num_prefix_tokens,
            title=f"{picker.value}: {gh} x {gw} grid",
            vmin=-1.0,  # one scale, -1..1 as the paper's figure 7, so that two tables can be compared
        )

    return FigureWidget(
        {"picker": picker, "slider": slider}, name="position similarity", describe=describe, draw=draw
    ).watch()


# --- notebooks 05-06 ----------------------------------------------------------------------------------------------


def attention_explorer(
    images: torch.Tensor,
    attention: torch.Tensor,
    patch_size: int,
    *,
    titles=None,
    image: int = 0,
    layer: int = 0,
    head: int = 0,
    query: int = 0,
) -> FigureWidget:
    """Pickers for image, layer, head and query token over attention maps (notebooks 05-06).

    ``images`` ``(B, C, H, W)`` and the ``(depth, B, heads, 1+N, 1+N)`` attention that
    ``model(x, return_attention=True)`` returned for them. The head picker also offers the mean of the
    heads (``head=-1``). Shows the attention matrix beside the image, with the query's row laid over the
    patches. Tokens are named alike in the query picker, the readout and the picture: ``[CLS]``,
    ``patch 0``, ``patch 1``, ... ``titles`` (one per image) label the image picker; repeated titles get
    the image index in front, so that every label is unique. Start values out of range raise ``ValueError``.
    """
    attention = checks.attention_maps(attention)
    depth, b, heads, n, _ = attention.shape
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) != b:
        raise ValueError(f"images must be the (B, C, H, W) batch the attention came from, B = {b}.")
    gh, gw = grid_size(images.shape[-2:], patch_size)
    if n != 1 + gh * gw:
        raise ValueError(f"attention covers {n} tokens, but the images in {patch_size} px patches give 1 + {gh * gw}.")
    if titles is None:
        labels = [f"image {i}" for i in range(b)]
    else:
        titles = [str(t) for t in titles]
        if len(titles) != b:
            raise ValueError(f"got {len(titles)} titles for {b} images; pass one title per image (or none).")
        unique = len(set(titles)) == len(titles)
        labels = titles if unique else [f"image {i}: {t}" for i, t in enumerate(titles)]
    image = _index(image, "image", b, what="an image index")
    layer = _index(layer, "layer", depth, what="a layer")
    head = _index(head, "head", heads, what="a head", low=-1, extra=" (-1: the mean of the heads)")
    query = _index(query, "query", n, what="a token index", extra=" (0 is [CLS], i is patch i - 1)")
    image_picker = widgets.Dropdown(options=[(t, i) for i, t in enumerate(labels)], value=image, description="image")
    image_picker.add_class("t-image")
    layer_picker = widgets.Dropdown(options=[(f"layer {k}", k) for k in range(depth)], value=layer, description="layer")
    layer_picker.add_class("t-layer")
    head_picker = widgets.Dropdown(
        options=[(f"head {k}", k) for k in range(heads)] + [("mean of heads", -1)], value=head, description="head"
    )
    head_picker.add_class("t-head")
    query_picker = widgets.Dropdown(
        options=[(viz.token_name(i), i) for i in range(n)], value=query, description="query token"
    )
    query_picker.style.description_width = "initial"
    query_picker.add_class("t-query")

    def weights() -> torch.Tensor:
        head = None if head_picker.value == -1 else head_picker.value
        return analysis.head_weights(attention, layer_picker.value, image_picker.value, head)  # (1+N, 1+N)

    def head_name() -> str:
        return "mean of heads" if head_picker.value == -1 else f"head {head_picker.value}"

    def describe() -> str:
        q = query_picker.value
        row = weights()[q]
        top = int(row.argmax())
        return (
            f"{labels[image_picker.value]}, layer {layer_picker.value}, {head_name()}: {viz.token_name(q)} gives its "
            f"largest weight, {row[top].item():.2f}, to {viz.token_name(top)}; it keeps {row[q].item():.2f} for itself"
        )

    def draw() -> Figure:
        return viz.plot_attention_panel(
            images[image_picker.value],
            weights(),
            patch_size,
            query=query_picker.value,
            title=f"{labels[image_picker.value]}, layer {layer_picker.value}, {head_name()}",
        )

    controls = {"layer": layer_picker, "head": head_picker, "query": query_picker}
    if b > 1:  # a picker of one image would only take room
        controls = {"image": image_picker, **controls}
    return FigureWidget(
        controls,
        name="attention explorer",
        describe=describe,
        draw=draw,
        hidden={} if b > 1 else {"image": image_picker},
    ).watch()


# --- the ViT-VAE (notebook 07) ------------------------------------------------------------------------------------


class LatentInterpolation(FigureWidget):
    """:func:`latent_interpolation`'s widget; ``current`` is the ``(C, H, W)`` image decoded at the slider's ``t``."""

    current: torch.Tensor | None = None


class PriorSampler(FigureWidget):
    """:func:`prior_sampler`'s widget; ``samples`` is the ``(n, C, H, W)`` batch drawn for the current seed."""

    samples: torch.Tensor | None = None


class MaskRatioExplorer(FigureWidget):
    """:func:`mask_ratio_explorer`'s widget; ``mask`` is the ``(N,)`` mask shown (1 = hidden patch)."""

    mask: torch.Tensor | None = None


def _check_vae_images(model, images) -> None:
    if not isinstance(model, ViTVAE):
        raise TypeError(f"model must be a vitlib.vae.ViTVAE; got {type(model).__name__}.")
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != model.image_shape:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a batch (N, {', '.join(map(str, model.image_shape))}); got {shape}.")


def _seed_box(seed: int) -> widgets.IntText:
    box = widgets.IntText(value=seed, description="seed", layout=widgets.Layout(width="11em"))
    box.style.description_width = "3em"  # the label short, the box wide enough for its value
    box.add_class("t-seed")
    return box


def _seed_problem(box: widgets.IntText) -> str | None:
    return f"seed {box.value} is negative; a seed is a whole number >= 0" if box.value < 0 else None


def latent_interpolation(
    model, images: torch.Tensor, *, labels=None, first: int = 0, second: int = 1, steps: int = 9
) -> LatentInterpolation:
    """Two digit pickers and a slider ``t`` from 0 to 1 over the line between their mean codes,
    ``z = (1 - t)·μ(first) + t·μ(second)``, decoded by the ViT-VAE (notebook 07).

    ``images`` is ``(N, C, H, W)``; ``labels`` (optional, ``(N,)``) name the digits. The strip shows every
    slider position; the current one is framed in red. An index typed outside ``0..N-1``, or a ``t`` typed
    between two points of the strip, is shown as invalid in the readout (never changed silently);
    ``first``/``second`` outside the range raise ``ValueError``. The model's train/eval mode is left as it was.
    """
    _check_vae_images(model, images)
    n = len(images)
    first = _index(first, "first", n, what="an image index")
    second = _index(second, "second", n, what="an image index")
    steps = checks.positive_int(steps, "steps", example=9)
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (the two ends); got {steps}.")
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels must hold one label per image ({n}); got {len(labels)}.")
    first_box = widgets.IntText(value=first, description="first", layout=widgets.Layout(width="12em"))
    first_box.add_class("t-first")
    second_box = widgets.IntText(value=second, description="second", layout=widgets.Layout(width="12em"))
    second_box.add_class("t-second")
    slider = _Typed(
        widgets.FloatSlider(
            value=0.5, min=0.0, max=1.0, step=1 / (steps - 1), description="t", continuous_update=False, layout=_wide()
        )
    )
    slider.add_class("t-slider")

    def name(index: int) -> str:
        return f"#{index}" + (f" (a {int(labels[index])})" if labels is not None else "")

    def problem() -> str | None:
        bad = [f"{box.description} = {box.value}" for box in (first_box, second_box) if not 0 <= box.value < n]
        if bad:
            return f"{' and '.join(bad)}: not an image index; type one in 0..{n - 1}"
        point = slider.value * (steps - 1)
        if abs(point - round(point)) > 1e-6:
            below, above = math.floor(point) / (steps - 1), math.ceil(point) / (steps - 1)
            return (
                f"t = {slider.value:g} falls between two of the strip's {steps} points: "
                f"type {below:.3g} or {above:.3g} (steps of 1/{steps - 1})"
            )
        return None

    def number(t: float) -> str:  # two decimals, three where a strip point needs them (1/8 = 0.125)
        return f"{t:.2f}" if abs(100 * t - round(100 * t)) < 1e-9 else f"{t:.3f}"

    def describe() -> str:
        t, a, b = slider.value, name(first_box.value), name(second_box.value)
        return (
            f"t = {number(t)}: z = {number(1 - t)}·μ({a}) + {number(t)}·μ({b}), "
            f"decoded; the strip shows {steps} points from t = 0 to 1"
        )

    def draw() -> Figure:
        a, b, t = images[first_box.value], images[second_box.value], slider.value
        with evaluating(model):
            mu, _ = model.encode(torch.stack([a, b]))
            strip = model.decode(interpolate_latents(mu[0], mu[1], steps))
            explorer.current = model.decode(((1 - t) * mu[0] + t * mu[1])[None])[0]  # the point the slider is on
        return viz.plot_interpolation(
            strip,
            first=a,
            second=b,
            highlight=round(t * (steps - 1)),
            title=f"from {name(first_box.value)} to {name(second_box.value)}: decoded points on the line",
        )

    explorer = LatentInterpolation(
        {"first": first_box, "second": second_box, "slider": slider},
        name="latent interpolation",
        describe=describe,
        draw=draw,
        problem=problem,
    )
    return explorer.watch()


def prior_sampler(model, *, n: int = 16, seed: int = 0, ncols: int = 8) -> PriorSampler:
    """A "sample" button drawing ``n`` new images from the ViT-VAE's prior, ``z ~ N(0, I)`` (notebook 07).

    Each click moves to the next seed, so the sequence is reproducible; the seed box jumps to any seed
    (a negative one is shown as invalid). The model's train/eval mode is left as it was.
    """
    if not isinstance(model, ViTVAE):
        raise TypeError(f"model must be a vitlib.vae.ViTVAE; got {type(model).__name__}.")
    n = checks.positive_int(n, "n", example=16)
    seed = checks.nonnegative_int(seed, "seed", example=0)
    ncols = checks.positive_int(ncols, "ncols", example=8)
    button = widgets.Button(description="sample", icon="random", tooltip="draw new z ~ N(0, I) (next seed)")
    button.add_class("t-sample")
    seed_box = _seed_box(seed)

    def draw() -> Figure:
        with evaluating(model):
            explorer.samples = model.sample(n, seed=int(seed_box.value))
        title = f"samples from the prior, seed {seed_box.value}"
        return viz.plot_image_grid(explorer.samples, ncols=ncols, title=title)

    explorer = PriorSampler(
        {"button": button, "seed": seed_box},
        name="prior sampler",
        describe=lambda: f"seed {seed_box.value}: {n} latents z ~ N(0, I) of {model.latent_dim} numbers each, decoded",
        draw=draw,
        problem=lambda: _seed_problem(seed_box),
    )

    def next_seed(_button=None) -> None:
        seed_box.value = max(seed_box.value, -1) + 1  # the seed is watched: this redraws

    button.on_click(next_seed)
    return explorer.watch()


# --- notebook 08 --------------------------------------------------------------------------------------------------

MAX_RATIO = 0.95


def mask_ratio_explorer(
    image: torch.Tensor, patch_size: int, *, mask_ratio: float = 0.75, seed: int = 0, embed_dim: int | None = None
) -> MaskRatioExplorer:
    """A mask-ratio slider (and a seed) over MAE-style random masking of one ``(C, H, W)`` image
    (notebook 08): which patches are hidden (painted over, opaque), and the shorter sequence the encoder gets.

    A ratio the learner moves to that would hide every patch is shown as invalid, with the reason. A
    ``mask_ratio`` outside the slider's range ``0..0.95`` (for example 75, a percentage) raises
    ``ValueError``. ``embed_dim`` (if given) is printed in the encoder's input shape.
    """
    image = checks.float_images(image, "image", ndim=3)
    gh, gw = grid_size(image.shape[-2:], patch_size)  # raises for a patch size that does not tile the image
    n = gh * gw
    ratio = checks.real(mask_ratio, "mask_ratio", example=0.75)
    if not 0.0 <= ratio <= MAX_RATIO:
        percent = " A percentage? Divide by 100." if 1 < ratio <= 100 else ""
        raise ValueError(
            f"mask_ratio must be in the slider's range 0..{MAX_RATIO} (the fraction of patches to hide); "
            f"got {mask_ratio}.{percent} Pass e.g. mask_ratio=0.75."
        )
    seed = checks.nonnegative_int(seed, "seed", example=0)
    tokens = patchify(image[None], patch_size)  # (1, N, C*P*P)
    slider = _Typed(
        widgets.FloatSlider(
            value=ratio,
            min=0.0,
            max=MAX_RATIO,
            step=0.05,
            description="mask ratio",
            continuous_update=False,
            layout=_wide(),
        )  # fmt: skip
    )
    slider.slider.style.description_width = "initial"
    slider.add_class("t-slider")
    seed_box = _seed_box(seed)
    d = embed_dim if embed_dim is not None else "D"

    def problem() -> str | None:
        try:
            num_kept(n, slider.value)
        except (TypeError, ValueError) as error:
            return str(error)
        return _seed_problem(seed_box)

    def describe() -> str:
        ratio, keep = slider.value, num_kept(n, slider.value)
        seen = f"the whole sequence, (1, 1+{n}, {d})" if keep == n else f"(1, 1+{keep}, {d}) instead of (1, 1+{n}, {d})"
        return (
            f"mask ratio {ratio:.2f}, seed {seed_box.value}: keep round({n} x {1 - ratio:.2f}) = {keep} of {n} "
            f"patches, hide {n - keep}; the encoder's input is {seen}"
        )

    def draw() -> Figure:
        explorer.mask = random_masking(tokens, slider.value, seed=int(seed_box.value)).mask[0]
        return viz.plot_masking(image, patch_size, explorer.mask)

    explorer = MaskRatioExplorer(
        {"slider": slider, "seed": seed_box}, name="mask-ratio explorer", describe=describe, draw=draw, problem=problem
    )
    return explorer.watch()
