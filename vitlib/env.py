"""A first-cell check that the environment can run the series (notebook 00).

    import vitlib.env
    vitlib.env.check_environment()     # a table of what was found, then "✅ Ready" or one fix per problem

It looks at versions, the widget front end, where ``vitlib`` is imported
from, memory, and CPU/GPU. Every problem comes with one plain fix: a command
to run or a menu to click, never just "something is wrong".
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import os
import re
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import vitlib  # the package's __init__ imports neither torch nor numpy (PEP 562 lazy names)

__all__ = ["EnvironmentReport", "bf16_note", "check_environment"]

# The oldest versions the notebooks are tested against; requirements.txt pins newer ones.
MINIMUM = {"torch": "2.1", "numpy": "1.24", "matplotlib": "3.7", "scikit-learn": "1.2", "ipywidgets": "8.0"}
# Needed by one notebook only; reported, and a problem only there.
OPTIONAL = {"transformers": "08 (pretrained weights)", "safetensors": "08 (pretrained weights)"}
WIDGET_EXTENSION = os.path.join("share", "jupyter", "labextensions", "@jupyter-widgets", "jupyterlab-manager")
LAB_EXTENSION = os.path.join("@jupyter-widgets", "jupyterlab-manager")
# ipywidgets 8 talks to the jupyterlab_widgets 3 front end; 7 to 1.x. A mismatch shows sliders as text.
FRONTEND_MAJOR = {8: 3, 7: 1}
MIN_MEMORY_GB = 1.0  # every notebook's kernel stays under 1 GB peak RSS
INSTALL = "pip install -r requirements.txt"


def _version_tuple(version: str) -> tuple[int, ...]:
    """'2.13.0+cpu' -> (2, 13, 0); '2.0.0rc1' -> (2, 0, 0): the leading digits of each dotted part."""
    parts = []
    for piece in version.split("+")[0].split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
        if digits.end() < len(piece):  # a pre-release suffix ends the release number
            break
    return tuple(parts)


@dataclass(frozen=True)
class EnvironmentReport:
    """What was found (name -> value), what to fix (one line each), and notes that need no fix."""

    found: dict[str, str]
    problems: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __repr__(self) -> str:
        lines = [f"{name:<18} {value}" for name, value in self.found.items()]
        lines += [f"  · {note}" for note in self.notes]
        if self.problems:
            lines += ["", "To fix:"] + [f"  ✗ {p}" for p in self.problems]
        else:
            lines += ["", "✅ Ready: everything the series needs is here."]
        return "\n".join(lines)


def _default_prefixes() -> list[str]:
    prefixes = [sys.prefix, sysconfig.get_config_var("prefix") or sys.base_prefix, sys.base_prefix]
    return list(dict.fromkeys(prefixes))


def _lab_extension_dirs(prefixes) -> list[str]:
    """Where JupyterLab looks for prebuilt extensions: each prefix, then Jupyter's data path (user, system)."""
    dirs = [os.path.join(prefix, WIDGET_EXTENSION) for prefix in prefixes]
    try:
        from jupyter_core.paths import jupyter_path

        dirs += [os.path.join(d, LAB_EXTENSION) for d in jupyter_path("labextensions")]
    except ImportError:  # jupyter_core comes with ipykernel; without it, the prefixes are all we know
        pass
    return list(dict.fromkeys(dirs))


def _widget_frontend(prefixes, extra_dirs=()) -> str | None:
    """The first folder holding JupyterLab's widget manager extension, or ``None``."""
    for path in [os.path.join(prefix, WIDGET_EXTENSION) for prefix in prefixes] + list(extra_dirs):
        if os.path.isdir(path):
            return path
    return None


def _shell() -> str:
    """'jupyter' inside a notebook kernel, 'colab' on Google Colab, 'ipython' in a terminal, else 'python'."""
    if "google.colab" in sys.modules:
        return "colab"
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None:
        return "python"
    return "jupyter" if type(shell).__name__ == "ZMQInteractiveShell" else "ipython"


