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

__all__ = [
    "FigureWidget",
    "attention_explorer",
    "filter_explorer",
    "mask_ratio_explorer",
    "patch_explorer",
    "position_similarity_explorer",
    "latent_interpolation",
    "prior_sampler",
]


class FigureWidget(widgets.VBox):
    """Controls in a row, a readout, and a picture; its display also offers a
    static copy of the picture.

    JupyterLab with the widget manager shows the live controls (its widget
    renderer ranks first); anything without it falls back to the image. Each
    control is also an attribute under its name (``explorer.slider``), so a
    notebook cell or a test can move it in code.
    """

    def __init__(self, controls: dict, *, summary):
        self.readout = widgets.HTML()  # what the picture shows, in words; errors are shown here too
        self.readout.add_class("t-readout")  # t-… classes: the handles of the browser tests
        self.picture = widgets.Image(format=viz.FORMAT)
        self.picture.add_class("t-plot")
        super().__init__([widgets.HBox(list(controls.values())), self.readout, self.picture])
        for name, control in controls.items():
            setattr(self, name, control)
        self._controls = list(controls.values())
        self._summary = summary  # () -> str, one line for text/plain

    def watch(self, redraw, *more_controls) -> None:
        """Call ``redraw()`` now and whenever a control's value changes.

        An exception in ``redraw`` is shown in the readout instead of raised:
        a widget must never die in front of a class.
        """

        def safe_redraw(_change=None) -> None:
            try:
                redraw()
            except Exception as error:
                self.readout.value = _error_html(error)

        for control in (*self._controls, *more_controls):
            if "value" in control.trait_names():  # buttons have no value; they act through on_click
                control.observe(safe_redraw, names="value")
        safe_redraw()

    def __repr__(self) -> str:
        return self._summary()

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle[f"image/{self.picture.format}"] = base64.b64encode(self.picture.value).decode("ascii")
        bundle["text/plain"] = self._summary()
        return bundle


def _explain_patch_size(image_size: tuple[int, int], patch_size: int) -> str | None:
    """``None`` when ``patch_size`` tiles the image, else the reason it does not."""
    try:
        grid_size(image_size, patch_size)
    except ValueError:
        h, w = image_size
        sides = [
            f"{name} {v} (remainder {v % patch_size})" for name, v in (("height", h), ("width", w)) if v % patch_size
        ]
        return (
            f"patch size {patch_size} does not divide the {' and the '.join(sides)}. "
            f"Sizes that work for {h}x{w}: {', '.join(map(str, valid_patch_sizes(image_size)))}."
        )
    return None


