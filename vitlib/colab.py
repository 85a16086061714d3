"""Where the series lives, and the setup cell that lets every notebook run outside a checkout (Colab).

``REPOSITORY`` is the one place that names the project's GitHub repository. From it come the
README's Binder badge and "Open in Colab" links (``binder_url``, ``colab_url``), the static book's
links to the source (``source_url``) and, written into every notebook by
``tools/update_setup_cells.py``, the setup cell (``SETUP_CELL``). The setup cell cannot import this
module (on Colab ``vitlib`` is not installed before the cell has run), so it carries its decision as
a few lines of plain Python, ``vitlib_install_command``, which ``tests/test_colab.py`` runs from each
notebook's own setup cell with fakes (no network):

- in a checkout of the series (``../vitlib`` next to the notebook): nothing to install;
- ``vitlib`` importable (installed with ``pip install -e .``, Binder): nothing to install;
- neither (Colab, a notebook downloaded on its own): ``pip install git+https://github.com/REPOSITORY``.
"""

from __future__ import annotations

__all__ = [
    "REPOSITORY",
    "BRANCH",
    "SETUP_CELL",
    "binder_url",
    "colab_url",
    "source_url",
    "install_spec",
]

REPOSITORY = "vit-patch-by-patch/vit-patch-by-patch"
"""``owner/name`` on GitHub: the one place the address is written (a fork changes it here)."""

BRANCH = "main"
"""The branch that Colab links and source links point at."""

from .lab import FIRST_NOTEBOOK  # noqa: E402  (one name for the first notebook)


def _notebook_name(notebook: str) -> str:
    name = notebook.rsplit("/", 1)[-1]
    if not name.endswith(".ipynb") or not name[:2].isdigit():
        raise ValueError(f"notebook={notebook!r} is not a notebook of the series; pass e.g. '01_patchify.ipynb'")
    return name


def install_spec(repository: str = REPOSITORY) -> str:
    """What ``pip install`` gets on Colab: ``git+https://github.com/<owner>/<name>``."""
    return f"git+https://github.com/{repository}"


def binder_url(notebook: str = FIRST_NOTEBOOK, repository: str = REPOSITORY) -> str:
    """The Binder link that opens ``notebooks/<notebook>`` in JupyterLab (the README's badge)."""
    return f"https://mybinder.org/v2/gh/{repository}/HEAD?urlpath=lab/tree/notebooks/{_notebook_name(notebook)}"


def colab_url(notebook: str, repository: str = REPOSITORY) -> str:
    """The "Open in Colab" link of ``notebooks/<notebook>`` on the branch ``BRANCH``."""
    return f"https://colab.research.google.com/github/{repository}/blob/{BRANCH}/notebooks/{_notebook_name(notebook)}"


def source_url(path: str, repository: str = REPOSITORY) -> str:
    """A file of the repository on GitHub, e.g. ``source_url("vitlib/patches.py")``."""
    return f"https://github.com/{repository}/blob/{BRANCH}/{path.lstrip('/')}"


# The first code cell of every notebook. Plain Python after the magics: it must run before vitlib exists.
# %xmode Minimal: a cell that fails on purpose shows its error message, not the library's file paths.
SETUP_CELL = f'''%matplotlib inline
%config InlineBackend.figure_formats = ["jpeg"]  # keeps the stored notebook small
%xmode Minimal
import importlib.util
import subprocess
import sys
from pathlib import Path

REPOSITORY = "{REPOSITORY}"


def vitlib_install_command(here: Path, importable: bool) -> list[str] | None:
    """None in a checkout of the series or where vitlib is installed; else (Colab) pip's command to install it."""
    if importable or (here.parent / "vitlib" / "__init__.py").is_file():
        return None
    return [sys.executable, "-m", "pip", "install", "--quiet", f"git+https://github.com/{{REPOSITORY}}"]


command = vitlib_install_command(Path.cwd(), importlib.util.find_spec("vitlib") is not None)
if command:
    print(f"vitlib is not installed here: installing it from github.com/{{REPOSITORY}} (about a minute)")
    subprocess.run(command, check=True)
import torch

import vitlib

_ = torch.manual_seed(0)'''
"""The setup cell, exactly as ``tools/update_setup_cells.py`` writes it into each notebook."""
