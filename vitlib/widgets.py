"""Interactive controls for JupyterLab (ipywidgets 8), thin layers over :mod:`vitlib.viz`.

Each widget also carries a static picture of its current state, so a notebook executed headless
(nbconvert, nbval, GitHub's viewer) still shows a figure where a live JupyterLab shows the controls.

Rules every widget here keeps:

- a bad constructor argument (a start value outside a control's range, too few titles, ...) raises a
  ``ValueError``/``TypeError`` naming the value and the range; a value the learner *moves to* that does
  not work is shown as invalid in the readout, with the reason; a callback never raises;
- the caller's model is left as it was: computations run under ``no_grad`` in eval mode, and every
  module's previous mode is restored afterwards;
- pictures are drawn at twice :data:`vitlib.viz.DPI` and shown at their natural size halved, so they
  are sharp on a high-density screen and never stretched to the output's width.
"""

from __future__ import annotations

import base64
import contextlib
import html

import ipywidgets as widgets
import torch
import traitlets
from matplotlib.figure import Figure

from . import checks, viz
from .data import PHOTOS, load_photo
from .embedding import position_similarity
from .masking import num_kept, random_masking
from .patches import explain_patch_size, grid_size, patchify, valid_patch_sizes
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


def _invalid_html(text: str) -> str:
    return f"<b style='color:#c0392b'>✗ invalid</b>: {html.escape(text)}"


def _error_html(error: Exception) -> str:
    return f"<b style='color:#c0392b'>error</b>: {html.escape(str(error))}"


class _Picture(widgets.Image):
    """An ``Image`` whose ``tooltip`` (its text alternative) reaches the page as the ``<img>``'s title. ipywidgets 8.1's
    view reads ``description.length`` before it sets a tooltip, and an ``Image`` has no description, so the view
    fails (jupyter-widgets/ipywidgets#3860, fixed by the open #3921); an empty one lets it set the title."""

    description = traitlets.Unicode("").tag(sync=True)


