"""The one loader of the instructors' solutions (``solutions/NN_name.py``), shared by the exercise tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def load_solutions(notebook: str) -> ModuleType:
    """The one loader of the instructors' solutions: ``solutions/NN_name.py`` as a module.

    ``notebook`` is the file's stem (``"05_attention_and_encoder"``) or just its number (``"05"``).
    Tests import it (``from solutions_support import load_solutions``) or take the ``solutions`` fixture.
    """
    paths = sorted(SOLUTIONS.glob(f"{notebook}.py" if "_" in notebook else f"{notebook}_*.py"))
    if len(paths) != 1:
        raise FileNotFoundError(f"expected one solutions file for {notebook!r}; found {[p.name for p in paths]}")
    spec = importlib.util.spec_from_file_location(f"solutions_{paths[0].stem}", paths[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
