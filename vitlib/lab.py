"""Open the series in JupyterLab at notebook 00: ``python -m vitlib.lab``.

The same as ``jupyter lab notebooks/00_tokens_vs_patches.ipynb`` run from the
repository, except that it also works as root (a container, Binder-like
machines), where JupyterLab otherwise refuses to start.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FIRST_NOTEBOOK = "00_tokens_vs_patches.ipynb"


def lab_command(notebooks: Path, extra: list[str], *, is_root: bool) -> list[str]:
    """The argv that starts JupyterLab on the first notebook."""
    command = [sys.executable, "-m", "jupyterlab", str(notebooks / FIRST_NOTEBOOK)]
    if is_root:
        command.append("--allow-root")
    return command + extra


def main(argv: list[str] | None = None) -> None:
    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    if not (notebooks / FIRST_NOTEBOOK).exists():
        sys.exit(f"cannot find {notebooks / FIRST_NOTEBOOK}: run this from a clone of the repository.")
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    command = lab_command(notebooks, list(sys.argv[1:] if argv is None else argv), is_root=is_root)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