@contextlib.contextmanager
def _inference(model: torch.nn.Module):
    """Run ``model`` in eval mode without gradients, then put every submodule back in the mode it had."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, training in modes:
            module.training = training


class FigureWidget(widgets.VBox):
    """Controls in a row, a readout, and a picture; its display also offers a static copy of the picture.

    JupyterLab with the widget manager shows the live controls (its widget renderer ranks first);
    anything without it falls back to the image. Each control is also an attribute under its name
    (``explorer.slider``), so a notebook cell or a test can move it in code; ``hidden`` controls are
    watched and reachable the same way but not shown. State: ``readout`` (HTML), ``picture`` (the
    image shown), ``figure`` (the last ``Figure`` shown, or ``None``) and ``panels`` (its number of
    axes, colour bars included; also the CSS class ``t-panels-<n>`` of the picture, for the browser test).
    The picture says what it shows (:func:`vitlib.viz.alt_text`): live, as its tooltip (the ``<img>``'s
    title), and static, as the ``alt`` of the stored picture's metadata.
    """

    def __init__(self, controls: dict, *, summary, hidden: dict | None = None):
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
        super().__init__([widgets.HBox(list(controls.values())), self.readout, self.picture])
        self._controls = {**controls, **(hidden or {})}
        for name, control in self._controls.items():
            setattr(self, name, control)
        self._summary = summary  # () -> str, one line for text/plain

    def show(self, fig: Figure) -> None:
        """Show ``fig``: encoded at ``SCALE`` x its DPI, displayed at its natural size (1 / SCALE)."""
        width, _height = viz.figure_pixels(fig)
        self.figure, self.panels = fig, len(fig.axes)
        # One message to the page: the picture, its size and its class change together, so a page (or the
        # browser test) never sees the new picture with the old class, or with none.
        with self.picture.hold_sync():
            kept = [name for name in self.picture._dom_classes if not name.startswith("t-panels-")]
            self.picture._dom_classes = (*kept, f"t-panels-{self.panels}")
            self.picture.value = viz.figure_to_bytes(fig, dpi=SCALE * viz.DPI)
            # The picture's text alternative: ipywidgets puts a widget's tooltip on its <img> as its title.
            self.picture.tooltip = viz.alt_text(fig)
        self.picture.layout.width = f"{width}px"

    def watch(self, redraw, *more_controls) -> None:
        """Call ``redraw()`` now and whenever a control's value changes.

        An exception in ``redraw`` is shown in the readout instead of raised: a widget must never die
        in front of a class.
        """

        def safe_redraw(_change=None) -> None:
            try:
                redraw()
            except Exception as error:
                self.readout.value = _error_html(error)

        for control in (*self._controls.values(), *more_controls):
            if "value" in control.trait_names():  # buttons have no value; they act through on_click
                control.observe(safe_redraw, names="value")
        safe_redraw()

    def __repr__(self) -> str:
        return self._summary()

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        if self.figure is not None:  # the static copy at 1x: small in the stored notebook
            bundle[f"image/{viz.FORMAT}"] = base64.b64encode(viz.figure_to_bytes(self.figure)).decode("ascii")
        bundle["text/plain"] = self._summary()
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
) -> FigureWidget:
    """A photo picker and a patch-size slider showing the patch grid, one token up close (its R | G | B
    planes), the token matrix, and readouts of N and C·P·P.

    ``view="grid"`` shows only the photo with its numbered patch grid (the small version that notebook 00
    uses). The slider runs from the smallest to the largest size in ``min_patch..max_patch`` that tiles the
    image, so both ends work; a size in between that does not tile the image is shown as invalid, with the
    reason and the leftover strip hatched, in the same layout. ``valid_only=True`` makes the slider step
    through the sizes that work only. A ``patch_size`` outside the slider's range raises ``ValueError``.
    """
    photo = checks.choice(photo, "photo", PHOTOS)
    view = checks.choice(view, "view", ("full", "grid"))
    min_patch = checks.positive_int(min_patch, "min_patch", example=4)
    max_patch = checks.positive_int(max_patch, "max_patch", example=64)
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
        slider = widgets.IntSlider(value=patch_size, min=low, max=high, step=1, description="patch size")
    slider.continuous_update = False
    slider.layout = _wide()
    slider.add_class("t-slider")

    def problem() -> str | None:
        return explain_patch_size(size, slider.value, within=(low, high))

    def summary() -> str:
        p, why = slider.value, problem()
        if why:
            return f"patch explorer: {picker.value}.jpg {size[0]}x{size[1]}, INVALID: {why}"
        gh, gw = grid_size(size, p)
        return (
            f"patch explorer: {picker.value}.jpg {size[0]}x{size[1]}, patch size {p}: "
            f"N = {gh}x{gw} = {gh * gw} tokens of D = C·P·P = 3·{p}·{p} = {3 * p * p} numbers"
        )

    def update() -> None:
        image, p, why = images[picker.value], slider.value, problem()
        if why:
            explorer.readout.value = _invalid_html(why)
        else:
            gh, gw = grid_size(size, p)
            explorer.readout.value = (
                f"<b>N = {gh} × {gw} = {gh * gw}</b> tokens &nbsp;·&nbsp; "
                f"<b>D = C·P·P = 3·{p}·{p} = {3 * p * p}</b> numbers per token &nbsp;·&nbsp; "
                f"patches: {tuple(patchify(image[None], p).shape)}"
            )
        explorer.show(viz.plot_patch_grid(image, p) if view == "grid" else viz.plot_patch_explorer(image, p))

    explorer = FigureWidget({"picker": picker, "slider": slider}, summary=summary)
    explorer.watch(update)
    return explorer


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
    slider = widgets.IntSlider(
        value=index, min=0, max=d - 1, step=1, description="embedding dim", continuous_update=False, layout=_wide()
    )
    slider.style.description_width = "initial"
    slider.add_class("t-slider")

    def describe(k: int) -> str:
        f = filters[k]
        return (
            f"embedding dim {k} of {d}: filter {c}x{p}x{p} = {c * p * p} weights, "
            f"min {f.min().item():+.3f}, max {f.max().item():+.3f}, norm {f.norm().item():.3f}"
        )

    def update() -> None:
        explorer.readout.value = html.escape(describe(slider.value))
        explorer.show(viz.plot_filter(filters, slider.value))

    explorer = FigureWidget({"slider": slider}, summary=lambda: "filter explorer: " + describe(slider.value))
    explorer.watch(update)
    return explorer


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
        name: position_similarity(table, grid, num_prefix_tokens=num_prefix_tokens) for name, table in tables.items()
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
    slider = widgets.IntSlider(
        value=query, min=0, max=n - 1, step=1, description="query patch", continuous_update=False, layout=_wide()
    )
    slider.style.description_width = "initial"
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

    def update() -> None:
        explorer.readout.value = html.escape(describe())
        fig = viz.plot_position_similarity(
            tables[picker.value],
            (gh, gw),
            query=slider.value,
            num_prefix_tokens=num_prefix_tokens,
            title=f"{picker.value}: {gh} x {gw} grid",
        )
        explorer.show(fig)

    explorer = FigureWidget({"picker": picker, "slider": slider}, summary=lambda: "position similarity: " + describe())
    explorer.watch(update)
    return explorer


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
    if not isinstance(attention, torch.Tensor) or attention.dim() != 5:
        raise ValueError(
            "attention must be (depth, B, heads, 1+N, 1+N) as model(x, return_attention=True) returns it; got "
            f"{tuple(attention.shape) if isinstance(attention, torch.Tensor) else type(attention).__name__}."
        )
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
        per_head = attention[layer_picker.value, image_picker.value]  # (heads, 1+N, 1+N)
        return per_head.mean(0) if head_picker.value == -1 else per_head[head_picker.value]

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

    def update() -> None:
        explorer.readout.value = html.escape(describe())
        fig = viz.plot_attention_panel(
            images[image_picker.value],
            weights(),
            patch_size,
            query=query_picker.value,
            title=f"{labels[image_picker.value]}, layer {layer_picker.value}, {head_name()}",
        )
        explorer.show(fig)

    controls = {"layer": layer_picker, "head": head_picker, "query": query_picker}
    if b > 1:  # a picker of one image would only take room
        controls = {"image": image_picker, **controls}
    explorer = FigureWidget(
        controls, summary=lambda: "attention explorer: " + describe(), hidden={} if b > 1 else {"image": image_picker}
    )
    explorer.watch(update)
    return explorer


# --- the ViT-VAE (notebook 07) ------------------------------------------------------------------------------------


class LatentInterpolation(FigureWidget):
    """:func:`latent_interpolation`'s widget; ``current`` is the ``(C, H, W)`` image decoded at the slider's ``t``."""

    def __init__(self, controls: dict, *, summary):
        self.current: torch.Tensor | None = None
        super().__init__(controls, summary=summary)


class PriorSampler(FigureWidget):
    """:func:`prior_sampler`'s widget; ``samples`` is the ``(n, C, H, W)`` batch drawn for the current seed."""

    def __init__(self, controls: dict, *, summary):
        self.samples: torch.Tensor | None = None
        super().__init__(controls, summary=summary)


