"""Open the series in JupyterLab at notebook 00: ``python -m vitlib.lab``.

The same as ``jupyter lab notebooks/00_tokens_vs_patches.ipynb`` run from the
repository, except that it also works as root (a container, Binder-like
machines), where JupyterLab otherwise refuses to start, and that it first turns
off a slideshow left on: jupyterlab-slideshow stores "deck mode on" in the user
settings when a tab is closed during a slideshow, and the next JupyterLab would
open straight into it, without a menu bar (:func:`leave_slideshow`).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

FIRST_NOTEBOOK = "00_tokens_vs_patches.ipynb"
SLIDESHOW_SETTINGS = Path("jupyterlab-slideshow") / "plugin.jupyterlab-settings"
_ACTIVE = re.compile(r'("active"\s*:\s*)true')


def user_settings_dir() -> Path:
    """JupyterLab's user settings folder: ``$JUPYTERLAB_SETTINGS_DIR``, else ``<config dir>/lab/user-settings``."""
    if os.environ.get("JUPYTERLAB_SETTINGS_DIR"):
        return Path(os.environ["JUPYTERLAB_SETTINGS_DIR"])
    from jupyter_core.paths import jupyter_config_dir

    return Path(jupyter_config_dir()) / "lab" / "user-settings"


def leave_slideshow(settings_dir: Path) -> bool:
    """Turn off the slideshow that jupyterlab-slideshow remembers as on (its setting ``active``); whether it was.

    The settings file may hold comments (JupyterLab keeps the raw text), so only that one value is rewritten.
    """
    path = Path(settings_dir) / SLIDESHOW_SETTINGS
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    fixed = _ACTIVE.sub(r"\1false", text)
    if fixed == text:
        return False
    path.write_text(fixed, encoding="utf-8")
    return True


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
    if leave_slideshow(user_settings_dir()):
        print("JupyterLab was closed during a slideshow: it opens as a notebook again (the slideshow is off).")
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    command = lab_command(notebooks, list(sys.argv[1:] if argv is None else argv), is_root=is_root)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
