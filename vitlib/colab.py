"""Where the series lives, and the setup cell that lets every notebook run outside a checkout (Colab).

``REPOSITORY`` is the one place that names the project's GitHub repository. From it come the
README's Binder badge and "Open in Colab" links (``binder_url``, ``colab_url``), the static book's
links to the source (``source_url``) and, written into every notebook by
``tools/update_setup_cells.py``, the setup cell (``SETUP_CELL``): a few lines a learner can read at a
glance. Where ``vitlib`` is installed (the README's set-up command, Binder, a school's hub) it imports
it; where it is not (Colab, a notebook downloaded on its own) it says so and installs it with
``%pip install git+https://github.com/REPOSITORY`` first. ``tests/test_colab.py`` runs each
notebook's own setup cell both ways, with fakes (no network).
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


# The first code cell of every notebook: short, since every learner reads it first.
# %xmode Minimal: a cell that fails on purpose shows its error message, not the library's file paths.
SETUP_CELL = f"""%matplotlib inline
%config InlineBackend.figure_formats = ["jpeg"]  # keeps the stored notebook small
%xmode Minimal
try:
    import vitlib
except ImportError:  # Colab, or this notebook on its own: install the series' library first (about a minute)
    %pip install --quiet {install_spec()}
    import vitlib
import torch

_ = torch.manual_seed(0)"""
"""The setup cell, exactly as ``tools/update_setup_cells.py`` writes it into each notebook."""
