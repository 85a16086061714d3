"""vitlib.lab, the README's first command: the JupyterLab argv, --allow-root only as root."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vitlib import lab

ROOT = Path(__file__).resolve().parent.parent


def test_command_opens_the_first_notebook_with_this_python():
    command = lab.lab_command(Path("/repo/notebooks"), [], is_root=False)
    assert command == [sys.executable, "-m", "jupyterlab", "/repo/notebooks/00_tokens_vs_patches.ipynb"]


def test_allow_root_only_as_root():
    assert "--allow-root" in lab.lab_command(Path("n"), [], is_root=True)
    assert "--allow-root" not in lab.lab_command(Path("n"), [], is_root=False)


def test_extra_arguments_are_passed_last():
    command = lab.lab_command(Path("n"), ["--port", "9999", "--no-browser"], is_root=True)
    assert command[-4:] == ["--allow-root", "--port", "9999", "--no-browser"]


def test_the_first_notebook_exists():
    assert (ROOT / "notebooks" / lab.FIRST_NOTEBOOK).is_file()


@pytest.mark.parametrize("euid", [0, 1000])
def test_main_execs_jupyterlab_in_the_repository(monkeypatch, euid):
    calls = []
    monkeypatch.setattr(lab.os, "geteuid", lambda: euid, raising=False)
    monkeypatch.setattr(lab.os, "execv", lambda path, argv: calls.append((path, argv)))
    lab.main(["--no-browser"])
    ((path, argv),) = calls
    assert path == sys.executable
    assert argv[:4] == [sys.executable, "-m", "jupyterlab", str(ROOT / "notebooks" / lab.FIRST_NOTEBOOK)]
    assert ("--allow-root" in argv) == (euid == 0)
    assert argv[-1] == "--no-browser"


def test_main_explains_a_missing_checkout(monkeypatch, tmp_path):
    fake = tmp_path / "vitlib" / "lab.py"
    fake.parent.mkdir()
    monkeypatch.setattr(lab, "__file__", str(fake))
    monkeypatch.setattr(lab.os, "execv", lambda *a: pytest.fail("must not start JupyterLab"))
    with pytest.raises(SystemExit, match="cannot find .*00_tokens_vs_patches.ipynb"):
        lab.main([])


def test_jupyterlab_is_importable_as_a_module():
    import importlib.util

    assert importlib.util.find_spec("jupyterlab") is not None


def test_a_slideshow_left_on_is_turned_off_and_nothing_else_changes(tmp_path):
    path = tmp_path / lab.SLIDESHOW_SETTINGS
    path.parent.mkdir(parents=True)
    path.write_text('{\n  // written by JupyterLab\n  "active": true,\n  "showCodeCellPrompt": true\n}\n')
    assert lab.leave_slideshow(tmp_path) is True
    assert path.read_text() == '{\n  // written by JupyterLab\n  "active": false,\n  "showCodeCellPrompt": true\n}\n'
    assert lab.leave_slideshow(tmp_path) is False  # already off: untouched
    assert lab.leave_slideshow(tmp_path / "none") is False  # no settings file: nothing to do


def test_main_turns_the_slideshow_off_before_starting(monkeypatch, tmp_path, capsys):
    path = tmp_path / lab.SLIDESHOW_SETTINGS
    path.parent.mkdir(parents=True)
    path.write_text('{"active": true}')
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path))
    monkeypatch.setattr(lab.os, "execv", lambda path, argv: None)
    lab.main([])
    assert '"active": false' in path.read_text()
    assert "opens as a notebook again" in capsys.readouterr().out
