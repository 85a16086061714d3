"""Every committed notebook: executed top to bottom from a fresh kernel, clean, small, and in house style.

nbval re-executes the notebooks (``--nbval-lax``); these tests check what is stored in the files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ids = [path.stem for path in NOTEBOOKS]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[dict]:
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def _source(cell: dict) -> str:
    return _text(cell["source"])


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def test_notebooks_exist():
    assert [p.name for p in NOTEBOOKS[:2]] == ["00_tokens_vs_patches.ipynb", "01_patchify.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_executed_in_order_from_a_fresh_kernel(path):
    counts = [cell.get("execution_count") for cell in _code_cells(_load(path))]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}: run it top to bottom"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_error_outputs_except_where_expected(path):
    for index, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        if "raises-exception" in _tags(cell):
            assert errors, f"cell {index} is tagged raises-exception but raised nothing"
        else:
            assert not errors, f"cell {index} raised {errors[0]['ename']}: {errors[0]['evalue']}"
            streams = "".join(_text(o.get("text", "")) for o in cell["outputs"] if o["output_type"] == "stream")
            assert "Traceback (most recent call last)" not in streams, f"cell {index} printed a traceback"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_nbval_markers_are_tags_not_comments(path):
    # a learner reads and edits these cells: nbval's instructions live in the cell tags, not in the code
    for index, cell in enumerate(_code_cells(_load(path))):
        for marker in ("NBVAL_CHECK_OUTPUT", "NBVAL_RAISES_EXCEPTION", "NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP"):
            assert f"# {marker}" not in _source(cell), (
                f"code cell {index}: use the tag {marker.lower().replace('_', '-')}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_kernelspec_is_python3(path):
    assert _load(path)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_file_is_small(path):
    assert path.stat().st_size < 1_000_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_stored_widget_state(path):
    nb = _load(path)
    assert "widgets" not in nb["metadata"], "widget state is stored: rebuild with tools/execute_notebooks.py"
    for cell in _code_cells(nb):
        for output in cell["outputs"]:
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                # a widget output must also carry a static picture for viewers without a kernel
                assert any(k.startswith("image/") for k in output["data"]), "widget output without a static image"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_widget_cells_are_not_compared(path):
    for index, cell in enumerate(_code_cells(_load(path))):
        shows_widget = any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell["outputs"])
        if shows_widget:
            assert "nbval-ignore-output" in _tags(cell), f"code cell {index} shows a widget: tag it nbval-ignore-output"
