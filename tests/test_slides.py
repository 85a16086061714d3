"""The slideshow in a real browser: notebook 01 presented with jupyterlab-slideshow, its widget live on the slide.

jupyterlab-slideshow (requirements.txt; formerly jupyterlab-deck) presents the notebook itself in *deck mode*:
the same panel, on the same kernel, showing one slide at a time from the cells' ``slideshow.slide_type``.
So a widget on a slide is the notebook's own live widget, not a copy or a stored picture.

Opens a clean copy of notebooks/01_patchify.ipynb in the JupyterLab of tests/conftest.py, runs its cells,
starts the slideshow as a presenter does (the notebook toolbar's deck button, command ``deck:toggle``),
moves with Space to the slide that holds the patch explorer, moves the explorer's slider there (arrow key on
its handle, then a typed value) and checks that the picture redraws each time and that the slide stays, then
leaves the slideshow with Esc. The tests share one page and run in this file's order. Needs
/usr/bin/chromium and jupyterlab-slideshow (requirements.txt); without them the tests are skipped, except under
CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from browser_support import ARTIFACTS, require

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_patchify.ipynb"
EXPLORER_CELL = "patch_explorer("  # text of the explorer's code cell
EXPLORER_HEADING = "The patch explorer"  # the heading of its slide
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

OPEN_AND_RUN = """async (path) => {
  const app = window.jupyterapp;
  const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await panel.context.ready;
  await panel.sessionContext.ready;
  const started = Date.now();
  for (;;) {
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle') break;
    if (Date.now() - started > 90000) return 'the kernel did not start within 90 s';
    await new Promise(r => setTimeout(r, 200));
  }
  app.shell.activateById(panel.id);
  await app.commands.execute('notebook:run-all-cells');
  // Every code cell has run and the kernel is idle (the command may return while cells are queued).
  const code = () => panel.content.widgets.filter(c => c.model.type === 'code');
  for (;;) {
    const kernel = panel.sessionContext.session.kernel;
    if (code().every(c => c.model.executionCount !== null) && kernel.status === 'idle') break;
    if (Date.now() - started > 240000) return 'the cells did not finish within 240 s';
    await new Promise(r => setTimeout(r, 250));
  }
  const errors = [];
  panel.content.widgets.forEach((cell, i) => {
    const json = cell.model.toJSON();
    const tags = (json.metadata && json.metadata.tags) || [];
    for (const out of json.outputs || []) {
      if (out.output_type === 'error' && !tags.includes('raises-exception')) errors.push(`cell ${i}: ${out.ename}`);
    }
  });
  if (errors.length) return 'errors: ' + errors.join('; ');
  // A presenter starts from the top, in command mode (where Space and the arrows move the slides).
  panel.content.activeCellIndex = 0;
  panel.content.mode = 'command';
  await panel.context.save();
  return 'ok';
}"""
# What the deck shows: the active cell, the cells on screen (jupyterlab-slideshow marks them), whether the
# body is in deck mode, where the keyboard focus is.
STATE = """(needle) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const notebook = panel && panel.content;
  if (!notebook || !notebook.widgets) return {deck: document.body.dataset.jpDeckMode || null, notebook: false};
  const onScreen = [];
  notebook.widgets.forEach((cell, i) => { if (cell.hasClass('jp-deck-mod-onscreen')) onScreen.push(i); });
  const explorer = notebook.widgets.findIndex(
    c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(needle));
  return {
    deck: document.body.dataset.jpDeckMode || null,
    notebook: true,
    active: notebook.activeCellIndex,
    mode: notebook.mode,
    onScreen,
    explorer,
    headings: onScreen.map(i => notebook.widgets[i]).filter(c => c.model.type === 'markdown')
      .map(c => c.model.sharedModel.getSource().split('\\n')[0]),
    focus: document.activeElement ? document.activeElement.className.slice(0, 80) : null,
  };
}"""
PICTURE_SRC = """(el) => {
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  return img ? img.src : null;
}"""
EXTENSIONS = """() => JSON.parse(document.getElementById('jupyter-config-data').textContent)
  .federated_extensions.map(e => e.name)"""


def _copy(root: Path) -> str:
    """A clean copy of the notebook in the server's root (outputs cleared, so that the kernel makes the widget)."""
    nb = nbformat.read(ROOT / "notebooks" / NOTEBOOK, as_version=4)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    target = root / "notebooks" / NOTEBOOK
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return f"notebooks/{NOTEBOOK}"


