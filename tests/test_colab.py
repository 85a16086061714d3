"""Every notebook's setup cell on Colab and where vitlib is installed, without a network; the one repository address.

Each notebook's own setup cell, as stored, is turned into Python by IPython's own input transformer (its
``%pip`` line becomes ``get_ipython().run_line_magic("pip", ...)``) and run with a fake IPython and, for
Colab, ``vitlib`` made unimportable until the fake ``%pip`` has run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from vitlib import colab

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
each = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
sys.path.insert(0, str(ROOT / "tools"))
import update_setup_cells  # noqa: E402


def _setup_source(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    cell = next(c for c in cells if c["cell_type"] == "code")
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _python(source: str) -> str:
    """The cell without its IPython magics (``%matplotlib``, ``%config``, ``%xmode``, ``%pip``): for ruff."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))


class FakeIPython:
    """Records the line magics a cell runs; ``%pip`` makes ``vitlib`` importable again (the install)."""

    def __init__(self, monkeypatch):
        self.magics: list[tuple[str, str]] = []
        self._monkeypatch = monkeypatch

    def run_line_magic(self, name: str, line: str, *args) -> None:
        self.magics.append((name, line))
        if name == "pip":
            self._monkeypatch.delitem(sys.modules, "vitlib", raising=False)  # installed: import it for real


def _run_setup(source: str, monkeypatch, *, installed: bool) -> FakeIPython:
    ipython = FakeIPython(monkeypatch)
    if not installed:
        monkeypatch.setitem(sys.modules, "vitlib", None)  # `import vitlib` raises ImportError, as on Colab
    code = TransformerManager().transform_cell(source)
    exec(compile(code, "<setup cell>", "exec"), {"get_ipython": lambda: ipython})
    return ipython


# The template itself and each notebook's stored setup cell.
sources = pytest.mark.parametrize(
    "source",
    [colab.SETUP_CELL] + [_setup_source(p) for p in NOTEBOOKS],
    ids=["template"] + [p.stem[:2] for p in NOTEBOOKS],
)


@sources
def test_the_cell_is_short_and_sets_up_the_series(source):
    lines = [line for line in source.splitlines() if line.strip()]
    assert len(lines) <= 10, f"the setup cell is {len(lines)} lines: a learner reads it first"
    assert lines[:3] == [
        "%matplotlib inline",
        '%config InlineBackend.figure_formats = ["jpeg"]  # keeps the stored notebook small',
        "%xmode Minimal",
    ]
    assert re.search(r"_ = torch\.manual_seed\(\d+\)$", source)


@sources
def test_where_vitlib_is_installed_nothing_is_installed(source, monkeypatch):
    ipython = _run_setup(source, monkeypatch, installed=True)
    assert [name for name, _ in ipython.magics] == ["matplotlib", "config", "xmode"]


@sources
def test_on_colab_it_installs_from_the_one_repository_then_imports(source, monkeypatch):
    ipython = _run_setup(source, monkeypatch, installed=False)
    assert ipython.magics[-1] == ("pip", f"install --quiet {colab.install_spec()}")
    assert colab.install_spec() == f"git+https://github.com/{colab.REPOSITORY}"
    assert sys.modules["vitlib"] is not None  # the second import found the installed library


# ---------------------------------------------------------------------------- the script that writes the cells


def test_update_script_rewrites_only_the_setup_cell_and_is_idempotent(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 title"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport vitlib\ntorch.manual_seed(7)", metadata={"tags": ["x"]}),
        nbformat.v4.new_code_cell("print(1)"),
    ]
    nb.cells[1].metadata["slideshow"] = {"slide_type": "skip"}
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    path = tmp_path / "99_x.ipynb"
    nbformat.write(nb, path)
    assert update_setup_cells.update(path, check=True) is True
    assert update_setup_cells.update(path) is True
    assert update_setup_cells.update(path) is False
    after = nbformat.read(path, as_version=4)
    assert after.cells[1].source == colab.SETUP_CELL.replace("manual_seed(0)", "manual_seed(7)")
    assert after.cells[1].metadata == {"tags": ["x"], "slideshow": {"slide_type": "skip"}}
    assert [c.source for c in (after.cells[0], after.cells[2])] == ["# 99 title", "print(1)"]
    assert after.cells[2].outputs[0]["text"] == "1\n"
    assert update_setup_cells.main(["--check", str(path)]) == 0


def test_setup_cell_template_is_ruff_clean(tmp_path):
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    script = tmp_path / "setup.py"
    script.write_text(_python(colab.SETUP_CELL) + "\n")
    config = ROOT / "pyproject.toml"
    # E402/I001/F401: in the notebook, vitlib is used by later cells and the imports follow the install
    checked = subprocess.run([ruff, "check", "--config", str(config), "--ignore", "E402,I001,F401", str(script)])
    assert checked.returncode == 0
    formatted = subprocess.run([ruff, "format", "--check", "--config", str(config), str(script)])
    assert formatted.returncode == 0


# ---------------------------------------------------------------------------- one address: badge, Colab, cells


def test_links_are_built_from_the_one_address():
    assert colab.colab_url("01_patchify.ipynb") == (
        f"https://colab.research.google.com/github/{colab.REPOSITORY}/blob/main/notebooks/01_patchify.ipynb"
    )
    assert colab.binder_url().endswith("?urlpath=lab/tree/notebooks/00_tokens_vs_patches.ipynb")
    assert colab.source_url("vitlib/patches.py") == f"https://github.com/{colab.REPOSITORY}/blob/main/vitlib/patches.py"
    with pytest.raises(ValueError, match="notebook='patchify'.*01_patchify.ipynb"):
        colab.colab_url("patchify")


def test_readme_badge_uses_the_one_address():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    badges = re.findall(r"\(https://mybinder\.org/badge_logo\.svg\)\]\(([^)\s]+)\)", readme)
    assert badges == [colab.binder_url()], f"the Binder badge {badges} is not vitlib.colab.binder_url()"


@each
def test_readme_has_an_open_in_colab_link_per_notebook(path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((https://colab\.research\.google\.com/github/[^)\s]+)\)", readme)
    assert colab.colab_url(path.name) in links, f"README: no 'Open in Colab' link {colab.colab_url(path.name)}"
    others = [link for link in links if f"/github/{colab.REPOSITORY}/" not in link]
    assert not others, f"README: Colab links to another repository than {colab.REPOSITORY}: {others}"
