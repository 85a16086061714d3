"""Every notebook's setup cell on Colab and in a checkout, without a network; the one repository address.

The decision (which pip command, in which situation) is run from each notebook's own setup cell,
extracted from the stored file, with fakes: a temporary checkout, ``find_spec`` and ``subprocess.run``.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
    """The cell without its IPython magics (``%matplotlib``, ``%config``, ``%xmode``)."""
    return "\n".join(line for line in source.splitlines() if not line.startswith("%"))


def _decision(source: str):
    """``vitlib_install_command`` and ``REPOSITORY`` from a setup cell: its imports, constant and function only."""
    tree = ast.parse(_python(source))
    kept = [
        node
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))
        or (isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["REPOSITORY"])
    ]
    namespace: dict = {}
    exec(compile(ast.Module(body=kept, type_ignores=[]), "<setup cell>", "exec"), namespace)
    return namespace["vitlib_install_command"], namespace["REPOSITORY"]


# The template itself and each notebook's stored setup cell.
sources = pytest.mark.parametrize(
    "source",
    [colab.SETUP_CELL] + [_setup_source(p) for p in NOTEBOOKS],
    ids=["template"] + [p.stem[:2] for p in NOTEBOOKS],
)


@pytest.fixture
def checkout(tmp_path):
    """A checkout of the series: notebooks/ beside vitlib/__init__.py."""
    (tmp_path / "vitlib").mkdir()
    (tmp_path / "vitlib" / "__init__.py").write_text("")
    (tmp_path / "notebooks").mkdir()
    return tmp_path / "notebooks"


# ---------------------------------------------------------------------------- the decision, per notebook


def test_setup_cell_sets_up_the_series():
    # CONTRIBUTING.md, "Setup cell": inline JPEG figures, short tracebacks, torch and vitlib, a seed.
    lines = colab.SETUP_CELL.splitlines()
    assert lines[:3] == [
        "%matplotlib inline",
        '%config InlineBackend.figure_formats = ["jpeg"]  # keeps the stored notebook small',
        "%xmode Minimal",
    ]
    assert lines[-5:] == ["import torch", "", "import vitlib", "", "_ = torch.manual_seed(0)"]
    assert f'REPOSITORY = "{colab.REPOSITORY}"' in lines


@each
def test_setup_cell_is_the_one_of_vitlib_colab(path):
    source = _setup_source(path)
    assert source == update_setup_cells.setup_source(source), (
        f"{path.name}: its setup cell differs from vitlib.colab.SETUP_CELL; run python tools/update_setup_cells.py"
    )


@sources
def test_in_a_checkout_nothing_is_installed(source, checkout):
    decide, _ = _decision(source)
    assert decide(checkout, False) is None
    assert decide(checkout, True) is None


@sources
def test_where_vitlib_is_installed_nothing_is_installed(source, tmp_path):
    decide, _ = _decision(source)
    assert decide(tmp_path / "content", True) is None


@sources
def test_on_colab_it_installs_from_the_one_repository(source, tmp_path):
    decide, repository = _decision(source)
    assert repository == colab.REPOSITORY
    # Colab: /content, no vitlib/ beside it, vitlib not importable. A vitlib/ folder without
    # __init__.py (someone's unrelated folder) is not a checkout.
    (tmp_path / "vitlib").mkdir()
    assert decide(tmp_path / "content", False) == [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        f"git+https://github.com/{colab.REPOSITORY}",
    ]
    assert colab.install_spec() == f"git+https://github.com/{colab.REPOSITORY}"


def _run_setup(source: str, cwd: Path, monkeypatch, *, importable: bool) -> list:
    """Run the whole setup cell (magics aside) in ``cwd`` with ``find_spec`` and ``subprocess.run`` faked."""
    calls = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: real_find_spec(name) if importable else None)
    monkeypatch.setattr(subprocess, "run", lambda command, check: calls.append((command, check)))
    exec(compile(_python(source), "<setup cell>", "exec"), {})
    return calls


@each
def test_the_cell_says_so_and_runs_pip_outside_a_checkout(path, tmp_path, monkeypatch, capsys):
    calls = _run_setup(_setup_source(path), tmp_path, monkeypatch, importable=False)
    assert calls == [
        ([sys.executable, "-m", "pip", "install", "--quiet", f"git+https://github.com/{colab.REPOSITORY}"], True)
    ]
    assert f"installing it from github.com/{colab.REPOSITORY}" in capsys.readouterr().out


@each
def test_the_cell_is_silent_in_this_checkout(path, monkeypatch, capsys):
    calls = _run_setup(_setup_source(path), ROOT / "notebooks", monkeypatch, importable=False)
    assert calls == []
    assert capsys.readouterr().out == ""


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
