"""The static book (tools/build_book.py): built offline from the committed notebooks, then read in Chromium.

The build runs once per session (about 15-30 s on a 2-core machine). The file checks need no browser:
one page per notebook, in order, with previous/next links; every widget's static picture on its page;
every internal link and image resolving to a file. The browser test serves the book on 127.0.0.1 and
opens every page in the real Chromium of tests/test_browser.py (requests to other hosts are refused
and counted, never made): each page loads with 200, every image decodes (``naturalWidth > 0``),
every internal link answers 200, and a screenshot of notebook 01 shows its first figure
(``test-artifacts/book-01_patchify.png``). Without Sphinx/MyST-NB or Chromium the tests are
skipped, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
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
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Sphinx 9 announces API removals of Sphinx 11 that its own extensions still use: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning", "ignore::DeprecationWarning")


def _load_tool():
    return load_file(ROOT / "tools" / "build_book.py", "build_book")


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    """The book, built once into a temporary folder: (output folder, seconds, Sphinx's warnings)."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        if importlib.util.find_spec(module) is None:
            require(f"{module} is not installed: pip install -r requirements-dev.txt to build the book")
    out = tmp_path_factory.mktemp("book") / "html"
    started = time.perf_counter()
    warnings = _load_tool().build(out)
    seconds = time.perf_counter() - started
    print(f"\n[book] built in {seconds:.1f} s, {len(warnings)} warnings")
    return out, seconds, warnings


class _Page(HTMLParser):
    """The links, images and output pictures of one HTML page."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            (self.images if tag == "img" else self.links).append(attrs["src"])
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


@pytest.mark.browser
def test_the_book_in_chromium(book, served, chromium):
    out, _, _ = book
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    outside: list[str] = []

    def local_only(route):
        if route.request.url.startswith(served):
            route.continue_()
        else:  # offline: a CDN script (MathJax on 07), GitHub's button; never fetched
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html") if "_static" not in p.parts)
    links: set[str] = set()
    broken_images = []
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
    print(f"[book] {len(pages)} pages, {len(links)} internal links checked in {time.perf_counter() - started:.1f} s")
    print(f"[book] refused requests to other hosts: {sorted({urlsplit(u).netloc for u in outside})}")


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
