"""The slideshow in a real browser: notebook 01 presented with RISE (jupyterlab-rise), its widget still live.

Opens a clean copy of notebooks/01_patchify.ipynb in the JupyterLab of tests/conftest.py, runs its
cells, renders it as slides with RISE's command (``RISE:preview``, the notebook toolbar's slideshow
button, which opens the Reveal.js slideshow beside the notebook on the same kernel), moves with Space
to the slide that holds the patch explorer, runs its cell there (Shift+Enter, on the same kernel) and
checks that the slide shows the explorer's picture. RISE 0.43.1 with ipywidgets 8 shows the widget's
static picture in the slideshow, not its live controls (an upstream limitation), so the slider's redraw
on the slide is a strict ``xfail``: reported as such, never as a pass, and failing once upstream fixes
it. Needs /usr/bin/chromium and
jupyterlab-rise (requirements.txt); without them the test is skipped, except under CI (``CI=true``),
where that is a failure.
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
  panel.content.activeCellIndex = 0;
  await panel.context.save();
  return 'ok';
}"""
# Whether the slide on screen holds the patch explorer's cell (RISE keeps every cell in the DOM).
EXPLORER_SHOWN = """() => {
  const cell = Array.from(document.querySelectorAll('.jp-CodeCell'))
    .find(c => c.querySelector('.jp-InputArea').innerText.includes('patch_explorer('));
  const section = cell && cell.closest('section');
  return !!section && section.classList.contains('present');
}"""
DIAGNOSIS = """() => ({
  present: Array.from(document.querySelectorAll('.reveal .slides section.present')).map(e => e.innerText.slice(0, 80)),
  sections: document.querySelectorAll('.reveal .slides section').length,
  widgets: document.querySelectorAll('.jupyter-widgets').length,
  extensions: JSON.parse(document.getElementById('jupyter-config-data').textContent).federated_extensions
    .map(e => e.name),
  explorer: Array.from(document.querySelectorAll('.jp-CodeCell'))
    .filter(c => c.innerText.includes('patch_explorer('))
    .map(c => (c.querySelector('.jp-OutputArea') || {innerText: '(no output)'}).innerText.slice(0, 200)),
})"""


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


@pytest.fixture(scope="module")
def explorer_slide(lab, chromium):
    """Notebook 01 run in JupyterLab, shown with RISE, moved to the patch explorer's slide and its cell run there.

    Yields ``(frame, output, errors)``: the slideshow's frame, the explorer's output on the slide, and the
    page's JavaScript errors so far.
    """
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
        # Move through the slides as a presenter does (Space: the next slide or fragment) to the explorer's.
        frame.locator(".reveal").first.click(position={"x": 5, "y": 5})
        moves, deadline = 0, time.perf_counter() + 120
        while not frame.evaluate(EXPLORER_SHOWN):
            assert time.perf_counter() < deadline and moves < 300, (
                f"no slide with the patch explorer after {moves} moves: {frame.evaluate(DIAGNOSIS)}"
            )
            frame.locator(".reveal").first.press("Space")
            moves += 1
            time.sleep(0.05)
        # Run the explorer's cell on the slide (Shift+Enter): the slideshow runs on the notebook's own kernel.
        cell = frame.locator(".jp-CodeCell", has_text="patch_explorer(").first
        prompt_before = cell.locator(".jp-InputPrompt").inner_text()
        cell.locator(".jp-InputArea-editor").click()
        cell.press("Shift+Enter")
        frame.wait_for_function(
            "([el, before]) => el.innerText !== before && /\\d/.test(el.innerText)",
            arg=[cell.locator(".jp-InputPrompt").element_handle(), prompt_before],
            timeout=60_000,
        )
        output = cell.locator(".jp-OutputArea-output").first
        output.wait_for(state="visible", timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "slides-01_patchify.png"))
        print(
            f"\n[slides] cells ran in {ran_s:.1f} s; slideshow at the explorer in {time.perf_counter() - started:.1f} s"
        )
        yield frame, output, errors
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


def test_notebook_01_as_slides_reaches_the_patch_explorer(explorer_slide):
    frame, output, errors = explorer_slide
    picture = output.locator("img").first
    picture.wait_for(state="visible", timeout=30_000)
    width = picture.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)")
    assert width > 0, "the patch explorer's slide shows no picture"
    assert not errors, f"JavaScript errors: {errors[:5]}"


@pytest.mark.xfail(
    strict=True,
    reason="jupyterlab-rise 0.43.1 with ipywidgets 8 renders no live widget in the slideshow, only the stored "
    "picture (upstream: jupyterlab-contrib/rise issues 119 and 126); strict, so it fails once that is fixed",
)
def test_the_patch_explorer_slider_redraws_on_the_slide(explorer_slide):
    frame, output, errors = explorer_slide
    slider = output.locator(".t-slider input, .t-slider .slider, .t-slider").first
    assert output.locator(".t-slider").count() > 0, "no live slider on the slide (the static picture only)"
    picture = output.locator(".t-picture img, img").first
    before = picture.get_attribute("src")
    slider.focus()
    slider.press("ArrowRight")
    frame.wait_for_function(
        "([el, before]) => el.src !== before", arg=[picture.element_handle(), before], timeout=20_000
    )
    assert not errors, f"JavaScript errors: {errors[:5]}"