def patch_explorer(
    *,
    photo: str = "china",
    image_size=224,
    patch_size: int = 16,
    min_patch: int = 4,
    max_patch: int = 64,
    view: str = "full",
) -> FigureWidget:
    """A photo picker and a patch-size slider showing the patch grid, the
    mosaic of patches, the token matrix, and readouts of N and C·P·P.

    ``view="grid"`` shows only the photo with its numbered patch grid (the
    small version that notebook 00 uses). A patch size that does not divide
    the image is shown as invalid, with the reason, instead of raising.
    """
    if photo not in PHOTOS:
        raise ValueError(f"unknown photo {photo!r}; choose one of {list(PHOTOS)}.")
    if view not in ("full", "grid"):
        raise ValueError(f"view must be 'full' or 'grid'; got {view!r}.")
    images = {name: load_photo(name, image_size) for name in PHOTOS}
    size = tuple(images[photo].shape[-2:])
    picker = widgets.Dropdown(options=list(PHOTOS), value=photo, description="photo")
    picker.add_class("t-photo")
    slider = widgets.IntSlider(
        value=patch_size, min=min_patch, max=max_patch, step=1, description="patch size", continuous_update=False
    )
    slider.add_class("t-slider")

    def state() -> tuple[torch.Tensor, int, str | None]:
        return images[picker.value], slider.value, _explain_patch_size(size, slider.value)

    def summary() -> str:
        image, p, problem = state()
        if problem:
            return f"patch explorer: {picker.value}.jpg {size[0]}x{size[1]}, INVALID: {problem}"
        gh, gw = grid_size(size, p)
        return (
            f"patch explorer: {picker.value}.jpg {size[0]}x{size[1]}, patch size {p}: "
            f"N = {gh}x{gw} = {gh * gw} tokens of D = C·P·P = 3·{p}·{p} = {3 * p * p} numbers"
        )

    def draw() -> bytes:
        image, p, problem = state()
        if problem:
            fig = viz.plot_image(image, title=f"patch size {p}: invalid", size=3.6)
        elif view == "grid":
            fig = viz.plot_patch_grid(image, p)
        else:
            fig = viz.plot_patch_explorer(image, p)
        return viz.figure_to_bytes(fig)

    def update() -> None:
        image, p, problem = state()
        if problem:
            explorer.readout.value = f"<b style='color:#c0392b'>✗ invalid</b>: {html.escape(problem)}"
        else:
            gh, gw = grid_size(size, p)
            explorer.readout.value = (
                f"<b>N = {gh} × {gw} = {gh * gw}</b> tokens &nbsp;·&nbsp; "
                f"<b>D = C·P·P = 3·{p}·{p} = {3 * p * p}</b> numbers per token &nbsp;·&nbsp; "
                f"patches: {tuple(patchify(image[None], p).shape)}"
            )
        explorer.picture.value = draw()

    explorer = FigureWidget({"picker": picker, "slider": slider}, summary=summary)
    explorer.watch(update)
    return explorer


def _error_html(error: Exception) -> str:
    return f"<b style='color:#c0392b'>error</b>: {html.escape(str(error))}"