def _memory_gb() -> float | None:
    """Memory this process may use: the container's limit (Binder: 2 GB) if lower than the machine's RAM."""
    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            sizes.append(int(text))
    return min(sizes) / 1e9 if sizes else None


def _shown(path: Path, cwd: Path) -> str:
    """``path`` as the report prints it: relative to ``cwd`` if near it, else with ``~`` for the home folder
    (else in full: only a broken setup, e.g. vitlib imported from another copy, gets there).

    A stored notebook's output must not hold the absolute paths of the machine that ran it.
    """
    path = Path(path)
    try:
        relative = os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        relative = None
    if relative is not None and relative.split(os.sep).count(os.pardir) <= 2:
        return relative
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except (ValueError, RuntimeError):
        return str(path)  # far from here and from home: the full path is the only way to name it


def _importable(module: str) -> str | None:
    """``None`` if ``module`` imports, else the error it raised, in one line."""
    try:
        importlib.import_module(module)
    except Exception as error:  # a broken install raises ImportError, OSError (a missing .so), AttributeError...
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return None


def _checkout_of(path: Path) -> Path | None:
    """The repository that ``path`` (a notebook folder or the repository itself) belongs to, if any."""
    for folder in (path, *path.parents[:2]):
        if (folder / "vitlib" / "__init__.py").is_file() and (folder / "pyproject.toml").is_file():
            return folder.resolve()
    return None