def _text(locator) -> str:
    return " ".join(locator.inner_text().split())


class Deck:
    """The page in deck mode, and what the fixture saw on the way to the explorer's slide."""

    def __init__(self, page, errors: list[str]):
        self.page, self.errors = page, errors
        self.first: dict = {}  # the state right after the deck started
        self.path: list[list[int]] = []  # the cells on screen after each Space
        self.cell = page.locator(".jp-CodeCell", has_text=EXPLORER_CELL).first
        self.output = self.cell.locator(".jp-OutputArea-output").first

    def state(self) -> dict:
        return self.page.evaluate(STATE, EXPLORER_CELL)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            self.page.screenshot(path=str(ARTIFACTS / name))
        except Exception as error:  # the page may be gone; the failure itself matters more
            print(f"\n[slides] no screenshot {name} ({error})")


@pytest.fixture(scope="module")
def deck(lab, chromium):
    """Notebook 01 run in JupyterLab, presented in deck mode and moved with Space to the patch explorer's slide."""
    import importlib.util

    if importlib.util.find_spec("jupyterlab_slideshow") is None:
        require("jupyterlab-slideshow is not installed: pip install -r requirements.txt")
    path = _copy(lab.root)
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    deck = Deck(page, errors)
    started = time.perf_counter()
    try:
        page.goto(f"{lab.base}/lab/workspaces/slides?reset&token={lab.token}")
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        page.evaluate("() => window.jupyterapp.restored")
        commands = page.evaluate("() => window.jupyterapp.commands.listCommands().filter(c => c.startsWith('deck:'))")
        assert {"deck:start", "deck:stop", "deck:toggle", "deck:go"} <= set(commands), (
            f"jupyterlab-slideshow's commands are missing from JupyterLab: {commands}; "
            f"extensions: {page.evaluate(EXTENSIONS)}"
        )
        ran = page.evaluate(OPEN_AND_RUN, path)
        assert ran == "ok", f"{NOTEBOOK}: {ran}"
        ran_s = time.perf_counter() - started

        # Start the slideshow as a presenter does: the deck button of the notebook's toolbar.
        button = page.locator('.jp-NotebookPanel-toolbar [data-command="deck:toggle"]').first
        button.wait_for(state="visible", timeout=30_000)
        button.click()
        page.wait_for_function("() => document.body.dataset.jpDeckMode === 'presenting'", timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('.jp-Notebook .jp-deck-mod-onscreen') !== null", timeout=30_000
        )
        deck.first = deck.state()
        # Move as a presenter does: Space (the next fragment or slide) until the explorer's cell is on screen.
        last = deck.first
        while last["explorer"] not in last["onScreen"]:
            assert len(deck.path) < 100, f"no slide with the patch explorer after {len(deck.path)} moves: {last}"
            page.keyboard.press("Space")
            try:
                page.wait_for_function(
                    f"(before) => ({STATE})({EXPLORER_CELL!r}).active !== before", arg=last["active"], timeout=10_000
                )
            except Exception as error:
                raise AssertionError(f"Space did not move the slideshow from {last} after {deck.path}") from error
            last = deck.state()
            deck.path.append(last["onScreen"])
        deck.output.wait_for(state="visible", timeout=30_000)
        deck.shot("slides-01_patchify.png")
        print(
            f"\n[slides] cells ran in {ran_s:.1f} s; the explorer's slide after {len(deck.path)} moves, "
            f"{time.perf_counter() - started:.1f} s"
        )
        yield deck
    except BaseException:
        deck.shot("slides-failure.png")
        print(f"\n[slides] state: {deck.state() if not page.is_closed() else '(closed)'}")
        print(f"[slides] screenshot of the failure: {ARTIFACTS / 'slides-failure.png'}\n[slides] server log:")
        print(lab.log_tail())
        raise
    finally:
        context.close()