class MaskRatioExplorer(FigureWidget):
    """:func:`mask_ratio_explorer`'s widget; ``mask`` is the ``(N,)`` mask shown (1 = hidden patch)."""

    def __init__(self, controls: dict, *, summary):
        self.mask: torch.Tensor | None = None
        super().__init__(controls, summary=summary)


def _check_vae_images(model, images) -> None:
    if not isinstance(model, ViTVAE):
        raise TypeError(f"model must be a vitlib.vae.ViTVAE; got {type(model).__name__}.")
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != model.image_shape:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a batch (N, {', '.join(map(str, model.image_shape))}); got {shape}.")


def latent_interpolation(
    model, images: torch.Tensor, *, labels=None, first: int = 0, second: int = 1, steps: int = 9
) -> LatentInterpolation:
    """Two digit pickers and a slider ``t`` from 0 to 1 over the line between their mean codes,
    ``z = (1 - t)·μ(first) + t·μ(second)``, decoded by the ViT-VAE (notebook 07).

    ``images`` is ``(N, C, H, W)``; ``labels`` (optional, ``(N,)``) name the digits. The strip shows every
    slider position; the current one is framed in red. An index typed outside ``0..N-1`` is shown as
    invalid in the readout (never changed silently); ``first``/``second`` outside it raise ``ValueError``.
    The model's train/eval mode is left as it was.
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
    slider = widgets.FloatSlider(
        value=0.5, min=0.0, max=1.0, step=1 / (steps - 1), description="t", continuous_update=False, layout=_wide()
    )
    slider.add_class("t-slider")

    def name(index: int) -> str:
        return f"#{index}" + (f" (a {int(labels[index])})" if labels is not None else "")

    def out_of_range() -> str | None:
        bad = [f"{box.description} = {box.value}" for box in (first_box, second_box) if not 0 <= box.value < n]
        return f"{' and '.join(bad)}: not an image index; type one in 0..{n - 1}" if bad else None

    def describe() -> str:
        t, why = slider.value, out_of_range()
        if why:
            return f"INVALID: {why}"
        return (
            f"t = {t:.2f}: z = {1 - t:.2f}·μ({name(first_box.value)}) + {t:.2f}·μ({name(second_box.value)}), "
            f"decoded; the strip shows {steps} points from t = 0 to 1"
        )

    def update() -> None:
        why = out_of_range()
        if why:  # the picture keeps the last valid pair
            explorer.readout.value = _invalid_html(why)
            return
        a, b = images[first_box.value], images[second_box.value]
        t = slider.value
        with _inference(model):
            mu, _ = model.encode(torch.stack([a, b]))
            strip = model.decode(interpolate_latents(mu[0], mu[1], steps))
            now = model.decode(((1 - t) * mu[0] + t * mu[1])[None])  # the point the slider is on
        explorer.current = now[0]
        explorer.readout.value = html.escape(describe())
        fig = viz.plot_interpolation(
            strip,
            first=a,
            second=b,
            highlight=round(t * (steps - 1)),
            title=f"from {name(first_box.value)} to {name(second_box.value)}: decoded points on the line",
        )
        explorer.show(fig)

    explorer = LatentInterpolation(
        {"first": first_box, "second": second_box, "slider": slider},
        summary=lambda: "latent interpolation: " + describe(),
    )
    explorer.watch(update)
    return explorer


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
    seed_box = widgets.IntText(value=seed, description="seed", layout=widgets.Layout(width="14em"))
    seed_box.add_class("t-seed")

    def describe() -> str:
        if seed_box.value < 0:
            return f"INVALID: seed {seed_box.value} is negative; a seed is a whole number >= 0"
        return f"seed {seed_box.value}: {n} latents z ~ N(0, I) of {model.latent_dim} numbers each, decoded"

    def update() -> None:
        text = describe()
        if text.startswith("INVALID"):
            explorer.readout.value = _invalid_html(text[9:])
            return
        with _inference(model):
            explorer.samples = model.sample(n, seed=int(seed_box.value))
        explorer.readout.value = html.escape(text)
        title = f"samples from the prior, seed {seed_box.value}"
        explorer.show(viz.plot_image_grid(explorer.samples, ncols=ncols, title=title))

    def next_seed(_button=None) -> None:
        seed_box.value = max(seed_box.value, -1) + 1  # the seed is watched: this redraws

    explorer = PriorSampler({"button": button, "seed": seed_box}, summary=lambda: "prior sampler: " + describe())
    button.on_click(next_seed)
    explorer.watch(update)
    return explorer


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
    slider = widgets.FloatSlider(
        value=ratio,
        min=0.0,
        max=MAX_RATIO,
        step=0.05,
        description="mask ratio",
        continuous_update=False,
        layout=_wide(),
    )
    slider.style.description_width = "initial"
    slider.add_class("t-slider")
    seed_box = widgets.IntText(value=seed, description="seed", layout=widgets.Layout(width="9em"))
    seed_box.add_class("t-seed")
    d = embed_dim if embed_dim is not None else "D"

    def describe() -> str:
        ratio = slider.value
        if seed_box.value < 0:
            return f"INVALID: seed {seed_box.value} is negative; a seed is a whole number >= 0"
        try:
            keep = num_kept(n, ratio)
        except (TypeError, ValueError) as error:
            return f"INVALID: {error}"
        return (
            f"mask ratio {ratio:.2f}: keep round({n} x {1 - ratio:.2f}) = {keep} of {n} patches, hide {n - keep}; "
            f"the encoder's input is (1, 1+{keep}, {d}) instead of (1, 1+{n}, {d})"
        )

    def update() -> None:
        text = describe()
        if text.startswith("INVALID"):
            explorer.readout.value = _invalid_html(text[9:])
            return
        explorer.readout.value = html.escape(text)
        masked = random_masking(tokens, slider.value, seed=int(seed_box.value))
        explorer.mask = masked.mask[0]
        explorer.show(viz.plot_masking(image, patch_size, explorer.mask))

    explorer = MaskRatioExplorer(
        {"slider": slider, "seed": seed_box}, summary=lambda: "mask-ratio explorer: " + describe()
    )
    explorer.watch(update)
    return explorer
