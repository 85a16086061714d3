"""Loading repository files that are not packages as modules: the instructors' solutions (``solutions/NN_name.py``)
and the tools and benchmarks that tests exercise."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"


def load_file(path: Path, name: str) -> ModuleType:
    """The Python file ``path`` (e.g. ``ROOT / "tools" / "build_book.py"``) as a module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_solutions(notebook: str) -> ModuleType:
    """The one loader of the instructors' solutions: ``solutions/NN_name.py`` as a module.

    ``notebook`` is the file's stem (``"05_attention_and_encoder"``) or just its number (``"05"``).
    Tests import it (``from solutions_support import load_solutions``) or take the ``solutions`` fixture.
    """
    paths = sorted(SOLUTIONS.glob(f"{notebook}.py" if "_" in notebook else f"{notebook}_*.py"))
    if len(paths) != 1:
        raise FileNotFoundError(f"expected one solutions file for {notebook!r}; found {[p.name for p in paths]}")
    return load_file(paths[0], f"solutions_{paths[0].stem}")
