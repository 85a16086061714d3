"""The real browser and the JupyterLab server that the browser tests share (widgets, slides, the book).

``chromium``: Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) through Playwright, never a
Playwright browser download; missing, it skips the test, except under CI (``CI=true``), where it fails.
``lab``: a ``jupyter lab`` server in a temporary root, with its own settings (``write_lab_settings``, which the
hub test gives its students' JupyterLab too), stopped by process group and PID whatever happens. The fixtures
``chromium`` and ``lab`` that start them live in tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# ---------------------------------------------------------------------------- the browser and the server


def require(reason: str):
    """A missing prerequisite: a failure under CI, a skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this test must run in CI; .ci/run installs chromium and requirements-dev.txt)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_lab_settings(settings: Path) -> None:
    """User settings of the test's JupyterLab: all cells in the DOM, no news toast, no kernel picker."""
    values = {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for plugin, value in values.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


class LabServer:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.root = tmp / "root"
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "jupyter.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> None:
        for name in ("root", "config", "data", "runtime", "settings", "workspaces", "mpl"):
            (self.tmp / name).mkdir(parents=True, exist_ok=True)
        write_lab_settings(self.tmp / "settings")
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.tmp / "config"),
            "JUPYTER_DATA_DIR": str(self.tmp / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.tmp / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "MPLCONFIGDIR": str(self.tmp / "mpl"),
            # CI may export MPLBACKEND=Agg, with which the kernel shows no figure at all.
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "OMP_NUM_THREADS": "1",  # as on Binder, and kind to a shared machine
        }
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.user_settings_dir={self.tmp / 'settings'}",
            f"--LabApp.workspaces_dir={self.tmp / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        started = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.api("GET", "/api/status") is not None:
                    break
            except OSError:
                pass
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.25)
        print(f"[browser] jupyter lab on port {self.port} up in {time.perf_counter() - started:.1f} s")

    def api(self, method: str, path: str):
        request = urllib.request.Request(
            self.base + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else {}

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """By process group and recorded PIDs, never by name. Kernels run in their own sessions."""
        if self.process is None:
            return
        import psutil

        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        try:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server shuts its kernels down cleanly
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass
        self.process = None
