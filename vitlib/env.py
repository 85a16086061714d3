"""A first-cell check that the environment can run the series (notebook 00)."""

from __future__ import annotations

import importlib.metadata as metadata
import os
import sys
import sysconfig
from dataclasses import dataclass

__all__ = ["EnvironmentReport", "check_environment"]

# The oldest versions the notebooks are tested against; requirements.txt pins newer ones.
MINIMUM = {"torch": "2.1", "numpy": "1.24", "matplotlib": "3.7", "scikit-learn": "1.2", "ipywidgets": "8.0"}
WIDGET_EXTENSION = os.path.join("share", "jupyter", "labextensions", "@jupyter-widgets", "jupyterlab-manager")


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@dataclass(frozen=True)
class EnvironmentReport:
    """What was found (name -> value) and what to fix (one line each)."""

    found: dict[str, str]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def __repr__(self) -> str:
        lines = [f"{name:<18} {value}" for name, value in self.found.items()]
        if self.problems:
            lines += ["", "To fix:"] + [f"  ✗ {p}" for p in self.problems]
        else:
            lines += ["", "✅ Ready: everything the series needs is here."]
        return "\n".join(lines)


def _widget_frontend(prefixes) -> str | None:
    for prefix in prefixes:
        path = os.path.join(prefix, WIDGET_EXTENSION)
        if os.path.isdir(path):
            return path
    return None


def check_environment(*, prefixes=None) -> EnvironmentReport:
    """Versions, the widget front end, and CPU/GPU, with a plain fix for each problem.

    ``prefixes`` are the install prefixes searched for JupyterLab's widget
    extension (default: this Python's).
    """
    found: dict[str, str] = {"python": sys.version.split()[0]}
    problems: list[str] = []
    if sys.version_info < (3, 10):
        problems.append(f"Python {found['python']} is too old: use Python 3.10 or newer.")
    for package, minimum in MINIMUM.items():
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "missing"
            problems.append(f"{package} is not installed: run `pip install -r requirements.txt` in this environment.")
            continue
        found[package] = version
        if _version_tuple(version) < _version_tuple(minimum):
            problems.append(
                f"{package} {version} is older than {minimum}: run `pip install -r requirements.txt` to get the tested versions."
            )
    prefixes = prefixes or [sys.prefix, sysconfig.get_config_var("prefix") or sys.base_prefix]
    extension = _widget_frontend(prefixes)
    found["widget front end"] = "installed" if extension else "missing"
    if not extension:
        problems.append(
            "JupyterLab's widget extension (jupyterlab_widgets) is not installed next to this kernel, so sliders "
            "would show as text: run `pip install jupyterlab_widgets` and reload the JupyterLab page."
        )
    try:
        import torch

        if torch.cuda.is_available():
            found["device"] = f"cuda ({torch.cuda.get_device_name(0)})"
        else:
            found["device"] = f"cpu ({torch.get_num_threads()} threads; every notebook is sized for a CPU)"
    except ImportError:
        found["device"] = "unknown (torch missing)"
    return EnvironmentReport(found, problems)
