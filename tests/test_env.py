"""vitlib.env.check_environment: what it finds, and one plain fix for each problem."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from vitlib import env

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def widget_prefix(tmp_path):
    """An install prefix that holds JupyterLab's widget extension."""
    (tmp_path / env.WIDGET_EXTENSION).mkdir(parents=True)
    return str(tmp_path)


def _fake_versions(monkeypatch, **versions):
    """Make importlib.metadata report these versions (None: not installed)."""
    real = importlib.metadata.version

    def version(name):
        key = name.replace("-", "_")
        if key in versions:
            if versions[key] is None:
                raise importlib.metadata.PackageNotFoundError(name)
            return versions[key]
        return real(name)

    monkeypatch.setattr(env.metadata, "version", version)


def test_this_environment_is_ready(widget_prefix):
    report = env.check_environment(prefixes=[widget_prefix], cwd=ROOT / "notebooks")
    assert report.ok, report.problems
    assert report.found["torch"] == importlib.metadata.version("torch")
    assert report.found["widget front end"].startswith("installed")
    assert report.found["device"].startswith(("cpu", "cuda"))
    assert repr(report).endswith("✅ Ready: everything the series needs is here.")


def test_default_search_finds_the_widget_extension_of_this_environment():
    # requirements.txt installs jupyterlab_widgets, whose extension lands in sys.prefix.
    report = env.check_environment()
    assert (
        report.found["widget front end"]
        == f"installed (jupyterlab_widgets {importlib.metadata.version('jupyterlab_widgets')})"
    )


def test_missing_widget_extension_is_a_problem_with_a_fix(tmp_path):
    report = env.check_environment(prefixes=[str(tmp_path)])
    assert not report.ok
    assert report.found["widget front end"] == "missing"
    (problem,) = [p for p in report.problems if "widget extension" in p]
    assert "pip install jupyterlab_widgets" in problem and "reload the page" in problem
    assert "To fix:" in repr(report) and f"✗ {problem}" in repr(report)


def test_missing_package_says_what_to_install(monkeypatch, widget_prefix):
    _fake_versions(monkeypatch, numpy=None)
    report = env.check_environment(prefixes=[widget_prefix])
    assert report.found["numpy"] == "missing"
    assert report.problems == [
        "numpy is not installed: run `pip install -r requirements.txt` in this environment, then restart the kernel."
    ]


def test_old_version_names_the_minimum(monkeypatch, widget_prefix):
    _fake_versions(monkeypatch, torch="1.13.1+cu117")
    report = env.check_environment(prefixes=[widget_prefix])
    assert report.found["torch"] == "1.13.1+cu117"
    assert any(
        p.startswith("torch 1.13.1+cu117 is older than 2.1: run `pip install -r requirements.txt`")
        for p in report.problems
    )


def test_optional_package_missing_names_the_notebook_that_needs_it(monkeypatch, widget_prefix):
    _fake_versions(monkeypatch, transformers=None)
    report = env.check_environment(prefixes=[widget_prefix])
    assert report.found["transformers"] == "missing (needed in notebook 08 (pretrained weights))"
    assert report.problems == [
        "transformers is not installed, and notebook 08 (pretrained weights) needs it: "
        "run `pip install -r requirements.txt`."
    ]


def test_widget_front_end_of_the_wrong_generation_is_a_problem(monkeypatch, widget_prefix):
    # ipywidgets 8 with the JupyterLab 3 era front end: sliders render as text.
    _fake_versions(monkeypatch, ipywidgets="8.1.9", jupyterlab_widgets="1.1.7")
    report = env.check_environment(prefixes=[widget_prefix])
    (problem,) = report.problems
    assert problem.startswith("ipywidgets 8.1.9 needs jupyterlab_widgets 3.x, but 1.1.7 is installed")
    assert "pip install jupyterlab_widgets ipywidgets" in problem


def test_colab_needs_its_custom_widget_manager(monkeypatch, widget_prefix):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    report = env.check_environment(prefixes=[widget_prefix])
    assert report.found["running in"] == "Google Colab"
    assert any("output.enable_custom_widget_manager()" in p for p in report.problems)


def test_outside_a_notebook_is_a_note_not_a_problem(widget_prefix):
    report = env.check_environment(prefixes=[widget_prefix])
    assert report.found["running in"] in ("plain Python", "IPython in a terminal")
    assert any("open the notebooks in JupyterLab" in note for note in report.notes)
    assert report.ok


