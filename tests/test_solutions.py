"""Every "Your turn" exercise: its solution passes its checker, and a checker never raises.

The one suite for "each solution passes its checker". Generic, by naming convention: it discovers
``solutions/NN_name.py`` (functions ``solution_<exercise>``) and ``vitlib/exercises/nbNN.py``
(functions ``check_<exercise>``), so a new notebook's exercises are picked up without editing this file.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from solutions_support import load_solutions

from vitlib.exercises import Feedback

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_FILES = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))
CHECKER_FILES = sorted((ROOT / "vitlib" / "exercises").glob("nb[0-9][0-9].py"))


def _checkers(number: str) -> dict:
    module = importlib.import_module(f"vitlib.exercises.nb{number}")
    return {name.removeprefix("check_"): getattr(module, name) for name in dir(module) if name.startswith("check_")}


def _solutions(path: Path) -> dict:
    module = load_solutions(path.stem)
    return {
        name.removeprefix("solution_"): getattr(module, name) for name in dir(module) if name.startswith("solution_")
    }


SOLVED = [
    pytest.param(path.name[:2], exercise, solve, id=f"{path.stem}.{exercise}")
    for path in SOLUTION_FILES
    for exercise, solve in _solutions(path).items()
]
CHECKED = [
    pytest.param(path.stem[2:], exercise, check, id=f"{path.stem}.{exercise}")
    for path in CHECKER_FILES
    for exercise, check in _checkers(path.stem[2:]).items()
]
NOTEBOOKS = {path.name[:2] for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}


def test_there_is_something_to_check():
    assert SOLVED and CHECKED


@pytest.mark.parametrize(("number", "exercise", "solve"), SOLVED)
def test_solution_passes_its_checker(number, exercise, solve):
    checks = _checkers(number)
    assert exercise in checks, f"solutions/{number}_*.py has solution_{exercise} but nb{number} has no check_{exercise}"
    verdict = checks[exercise](solve())
    assert isinstance(verdict, Feedback)
    assert verdict.passed, verdict.message
    assert repr(verdict).startswith("✅ Correct: ")


@pytest.mark.parametrize(("number", "exercise", "check"), CHECKED)
def test_every_checker_has_a_solution(number, exercise, check):
    files = [path for path in SOLUTION_FILES if path.name.startswith(f"{number}_")]
    assert len(files) == 1, f"expected one solutions/{number}_*.py, found {[p.name for p in files]}"
    assert exercise in _solutions(files[0]), f"{files[0].name} lacks solution_{exercise}()"


@pytest.mark.parametrize(("number", "exercise", "check"), CHECKED)
def test_no_answer_yet_is_a_not_yet_with_a_hint(number, exercise, check):
    verdict = check(None)
    assert isinstance(verdict, Feedback) and not verdict.passed
    assert repr(verdict).startswith("❌ Not yet: ") and "None" in verdict.message


@pytest.mark.parametrize(("number", "exercise", "check"), CHECKED)
@pytest.mark.parametrize("junk", [42, "an answer", [], lambda *args: 1 / 0], ids=["int", "str", "list", "crashing-fn"])
def test_a_wrong_kind_of_answer_gets_feedback_not_an_exception(number, exercise, check, junk):
    verdict = check(junk)
    assert isinstance(verdict, Feedback) and not verdict.passed
    assert len(verdict.message) > 20  # a sentence, not a bare "wrong"


@pytest.mark.parametrize(("number", "exercise", "check"), CHECKED)
def test_checker_belongs_to_a_notebook(number, exercise, check):
    assert number in NOTEBOOKS, f"vitlib/exercises/nb{number}.py has no notebooks/{number}_*.ipynb"
