"""The widgets in a real browser: JupyterLab driven by Debian's Chromium through Playwright.

For each row of CASES: open a copy of the notebook (in a temporary root, so that autosave never
writes into the repository) in a real `jupyter lab` server, run its cells, check that the widget
rendered as live controls (not the static picture or the text a missing widget manager leaves),
move a control and check that the readout and the picture (its image data) changed; check that the
picture is shown at its natural size on a high-density screen (device pixel ratio 2: CSS size =
natural size / 2, never stretched to the output's width) and that the whole widget fits on a
1400 x 900 screen; optionally try a value the widget must show as invalid, and check that the
invalid state keeps the layout (the same panels, the same picture size); check that on a narrow screen
(800 px: a projector with the side panel open) the picture shrinks to fit its output, keeping its aspect
ratio, and is back at its natural size on the wide screen; check that the picture says what it shows (its
``<img>``'s title, the figure's text alternative from vitlib.viz); for the rows with ``keyboard`` steps, drive
the widget by keyboard alone (Tab from the output area to each control in turn, arrow keys on a slider, typing
into a box) and check that the readout and the picture follow; and check that no cell
raised an error it was not tagged to raise. All notebooks open in one JupyterLab page, each in its own
tab and kernel, and start running at once, so that their kernels work while earlier widgets are
checked. A failure saves a screenshot under ``test-artifacts/`` and prints its path. The server and
the browser are stopped at the end, whatever happens (by process group and PID).

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; never a Playwright browser download).
Without it the test is skipped, except under CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# What a notebook shows when the widget manager is missing: the widget's repr, or FigureWidget's static summary.
FALLBACK_TEXT = ("VBox(", "HBox(", "IntSlider(", "Dropdown(", "interactive(", "patch explorer:")


@dataclass(frozen=True)
class Keys:
    """One keyboard step: Tab once, which must bring the focus to ``focus`` (a selector inside the widget's output),
    then press ``keys`` there (Playwright key names, or text to type); after keys, the picture must change and each
    ``expect`` selector's text match its regex."""

    focus: str
    keys: tuple[str, ...] = ()
    expect: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One widget of one notebook, and what moving it must change.

    notebook   file in notebooks/
    cell       text that the source of the widget's cell contains (the first such cell)
    control    CSS selector of the control, inside that cell's output
    action     "slider": type ``value`` into the box beside the slider (``t-value``) and press Enter;
               "dropdown": select the option labelled ``value``; "click": click the control
    value      the new value (must differ from the one the notebook leaves)
    expect     selector -> regex that the element's text must match after the change
    picture    selector of the widget's picture (an <img> or an element holding one), whose data must change
    invalid    a value the control accepts but the widget must report as invalid (in ``invalid_in``), keeping
               its layout: the same number of panels (the picture's ``t-panels-<n>`` class) and picture size;
               ``invalid_redraws``: whether the picture then changes (it shows what is wrong) or is kept
    run        "all": Run All Cells; "through": run the cells up to and including the widget's cell
    keyboard   steps by keyboard alone (Keys), from the focus on the widget's output area, after the other checks
    """

    notebook: str
    cell: str
    control: str
    action: str
    value: str
    expect: dict[str, str] = field(default_factory=dict)
    picture: str = ".t-plot"
    invalid: str | None = None
    invalid_in: str = ".t-readout"
    invalid_redraws: bool = True
    run: str = "all"
    run_timeout_s: float = 120.0
    max_height: int = 900  # the whole widget (controls, readout, picture) on one 1400 x 900 screen
    keyboard: tuple[Keys, ...] = ()


# One row per notebook that has a widget. The widgets follow CONTRIBUTING.md: `t-...` classes on the
# controls (`t-slider`, `t-photo`, `t-readout`, `t-plot`), and they show a bad setting instead of raising.
# "through" rows start from the widget's initial state; 01 runs every cell (the cells after the widget move
# its slider in code and leave it at 16).
CASES = [
    Case(
        "00_tokens_vs_patches.ipynb",
        cell="patch_explorer(",
        control=".t-slider",
        action="slider",
        value="16",  # from 32, on a 224 x 224 photo
        expect={".t-readout": r"N = 14 × 14 = 196 tokens .*3·16·16 = 768"},
        invalid="20",
        run="through",
    ),
    Case(
        "01_patchify.ipynb",
        cell="patch_explorer(",
        control=".t-slider",
        action="slider",
        value="32",  # from 16, on a 192 x 288 photo
        expect={".t-readout": r"N = 6 × 9 = 54 tokens .*3·32·32 = 3072"},
        invalid="15",
    ),
    Case(
        "02_linear_projection.ipynb",
        cell="filter_explorer(",
        control=".t-slider",
        action="slider",
        value="7",  # from 0
        expect={".t-readout": r"^embedding dim 7 of \d+: filter 3x\d+x\d+"},
        invalid="99",  # typed above the slider's maximum: invalid, as a value inside it would be, never clamped
        invalid_redraws=False,
        run="through",
    ),
    Case(
        "04_positional_embeddings.ipynb",
        cell="position_similarity_explorer(",
        control=".t-slider",
        action="slider",
        value="20",  # from the middle patch, 105, of 14 x 14
        expect={".t-readout": r"query patch 20 \(row 1, col 6\) of 14x14"},
        run="through",
    ),
    Case(
        "05_attention_and_encoder.ipynb",
        cell="attention_explorer(",
        control=".t-head",
        action="dropdown",
        value="head 1",  # from head 0, layer 3, query 0 ([CLS])
        expect={".t-readout": r"layer 3, head 1: \[CLS\] gives its largest weight"},
        run="through",
    ),
    Case(
        "06_training_a_vit.ipynb",
        cell="attention_explorer(",
        control=".t-query",
        action="dropdown",
        value="patch 2",  # the query token, from [CLS] to patch 2 (token 3) of the 2 x 2 grid of an 8 x 8 digit
        expect={".t-readout": r"layer 3, head 0: patch 2 gives its largest weight"},
        run="through",
        run_timeout_s=240.0,  # trains the ViT first
    ),
    Case(
        "07_vit_vae.ipynb",
        cell="prior_sampler(",
        control=".t-sample",
        action="click",
        value="",  # each click draws from the next seed: 0 -> 1
        expect={".t-readout": r"^seed 1: 16 latents z ~ N\(0, I\)"},
        run="through",
        run_timeout_s=240.0,  # trains the ViT-VAE first
    ),
    Case(
        "08_beyond_classification.ipynb",
        cell="mask_ratio_explorer(",
        control=".t-slider",
        action="slider",
        value="0.5",  # from 0.75, 196 patches
        expect={".t-readout": r"mask ratio 0\.50, seed 0: keep round\(196 x 0\.50\) = 98 of 196 patches"},
        run="through",
        # By keyboard alone: Tab to the slider, one arrow left (a step of 0.05), Tab past the slider's value box to
        # the seed, and type a new seed; the arrow and the new seed each redraw the picture.
        keyboard=(
            Keys(
                "[role=slider]",
                ("ArrowLeft",),
                {".t-readout": r"^mask ratio 0\.45, seed 0: keep round\(196 x 0\.55\) = 108 "},
            ),
            Keys(".t-value input"),  # the slider's typed value box
            Keys(".t-seed input", ("Control+A", "3", "Enter")),
        ),
    ),
]


# ---------------------------------------------------------------------------- the browser and the server
# Shared with the slide and book tests: tests/browser_support.py.
# The fixtures chromium and lab: tests/conftest.py.
from browser_support import LabServer  # noqa: E402


def _copy_notebook(case: Case, server: LabServer) -> str:
    """A clean copy in the server's temporary root, so that autosave never writes into the repository."""
    source = NOTEBOOKS / case.notebook
    assert source.exists(), f"{source} does not exist: remove its row from CASES or write the notebook"
    nb = nbformat.read(source, as_version=4)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    target = server.root / "notebooks" / case.notebook
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    # Files next to the notebook that it may read (none today), without the other notebooks.
    for extra in NOTEBOOKS.iterdir():
        if extra.is_file() and extra.suffix != ".ipynb" and not (target.parent / extra.name).exists():
            shutil.copy(extra, target.parent / extra.name)
    return f"notebooks/{case.notebook}"


# ---------------------------------------------------------------------------- JupyterLab, from the page
# One JupyterLab page holds every notebook of the run, each in its own tab with its own kernel. All of them
# are opened and started first, so that their kernels run while the earlier widgets are being checked.

PANEL = """(path) => {
  for (const w of window.jupyterapp.shell.widgets('main')) {
    if (w.context && w.context.path === path) return w;
  }
  return null;
}"""
KERNEL_IDLE = f"""(path) => {{
  const panel = ({PANEL})(path);
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}}"""
OPEN_AND_RUN = f"""async ([path, text, mode, key]) => {{
  const app = window.jupyterapp;
  window.__runs = window.__runs || {{}};
  const panel = await app.commands.execute('docmanager:open', {{path, factory: 'Notebook'}});
  await panel.context.ready;
  await panel.sessionContext.ready;
  const started = Date.now();
  while (!({KERNEL_IDLE})(path)) {{
    if (Date.now() - started > 90000) return {{error: 'the kernel did not start within 90 s'}};
    await new Promise(r => setTimeout(r, 200));
  }}
  app.shell.activateById(panel.id);
  const notebook = panel.content, cells = notebook.widgets;
  const index = cells.findIndex(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(text));
  if (index < 0) return {{error: `no code cell contains ${{JSON.stringify(text)}}`}};
  cells[index].node.setAttribute('data-test-widget-cell', key);
  let command = 'notebook:run-all-cells';
  if (mode === 'through' && index + 1 < cells.length) {{
    notebook.activeCellIndex = index + 1;
    command = 'notebook:run-all-above';
  }}
  const t0 = performance.now();
  window.__runs[key] = {{state: 'running'}};
  app.commands.execute(command).then(
    () => {{ window.__runs[key] = {{state: 'done', seconds: (performance.now() - t0) / 1000}}; }},
    e => {{ window.__runs[key] = {{state: 'failed: ' + e, seconds: (performance.now() - t0) / 1000}}; }});
  return {{index}};
}}"""
ACTIVATE = f"""(path) => {{ window.jupyterapp.shell.activateById(({PANEL})(path).id); }}"""
CLOSE = f"""async (path) => {{
  const panel = ({PANEL})(path);
  if (!panel) return;
  await panel.sessionContext.shutdown();
  panel.dispose();
}}"""
ERRORS = f"""(path) => {{
  const found = [];
  ({PANEL})(path).content.widgets.forEach((cell, i) => {{
    if (cell.model.type !== 'code') return;
    const json = cell.model.toJSON();
    const tags = (json.metadata && json.metadata.tags) || [];
    for (const out of json.outputs || []) {{
      if (out.output_type === 'error' && !tags.includes('raises-exception')) {{
        found.push(`cell ${{i}}: ${{out.ename}}: ${{out.evalue}}`);
      }}
    }}
  }});
  return found;
}}"""
PICTURE = """async (el) => {
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  if (!img || !img.src) return null;
  const data = await (await fetch(img.src)).arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', data);
  const hex = Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
  return {src: img.src, sha256: hex, bytes: data.byteLength};
}"""
# The picture's displayed (CSS) size against its natural size: drawn at 2x and shown at 1x, so on a screen of
# device pixel ratio 2 its CSS size is its natural size / 2. A stretched picture differs.
PICTURE_SIZE = """async (el) => {
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  if (!img) return null;
  if (!img.complete || !img.naturalWidth) {
    await new Promise(r => { img.addEventListener('load', r, {once: true}); setTimeout(r, 5000); });
  }
  const rect = img.getBoundingClientRect();
  return {width: rect.width, height: rect.height, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
          dpr: window.devicePixelRatio, classes: Array.from(img.classList)};
}"""
# A projector of 1024 x 768 with JupyterLab's side panel open leaves an output area narrower than the widgets' pictures.
NARROW_WIDTH = 800
PICTURE_FIT = """(el) => {
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  const area = img.closest('.jp-OutputArea-output') || img.parentElement;
  const rect = img.getBoundingClientRect(), box = area.getBoundingClientRect();
  // ipywidgets' own margin (--jp-widgets-margin, 2 px) may push a box that fills its parent that far past it.
  return {fits: rect.right <= box.right + 4 && rect.width > 0, width: rect.width, height: rect.height,
          right: rect.right, areaRight: box.right, areaWidth: box.width};
}"""
PICTURE_SRC = """(el) => {
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  return img ? img.src : null;
}"""


def _text(locator) -> str:
    return " ".join(locator.inner_text().split())


def _settled_text(locator, *, quiet_s: float = 1.0, timeout_s: float = 15.0) -> str:
    """The element's text once it has stopped changing: the kernel's last updates of the widget (sent by the
    cells after it) can reach the page after Run All has finished."""
    deadline, last, since = time.perf_counter() + timeout_s, None, time.perf_counter()
    while True:
        text = _text(locator)
        if text != last:
            last, since = text, time.perf_counter()
        elif time.perf_counter() - since >= quiet_s or time.perf_counter() > deadline:
            return text
        time.sleep(0.1)


def _set_value(output, case: Case, value: str) -> None:
    control = output.locator(case.control).first
    if case.action == "slider":  # typed in the box beside the slider (the slider's own readout would clamp it)
        box = control.locator(".t-value input")
        box.fill(value)
        box.press("Enter")
    elif case.action == "dropdown":
        control.locator("select").select_option(label=value)
    elif case.action == "click":
        control.click()
    else:
        raise ValueError(f"unknown action {case.action!r} in {case}; use 'slider', 'dropdown' or 'click'")


def _wait_text_change(page, locator, before: str, what: str, timeout_ms: float = 20_000) -> str:
    try:
        page.wait_for_function(
            "([el, before]) => el.innerText.split(/\\s+/).join(' ').trim() !== before",
            arg=[locator.element_handle(), before],
            timeout=timeout_ms,
        )
    except Exception as error:
        raise AssertionError(f"{what}: still {before!r} after {timeout_ms / 1000:.0f} s") from error
    return _text(locator)


def _key(case: Case) -> str:
    return Path(case.notebook).stem


@pytest.fixture(scope="module")
def lab_page(chromium, lab, request):
    """One JupyterLab page; every selected notebook opened in it, its cells started (not awaited)."""
    this_module = sys.modules[__name__]  # the session also holds nbval's notebook cells, which have no .module
    selected = [
        item.callspec.params["case"] for item in request.session.items if getattr(item, "module", None) is this_module
    ]
    started = time.perf_counter()
    # A high-density screen (2 device pixels per CSS pixel) of 1400 x 900 CSS pixels: where pictures must be sharp.
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=2)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    try:
        # A fresh workspace (and reset), so that no tab of an earlier run is restored.
        page.goto(f"{lab.base}/lab/workspaces/t{secrets.token_hex(4)}?reset&token={lab.token}")
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        page.evaluate("() => window.jupyterapp.restored")
        print(f"[browser] JupyterLab page ready in {time.perf_counter() - started:.1f} s")
        page.opened = {}
        for case in {_key(case): case for case in selected}.values():
            t = time.perf_counter()
            try:
                path = _copy_notebook(case, lab)
                page.opened[_key(case)] = page.evaluate(OPEN_AND_RUN, [path, case.cell, case.run, _key(case)])
            except Exception as error:  # reported by that notebook's test, not by the others
                page.opened[_key(case)] = {"error": f"{type(error).__name__}: {error}"}
            print(f"[browser] {case.notebook}: opened, kernel idle, cells started in {time.perf_counter() - t:.1f} s")
        yield page
    finally:
        context.close()


def _panels(size: dict) -> int | None:
    """The number of panels (axes) of the figure shown, from the picture's ``t-panels-<n>`` class."""
    found = [int(c.split("-")[-1]) for c in size["classes"] if re.fullmatch(r"t-panels-\d+", c)]
    return found[0] if found else None


def _check_natural_size(size: dict | None, what: str) -> None:
    """Fails when the picture is shown stretched or shrunk: CSS size != natural size / devicePixelRatio."""
    assert size and size["naturalWidth"] > 0, f"{what}: the picture did not load"
    for side, natural in (("width", "naturalWidth"), ("height", "naturalHeight")):
        expected = size[natural] / size["dpr"]
        assert abs(size[side] - expected) <= 2, (
            f"{what}: the picture is shown {size[side]:.0f} CSS px {side}, but its natural {side} is "
            f"{size[natural]} px at device pixel ratio {size['dpr']}: {expected:.0f} CSS px (stretched)"
        )


def _wait_picture_change(page, picture, old_src: str, when: str, timeout_s: float = 20.0) -> None:
    """Wait until the picture's ``src`` differs from ``old_src``: the kernel sent a new picture."""
    try:
        page.wait_for_function(
            f"([el, old]) => ({PICTURE_SRC})(el) !== old",
            arg=[picture.element_handle(), old_src],
            timeout=timeout_s * 1000,
        )
    except Exception as error:
        raise AssertionError(f"{when}, the picture did not change") from error


def _check_narrow(page, picture, natural: dict, width: int = NARROW_WIDTH) -> None:
    """On a screen ``width`` CSS px wide, the picture fits its output area (shrunk if it must be, never enlarged) and
    keeps its aspect ratio; back on the wide screen it is shown at its natural size again."""
    wide = page.viewport_size
    page.set_viewport_size({"width": width, "height": wide["height"]})
    try:
        try:
            page.wait_for_function(f"(el) => ({PICTURE_FIT})(el).fits", arg=picture.element_handle(), timeout=10_000)
        except Exception as error:
            fit = picture.evaluate(PICTURE_FIT)
            raise AssertionError(f"on a screen {width} px wide the picture does not fit its output: {fit}") from error
        fit = picture.evaluate(PICTURE_FIT)
        # Wider than the area: it fits (above), so it shrank. Narrower: kept at its natural size. Never enlarged.
        assert fit["width"] <= natural["width"] + 1, f"{width} px wide: the picture was enlarged: {fit}"
        if natural["width"] <= fit["areaWidth"] - 4:
            assert abs(fit["width"] - natural["width"]) <= 1, f"{width} px wide: resized though it fits: {fit}"
        ratio = natural["naturalHeight"] / natural["naturalWidth"]
        assert abs(fit["height"] - fit["width"] * ratio) <= 1.5, f"{width} px wide: the picture is stretched: {fit}"
    finally:
        page.set_viewport_size(wide)
    page.wait_for_function(
        "([el, w]) => Math.abs(el.getBoundingClientRect().width - w) <= 1",
        arg=[picture.element_handle(), natural["width"]],
        timeout=10_000,
    )
    _check_natural_size(picture.evaluate(PICTURE_SIZE), f"back at {wide['width']} px wide")


CONTROLS = (
    ".t-slider, .t-value, .t-photo, .t-image, .t-layer, .t-head, .t-query, .t-table, .t-first, .t-second, .t-seed"
)
CONTROLS += ", .t-sample"
PROJECTOR = {"width": 1024, "height": 768}
OUTSIDE = """([els, width]) => els
  .map(el => [el.className, el.getBoundingClientRect()])
  .filter(([_, r]) => r.width > 0 && (r.left < 0 || r.right > width))
  .map(([name, r]) => `${name}: ${Math.round(r.left)}..${Math.round(r.right)} px`)"""


def _check_controls_on_a_projector(page, output) -> None:
    """On a 1024 x 768 projector every control of the widget is inside the screen (the controls wrap)."""
    wide = page.viewport_size
    page.set_viewport_size(PROJECTOR)
    try:
        controls = output.locator(CONTROLS)
        assert controls.count() > 0, "the widget shows none of its t-... controls"
        page.wait_for_timeout(300)  # the layout settles
        outside = page.evaluate(OUTSIDE, [controls.element_handles(), PROJECTOR["width"]])
        assert not outside, f"at 1024 x 768 these controls are off the screen: {outside}"
    finally:
        page.set_viewport_size(wide)


# Where the focus is, and whether it is inside the widget's output (the cell marked data-test-widget-cell).
FOCUS = """([key, selector]) => {
  const active = document.activeElement;
  const output = document.querySelector(`[data-test-widget-cell='${key}'] .jp-OutputArea`);
  const target = output && output.querySelector(selector);
  const at = active && `${active.tagName}.${String(active.className).slice(0, 60)} role=${active.getAttribute('role')}`;
  return {ok: !!target && (active === target || target.contains(active)), at};
}"""
START_IN_OUTPUT = """(key) => {
  const output = document.querySelector(`[data-test-widget-cell='${key}'] .jp-OutputArea`);
  output.setAttribute('tabindex', '-1');
  output.focus();
}"""
MIN_ALT_WORDS = 8


def _check_text_alternative(picture, what: str) -> str:
    """The live picture's text alternative (the title ipywidgets puts on the <img>): a sentence, not empty."""
    title = picture.evaluate("el => (el.tagName === 'IMG' ? el : el.querySelector('img')).getAttribute('title')")
    assert title and len(title.split()) >= MIN_ALT_WORDS, (
        f"{what}: the picture says nothing of what it shows: {title!r}"
    )
    return title


def _check_keyboard(page, output, case: Case) -> None:
    """Drive the widget by keyboard alone: from its output area, Tab to each control of ``case.keyboard`` in turn and
    press its keys; the readout and the picture follow."""
    key = _key(case)
    picture = output.locator(case.picture).first
    page.evaluate(START_IN_OUTPUT, key)
    for step in case.keyboard:
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS, [key, step.focus])
        assert focus["ok"], f"Tab did not reach {step.focus!r}; the focus is on {focus['at']}"
        if not step.keys:
            continue
        watched = {selector: output.locator(selector).first for selector in step.expect}
        before = {selector: _settled_text(locator) for selector, locator in watched.items()}
        old = picture.evaluate(PICTURE)
        for name in step.keys:
            page.keyboard.press(name) if len(name) > 1 else page.keyboard.type(name)
        what = f"after pressing {' '.join(step.keys)} on {step.focus}"
        for selector, pattern in step.expect.items():
            text = _wait_text_change(page, watched[selector], before[selector], f"{what}, {selector}")
            assert re.search(pattern, text), f"{what}: {selector} shows {text!r}"
        _wait_picture_change(page, picture, old["src"], what)
        assert picture.evaluate(PICTURE)["sha256"] != old["sha256"], f"{what}: the picture's data did not change"
        _check_text_alternative(picture, what)
        focus = page.evaluate(FOCUS, [key, step.focus])
        assert focus["ok"], f"{what}: the focus left the control for {focus['at']}"