def check_environment(*, prefixes=None, cwd=None) -> EnvironmentReport:
    """Versions, the widget front end, where vitlib comes from, memory, and CPU/GPU, with a plain fix for each problem.

    ``prefixes`` are the install prefixes searched for JupyterLab's widget
    extension (default: this Python's, then Jupyter's data path): one path (a
    ``str`` or ``Path``) or a list of them; ``cwd`` is the notebook folder
    (default: the current directory). Paths in the report are printed relative
    to ``cwd`` (or with ``~``), never as the machine's absolute paths.

    It imports neither torch nor numpy before checking them, so a missing or
    broken install is reported with its fix instead of raising.
    """
    if isinstance(prefixes, (str, os.PathLike)):
        prefixes = [os.fspath(prefixes)]  # one prefix, not one per character
    elif prefixes is not None:
        try:
            prefixes = [os.fspath(p) for p in prefixes]
        except TypeError:
            raise TypeError(
                f"prefixes must be a path or a list of paths; got {prefixes!r}. Pass e.g. prefixes=[sys.prefix]."
            ) from None
    here = Path(cwd or os.getcwd()).resolve()
    found: dict[str, str] = {"python": sys.version.split()[0]}
    problems: list[str] = []
    notes: list[str] = []

    for package, minimum in MINIMUM.items():
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "missing"
            problems.append(
                f"{package} is not installed: run `{INSTALL}` in this environment, then restart the kernel."
            )
            continue
        found[package] = version
        module = {"scikit-learn": "sklearn"}.get(package, package)
        if package in ("torch", "numpy") and (error := _importable(module)) is not None:
            found[package] = f"{version}, broken"
            problems.append(
                f"{package} {version} is installed but does not import ({error}): reinstall it with "
                f"`pip install --force-reinstall -r requirements.txt` in this environment, then restart the kernel."
            )
            continue
        if _version_tuple(version) < _version_tuple(minimum):
            problems.append(
                f"{package} {version} is older than {minimum}: run `{INSTALL}` to get the tested versions, "
                "then restart the kernel."
            )
    for package, where in OPTIONAL.items():
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = f"missing (needed in notebook {where})"
            problems.append(f"{package} is not installed, and notebook {where} needs it: run `{INSTALL}`.")

    # vitlib: the notebooks must import the vitlib of the checkout they live in, not an old copy.
    imported = Path(vitlib.__file__).resolve().parent.parent
    found["vitlib"] = f"{getattr(vitlib, '__version__', '?')} from {_shown(imported, here)}"
    checkout = _checkout_of(here)
    if checkout is not None and checkout != imported:
        problems.append(
            f"vitlib is imported from {_shown(imported, here)}, not from this copy of the series "
            f"({_shown(checkout, here)}): run `pip install -e {_shown(checkout, here)}` in this environment, "
            "then restart the kernel."
        )

    # The widget front end: JupyterLab's widget manager, in a version that speaks this ipywidgets.
    if prefixes is None:  # this Python's prefixes, then Jupyter's data path (user and system folders)
        extension = _widget_frontend([], _lab_extension_dirs(_default_prefixes()))
    else:
        extension = _widget_frontend(prefixes)
    shell = _shell()
    try:
        frontend_version = metadata.version("jupyterlab_widgets")
    except metadata.PackageNotFoundError:
        frontend_version = None
    if extension:
        found["widget front end"] = f"installed (jupyterlab_widgets {frontend_version or '?'})"
    else:
        found["widget front end"] = "missing"
    fix_frontend = (
        "run `pip install jupyterlab_widgets ipywidgets` in the environment that runs JupyterLab "
        f"(or `{INSTALL}`), restart JupyterLab and reload the page"
    )
    if shell == "colab":
        found["widget front end"] = "Google Colab"
        problems.append(
            "on Colab, sliders need Colab's widget manager: run "
            "`from google.colab import output; output.enable_custom_widget_manager()` once, then rerun the cell."
        )
    elif not extension:
        problems.append(
            "JupyterLab's widget extension (jupyterlab_widgets) is not installed next to this kernel, so sliders "
            f"would show as text like `VBox(children=...)`: {fix_frontend}."
        )
    else:
        ipywidgets_major = _version_tuple(found.get("ipywidgets", "0"))[:1]
        wanted = FRONTEND_MAJOR.get(ipywidgets_major[0]) if ipywidgets_major else None
        have = _version_tuple(frontend_version)[:1] if frontend_version else ()
        if wanted is not None and have and have[0] != wanted:
            problems.append(
                f"ipywidgets {found['ipywidgets']} needs jupyterlab_widgets {wanted}.x, but {frontend_version} is "
                f"installed, so sliders would show as text: {fix_frontend}."
            )
    found["running in"] = {
        "jupyter": "a Jupyter kernel",
        "colab": "Google Colab",
        "ipython": "IPython in a terminal",
        "python": "plain Python",
    }[shell]
    if shell in ("ipython", "python"):
        notes.append("outside a notebook, widgets print as text; open the notebooks in JupyterLab to move the sliders.")

    memory = _memory_gb()
    if memory is not None:
        found["memory"] = f"{memory:.1f} GB"
        if memory < MIN_MEMORY_GB:
            problems.append(
                f"only {memory:.1f} GB of memory: a notebook's kernel needs up to 1 GB. Close other notebooks "
                "(Kernel → Shut Down All Kernels) or use a machine with more memory."
            )

    try:
        import torch  # here, not at the top: a missing or broken torch must not stop the check

        if torch.cuda.is_available():
            found["device"] = f"cuda ({torch.cuda.get_device_name(0)}); a CPU is enough for every notebook"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            found["device"] = "cpu, and an Apple GPU (mps); a CPU is enough for every notebook"
        else:
            found["device"] = f"cpu ({torch.get_num_threads()} threads; every notebook is sized for a CPU)"
    except Exception:  # missing or broken: already a problem above, with its fix
        found["device"] = "unknown (torch does not import)"
    return EnvironmentReport(found, problems, notes)


def bf16_note() -> str:
    """Whether bf16 autocast can pay on this CPU, in one line (the benchmarks print it).

    oneDNN runs bf16 matrix multiplies natively only with AVX-512 BF16 or AMX; elsewhere (AVX2 laptops, the
    generic kernels) it emulates them and bf16 is several times *slower* than fp32.
    """
    import torch

    if torch.cuda.is_available():
        return "bf16: on the GPU (native on Ampere and newer)"
    capability = torch.backends.cpu.get_cpu_capability()
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return f"bf16: native on this CPU ({capability} kernels, oneDNN bf16): autocast can pay for wide models"
    return f"bf16: NOT native on this CPU ({capability} kernels): emulated, slower than fp32; keep fp32 here"
