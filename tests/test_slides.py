"""The slideshow in a real browser: notebook 01 presented with RISE (jupyterlab-rise), its widget still live.

Opens a clean copy of notebooks/01_patchify.ipynb in the JupyterLab of tests/conftest.py, runs its
cells, renders it as slides with RISE's command (``RISE:preview``, the notebook toolbar's slideshow
button, which opens the Reveal.js slideshow beside the notebook on the same kernel), moves to the slide
that holds the patch explorer (``Reveal.slide``), types a new patch size into its slider, and checks
that the readout and the picture redraw. Needs /usr/bin/chromium and jupyterlab-rise (requirements.txt);
without them the test is skipped, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from browser_support import ARTIFACTS, require

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_patchify.ipynb"
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
  const errors = [];
  panel.content.widgets.forEach((cell, i) => {
    const json = cell.model.toJSON();
    const tags = (json.metadata && json.metadata.tags) || [];
    for (const out of json.outputs || []) {
      if (out.output_type === 'error' && !tags.includes('raises-exception')) errors.push(`cell ${i}: ${out.ename}`);
    }
  });
  if (errors.length) return 'errors: ' + errors.join('; ');
  panel.content.activeCellIndex = 0;
  return 'ok';
}"""
# The slide (horizontal, vertical) that holds the patch explorer's slider, in the RISE frame.
EXPLORER_SLIDE = """() => {
  const slider = document.querySelector('.reveal .slides .t-slider');
  if (!slider || !window.Reveal) return null;
  const section = slider.closest('section');
  return window.Reveal.getIndices(section);
}"""
DIAGNOSIS = """() => ({
  reveal: !!window.Reveal,
  sections: document.querySelectorAll('.reveal .slides section').length,
  widgets: document.querySelectorAll('.jupyter-widgets').length,
  explorer: Array.from(document.querySelectorAll('.jp-CodeCell')).filter(c => c.innerText.includes('patch_explorer('))
    .map(c => c.querySelector('.jp-OutputArea') ? c.querySelector('.jp-OutputArea').innerText.slice(0, 200) : '(no output)'),
})"""
PICTURE_SRC = """(el) => { const img = el.tagName === 'IMG' ? el : el.querySelector('img'); return img ? img.src : null; }"""


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


def test_rise_is_installed_for_jupyterlab(lab):
    extensions = json.dumps(lab.api("GET", "/lab/api/extensions") or {}) if False else ""
    del extensions
    import importlib.util

    if importlib.util.find_spec("jupyterlab_rise") is None:
        require("jupyterlab-rise is not installed: pip install -r requirements.txt")


def test_patch_explorer_redraws_in_the_slideshow(lab, chromium):
    import importlib.util

    if importlib.util.find_spec("jupyterlab_rise") is None:
        require("jupyterlab-rise is not installed: pip install -r requirements.txt")
    path = _copy(lab.root)
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    started = time.perf_counter()
    try:
        page.goto(f"{lab.base}/lab/workspaces/slides?reset&token={lab.token}")
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        page.evaluate("() => window.jupyterapp.restored")
        commands = page.evaluate("() => window.jupyterapp.commands.listCommands().filter(c => c.startsWith('RISE:'))")
        assert "RISE:preview" in commands, f"RISE's commands are missing from JupyterLab: {commands}"
        ran = page.evaluate(OPEN_AND_RUN, path)
        assert ran == "ok", f"{NOTEBOOK}: {ran}"
        ran_s = time.perf_counter() - started

        page.evaluate("() => window.jupyterapp.commands.execute('RISE:preview')")
        frame_element = page.locator("iframe").last
        frame_element.wait_for(state="attached", timeout=60_000)
        frame = frame_element.element_handle().content_frame()
        assert frame is not None, "RISE's slideshow frame has no document"
        frame.locator(".reveal .slides").wait_for(state="attached", timeout=60_000)
        indices = None
        deadline = time.perf_counter() + 90
        while indices is None and time.perf_counter() < deadline:
            indices = frame.evaluate(EXPLORER_SLIDE)
            time.sleep(0.5)
        shown = frame.evaluate(DIAGNOSIS)
        assert indices is not None, f"the slideshow has no slide with the patch explorer's slider (.t-slider): {shown}"
        frame.evaluate("(i) => window.Reveal.slide(i.h, i.v)", indices)
        slider = frame.locator(".reveal .slides .t-slider").first
        slider.wait_for(state="visible", timeout=30_000)
        widget = slider.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')][1]")
        readout, picture = widget.locator(".t-readout").first, widget.locator(".t-plot").first
        before, src_before = readout.inner_text(), picture.evaluate(PICTURE_SRC)
        assert src_before, "the patch explorer shows no picture in the slideshow"

        field = slider.locator(".widget-readout")
        field.fill("32")
        field.press("Enter")
        frame.wait_for_function(
            "([el, before]) => el.innerText !== before", arg=[readout.element_handle(), before], timeout=20_000
        )
        frame.wait_for_function(
            f"([el, old]) => ({PICTURE_SRC})(el) !== old", arg=[picture.element_handle(), src_before], timeout=20_000
        )
        after = " ".join(readout.inner_text().split())
        assert "N = 6 × 9 = 54 tokens" in after, f"after 32 px the readout shows {after!r}"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "slides-01_patchify.png"))
        assert not errors, f"JavaScript errors: {errors[:5]}"
        print(f"\n[slides] cells ran in {ran_s:.1f} s; slideshow and slider checked in {time.perf_counter() - started:.1f} s")
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "slides-failure.png"
        try:
            page.screenshot(path=str(shot))
            print(f"\n[slides] screenshot of the failure: {shot}\n[slides] server log:\n{lab.log_tail()}")
        except Exception as error:
            print(f"\n[slides] no screenshot ({error})")
        raise
    finally:
        context.close()