def _check_widget(page, server: LabServer, case: Case, timings: dict, seen: dict) -> None:
    path, key = f"notebooks/{case.notebook}", _key(case)
    opened = page.opened[key]
    assert "error" not in opened, f"{case.notebook}: {opened['error']} (update its row in CASES?)"
    page.evaluate(ACTIVATE, path)
    output = page.locator(f"[data-test-widget-cell='{key}'] .jp-OutputArea")
    seen["output"] = output  # what a failure's screenshot shows
    try:
        page.wait_for_function(
            "(key) => window.__runs[key].state !== 'running'", arg=key, timeout=case.run_timeout_s * 1000, polling=250
        )
    except Exception as error:
        raise AssertionError(f"{case.notebook}: the cells did not finish within {case.run_timeout_s:.0f} s") from error
    page.wait_for_function(KERNEL_IDLE, arg=path, timeout=30_000)
    run = page.evaluate("(key) => window.__runs[key]", key)
    timings["run"] = run["seconds"]
    errors = page.evaluate(ERRORS, path)
    assert not errors, f"{case.notebook}: cells raised errors they are not tagged to raise: {errors}"
    assert run["state"] == "done", f"{case.notebook}: {run['state']}"

    # The widget rendered as controls: not its repr, not FigureWidget's static picture and summary.
    try:
        output.locator(case.control).first.wait_for(state="visible", timeout=20_000)
    except Exception as error:
        picture = " and a static picture (is the widget manager, jupyterlab_widgets, missing?)"
        shows = f"{_text(output)[:300]!r}" + (picture if output.locator(".jp-RenderedImage").count() else "")
        raise AssertionError(f"{case.notebook}: widget not rendered; the cell shows {shows}") from error
    shown = _text(output)
    assert not any(text in shown for text in FALLBACK_TEXT), f"the widget shows its text fallback: {shown[:300]!r}"
    assert output.locator(".jp-RenderedImage").count() == 0, "the widget shows its static picture, not its controls"

    watched = {selector: output.locator(selector).first for selector in case.expect}
    before = {selector: _settled_text(locator) for selector, locator in watched.items()}
    picture = output.locator(case.picture).first if case.picture else None
    picture_before = picture.evaluate(PICTURE) if picture is not None else None
    if picture is not None:
        assert picture_before and picture_before["bytes"] > 0, f"{case.picture}: no picture before the change"

    # Move the control: readouts and the picture follow (the value went through the kernel and back).
    t = time.perf_counter()
    _set_value(output, case, case.value)
    after = {}
    for selector, locator in watched.items():
        after[selector] = _wait_text_change(page, locator, before[selector], f"after setting {case.value}, {selector}")
    for selector, pattern in case.expect.items():
        assert re.search(pattern, after[selector]), f"after setting {case.value}: {selector} shows {after[selector]!r}"
    if picture is not None:
        _wait_picture_change(page, picture, picture_before["src"], f"after setting {case.value}")
        picture_after = picture.evaluate(PICTURE)
        assert picture_after["sha256"] != picture_before["sha256"], "the picture's src changed but not its data"
    timings["change"] = time.perf_counter() - t

    # Shown at its natural size (sharp, not stretched), and the whole widget on one screen.
    size_valid = picture.evaluate(PICTURE_SIZE) if picture is not None else None
    if picture is not None:
        _check_natural_size(size_valid, f"after setting {case.value}")
    height = output.bounding_box()["height"]
    assert height <= case.max_height, (
        f"the widget is {height:.0f} px tall: it does not fit a screen of {case.max_height}"
    )

    if case.invalid is not None:
        shown_before = _text(output.locator(case.invalid_in).first)
        _set_value(output, case, case.invalid)
        where = f"after setting the invalid {case.invalid}, {case.invalid_in}"
        shown = _wait_text_change(page, output.locator(case.invalid_in).first, shown_before, where)
        assert "invalid" in shown.lower() and case.invalid in shown, f"{case.invalid} shown as {shown!r}"
        assert output.locator(case.control).first.is_visible(), "the control vanished after an invalid value"
        if picture is not None and not case.invalid_redraws:  # the last valid picture stays
            page.wait_for_function(KERNEL_IDLE, arg=path, timeout=30_000)
            assert picture.evaluate(PICTURE)["sha256"] == picture_after["sha256"], "an invalid value redrew the picture"
        elif picture is not None:  # the same layout: the grid that fits, the same panels, the same size
            _wait_picture_change(page, picture, picture_after["src"], f"after setting the invalid {case.invalid}")
            size_invalid = picture.evaluate(PICTURE_SIZE)
            _check_natural_size(size_invalid, f"after setting the invalid {case.invalid}")
            assert _panels(size_valid) is not None, f"the picture carries no t-panels-<n> class: {size_valid}"
            assert _panels(size_invalid) == _panels(size_valid), (
                f"the invalid state shows {_panels(size_invalid)} panels instead of {_panels(size_valid)}"
            )
            for side in ("width", "height"):
                before, after = size_valid[side], size_invalid[side]
                assert abs(after - before) <= 1, f"the invalid state changes the picture's {side}: {before} -> {after}"

    if picture is not None:  # a narrow screen (a projector, a side panel open): shrunk to fit, never stretched
        _check_narrow(page, picture, size_valid)
        _check_text_alternative(picture, f"after setting {case.value}")

    if case.keyboard:
        t = time.perf_counter()
        _check_keyboard(page, output, case)
        timings["keyboard"] = time.perf_counter() - t
    _check_controls_on_a_projector(page, output)

    # Nothing went wrong on the way: no error output anywhere, no widget reporting an error.
    page.wait_for_function(KERNEL_IDLE, arg=path, timeout=30_000)
    errors = page.evaluate(ERRORS, path)
    assert not errors, f"{case.notebook}: error output after moving the widget: {errors}"
    assert "error:" not in _text(output).lower(), f"the widget reports an error: {_text(output)[:300]!r}"


@pytest.mark.parametrize("case", CASES, ids=[case.notebook.split("_")[0] for case in CASES])
def test_widget_in_jupyterlab(case, lab, lab_page):
    started = time.perf_counter()
    timings: dict[str, float] = {}
    seen: dict = {}
    page = lab_page
    try:
        _check_widget(page, lab, case, timings, seen)
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"browser-{_key(case)}.png"
        try:
            if "output" in seen:
                seen["output"].scroll_into_view_if_needed(timeout=5_000)
            page.screenshot(path=str(shot))
            print(f"\n[browser] screenshot of the failure: {shot}")
        except Exception as error:  # the page may be gone; the failure itself matters more
            print(f"\n[browser] no screenshot ({error})")
        print(f"[browser] page errors: {page.errors[:5]}\n[browser] server log:\n{lab.log_tail()}")
        raise
    finally:
        try:  # free this notebook's kernel (up to 1 GB) for the ones still running
            page.evaluate(CLOSE, f"notebooks/{case.notebook}")
        except Exception as error:
            print(f"[browser] could not close {case.notebook}: {error}")
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
        print(f"[browser] {case.notebook}: {steps}; checked {time.perf_counter() - started:.1f} s after its turn came")