def test_notebook_01_opens_as_slides(deck):
    first = deck.first
    assert first["deck"] == "presenting", f"deck mode is not on: {first}"
    assert first["onScreen"] == [0], f"the first slide shows cells {first['onScreen']}, not the title alone"
    assert first["headings"][0].startswith("# 01"), first["headings"]
    assert first["explorer"] > 0, f"no code cell with {EXPLORER_CELL!r}"


def test_space_moves_slide_by_slide_to_the_patch_explorer(deck):
    state = deck.state()
    assert state["deck"] == "presenting", state
    assert any(h.startswith(f"## {EXPLORER_HEADING}") for h in state["headings"]), state["headings"]
    # Forward only, through the earlier slides (not a jump), and the title slide is gone from the screen.
    starts = [shown[0] for shown in deck.path]
    assert starts == sorted(starts) and len(set(starts)) > 5, f"the slides passed: {deck.path}"
    assert 0 not in state["onScreen"], state
    title = deck.page.locator(".jp-MarkdownCell", has_text="01 · Patchify").first
    assert not title.is_visible(), "the title slide is still on screen"
    # The explorer's live controls (not a stored picture) are on the slide, inside the 1400 x 900 screen.
    slider = deck.output.locator(".t-slider").first
    assert slider.is_visible(), "no live slider on the slide"
    box = slider.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= 900, f"the slider is off screen: {box}"


def test_the_patch_explorer_slider_redraws_on_the_slide(deck):
    page, output = deck.page, deck.output
    readout, picture = output.locator(".t-readout").first, output.locator(".t-plot").first
    before_text, before_src = _text(readout), picture.evaluate(PICTURE_SRC)
    assert "3·16·16" in before_text, f"the explorer does not start at patch size 16: {before_text!r}"
    on_screen = deck.state()["onScreen"]

    # An arrow key on the slider's handle moves the slider (16 -> 17, which does not divide 192 x 288), not the deck.
    handle = output.locator(".t-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    page.wait_for_function(
        f"([el, old]) => ({PICTURE_SRC})(el) !== old", arg=[picture.element_handle(), before_src], timeout=20_000
    )
    page.wait_for_function("(el) => /invalid/i.test(el.innerText)", arg=readout.element_handle(), timeout=20_000)
    assert "17" in _text(readout), _text(readout)
    assert deck.state()["onScreen"] == on_screen, "the arrow key on the slider moved the slideshow"

    # A typed value in the box beside the slider: 32 gives a 6 x 9 grid of 3·32·32-number tokens.
    after_src = picture.evaluate(PICTURE_SRC)
    value = output.locator(".t-slider .t-value input").first
    value.fill("32")
    value.press("Enter")
    page.wait_for_function(
        f"([el, old]) => ({PICTURE_SRC})(el) !== old", arg=[picture.element_handle(), after_src], timeout=20_000
    )
    page.wait_for_function("(el) => /N = 6 × 9 = 54 tokens/.test(el.innerText)", arg=readout.element_handle())
    assert "3·32·32 = 3072" in _text(readout), _text(readout)
    assert deck.state()["onScreen"] == on_screen, "typing on the slider moved the slideshow"
    deck.shot("slides-01_patchify-redrawn.png")
    assert not deck.errors, f"JavaScript errors: {deck.errors[:5]}"


