"""A real JupyterHub with the class's settings, on 127.0.0.1 and in one temporary folder: for the hub test
(tests/test_classroom.py) and the benchmark (benchmarks/bench_classroom.py), and for trying the set-up on a
laptop before a class.

The hub reads ``classroom/jupyterhub_config.py`` (the file a school installs), then the few settings that make
it local: the built-in ``DummyAuthenticator`` (any password) for the students named, the
``SimpleLocalProcessSpawner`` (each student's home a folder under the temporary folder; no Unix users, no
isolation between students' files on the machine itself: for tests only), the configurable-http-proxy and the
hub on free ports of 127.0.0.1, and an admin service whose token the test and the benchmark use. Every process
that the hub starts (the proxy, each student's server, their kernels, nbgitpuller's git) carries the variable
``VIT_CLASSROOM_HUB=<a random id>``, so that :meth:`LocalHub.stop` finds and stops all of them, and says which
ones were still running after the hub's own shutdown.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLASSROOM_CONFIG = HERE / "jupyterhub_config.py"
ADMIN_SERVICE = "classroom-admin"
MARKER = "VIT_CLASSROOM_HUB"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_proxy() -> str | None:
    """configurable-http-proxy: ``$CONFIGURABLE_HTTP_PROXY``, else on ``PATH``, else in ``.node/`` of this checkout,
    where .ci/run installs it (:func:`proxy_install_command`)."""
    for candidate in (
        os.environ.get("CONFIGURABLE_HTTP_PROXY"),
        shutil.which("configurable-http-proxy"),
        ROOT / ".node" / "node_modules" / ".bin" / "configurable-http-proxy",
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def proxy_install_command() -> str:
    """The line of .ci/run that installs configurable-http-proxy (the one place that names its version)."""
    for line in (ROOT / ".ci" / "run").read_text().splitlines():
        if line.startswith("npm install") and "configurable-http-proxy@" in line:
            return line
    raise RuntimeError(".ci/run has no line 'npm install ... configurable-http-proxy@VERSION'")


class HubError(RuntimeError):
    """The hub did not do what was asked; the message ends with the end of its log."""


class LocalHub:
    """``LocalHub(tmp, ["alice", "bob"], proxy=find_proxy())``, then ``start()``, ..., ``stop()`` (always)."""

    def __init__(self, tmp: Path, students: list[str], *, proxy: str, extra_config: str = ""):
        self.tmp = Path(tmp)
        self.students = list(students)
        self.proxy = proxy
        self.extra_config = extra_config
        self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)  # the admin service's API token
        self.marker = secrets.token_hex(8)
        self.log_path = self.tmp / "jupyterhub.log"
        self.process: subprocess.Popen | None = None

    def home(self, student: str) -> Path:
        return self.tmp / "homes" / student

    # ------------------------------------------------------------------------ start and stop

    def _config(self) -> str:
        venv_bin = Path(sys.executable).parent  # the environment that runs this, not its symlink's target
        settings = {
            "CLASSROOM_CONFIG": str(CLASSROOM_CONFIG),
            "PORT": self.port,
            "HUB_PORT": self.hub_port,
            "PROXY_API_PORT": self.proxy_api_port,
            "PROXY": self.proxy,
            "TMP": str(self.tmp),
            "STUDENTS": self.students,
            "PYTHON": sys.executable,
            "PATH": f"{venv_bin}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin",
            "MARKER": {MARKER: self.marker},
            "SERVICE": ADMIN_SERVICE,
            "TOKEN": self.token,
        }
        lines = [f"{name} = {value!r}" for name, value in settings.items()]
        return "\n".join(lines) + LOCAL_SETTINGS + "\n" + self.extra_config + "\n"

    def start(self, timeout: float = 120.0) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        (self.tmp / "homes").mkdir(exist_ok=True)
        config = self.tmp / "jupyterhub_local_config.py"
        config.write_text(self._config())
        env = {**os.environ, MARKER: self.marker}
        started = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(config)],
                cwd=self.tmp,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while True:
            if self.process.poll() is not None:
                raise HubError(f"jupyterhub exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.api("GET", "/hub/api/")[0] == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - started > timeout:
                raise HubError(f"the hub did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.25)

    def processes(self) -> list:
        """Every live process that this hub started, directly or not (the marker in its environment)."""
        import psutil

        found = []
        for process in psutil.process_iter(["pid"]):
            try:
                if process.environ().get(MARKER) == self.marker:
                    found.append(process)
            except (psutil.Error, OSError):
                continue
        return found

    def stop(self, timeout: float = 60.0) -> list[str]:
        """Stop the hub (which stops the students' servers, their kernels and the proxy), then anything of
        this hub still running. Returns what was still running after the hub's own shutdown (killed since)."""
        import psutil

        was_running = self.process is not None and self.process.poll() is None
        if was_running:
            self.process.send_signal(signal.SIGTERM)  # the hub's own clean-up: servers, kernels, the proxy
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        deadline = time.monotonic() + (10 if was_running else 0)  # a server's last kernels may take a moment
        left = self.processes()
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = self.processes()
        described = []
        for process in left:
            try:
                described.append(f"pid {process.pid}: {' '.join(process.cmdline())[:200]}")
                process.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(left, timeout=5)
        for process in alive:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=5)
        return described

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ------------------------------------------------------------------------ the hub's REST API

    def request(self, method: str, path: str, body=None, *, token: str | None = None, timeout: float = 30.0):
        """``(status, parsed JSON or text)`` of a request to ``path`` (through the proxy), as the admin service
        unless another ``token`` is given. Never raises for an HTTP status."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"token {token or self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, text

    def api(self, method: str, path: str, body=None, *, token: str | None = None):
        return self.request(method, path, body, token=token)

    def user_token(self, student: str) -> str:
        status, reply = self.api("POST", f"/hub/api/users/{student}/tokens", {"note": "classroom test"})
        if status != 201:
            raise HubError(f"no token for {student}: {status} {reply}")
        return reply["token"]

    def start_server(self, student: str, timeout: float = 180.0) -> None:
        """Start ``student``'s server through the hub's API and wait until the hub says it is ready."""
        status, reply = self.api("POST", f"/hub/api/users/{student}/server")
        if status not in (201, 202, 400):  # 400: already running
            raise HubError(f"starting {student}'s server: {status} {reply}\n{self.log_tail()}")
        self.wait_ready(student, timeout)

    def wait_ready(self, student: str, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, reply = self.api("GET", f"/hub/api/users/{student}")
            server = (reply or {}).get("servers", {}).get("", {}) if status == 200 else {}
            if server.get("ready"):
                return
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise HubError(f"{student}'s server was not ready within {timeout:.0f} s\n{self.log_tail()}")

    def server_running(self, student: str) -> bool:
        status, reply = self.api("GET", f"/hub/api/users/{student}")
        return status == 200 and "" in (reply or {}).get("servers", {})


# The settings that make the class's hub local; the values above them are written by LocalHub._config.
LOCAL_SETTINGS = """
import os

c = get_config()  # noqa
load_subconfig(CLASSROOM_CONFIG)  # the file a school installs, then what makes it local:

c.JupyterHub.bind_url = f"http://127.0.0.1:{PORT}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{HUB_PORT}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PROXY_API_PORT}"
c.ConfigurableHTTPProxy.command = [PROXY]
c.JupyterHub.db_url = f"sqlite:///{TMP}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{TMP}/jupyterhub_cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set(STUDENTS)
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = TMP + "/homes/{username}"
c.Spawner.cmd = [PYTHON, "-m", "jupyterhub.singleuser"]
c.Spawner.environment.update({"PATH": PATH, **MARKER})
if os.geteuid() == 0:  # containers, CI: the spawner runs every student as the hub's own user
    c.Spawner.args.append("--allow-root")
c.Spawner.start_timeout = 180  # a shared 2-core machine starting several students at once
c.Spawner.http_timeout = 180
c.Spawner.poll_interval = 5  # notice soon when a server stopped itself (idle-culling)
c.JupyterHub.services = [{"name": SERVICE, "api_token": TOKEN}]
c.JupyterHub.load_roles = [
    {
        "name": SERVICE,
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:hub"],
        "services": [SERVICE],
    }
]
"""