def test_vitlib_from_another_checkout_is_a_problem(tmp_path, widget_prefix):
    other = tmp_path / "other-copy"
    (other / "vitlib").mkdir(parents=True)
    (other / "vitlib" / "__init__.py").write_text("")
    (other / "pyproject.toml").write_text("")
    (other / "notebooks").mkdir()
    report = env.check_environment(prefixes=[widget_prefix], cwd=other / "notebooks")
    (problem,) = report.problems
    # the copy the notebook lives in is named relative to the notebook folder (no machine path in a stored output)
    assert problem.startswith(f"vitlib is imported from {ROOT}, not from this copy of the series (..)")
    assert "pip install -e .." in problem


def test_a_folder_outside_any_checkout_is_not_a_problem(tmp_path, widget_prefix):
    assert env.check_environment(prefixes=[widget_prefix], cwd=tmp_path).ok


def test_too_little_memory_is_a_problem(monkeypatch, widget_prefix):
    monkeypatch.setattr(env, "_memory_gb", lambda: 0.5)
    report = env.check_environment(prefixes=[widget_prefix])
    assert report.found["memory"] == "0.5 GB"
    (problem,) = report.problems
    assert problem.startswith("only 0.5 GB of memory") and "Shut Down All Kernels" in problem


def test_memory_is_measured():
    memory = env._memory_gb()
    assert memory is None or 0.1 < memory < 1e5


@pytest.mark.parametrize(
    ("version", "expected"),
    [("2.13.0+cpu", (2, 13, 0)), ("8.1.9", (8, 1, 9)), ("2.0.0rc1", (2, 0, 0)), ("1.24", (1, 24)), ("dev", ())],
)
def test_version_tuple(version, expected):
    assert env._version_tuple(version) == expected


def _run_without(tmp_path, *modules: str, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python whose ``modules`` raise ImportError (a broken install), from ROOT."""
    for module in modules:
        (tmp_path / module).mkdir()
        (tmp_path / module / "__init__.py").write_text(f"raise ImportError('{module} is broken here (test)')\n")
    path = os.pathsep.join([str(tmp_path), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT / "notebooks",
        env={**os.environ, "PYTHONPATH": path},
        timeout=120,
    )


def test_a_broken_torch_is_explained_not_a_traceback(tmp_path):
    code = (
        "import sys, vitlib.env\n"
        "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, 'imported too early'\n"
        "report = vitlib.env.check_environment()\n"
        "print(report)\n"
        "sys.exit(0 if not report.ok else 3)\n"
    )
    done = _run_without(tmp_path, "torch", "numpy", code=code)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "torch is broken here (test)" in out and "numpy is broken here (test)" in out
    assert "pip install --force-reinstall -r requirements.txt" in out
    assert "unknown (torch does not import)" in out  # the device probe's except branch ran


def test_importing_the_package_imports_no_torch_until_a_name_is_used(tmp_path):
    code = (
        "import sys, vitlib\n"
        "assert 'torch' not in sys.modules\n"
        "assert 'ViT' in dir(vitlib) and set(vitlib.__all__) <= set(dir(vitlib))\n"
        "print(vitlib.__version__)\n"
    )
    done = _run_without(tmp_path, "torch", code=code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0.1.0"


def test_lazy_names_are_the_real_objects():
    import vitlib
    from vitlib import ViT
    from vitlib.model import ViT as defined

    assert ViT is defined is vitlib.ViT
    assert sorted(vitlib.__all__) == sorted(name for name in vitlib.__all__ if hasattr(vitlib, name))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        vitlib.not_a_name  # noqa: B018


def test_one_prefix_as_a_string_is_one_prefix(widget_prefix):
    assert env.check_environment(prefixes=widget_prefix).found["widget front end"].startswith("installed")
    assert env.check_environment(prefixes=Path(widget_prefix)).found["widget front end"].startswith("installed")
    with pytest.raises(TypeError, match="prefixes must be a path or a list of paths; got 3"):
        env.check_environment(prefixes=3)


def test_the_report_holds_no_absolute_path_of_this_checkout():
    report = env.check_environment(cwd=ROOT / "notebooks")
    assert report.found["vitlib"] == "0.1.0 from .."
    assert str(ROOT) not in repr(report)


def test_bf16_note_says_whether_bf16_is_native_here():
    import subprocess
    import sys

    code = "from vitlib.env import bf16_note; print(bf16_note())"
    env = {**__import__("os").environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    limited = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "NOT native" in limited and "slower than fp32" in limited  # an AVX2 machine: emulated
    from vitlib.env import bf16_note

    assert bf16_note().startswith("bf16: ")
