"""binder/ builds the same environment as requirements.txt, with CPU-only torch, and opens notebook 00."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
FIRST_NOTEBOOK = "notebooks/00_tokens_vs_patches.ipynb"
# repo2docker: a local reference moves the pip step after the repository copy, so every commit reinstalls torch.
LOCAL_REFERENCE = re.compile(r"^\s*(-e\b|--editable\b|-r\b|--requirement\b|-c\b|--constraint\b|\.|/|file:)")
BADGE = re.compile(r"\[!\[[^\]]*\]\(https://mybinder\.org/badge_logo\.svg\)\]\((https://mybinder\.org/v2/[^)\s]+)\)")
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")


def _lines(path: Path) -> list[str]:
    return [
        line.split(" #")[0].strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def _pins(path: Path) -> dict[str, str]:
    """name (normalised as pip does) -> pinned version; fails on a requirement that is not pinned with ==."""
    pins = {}
    for line in _lines(path):
        if line.startswith("-"):
            continue
        match = REQUIREMENT.match(line)
        assert match, f"{path}: {line!r} is not pinned as name==version"
        pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def _public(version: str) -> str:
    return version.split("+")[0]


def test_pin_parser_normalises_names_and_rejects_unpinned(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# comment\n--extra-index-url https://x\nJupyterLab_Widgets==3.0.17\ntorch==2.13.0+cpu  # cpu\n")
    assert _pins(path) == {"jupyterlab-widgets": "3.0.17", "torch": "2.13.0+cpu"}
    path.write_text("numpy>=2\n")
    with pytest.raises(AssertionError, match="not pinned"):
        _pins(path)


def test_binder_pins_the_same_versions_as_requirements():
    local, binder = _pins(ROOT / "requirements.txt"), _pins(BINDER / "requirements.txt")
    assert local, "requirements.txt pins nothing"
    differ = {name: (local[name], binder[name]) for name in local.keys() & binder.keys()}
    differ = {name: pair for name, pair in differ.items() if _public(pair[0]) != _public(pair[1])}
    assert not differ, f"binder/requirements.txt and requirements.txt pin different versions: {differ}"
    missing = sorted(local.keys() - binder.keys())
    assert not missing, f"binder/requirements.txt lacks {missing}, which requirements.txt pins"


def test_binder_torch_is_the_cpu_build_from_the_cpu_index():
    lines = _lines(BINDER / "requirements.txt")
    assert _pins(BINDER / "requirements.txt")["torch"].endswith("+cpu"), "pin torch as torch==X.Y.Z+cpu"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    # --index-url would replace PyPI for every other package.
    assert not any(line.startswith("--index-url") or line.startswith("-i ") for line in lines)


def test_binder_requirements_have_no_local_references():
    bad = [line for line in _lines(BINDER / "requirements.txt") if LOCAL_REFERENCE.match(line)]
    assert not bad, f"binder/requirements.txt: {bad}; install vitlib in binder/postBuild instead"


def test_runtime_sets_a_python_the_pins_support():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.(1[0-3])", runtime), f"runtime.txt says {runtime!r}; use python-3.11 or python-3.12"
    # vitlib's own floor (pyproject requires-python >= 3.10) is met.
    assert int(runtime.split(".")[1]) >= 10


def test_binder_folder_holds_no_file_that_repo2docker_would_let_override_the_rest():
    # A Dockerfile makes repo2docker ignore every other file; environment.yml makes it ignore runtime.txt.
    assert not (BINDER / "Dockerfile").exists()
    assert not (BINDER / "environment.yml").exists()
    assert not (ROOT / ".binder").exists(), "both binder/ and .binder/ is an error for repo2docker"


def test_postbuild_is_executable_and_stops_on_error():
    postbuild = BINDER / "postBuild"
    assert postbuild.stat().st_mode & stat.S_IXUSR, "chmod +x binder/postBuild"
    text = postbuild.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert re.search(r"^set -e", text, re.M), "postBuild does not stop on error without set -e"


@pytest.mark.skipif(sys.platform == "win32", reason="postBuild is a bash script")
def test_postbuild_installs_vitlib_and_writes_the_lab_settings(tmp_path):
    """Run postBuild with a stand-in `python` that records its arguments instead of installing."""
    bin_dir, prefix, log = tmp_path / "bin", tmp_path / "prefix", tmp_path / "calls.log"
    bin_dir.mkdir()
    stub = bin_dir / "python"
    stub.write_text(f'#!/bin/bash\necho "$PWD :: $*" >> "{log}"\n')
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "NB_PYTHON_PREFIX": str(prefix)}
    subprocess.run(["bash", str(BINDER / "postBuild")], cwd=tmp_path, env=env, check=True, timeout=60)
    calls = log.read_text().splitlines()
    assert f"{ROOT} :: -m pip install --no-cache-dir --no-deps -e ." in calls, calls
    overrides = json.loads((prefix / "share/jupyter/lab/settings/overrides.json").read_text())
    assert overrides["@jupyterlab/notebook-extension:tracker"]["windowingMode"] == "none"
    assert overrides["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True


def test_postbuild_stops_when_the_install_fails(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text("#!/bin/bash\nexit 3\n")
    (bin_dir / "python").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "NB_PYTHON_PREFIX": str(tmp_path)}
    result = subprocess.run(["bash", str(BINDER / "postBuild")], env=env, capture_output=True, timeout=60)
    assert result.returncode == 3
    assert not (tmp_path / "share/jupyter/lab/settings/overrides.json").exists()


def test_readme_badge_opens_notebook_00_in_jupyterlab():
    readme = (ROOT / "README.md").read_text()
    badge = re.search(
        r"\[!\[[^\]]*\]\(https://mybinder\.org/badge_logo\.svg\)\]\((https://mybinder\.org/v2/[^)\s]+)\)", readme
    )
    assert badge, "README has no 'launch on Binder' badge ([![Binder](https://mybinder.org/badge_logo.svg)](...))"
    url = badge.group(1)
    assert url.endswith(f"?urlpath=lab/tree/{FIRST_NOTEBOOK}"), f"the badge opens {url}, not JupyterLab on notebook 00"
    assert (ROOT / FIRST_NOTEBOOK).exists(), f"the badge opens {FIRST_NOTEBOOK}, which does not exist"


def test_slides_come_with_the_learners_requirements_and_binder():
    # jupyterlab-slideshow (deck mode, widgets stay live; tests/test_slides.py) presents the notebooks from
    # their slideshow metadata out of the box (README, "Slides"); jupyterlab-fonts is its dependency.
    for path in (ROOT / "requirements.txt", BINDER / "requirements.txt"):
        pins = _pins(path)
        for name in ("jupyterlab-slideshow", "jupyterlab-fonts"):
            assert name in pins, f"{path.name} does not pin {name}"
        # RISE as well would offer a second slideshow whose widgets are static pictures (README, "Slides").
        assert "jupyterlab-rise" not in pins, f"{path.name} pins jupyterlab-rise beside jupyterlab-slideshow"
