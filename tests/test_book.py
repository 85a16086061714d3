r"""The static book (tools/build_book.py): built offline from the committed notebooks, then read in Chromium.

The build runs once per session (about 15-30 s on a 2-core machine). The file checks need no browser:
one page per notebook, in order, with previous/next links; every widget's static picture on its page;
every internal link and image resolving to a file; no page loading anything (script, style, font,
image) from another host; every image with a text alternative that says what it shows (not its file
name), as every picture stored in the notebooks carries one (vitlib.viz puts it in the output's
metadata). The browser tests serve the book on 127.0.0.1 and open it in the real Chromium of
tests/test_browser.py with the network blocked (a request to any other host is refused and fails the
test): each page loads with 200, every image decodes (``naturalWidth > 0``), every internal link answers
200, a screenshot of notebook 01 shows its first figure (``test-artifacts/book-01_patchify.png``), and
axe-core (``axe.min.js`` from the axe-playwright-python wheel, injected into the page) finds no
violation of any impact on any page (its default rules: WCAG 2 A/AA and best practices; the counts per
impact and per page are printed). Every page with a formula is typeset by the book's own MathJax, offline:
MathJax's rendered elements replace the TeX, and no ``\(``, ``\[`` or ``$`` is left.

``VITLIB_BOOK_NOTEBOOKS=DIR`` builds and checks the book from the notebooks in DIR instead of notebooks/
(e.g. copies executed with tools/execute_notebooks.py). Without Sphinx/MyST-NB or Chromium the tests are
skipped, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import collections
import functools
import http.server
import importlib.util
import json
import os
import re
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_support import ARTIFACTS, free_port, require
from solutions_support import load_file

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = Path(os.environ.get("VITLIB_BOOK_NOTEBOOKS") or ROOT / "notebooks").resolve()
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# A text alternative says what the figure shows: a sentence, not a file name (MyST-NB's default alt is the file's).
MIN_ALT_WORDS = 8
FILE_NAME = re.compile(r"^\S*\.(png|jpe?g|gif|svg|webp)$", re.I)
# Sphinx 9 announces API removals of Sphinx 11 that its own extensions still use: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning", "ignore::DeprecationWarning")


def _load_tool():
    return load_file(ROOT / "tools" / "build_book.py", "build_book")


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    """The book, built once into a temporary folder: (output folder, seconds, Sphinx's warnings)."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx-mathjax-offline"):
        if importlib.util.find_spec(module) is None:
            require(f"{module} is not installed: pip install -r requirements-dev.txt to build the book")
    out = tmp_path_factory.mktemp("book") / "html"
    started = time.perf_counter()
    warnings = _load_tool().build(out, notebooks=NOTEBOOK_DIR)
    seconds = time.perf_counter() - started
    print(f"\n[book] built in {seconds:.1f} s, {len(warnings)} warnings")
    return out, seconds, warnings


class _Page(HTMLParser):
    """The links, images and output pictures of one HTML page; ``loads``: what the page itself fetches
    (scripts, style sheets, icons, images, frames), as opposed to the links a reader may follow."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.alts: dict[str, str | None] = {}
        self.loads: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])
            self.loads.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            (self.images if tag == "img" else self.links).append(attrs["src"])
        if tag == "img":
            self.alts[attrs.get("src", "")] = attrs.get("alt")
        if tag in ("img", "script", "iframe", "source", "video", "audio") and attrs.get("src"):
            self.loads.append(attrs["src"])
        if attrs.get("class"):
            self.classes.append(attrs["class"])


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _local(href: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", href) and not href.startswith("//")


def _pictures(notebook: Path) -> tuple[int, int]:
    """(outputs with a picture, of which widget outputs) stored in the notebook."""
    outputs = [o for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"] for o in c.get("outputs", [])]
    pictured = [o for o in outputs if any(k.startswith("image/") for k in o.get("data", {}))]
    return len(pictured), sum(WIDGET_VIEW in o["data"] for o in pictured)


# ---------------------------------------------------------------------------- the files


def test_build_is_clean_and_quick(book):
    out, seconds, warnings = book
    assert (out / "index.html").is_file()
    assert not warnings, "Sphinx warned:\n" + "\n".join(warnings[:20])
    assert seconds < 60, f"the book took {seconds:.0f} s to build; keep it under 60 s"
    assert not list(out.rglob("*.ipynb")), "the book ships copies of the notebooks (html_copy_source)"


def test_landing_page_says_what_the_series_is_how_to_run_it_and_the_path(book):
    out, _, _ = book
    index = out / "index.html"
    text = index.read_text(encoding="utf-8")
    assert "Vision Transformers, patch by patch" in text
    assert "Run it" in text and "pip install -r requirements.txt" in text
    links = _parse(index).links
    for notebook in NOTEBOOKS:
        assert f"notebooks/{notebook.stem}.html" in links, f"the landing page does not link {notebook.stem}"
        assert any(href.endswith(f"/notebooks/{notebook.name}") and "colab" in href for href in links)
    assert "vitlib/patches.html" in links, "the landing page does not link the vitlib source"


def test_one_page_per_notebook_in_order_with_previous_and_next(book):
    out, _, _ = book
    pages = [out / "notebooks" / f"{p.stem}.html" for p in NOTEBOOKS]
    for i, page in enumerate(pages):
        assert page.is_file(), f"{page.name} was not built"
        text = page.read_text(encoding="utf-8")
        previous = re.search(r'class="left-prev"\s+href="([^"]+)"', text)
        following = re.search(r'class="right-next"\s+href="([^"]+)"', text)
        expected_previous = "../index.html" if i == 0 else f"{pages[i - 1].name}"
        assert previous and previous.group(1) == expected_previous, f"{page.name}: previous is {previous}"
        if i + 1 < len(pages):
            assert following and following.group(1) == pages[i + 1].name, f"{page.name}: next is {following}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_every_figure_and_widget_picture_is_on_its_page(book, notebook):
    out, _, _ = book
    page = out / "notebooks" / f"{notebook.stem}.html"
    pictured, widgets = _pictures(notebook)
    images = [src for src in _parse(page).images if "_images/" in src]
    assert len(images) == pictured, f"{page.name}: {len(images)} pictures for {pictured} stored ({widgets} widgets)"
    assert WIDGET_VIEW not in page.read_text(encoding="utf-8"), "a widget view (empty without a kernel) is on the page"


def test_every_internal_link_and_image_resolves_to_a_file(book):
    out, _, _ = book
    broken = []
    for page in sorted(out.rglob("*.html")):
        if page.relative_to(out).parts[0] == "_static":
            continue  # the theme's template macros, not pages
        parsed = _parse(page)
        for href in parsed.links + parsed.images:
            if not _local(href):
                continue
            path = urlsplit(href).path
            target = (page.parent / path).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(out)} -> {href}")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:20])


def test_no_page_loads_anything_from_another_host(book):
    out, _, _ = book
    outside = {}
    for page in sorted(out.rglob("*.html")):
        if page.relative_to(out).parts[0] == "_static":
            continue
        found = [href for href in _parse(page).loads if not _local(href)]
        if found:
            outside[page.relative_to(out).as_posix()] = found
    assert not outside, f"pages that load from other hosts (offline they break): {outside}"
    mathjax = [p for p in out.rglob("*.html") if "mathjax" in p.read_text(encoding="utf-8").lower()]
    assert (out / "_static" / "mathjax" / "tex-chtml.js").is_file(), "the book does not ship MathJax"
    assert mathjax, "no page loads MathJax: the formulas of 07 would stay TeX"


def _alt_problem(alt: str | None) -> str | None:
    """Why ``alt`` does not say what a figure shows, or None."""
    if alt is None or not alt.strip():
        return "no alt text"
    if FILE_NAME.match(alt.strip()):
        return f"its file name as alt text ({alt!r})"
    if len(alt.split()) < MIN_ALT_WORDS:
        return f"alt text too short to say what it shows ({alt!r})"
    return None


def test_every_stored_picture_carries_its_text_alternative():
    """Each picture a notebook stores (figures, widgets' static pictures) has its ``alt`` in the output's metadata,
    as vitlib.viz displays it. A notebook executed before vitlib.viz did so fails here: re-execute it."""
    missing = []
    for notebook in NOTEBOOKS:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            for output in cell.get("outputs", []):
                for mime in output.get("data", {}):
                    if mime.startswith("image/"):
                        problem = _alt_problem(output.get("metadata", {}).get(mime, {}).get("alt"))
                        if problem:
                            missing.append(f"{notebook.name}, cell {index}: {problem}")
    assert not missing, (
        f"{len(missing)} stored pictures without a text alternative (re-execute the notebook: python "
        "tools/execute_notebooks.py notebooks/NN_name.ipynb):\n" + "\n".join(missing[:20])
    )


def test_every_image_in_the_book_says_what_it_shows(book):
    out, _, _ = book
    problems, count = [], 0
    for page in sorted(out.rglob("*.html")):
        if page.relative_to(out).parts[0] == "_static":
            continue
        for src, alt in _parse(page).alts.items():
            count += 1
            problem = _alt_problem(alt)
            if problem:
                problems.append(f"{page.relative_to(out)}: {src.rsplit('/', 1)[-1][:16]}…: {problem}")
    assert count >= sum(_pictures(n)[0] for n in NOTEBOOKS), "fewer images in the book than the notebooks store"
    assert not problems, f"{len(problems)} of {count} images do not say what they show:\n" + "\n".join(problems[:20])


def test_link_rewriting_between_notebooks_source_and_repository():
    tool = _load_tool()
    pages = {"notebooks/01_patchify.ipynb", "vitlib/patches.md", "index.md"}
    text = "[next](01_patchify.ipynb#top) [code](../vitlib/patches.py) [x](../CONTRIBUTING.md) [w](https://a.b/c)"
    rewritten = tool._relative_links(text, "notebooks/00_tokens_vs_patches.ipynb", pages)
    from vitlib.colab import source_url

    assert rewritten == (
        f"[next](01_patchify.ipynb#top) [code](../vitlib/patches.md) [x]({source_url('CONTRIBUTING.md')}) "
        "[w](https://a.b/c)"
    )
    assert tool._relative_links("[01](notebooks/01_patchify.ipynb)", "index.md", pages) == (
        "[01](notebooks/01_patchify.ipynb)"
    )


# ---------------------------------------------------------------------------- in the browser


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(book):
    out, _, _ = book
    handler = functools.partial(_Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


IMAGES = """async () => {
  const images = Array.from(document.images);
  for (const img of images) { img.loading = 'eager'; try { await img.decode(); } catch (e) {} }
  return images.map(img => ({src: img.getAttribute('src'), width: img.naturalWidth, complete: img.complete}));
}"""


# axe-core's verdicts that come from a dependency and cannot be fixed here, {rule id: why}; keep it short. Empty: the
# two found before (the theme's sidebar title outside a landmark, an empty table header in 00) were ours, and fixed.
DEPENDENCY_VIOLATIONS: dict[str, str] = {}
IMPACTS = ("critical", "serious", "moderate", "minor")
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map(n => n.target.join(' '))}));
}"""
# After MathJax has typeset the page: each formula's TeX replaced by MathJax's rendered elements.
TYPESET = r"""async () => {
  const maths = Array.from(document.querySelectorAll('.math'));
  if (!maths.length) return {formulas: 0};
  if (!window.MathJax || !window.MathJax.startup) return {formulas: maths.length, error: 'MathJax did not load'};
  await window.MathJax.startup.promise;
  return {formulas: maths.length, version: window.MathJax.version, items: maths.map(el => {
    const rendered = el.querySelector('mjx-container');
    const box = rendered ? rendered.getBoundingClientRect() : null;
    return {rendered: !!rendered, width: box ? box.width : 0, height: box ? box.height : 0,
            raw: /\\\(|\\\[|\$/.test(el.textContent), text: el.textContent.slice(0, 80)};
  })};
}"""


def _axe_script() -> str:
    """axe-core's ``axe.min.js``, as the axe-playwright-python wheel ships it (nothing is fetched)."""
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec is None or spec.origin is None:
        require("axe-playwright-python is not installed (it ships axe-core): pip install -r requirements-dev.txt")
    return (Path(spec.origin).parent / "axe.min.js").read_text(encoding="utf-8")


def _offline_context(chromium, served: str):
    """A browser context in which only the book's own server answers: any other request is refused (never made)
    and recorded in ``context.outside``; ``context.fetched`` lists what the book served."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.outside, context.fetched = [], []

    def local_only(route):
        url = route.request.url
        if url.startswith(served) or url.startswith(("data:", "blob:", "file:")):
            context.fetched.append(url)
            route.continue_()
        else:  # offline: never fetched
            context.outside.append(url)
            route.abort()

    context.route("**/*", local_only)
    return context


def _pages(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html") if "_static" not in p.parts)


@pytest.mark.browser
def test_formulas_are_typeset_offline_by_the_books_own_mathjax(book, served, chromium):
    out, _, _ = book
    with_formulas = [p for p in _pages(out) if 'class="math' in (out / p).read_text(encoding="utf-8")]
    assert "notebooks/07_vit_vae.html" in with_formulas, f"07's KL formula is not on its page: {with_formulas}"
    context = _offline_context(chromium, served)
    try:
        page = context.new_page()
        for relative in with_formulas:
            page.goto(served + relative, wait_until="load")
            result = page.evaluate(TYPESET)
            assert "error" not in result, f"{relative}: {result['error']} (requests refused: {context.outside})"
            for item in result["items"]:
                assert item["rendered"] and not item["raw"], f"{relative}: a formula is not typeset: {item}"
                assert item["width"] > 20 and item["height"] > 5, f"{relative}: a typeset formula is empty: {item}"
            print(f"\n[book] {relative}: {result['formulas']} formulas typeset offline by MathJax {result['version']}")
        fonts = [url for url in context.fetched if "/_static/mathjax/output/chtml/fonts/" in url]
        assert fonts, "MathJax drew its formulas without its fonts from the book"
        assert not context.outside, f"pages with formulas asked other hosts for {sorted(set(context.outside))}"
    finally:
        context.close()


@pytest.mark.browser
def test_the_book_in_chromium(book, served, chromium):
    out, _, _ = book
    axe = _axe_script()
    context = _offline_context(chromium, served)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    pages = _pages(out)
    links: set[str] = set()
    broken_images = []
    per_page: dict[str, collections.Counter] = {}
    found: list[str] = []
    started = time.perf_counter()
    try:
        for relative in pages:
            url = served + relative
            response = page.goto(url, wait_until="load")
            assert response is not None and response.status == 200, f"{relative}: {response and response.status}"
            for image in page.evaluate(IMAGES):
                if not image["complete"] or image["width"] == 0:
                    broken_images.append(f"{relative}: {image['src']}")
            for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
                if href.startswith(served):
                    links.add(href.split("#")[0])
            page.evaluate(TYPESET)  # formulas typeset first: axe checks the page a reader gets
            page.add_script_tag(content=axe)
            counts = per_page[relative] = collections.Counter()
            for violation in page.evaluate(AXE_RUN):
                if violation["id"] in DEPENDENCY_VIOLATIONS:
                    continue
                counts[violation["impact"]] += len(violation["nodes"])
                found.append(
                    f"{relative}: {violation['id']} ({violation['impact']}, {violation['help']}) at "
                    + "; ".join(violation["nodes"][:3])
                )
        assert not broken_images, "broken images:\n" + "\n".join(broken_images[:20])
        bad = {}
        for href in sorted(links):
            status = context.request.get(href).status
            if status != 200:
                bad[href] = status
        assert not bad, f"internal links that do not answer 200: {bad}"
        assert not errors, f"JavaScript errors: {errors[:5]}"

        # One page, as a reader sees it: notebook 01 and its first figure.
        page.goto(served + "notebooks/01_patchify.html", wait_until="load")
        figure = page.locator("div.cell_output img").first
        figure.scroll_into_view_if_needed()
        assert figure.is_visible(), "the first figure of 01 is not visible"
        box = figure.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, f"the figure is {box}"
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "book-01_patchify.png"
        page.screenshot(path=str(shot))
        _assert_shows_a_picture(shot, box)
    finally:
        context.close()
    total = sum(per_page.values(), collections.Counter())
    print(f"\n[book] {len(pages)} pages, {len(links)} internal links checked in {time.perf_counter() - started:.1f} s")
    print(f"[book] axe-core: violations by impact over {len(per_page)} pages: " + _impacts(total))
    for relative, counts in per_page.items():
        print(f"[book]   {relative}: {_impacts(counts)}")
    print(f"[book] requests to other hosts (refused): {sorted({urlsplit(u).netloc for u in context.outside})}")
    assert not found, f"axe-core found {sum(total.values())} violations ({_impacts(total)}):\n" + "\n".join(found[:20])
    assert not context.outside, f"the book asked other hosts for {sorted(set(context.outside))[:10]}"


def _impacts(counts) -> str:
    return ", ".join(f"{impact} {counts.get(impact, 0)}" for impact in IMPACTS)


def _assert_shows_a_picture(shot: Path, box: dict) -> None:
    """The screenshot is not blank, and where the figure is it holds a picture (many colours), not a blank box."""
    from PIL import Image

    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        whole = rgb.getcolors(maxcolors=1 << 20) or []
        region = rgb.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"])))
        inside = region.getcolors(maxcolors=1 << 20) or []
    assert len(whole) > 50, f"{shot}: the screenshot is (nearly) blank: {len(whole)} colours"
    assert len(inside) > 200, f"{shot}: the figure's area has {len(inside)} colours; is the picture there?"