# The cells on screen, and the slideshow's arrows (bottom right): where each one's box lies on the screen.
LAYOUT = """() => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const box = el => {
    const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
  };
  const cells = notebook.widgets.filter(c => c.hasClass('jp-deck-mod-onscreen')).map(c => box(c.node));
  const remote = document.querySelector('.jp-Deck-Remote');
  return {cells, remote: remote ? box(remote) : null, width: window.innerWidth, height: window.innerHeight};
}"""


@pytest.mark.parametrize("screen", [(1400, 900), (1024, 768)], ids=["1400x900", "1024x768-projector"])
def test_the_explorer_slide_fits_the_screen_above_the_arrows(deck, screen):
    page = deck.page
    wide = page.viewport_size
    page.set_viewport_size({"width": screen[0], "height": screen[1]})
    try:
        page.wait_for_timeout(500)  # the deck lays the slide out again
        layout = page.evaluate(LAYOUT)
        assert layout["cells"], "no cell on screen"
        bottom = max(cell["bottom"] for cell in layout["cells"])
        assert bottom <= layout["height"], f"{screen}: the slide is cut off at the bottom ({bottom:.0f} px tall)"
        remote = layout["remote"]
        if remote is not None:  # the last line of the slide is not hidden under the arrows
            under = [c for c in layout["cells"] if c["bottom"] > remote["top"] and c["right"] > remote["left"]]
            lowest = [c for c in under if c["bottom"] == bottom]
            assert not lowest, f"{screen}: the slide's last cell ends under the slideshow's arrows: {lowest}, {remote}"
    finally:
        page.set_viewport_size(wide)


def test_escape_leaves_the_slideshow(deck):
    page = deck.page
    # Esc in command mode stops the deck (in edit mode the first Esc only leaves the editor).
    page.evaluate(
        "() => { const nb = window.jupyterapp.shell.currentWidget.content; nb.mode = 'command'; "
        "nb.activeCell.node.focus(); }"
    )
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.body.dataset.jpDeckMode === undefined", timeout=20_000)
    assert page.locator(".jp-MarkdownCell", has_text="01 · Patchify").first.is_visible(), "the notebook is not back"
    assert page.locator(".lm-DockPanel-tabBar").first.is_visible(), "the tabs are not back"
    assert not deck.errors, f"JavaScript errors: {deck.errors[:5]}"


def test_a_tab_closed_during_the_slideshow_leaves_the_next_jupyterlab_normal(deck, lab, chromium):
    """jupyterlab-slideshow remembers "on" when the tab is closed mid-show; `python -m vitlib.lab` turns it off."""
    from vitlib import lab as vitlib_lab

    page = deck.page
    page.locator('.jp-NotebookPanel-toolbar [data-command="deck:toggle"]').first.click()
    page.wait_for_function("() => document.body.dataset.jpDeckMode === 'presenting'", timeout=30_000)
    page.close()  # the tab closed during the slideshow
    settings = lab.tmp / "settings" / vitlib_lab.SLIDESHOW_SETTINGS
    deadline = time.perf_counter() + 20
    while not (settings.is_file() and '"active": true' in settings.read_text()) and time.perf_counter() < deadline:
        time.sleep(0.2)
    assert '"active": true' in settings.read_text(), "the slideshow's state was not stored: the problem is gone?"
    assert vitlib_lab.leave_slideshow(lab.tmp / "settings")  # what `python -m vitlib.lab` does before starting
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    try:
        fresh = context.new_page()
        fresh.goto(f"{lab.base}/lab/workspaces/after-slides?reset&token={lab.token}")
        fresh.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        fresh.evaluate("() => window.jupyterapp.restored")
        fresh.wait_for_timeout(2_000)  # time for the slideshow extension to apply its settings
        assert fresh.evaluate("() => document.body.dataset.jpDeckMode") is None, "JupyterLab opened in the slideshow"
        assert fresh.locator("#jp-menu-panel").first.is_visible(), "no menu bar: Run All is out of reach"
    finally:
        context.close()
