"""Repository hygiene: lint, formatting, and the README's commands."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args):
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    return subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_is_clean():
    result = _ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    # the two commands end in what they are for (open the series, run the tests); a line that only prepares
    # a venv (the CPU-only torch for Linux laptops) is not one of them
    return re.findall(r"^    (python3 -m venv .*(?:vitlib\.lab|pytest))$", readme, flags=re.M)


def test_readme_has_the_two_commands():
    commands = _readme_commands()
    assert len(commands) == 2, commands
    setup, tests = commands
    assert "requirements.txt" in setup and "vitlib.lab" in setup
    assert "requirements-dev.txt" in tests and tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _readme_commands()[1] in ci.splitlines()


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_requirements_are_pinned(name):
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith(("-e", "-r")):
            assert "==" in line, f"{name}: {line!r} is not pinned"
