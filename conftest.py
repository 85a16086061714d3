"""pytest configuration shared by the unit tests and nbval's notebook runs."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parent
SOLUTIONS = ROOT / "solutions"


def load_solutions(notebook: str) -> ModuleType:
    """The one loader of the instructors' solutions: ``solutions/NN_name.py`` as a module.

    ``notebook`` is the file's stem (``"05_attention_and_encoder"``) or just its number (``"05"``).
    Tests import it (``from conftest import load_solutions``) or take the ``solutions`` fixture.
    """
    paths = sorted(SOLUTIONS.glob(f"{notebook}.py" if "_" in notebook else f"{notebook}_*.py"))
    if len(paths) != 1:
        raise FileNotFoundError(f"expected one solutions file for {notebook!r}; found {[p.name for p in paths]}")
    spec = importlib.util.spec_from_file_location(f"solutions_{paths[0].stem}", paths[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def solutions():
    """``solutions("05")`` -> the module ``solutions/05_*.py`` (see :func:`load_solutions`)."""
    return load_solutions


def pytest_collectstart(collector):
    # nbval: warnings printed on stderr (deprecations, tqdm bars) differ between machines; never compare them.
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)


@pytest.fixture
def exact_fp32(monkeypatch):
    """Full fp32 on a GPU: TF32 (on by default for cuDNN convolutions) would round to 10 bits.

    For the tests that compare CUDA with the CPU (tests/test_cuda.py, tests/test_timm.py).
    """
    if torch.cuda.is_available():  # (a CPU build cannot even set these)
        monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
        monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