def filter_explorer(weight: torch.Tensor, *, in_chans: int | None = None, index: int = 0) -> FigureWidget:
    """A slider over the embedding dimensions showing each projection row as a
    ``C x P x P`` filter (notebook 02), with its numbers in a readout.

    ``weight`` is ``proj.weight`` ``(D, C, P, P)`` or a linear weight ``(D, C*P*P)``.
    """
    filters = viz._filters(weight, in_chans)  # checks the shape up front
    d, c, p, _ = filters.shape
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < d:
        raise ValueError(f"index must be an int in 0..{d - 1}; got {index!r}.")
    slider = widgets.IntSlider(
        value=index, min=0, max=d - 1, step=1, description="embedding dim", continuous_update=False
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
        k = slider.value
        explorer.readout.value = html.escape(describe(k))
        explorer.picture.value = viz.figure_to_bytes(viz.plot_filter(filters, k))

    explorer = FigureWidget(
        {"slider": slider},
        summary=lambda: "filter explorer: " + describe(slider.value),
    )
    explorer.watch(update)
    return explorer


def position_similarity_explorer(
    tables, grid=None, *, query: int | None = None, num_prefix_tokens: int = 1
) -> FigureWidget:
    """A query-patch slider over the position-similarity grid (the ViT paper's
    figure 7, notebook 04): the query's panel is framed and drawn large.

    ``tables`` is one position table ``(1, P+gh*gw, D)`` or a dict of named
    tables of the same grid (then a picker switches between them).
    """
    from .embedding import _table_grid, position_similarity

    tables = dict(tables) if isinstance(tables, dict) else {"position table": tables}
    if not tables:
        raise ValueError("tables is empty; pass a position table (1, T, D) or a dict of them.")
    grids = {name: _table_grid(table, grid, num_prefix_tokens) for name, table in tables.items()}
    if len(set(grids.values())) != 1:
        raise ValueError(f"all tables must share one patch grid; got {grids}.")
    gh, gw = next(iter(grids.values()))
    n = gh * gw
    query = (gh // 2) * gw + gw // 2 if query is None else query  # default: the middle patch
    if isinstance(query, bool) or not isinstance(query, int) or not 0 <= query < n:
        raise ValueError(f"query must be a patch index in 0..{n - 1}; got {query!r}.")
    sims = {
        name: position_similarity(table, (gh, gw), num_prefix_tokens=num_prefix_tokens)
        for name, table in tables.items()
    }
    picker = widgets.Dropdown(options=list(tables), value=next(iter(tables)), description="table")
    picker.add_class("t-table")
    picker.layout.display = None if len(tables) > 1 else "none"
    slider = widgets.IntSlider(
        value=query, min=0, max=n - 1, step=1, description="query patch", continuous_update=False
    )
    slider.style.description_width = "initial"
    slider.add_class("t-slider")

    def describe() -> str:
        q = slider.value
        r, c = divmod(q, gw)
        sim = sims[picker.value][q].clone()
        sim[r, c] = float("-inf")
        best = int(sim.flatten().argmax())
        neighbours = [
            sims[picker.value][q, rr, cc].item()
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
            if 0 <= rr < gh and 0 <= cc < gw
        ]
        mean_neighbour = f", mean with its neighbours {sum(neighbours) / len(neighbours):+.2f}" if neighbours else ""
        return (
            f"{picker.value}: query patch {q} (row {r}, col {c}) of {gh}x{gw}; most similar other position: "
            f"{best} (row {best // gw}, col {best % gw}), {sim.flatten()[best].item():+.2f}{mean_neighbour}"
        )

    def update() -> None:
        explorer.readout.value = html.escape(describe())
        fig = viz.plot_position_similarity(
            tables[picker.value],
            (gh, gw),
            query=slider.value,
            num_prefix_tokens=num_prefix_tokens,
            title=f"{picker.value}: {gh} x {gw} grid",
        )
        explorer.picture.value = viz.figure_to_bytes(fig)

    explorer = FigureWidget(
        {"picker": picker, "slider": slider},
        summary=lambda: "position similarity: " + describe(),
    )
    explorer.watch(update)
    return explorer


def mask_ratio_explorer(
    image: torch.Tensor, patch_size: int, *, mask_ratio: float = 0.75, seed: int = 0, embed_dim: int | None = None
) -> FigureWidget:
    """A mask-ratio slider (and a seed) over MAE-style random masking of one
    ``(C, H, W)`` image (notebook 08): which patches are hidden, and the
    shorter sequence the encoder gets.

    A ratio that would hide every patch is shown as invalid, with the reason.
    ``embed_dim`` (if given) is printed in the encoder's input shape.
    """
    from .masking import num_kept, random_masking

    if image.dim() != 3:
        raise ValueError(f"image must be (C, H, W); got shape {tuple(image.shape)}. Use images[0] for a batch.")
    gh, gw = grid_size(image.shape[-2:], patch_size)  # raises for a patch size that does not tile the image
    n = gh * gw
    tokens = patchify(image[None], patch_size)  # (1, N, C*P*P)
    slider = widgets.FloatSlider(
        value=mask_ratio, min=0.0, max=0.95, step=0.05, description="mask ratio", continuous_update=False
    )
    slider.style.description_width = "initial"
    slider.add_class("t-slider")
    seed_box = widgets.IntText(value=seed, description="seed", layout=widgets.Layout(width="9em"))
    seed_box.add_class("t-seed")
    d = embed_dim if embed_dim is not None else "D"

    def describe() -> str:
        ratio = slider.value
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
            explorer.readout.value = f"<b style='color:#c0392b'>✗ invalid</b>: {html.escape(text[9:])}"
            return
        explorer.readout.value = html.escape(text)
        masked = random_masking(tokens, slider.value, seed=int(seed_box.value))
        explorer.picture.value = viz.figure_to_bytes(viz.plot_masking(image, patch_size, masked.mask[0]))
        explorer.mask = masked.mask[0]

    explorer = FigureWidget(
        {"slider": slider, "seed": seed_box},
        summary=lambda: "mask-ratio explorer: " + describe(),
    )
    explorer.mask = None
    explorer.watch(update)
    return explorer


# --- the ViT-VAE (notebook 07) ------------------------------------------------------------------------------------


def _check_vae_images(model, images) -> None:
    from .vae import ViTVAE

    if not isinstance(model, ViTVAE):
        raise TypeError(f"model must be a vitlib.vae.ViTVAE; got {type(model).__name__}.")
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != model.image_shape:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a batch (N, {', '.join(map(str, model.image_shape))}); got {shape}.")


def latent_interpolation(model, images: torch.Tensor, *, labels=None, first: int = 0, second: int = 1, steps: int = 9):
    """Two digit pickers and a slider ``t`` from 0 to 1 over the line between their mean
    codes, ``z = (1 - t)·μ(first) + t·μ(second)``, decoded by the ViT-VAE (notebook 07).

    ``images`` is ``(N, C, H, W)``; ``labels`` (optional, ``(N,)``) name the digits.
    The strip shows every slider position; the current one is framed in red.
    """
    from .vae import interpolate_latents

    _check_vae_images(model, images)
    n = len(images)
    for name, index in (("first", first), ("second", second)):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise ValueError(f"{name} must be an image index in 0..{n - 1}; got {index!r}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an int >= 2 (the two ends); got {steps!r}.")
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels must hold one label per image ({n}); got {len(labels)}.")
    model.eval()
    first_box = widgets.BoundedIntText(value=first, min=0, max=n - 1, description="first")
    first_box.add_class("t-first")
    second_box = widgets.BoundedIntText(value=second, min=0, max=n - 1, description="second")
    second_box.add_class("t-second")
    step = 1 / (steps - 1)
    slider = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=step, description="t", continuous_update=False)
    slider.add_class("t-slider")

    def name(index: int) -> str:
        return f"#{index}" + (f" (a {int(labels[index])})" if labels is not None else "")

    def describe() -> str:
        t = slider.value
        return (
            f"t = {t:.2f}: z = {1 - t:.2f}·μ({name(first_box.value)}) + {t:.2f}·μ({name(second_box.value)}), "
            f"decoded; the strip shows {steps} points from t = 0 to 1"
        )

    def update() -> None:
        a, b = images[first_box.value], images[second_box.value]
        with torch.no_grad():
            mu, _ = model.encode(torch.stack([a, b]))
            strip = model.decode(interpolate_latents(mu[0], mu[1], steps))
            t = slider.value
            now = model.decode(((1 - t) * mu[0] + t * mu[1])[None])  # the point the slider is on
        explorer.current = now[0]
        explorer.readout.value = html.escape(describe())
        fig = viz.plot_interpolation(
            strip,
            first=a,
            second=b,
            highlight=round(slider.value * (steps - 1)),
            title=f"from {name(first_box.value)} to {name(second_box.value)}: decoded points on the line",
        )
        explorer.picture.value = viz.figure_to_bytes(fig)

    explorer = FigureWidget(
        {"first": first_box, "second": second_box, "slider": slider},
        summary=lambda: "latent interpolation: " + describe(),
    )
    explorer.current = None
    explorer.watch(update)
    return explorer


def prior_sampler(model, *, n: int = 16, seed: int = 0, ncols: int = 8):
    """A "sample" button drawing ``n`` new images from the ViT-VAE's prior, ``z ~ N(0, I)``
    (notebook 07). Each click moves to the next seed, so the sequence is reproducible;
    the seed box jumps to any seed."""
    from .vae import ViTVAE

    if not isinstance(model, ViTVAE):
        raise TypeError(f"model must be a vitlib.vae.ViTVAE; got {type(model).__name__}.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0; got {seed!r}.")
    model.eval()
    button = widgets.Button(description="sample", icon="random", tooltip="draw new z ~ N(0, I) (next seed)")
    button.add_class("t-sample")
    seed_box = widgets.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
    seed_box.add_class("t-seed")

    def describe() -> str:
        return f"seed {seed_box.value}: {n} latents z ~ N(0, I) of {model.latent_dim} numbers each, decoded"

    def update() -> None:
        explorer.samples = model.sample(n, seed=int(seed_box.value))
        explorer.readout.value = html.escape(describe())
        title = f"samples from the prior, seed {seed_box.value}"
        fig = viz.plot_image_grid(explorer.samples, ncols=ncols, title=title)
        explorer.picture.value = viz.figure_to_bytes(fig)

    def next_seed(_button=None) -> None:
        seed_box.value = seed_box.value + 1  # the seed is watched: this redraws

    explorer = FigureWidget(
        {"button": button, "seed": seed_box},
        summary=lambda: "prior sampler: " + describe(),
    )
    explorer.samples = None
    button.on_click(next_seed)
    explorer.watch(update)
    return explorer


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

    ``images`` ``(B, C, H, W)`` and the ``(depth, B, heads, 1+N, 1+N)``
    attention that ``model(x, return_attention=True)`` returned for them. The
    head picker also offers the mean of the heads. Shows the attention
    matrix beside the image, with the query's row laid over the patches.
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
    titles = [f"image {i}" for i in range(b)] if titles is None else [str(t) for t in titles]
    for name, value, low, top in (
        ("image", image, 0, b),
        ("layer", layer, 0, depth),
        ("head", head, -1, heads),
        ("query", query, 0, n),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value < top:
            extra = " (-1: the mean of the heads)" if name == "head" else ""
            raise ValueError(f"{name} must be an int in {low}..{top - 1}{extra}; got {value!r}.")
    image_picker = widgets.Dropdown(options=[(t, i) for i, t in enumerate(titles)], value=image, description="image")
    image_picker.add_class("t-image")
    layer_picker = widgets.Dropdown(options=list(range(depth)), value=layer, description="layer")
    layer_picker.add_class("t-layer")
    head_picker = widgets.Dropdown(
        options=[(f"head {k}", k) for k in range(heads)] + [("mean of heads", -1)], value=head, description="head"
    )
    head_picker.add_class("t-head")
    query_slider = widgets.IntSlider(value=query, min=0, max=n - 1, description="query token", continuous_update=False)
    query_slider.style.description_width = "initial"
    query_slider.add_class("t-slider")

    def weights() -> torch.Tensor:
        per_head = attention[layer_picker.value, image_picker.value]  # (heads, 1+N, 1+N)
        return per_head.mean(0) if head_picker.value == -1 else per_head[head_picker.value]

    def describe() -> str:
        q = query_slider.value
        row = weights()[q]
        who = "[CLS]" if q == 0 else f"patch {q - 1}"
        top = int(row.argmax())
        target = "[CLS]" if top == 0 else f"patch {top - 1}"
        head_name = "mean of heads" if head_picker.value == -1 else f"head {head_picker.value}"
        return (
            f"{titles[image_picker.value]}, layer {layer_picker.value}, {head_name}: {who} gives its largest "
            f"weight, {row[top].item():.2f}, to {target}; it keeps {row[q].item():.2f} for itself"
        )

    def update() -> None:
        explorer.readout.value = html.escape(describe())
        head_name = "mean of heads" if head_picker.value == -1 else f"head {head_picker.value}"
        fig = viz.plot_attention_panel(
            images[image_picker.value],
            weights(),
            patch_size,
            query=query_slider.value,
            title=f"layer {layer_picker.value}, {head_name}",
        )
        explorer.picture.value = viz.figure_to_bytes(fig)

    controls = {"layer": layer_picker, "head": head_picker, "query": query_slider}
    if b > 1:  # a picker of one image would only take room
        controls = {"image": image_picker, **controls}
    explorer = FigureWidget(controls, summary=lambda: "attention explorer: " + describe())
    explorer.image = image_picker
    explorer.watch(update, *([] if b > 1 else [image_picker]))  # the image picker is watched even when hidden
    return explorer
