"""What is stored in each committed notebook file: the one suite for notebook-file structure.

- Executed top to bottom from a fresh kernel, clean (no error it was not tagged to raise), small, without
  stored widget state, and without a machine's absolute path in any output.
- Ready for a class: objectives and a time budget at the top, exercises with instant checkers (and
  solutions kept out of the notebook), a summary, the way on, and slides.

Reads the stored .ipynb files only: nbval re-executes them (``--nbval-lax``), and tests/test_colab.py
checks the setup cell. The same rules as CONTRIBUTING.md, "Notebooks".
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERIES = [
    "00_tokens_vs_patches",
    "01_patchify",
    "02_linear_projection",
    "03_cls_token",
    "04_positional_embeddings",
    "05_attention_and_encoder",
    "06_training_a_vit",
    "07_vit_vae",
    "08_beyond_classification",
    "09_vit_vs_cnn",
    "10_pretraining",
]
# The labs: taken after notebook 06 in class, or on their own; numbered after the path, which need not reach them.
LABS = ["11_why_the_block", "12_when_a_vit_does_not_learn"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# A cell that continues the slide carries no slide_type (nbconvert and RISE read that as "-"); jupyterlab-slideshow
# 0.3.4 hides a cell whose slide_type is the string "-" (CONTRIBUTING, "Slides").
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes"}
CHECK_CALL = re.compile(r"\bnb(\d\d)\.(check_\w+)\(")


def _cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        cell["text"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return cells


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _slide(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type")


def _header(cells: list[dict]) -> str:
    """The markdown before the first code cell: title, what you will be able to do, objectives, budget."""
    text = []
    for cell in cells:
        if cell["cell_type"] == "code":
            break
        text.append(cell["text"])
    return "\n\n".join(text)


def _section(cells: list[dict], heading: str) -> list[dict]:
    """The cells from the markdown heading ``heading`` up to the next heading of the same level."""
    start = next(
        (i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and c["text"].startswith(heading)), None
    )
    if start is None:
        return []
    level = heading.split()[0]
    end = next(
        (
            i
            for i in range(start + 1, len(cells))
            if cells[i]["cell_type"] == "markdown" and re.match(rf"{level}\s", cells[i]["text"])
        ),
        len(cells),
    )
    return cells[start:end]


def _functions(path: Path) -> set[str]:
    return {node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}


each = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])


def test_notebook_names_are_the_series():
    unknown = [p.stem for p in NOTEBOOKS if p.stem not in SERIES + LABS]
    assert not unknown, f"notebooks outside the series {SERIES} and the labs {LABS}: {unknown}"
    stems = [p.stem for p in NOTEBOOKS if p.stem in SERIES]
    assert stems == SERIES[: len(stems)] and len(stems) >= 2, f"the series starts 00, 01, ... without gaps: {stems}"
    labs = [p.stem for p in NOTEBOOKS if p.stem in LABS]
    assert labs == LABS, f"both labs are there, in order: {labs}"
    assert min(lab[:2] for lab in LABS) > max(s[:2] for s in SERIES), "the labs are numbered after the path"


@each
def test_title_and_learning_objectives_at_the_top(path):
    cells = _cells(path)
    assert cells[0]["cell_type"] == "markdown", "the notebook starts with its header, in markdown"
    title = cells[0]["text"].splitlines()[0]
    assert re.match(rf"# {path.stem[:2]}\b", title), f"the title {title!r} starts with '# {path.stem[:2]}'"
    header = _header(cells)
    objectives = re.search(r"learning objectives\**:?\s*\n((?:\s*[-*] .+\n?(?:\s{2,}\S.*\n?)*)+)", header, re.I)
    assert objectives, "the header lists the learning objectives ('**Learning objectives**' and a bullet list)"
    items = re.findall(r"^\s*[-*] ", objectives.group(1), re.M)
    assert 2 <= len(items) <= 8, f"{len(items)} learning objectives; give 2 to 8"
    intro = re.sub(r"\*\*learning objectives.*", "", header.split("\n", 1)[-1], flags=re.I | re.S).strip()
    assert len(intro.split()) >= 15, "a paragraph under the title says what you will be able to do"


@each
def test_time_budget_in_minutes_in_class_and_seconds_to_run(path):
    header = _header(_cells(path))
    budget = re.search(r"time budget.*", header, re.I)
    assert budget, "the header has a '**Time budget:**' line"
    line = budget.group(0)
    minutes = re.search(r"(\d+)\s*minutes in class", line)
    assert minutes and 5 <= int(minutes.group(1)) <= 90, f"minutes in class, 5 to 90: {line!r}"
    seconds = re.search(r"\d+(\.\d+)?(\s*[–-]\s*\d+)?\s*s\b", line)
    assert seconds and re.search(r"\bruns?\b", line), f"the measured seconds to run: {line!r}"


@each
def test_your_turn_exercises_call_their_checkers(path):
    cells = _cells(path)
    number = path.stem[:2]
    section = _section(cells, "## Your turn")
    assert section, "a '## Your turn' section"
    exercise_cells = [c for c in section if c["cell_type"] == "code" and CHECK_CALL.search(c["text"])]
    assert 1 <= len(exercise_cells) <= 3, f"{len(exercise_cells)} exercises; CONTRIBUTING asks for 1 to 3"
    module = importlib.import_module(f"vitlib.exercises.nb{number}")
    for cell in exercise_cells:
        for nb, check in CHECK_CALL.findall(cell["text"]):
            assert nb == number, f"notebook {number} calls nb{nb}.{check}; use its own nb{number}"
            assert callable(getattr(module, check, None)), f"vitlib/exercises/nb{number}.py has no {check}"
        # The learner's cell is blank: the answer is theirs to write, the checker judges it at once.
        assert "your code here" in cell["text"], f"exercise cell is not blank for the learner:\n{cell['text']}"
    imports = [c["text"] for c in section if f"from vitlib.exercises import nb{number}" in c["text"]]
    assert imports, f"the section imports its checkers: from vitlib.exercises import nb{number}"


@each
def test_every_exercise_has_a_solution_for_instructors(path):
    checks = {check for c in _cells(path) for _, check in CHECK_CALL.findall(c["text"])}
    solutions = ROOT / "solutions" / f"{path.stem}.py"
    assert solutions.is_file(), f"solutions/{path.stem}.py is missing"
    defined = _functions(solutions)
    missing = sorted({f"solution_{c.removeprefix('check_')}" for c in checks} - defined)
    assert not missing, f"solutions/{path.stem}.py lacks {missing}"


@each
def test_solutions_are_not_spoiled_in_the_notebook(path):
    for cell in _cells(path):
        assert not re.search(r"^\s*(from|import)\s+solutions\b", cell["text"], re.M), "the notebook imports solutions"
        assert "solution_" not in cell["text"], "the notebook calls a solution_ function"


@each
def test_summary_and_the_way_on(path):
    cells = _cells(path)
    summary = _section(cells, "## Summary")
    assert summary, "a '## Summary' section"
    text = "\n".join(c["text"] for c in summary if c["cell_type"] == "markdown")
    assert re.search(r"^\|.+\|\s*$\n^\|[-:| ]+\|\s*$", text, re.M), "the summary has a table"
    order = LABS if path.stem in LABS else SERIES
    index = order.index(path.stem) if path.stem in order else None
    if index is not None and index + 1 < len(order):
        following = order[index + 1][:2]
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if re.search(r"\bnext\b", p, re.I)]
        pointer = any(re.search(rf"\b{following}\b", p) for p in paragraphs)
        assert pointer, f"the summary points to the next notebook, {order[index + 1]} ('Next: **{following} · ...**')"


@each
def test_slideshow_metadata(path):
    cells = _cells(path)
    for index, cell in enumerate(cells):
        kind = _slide(cell)
        assert kind is None or kind in SLIDE_TYPES, (
            f"cell {index}: slide_type {kind!r} is not one of {sorted(SLIDE_TYPES)} (a cell that continues the slide "
            "has no slideshow metadata: the slideshow hides a cell marked '-')"
        )
        if cell["cell_type"] == "markdown" and re.match(r"#{1,3}\s", cell["text"]):
            heading = cell["text"].splitlines()[0]
            assert kind in ("slide", "subslide"), f"cell {index}, heading {heading!r}: slide_type {kind!r}"
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert _slide(first_code) == "skip", "the setup cell (%matplotlib, imports) is skipped in the slideshow"
    shown = [c for c in cells if _slide(c) != "skip"]
    assert _slide(shown[0]) == "slide", "the slideshow starts on a slide"


def test_section_finder_stops_at_the_next_heading():
    cells = [
        {"cell_type": "markdown", "text": "## Your turn"},
        {"cell_type": "code", "text": "nb00.check_a(answer)"},
        {"cell_type": "markdown", "text": "### a sub-heading stays inside"},
        {"cell_type": "markdown", "text": "## Summary"},
    ]
    assert [c["text"] for c in _section(cells, "## Your turn")] == [c["text"] for c in cells[:3]]
    assert _section(cells, "## Missing") == []
    assert CHECK_CALL.findall("nb07.check_kl(answer); nb07.check_reparameterize(answer)") == [
        ("07", "check_kl"),
        ("07", "check_reparameterize"),
    ]


# ---------------------------------------------------------------------------- the stored outputs


def _outputs(path: Path):
    """(code cell index, output) for every stored output."""
    for index, cell in enumerate(c for c in _cells(path) if c["cell_type"] == "code"):
        for output in cell.get("outputs", []):
            yield index, output


def _output_text(output: dict) -> str:
    """Everything a reader sees as text in an output (pictures aside)."""
    parts = [_join(output.get("text", "")), output.get("ename", ""), output.get("evalue", "")]
    parts += [_join(line) for line in output.get("traceback", [])]
    for kind, value in output.get("data", {}).items():
        if not kind.startswith("image/") and kind != "application/vnd.jupyter.widget-view+json":
            parts.append(_join(value) if isinstance(value, (str, list)) else json.dumps(value))
    return "\n".join(parts)


def _join(value) -> str:
    return "".join(value) if isinstance(value, list) else value


@each
def test_executed_in_order_from_a_fresh_kernel(path):
    counts = [cell.get("execution_count") for cell in _cells(path) if cell["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}: run it top to bottom"


@each
def test_no_error_outputs_except_where_expected(path):
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        if "raises-exception" in _tags(cell):
            assert errors, f"cell {index} is tagged raises-exception but raised nothing"
        else:
            assert not errors, f"cell {index} raised {errors[0]['ename']}: {errors[0]['evalue']}"
            streams = "".join(_join(o.get("text", "")) for o in cell["outputs"] if o["output_type"] == "stream")
            assert "Traceback (most recent call last)" not in streams, f"cell {index} printed a traceback"


@each
def test_nbval_markers_are_tags_not_comments(path):
    # a learner reads and edits these cells: nbval's instructions live in the cell tags, not in the code
    for index, cell in enumerate(c for c in _cells(path) if c["cell_type"] == "code"):
        for marker in ("NBVAL_CHECK_OUTPUT", "NBVAL_RAISES_EXCEPTION", "NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP"):
            assert f"# {marker}" not in cell["text"], (
                f"code cell {index}: use the tag {marker.lower().replace('_', '-')}"
            )


@each
def test_kernelspec_is_python3(path):
    assert json.loads(path.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"] == "python3"


@each
def test_file_is_small(path):
    assert path.stat().st_size < 1_000_000


@each
def test_no_stored_widget_state(path):
    assert "widgets" not in json.loads(path.read_text(encoding="utf-8"))["metadata"], (
        "widget state is stored: rebuild with tools/execute_notebooks.py"
    )
    for index, output in _outputs(path):
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
            # a widget output must also carry a static picture for viewers without a kernel (and the book)
            assert any(k.startswith("image/") for k in output["data"]), f"code cell {index}: widget without a picture"


@each
def test_widget_cells_are_not_compared(path):
    for index, cell in enumerate(c for c in _cells(path) if c["cell_type"] == "code"):
        shows_widget = any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell["outputs"])
        if shows_widget:
            assert "nbval-ignore-output" in _tags(cell), f"code cell {index} shows a widget: tag it nbval-ignore-output"


# A machine's absolute paths: temporary files, checkouts, home folders, installed packages, Windows drives.
MACHINE_PATH = re.compile(r"(/tmp/|/work/|/root/|/home/|/usr/|site-packages|/Users/|[A-Z]:\\)")


def _machine_paths(path: Path) -> list[str]:
    found = []
    for index, output in _outputs(path):
        text = re.sub(r"\x1b\[[0-9;]*m", "", _output_text(output))  # without the traceback's colours
        for match in MACHINE_PATH.finditer(text):
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            found.append(
                f"code cell {index} ({output['output_type']}): {text[start : end if end >= 0 else None][:160]!r}"
            )
    return list(dict.fromkeys(found))  # a traceback may repeat a line


def test_machine_path_finder_sees_each_kind():
    for text in (
        "/tmp/ipykernel_1/2.py:3: Warning",
        "/work/x/vitlib",
        "~/.venv/lib/site-packages/torch",
        "C:\\Users\\a",
    ):
        assert MACHINE_PATH.search(text), text
    for text in ("notebooks/01_patchify.ipynb", "~/vit/vitlib/patches.py", "ratio 3/4", "https://example.org/a"):
        assert not MACHINE_PATH.search(text), text


@each
def test_no_absolute_path_of_a_machine_in_the_outputs(path):
    found = _machine_paths(path)
    assert not found, (
        "committed outputs hold a machine's absolute path (print paths relative to the project or ~, fix the warning "
        "at its source, keep expected tracebacks short with %xmode Minimal):\n" + "\n".join(found[:10])
    )


# --- no spoilers: a predict-then-run cell reveals nothing before the learner has predicted (issue 25) -----------------

NOT_YET = "first write your prediction"


def _revealing_names(cells: list[dict]) -> set[str]:
    """``reveal`` and the functions a notebook defines that call it (e.g. a ``symptom(prediction, ...)`` helper)."""
    names, changed = {"reveal"}, True
    while changed:  # a helper may call another helper
        changed = False
        for cell in cells:
            try:
                tree = ast.parse("\n".join(line for line in cell["text"].splitlines() if not line.startswith("%")))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and node.name not in names:
                    called = {
                        getattr(c.func, "id", getattr(c.func, "attr", None))
                        for c in ast.walk(node)
                        if isinstance(c, ast.Call)
                    }
                    if called & names:
                        names.add(node.name)
                        changed = True
    return names


def _spoilers(path: Path) -> list[str]:
    """The code cells that run a revealing call (``reveal(...)`` or a helper of the notebook that makes one) but
    show something other than the request to predict first."""
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    names = _revealing_names(code)
    found = []
    for index, cell in enumerate(code):
        try:
            tree = ast.parse("\n".join(line for line in cell["text"].splitlines() if not line.startswith("%")))
        except SyntaxError:
            continue
        top_calls = [
            n
            for stmt in tree.body
            if not isinstance(stmt, (ast.FunctionDef, ast.ClassDef))
            for n in ast.walk(stmt)
            if isinstance(n, ast.Call)
        ]
        if any(getattr(c.func, "id", getattr(c.func, "attr", None)) in names for c in top_calls):
            shown = "".join(json.dumps(o.get("data", o.get("text", ""))) for o in cell["outputs"])
            if NOT_YET not in shown:
                found.append(f"code cell {index} calls reveal(...) but shows {shown[:160]!r}")
    return found


@each
def test_predict_then_run_cells_reveal_nothing_in_the_stored_notebook(path):
    """A cell that runs the revealing experiment through ``vitlib.exercises.reveal`` (or a checker built on it) is
    committed with its prediction unwritten: its output is the request to predict first, never the answer."""
    assert not _spoilers(path)


def test_the_spoiler_rule_sees_a_revealed_answer(tmp_path):
    output = {"output_type": "execute_result", "data": {"text/plain": "✅ Correct: 42"}}
    cell = {"cell_type": "code", "source": "nb.reveal(3, run, ask='x')", "metadata": {}, "outputs": [output]}
    path = tmp_path / "99_x.ipynb"
    path.write_text(json.dumps({"cells": [cell], "metadata": {}}))
    (found,) = _spoilers(path)
    assert found.startswith("code cell 0 calls reveal(...) but shows") and "Correct: 42" in found


# --- the learner's path: cells that move widgets from code (for nbval) are hidden (issue 25) -------------------------

MOVES_A_WIDGET = re.compile(r"^\s*\w+\.(slider|picker|first|second|seed|image|layer|head|query|box)\.value\s*=", re.M)


@each
def test_cells_that_move_widgets_from_code_are_out_of_the_learners_path(path):
    for index, cell in enumerate(c for c in _cells(path) if c["cell_type"] == "code"):
        if MOVES_A_WIDGET.search(cell["text"]):
            hidden = cell["metadata"].get("jupyter", {})
            assert "remove-cell" in _tags(cell), f"code cell {index} moves a widget from code: tag it remove-cell"
            assert hidden.get("source_hidden") and hidden.get("outputs_hidden"), f"code cell {index}: hide it"
            assert _slide(cell) == "skip", f"code cell {index} moves a widget from code: slide_type skip"
