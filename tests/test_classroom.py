"""A whole class on one server: the series on a real JupyterHub, with the nbgitpuller link, several students at once.

The hub is classroom/local_hub.py's: JupyterHub with ``classroom/jupyterhub_config.py`` (the file a school
installs), the built-in ``DummyAuthenticator`` and ``SimpleLocalProcessSpawner``, the configurable-http-proxy,
everything on free ports of 127.0.0.1 and in one temporary folder (each student's home a folder in it). It serves
a clone of this repository (its committed HEAD, as branch ``main``) over ``file://``, so that nbgitpuller clones
and fetches as it does from GitHub, shallow. Then, in one scenario:

- alice, bob and carol log in in Chromium (each in their own browser context) through the link that
  ``classroom/link.py`` makes; the link clones the series into each one's home folder and opens notebook 00;
- the settings reached the students' kernels: the memory and CPU limits, one torch thread;
- alice runs notebook 01 and moves the patch explorer's slider: the readout and the picture follow (the
  browser test's own steps and row for notebook 01, tests/test_browser.py);
- bob edits a notebook and saves it; the repository gets a new commit that changes the same notebook elsewhere;
  bob opens the link again, and both his edit and the new commit are there, on disk and on his screen
  (nbgitpuller's merge);
- carol cannot reach alice's server through the hub, with her browser's cookies or with her API token (refused),
  while her own server answers her;
- dora, whose server runs the class's idle-culling settings with seconds instead of minutes, loses her idle
  kernel and then her idle server, and the hub notices;
- every socket that the hub, the proxy, the servers and the kernels listen on is on 127.0.0.1;
- after the hub stops, no process that it started is left, the temporary folder is removed, and the repository's
  working tree is as before.

Needs configurable-http-proxy (installed by .ci/run's ``npm install`` line into ``.node/``),
jupyterhub and nbgitpuller (requirements-dev.txt), git, and /usr/bin/chromium. Without them the test is skipped,
except under CI (``CI=true``), where that is a failure. About 100 s on the shared 2-core machine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import ARTIFACTS, require, write_lab_settings
from solutions_support import load_file

# The browser test's own steps and its row for notebook 01 (reused, not copied).
from test_browser import (
    CASES,
    ERRORS,
    KERNEL_IDLE,
    OPEN_AND_RUN,
    PANEL,
    PICTURE,
    _set_value,
    _settled_text,
    _wait_picture_change,
    _wait_text_change,
)
from traitlets.config import Config

from vitlib.colab import BRANCH, REPOSITORY

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "classroom"
link = load_file(CLASSROOM / "link.py", "classroom_link")
local_hub = load_file(CLASSROOM / "local_hub.py", "classroom_local_hub")

STUDENTS = ["alice", "bob", "carol"]
IDLE_STUDENT = "dora"
FOLDER = REPOSITORY.split("/")[-1]  # where nbgitpuller puts the series in each home folder
IN_REPOSITORY = "notebooks/00_tokens_vs_patches.ipynb"  # the landing notebook
LANDING = f"{FOLDER}/{IN_REPOSITORY}"  # ... in JupyterLab, from the home folder
WIDGET_CASE = next(case for case in CASES if case.notebook == "01_patchify.ipynb")
# dora's server: the class's idle-culling settings, in seconds instead of minutes.
SHORT_IDLE = {"cull_idle_timeout": 4, "cull_interval": 2, "shutdown_no_activity_timeout": 5}


def classroom_settings() -> dict:
    """The names that classroom/jupyterhub_config.py defines (MEMORY_LIMIT, ...), and its config as ``c``."""
    return runpy.run_path(str(CLASSROOM / "jupyterhub_config.py"), init_globals={"get_config": Config})


# ---------------------------------------------------------------------------- the link (no hub needed)


def test_link_is_nbgitpullers_format_for_this_repository():
    url = link.nbgitpuller_url("https://hub.example.org/")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "hub.example.org", "/hub/user-redirect/git-pull")
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query == {
        "repo": f"https://github.com/{REPOSITORY}",
        "branch": BRANCH,
        "urlpath": f"lab/tree/{FOLDER}/notebooks/00_tokens_vs_patches.ipynb",
    }
    assert link.nbgitpuller_url("https://hub.example.org", "06") == link.nbgitpuller_url(
        "https://hub.example.org", "notebooks/06_training_a_vit.ipynb"
    )
    on_a_path = link.nbgitpuller_url("https://example.org/jupyter", "06_training_a_vit.ipynb", git_url="/srv/x/y")
    assert on_a_path.startswith("https://example.org/jupyter/hub/user-redirect/git-pull?repo=%2Fsrv%2Fx%2Fy&")
    assert "urlpath=lab%2Ftree%2Fy%2Fnotebooks%2F06_training_a_vit.ipynb" in on_a_path


@pytest.mark.parametrize(
    "hub_url, notebook, expected",
    [
        ("hub.example.org", "00_tokens_vs_patches.ipynb", "is not a hub's address"),
        ("https://hub.example.org/hub/home", "00_tokens_vs_patches.ipynb", "is a page of the hub"),
        ("https://hub.example.org", "99_missing.ipynb", "is not a notebook of the series"),
        ("https://hub.example.org", "6", "is not a notebook of the series; pass one of"),
    ],
)
def test_link_refuses_bad_input_with_the_fix(hub_url, notebook, expected):
    with pytest.raises(ValueError, match=expected):
        link.nbgitpuller_url(hub_url, notebook)


def test_readme_shows_the_link_that_the_command_prints():
    readme = (ROOT / "README.md").read_text()
    command = subprocess.run(
        [sys.executable, str(CLASSROOM / "link.py"), "https://hub.example.org"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert command.stdout.strip() == link.nbgitpuller_url("https://hub.example.org")
    assert command.stdout.strip() in readme, "README: the link shown for https://hub.example.org is not the script's"


def test_the_class_settings_are_sized_by_the_benchmark():
    """The limits are the ones the README's sizing figures support, and they reach the spawner's config."""
    settings = classroom_settings()
    c = settings["c"]
    assert c.Spawner.mem_limit == settings["MEMORY_LIMIT"] and c.Spawner.cpu_limit == settings["CPU_LIMIT"]
    readme = (ROOT / "README.md").read_text()
    assert f'`MEMORY_LIMIT = "{settings["MEMORY_LIMIT"]}"`' in readme, "README: say which memory limit is set"
    assert "python benchmarks/bench_classroom.py" in readme


def test_ci_installs_the_hubs_proxy_before_the_readmes_test_command():
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip()]
    install = lines.index(local_hub.proxy_install_command())
    assert "configurable-http-proxy@" in lines[install] and "--prefix .node" in lines[install]
    readme = next(i for i, line in enumerate(lines) if line.endswith(".venv/bin/python -m pytest"))
    assert "requirements-dev.txt" in lines[readme], ".ci/run must run the README's test command"
    assert install < readme  # the proxy is there before the hub test runs


def test_local_hub_stop_finds_and_kills_what_its_processes_left(tmp_path):
    """The clean-up check can fail: a process with this hub's marker that outlived the hub is reported and killed."""
    pytest.importorskip("psutil")
    hub = local_hub.LocalHub(tmp_path, ["alice"], proxy="configurable-http-proxy")
    env = {**os.environ, local_hub.MARKER: hub.marker}
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not hub.processes() and time.monotonic() < deadline:  # its environment is readable once it runs
            time.sleep(0.05)
        left = hub.stop()
        assert len(left) == 1 and left[0].startswith(f"pid {orphan.pid}:"), left
        assert orphan.wait(timeout=10) is not None
        assert hub.processes() == []
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


# ---------------------------------------------------------------------------- the hub


def _prerequisites() -> str:
    for module in ("jupyterhub", "nbgitpuller"):
        if importlib.util.find_spec(module) is None:
            require(f"{module} is not installed: pip install -r requirements-dev.txt to run the hub test")
    if shutil.which("git") is None:
        require("git not found: apt-get install git to run the hub test")
    proxy = local_hub.find_proxy()
    if proxy is None:
        require(f"configurable-http-proxy not found: install it as .ci/run does: `{local_hub.proxy_install_command()}`")
    return proxy


def _git(*args, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"git {' '.join(args)} in {cwd}: {done.stderr.strip()}"
    return done.stdout.strip()


def _serve_repository(origin: Path) -> str:
    """A clone of this repository's committed HEAD as branch main in ``origin``; returns its file:// URL."""
    origin.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=origin)
    _git("fetch", "-q", str(ROOT), "HEAD", cwd=origin)
    _git("checkout", "-q", "-B", "main", "FETCH_HEAD", cwd=origin)
    return origin.as_uri()


def _instructor_commit(origin: Path) -> tuple[str, str]:
    """The instructor improves notebook 00's title and commits; returns (new title line, commit)."""
    path = origin / IN_REPOSITORY
    raw = path.read_text()
    title = json.loads(raw)["cells"][0]["source"][0]  # '# 00 · Tokens vs. patches\n'
    new_title = title.rstrip("\n") + " (updated for this class)\n"
    old, new = json.dumps(title, ensure_ascii=False), json.dumps(new_title, ensure_ascii=False)
    assert raw.count(old) == 1, f"{LANDING}: its title line {title!r} is not unique in the file"
    path.write_text(raw.replace(old, new))
    _git("-c", "user.name=Instructor", "-c", "user.email=instructor@example.org", "commit", "-qam", "Title", cwd=origin)
    return new_title.rstrip("\n"), _git("rev-parse", "HEAD", cwd=origin)


# Settings of the test's hub on top of the class's: JupyterLab as the browser test drives it, and dora's short
# idle-culling (the class's own flags, with seconds for minutes).
TEST_SETTINGS = """
import re

c.Spawner.args.extend([
    "--LabApp.expose_app_in_browser=True",
    "--LabApp.user_settings_dir=" + LAB_SETTINGS,
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
])


def short_idle_timeouts(spawner):
    if spawner.user.name == IDLE_STUDENT:
        def shorter(arg):
            match = re.fullmatch(r"(--\\w+\\.(\\w+))=\\d+", arg)
            return f"{match[1]}={SHORT_IDLE[match[2]]}" if match and match[2] in SHORT_IDLE else arg
        spawner.args = [shorter(arg) for arg in spawner.args]


c.Spawner.pre_spawn_hook = short_idle_timeouts
"""

LANDED = f"""(path) => !!window.jupyterapp && !!({PANEL})(path)"""
EXECUTE = f"""async ([path, code]) => {{
  const panel = ({PANEL})(path);
  const future = panel.sessionContext.session.kernel.requestExecute({{code, store_history: false}});
  let out = '';
  future.onIOPub = (msg) => {{
    if (msg.header.msg_type === 'stream') out += msg.content.text;
    if (msg.header.msg_type === 'error') out += `${{msg.content.ename}}: ${{msg.content.evalue}}`;
  }};
  await future.done;
  return out;
}}"""
EDIT_AND_SAVE = f"""async ([path, old, replacement]) => {{
  const panel = ({PANEL})(path);
  await panel.context.ready;
  const cell = panel.content.widgets.find(c => c.model.sharedModel.getSource().includes(old));
  if (!cell) return 'no cell contains ' + old;
  cell.model.sharedModel.setSource(cell.model.sharedModel.getSource().replace(old, replacement));
  await panel.context.save();
  return panel.context.model.dirty ? 'still unsaved' : 'saved';
}}"""
SOURCES = f"""async (path) => {{
  const panel = ({PANEL})(path);
  await panel.context.ready;
  return panel.content.widgets.map(c => c.model.sharedModel.getSource());
}}"""


class Classroom:
    """The hub, the served repository, and each student's browser page."""

    def __init__(self, tmp: Path, proxy: str):
        self.tmp = tmp
        self.origin = tmp / "origin" / FOLDER
        self.git_url = _serve_repository(self.origin)
        self.first_commit = _git("rev-parse", "HEAD", cwd=self.origin)
        write_lab_settings(tmp / "lab-settings")
        values = {"LAB_SETTINGS": str(tmp / "lab-settings"), "IDLE_STUDENT": IDLE_STUDENT, "SHORT_IDLE": SHORT_IDLE}
        extra = "\n".join(f"{name} = {value!r}" for name, value in values.items()) + TEST_SETTINGS
        self.hub = local_hub.LocalHub(tmp / "hub", [*STUDENTS, IDLE_STUDENT], proxy=proxy, extra_config=extra)
        self.link = ""
        self.contexts: dict = {}
        self.pages: dict = {}

    def clone(self, student: str) -> Path:
        return self.hub.home(student) / FOLDER

    def log_in_through_the_link(self, chromium, student: str) -> None:
        context = chromium.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" when the link is opened again
        self.contexts[student], self.pages[student] = context, page
        page.goto(self.link, timeout=60_000)
        page.locator("#username_input").fill(student, timeout=30_000)
        page.locator("#password_input").fill("any password")
        page.locator("#login_submit").click()

    def wait_landed(self, student: str, timeout_s: float = 240.0) -> None:
        page = self.pages[student]
        try:
            page.wait_for_url(re.compile(rf"/user/{student}/lab"), timeout=timeout_s * 1000)
            page.wait_for_function(LANDED, arg=LANDING, timeout=120_000, polling=250)
        except Exception as error:
            raise AssertionError(
                f"{student}: the link did not open {LANDING} in JupyterLab within {timeout_s:.0f} s "
                f"(the page is at {page.url})"
            ) from error

    def screenshots(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        for student, page in self.pages.items():
            try:
                shot = ARTIFACTS / f"classroom-{student}.png"
                page.screenshot(path=str(shot))
                print(f"[classroom] {student}: screenshot {shot}; page errors {page.errors[:3]}")
            except Exception as error:
                print(f"[classroom] {student}: no screenshot ({error})")

    def close_browsers(self) -> None:
        for context in self.contexts.values():
            try:
                context.close()
            except Exception as error:
                print(f"[classroom] could not close a browser context: {error}")


def _step(name: str, started: float) -> None:
    print(f"[classroom] {name}: done at {time.perf_counter() - started:.1f} s")


def _check_clone(room: Classroom, student: str) -> None:
    clone = room.clone(student)
    assert (clone / ".git").is_dir(), f"{student}: the link did not clone the series into {clone}"
    assert _git("rev-parse", "HEAD", cwd=clone) == room.first_commit, f"{student}: the clone is not the served HEAD"
    assert _git("ls-files", cwd=clone) == _git("ls-files", cwd=room.origin), f"{student}: files missing in the clone"
    assert _git("remote", "get-url", "origin", cwd=clone) == room.git_url


def _check_settings_reach_the_kernel(room: Classroom, student: str, settings: dict) -> None:
    """The class's limits and one torch thread, seen from a student's kernel (the user environment's python)."""
    code = (
        "import os, torch, vitlib\n"
        "print(os.environ.get('MEM_LIMIT'), os.environ.get('CPU_LIMIT'), torch.get_num_threads(), os.getcwd())"
    )
    room.pages[student].wait_for_function(KERNEL_IDLE, arg=LANDING, timeout=90_000)
    out = room.pages[student].evaluate(EXECUTE, [LANDING, code]).split()
    expected_bytes = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[settings["MEMORY_LIMIT"][-1]]
    expected = [str(int(float(settings["MEMORY_LIMIT"][:-1]) * expected_bytes)), str(settings["CPU_LIMIT"]), "1"]
    assert out[:3] == expected, f"{student}'s kernel sees MEM_LIMIT, CPU_LIMIT, torch threads = {out}, not {expected}"
    assert Path(out[3]) == room.clone(student) / "notebooks", f"{student}'s kernel runs in {out[3]}"


def _run_notebook_01(room: Classroom, student: str) -> None:
    """Start notebook 01 (Run All) in ``student``'s JupyterLab; its kernel works while the next steps run."""
    case, page = WIDGET_CASE, room.pages[student]
    path = f"{FOLDER}/notebooks/{case.notebook}"
    opened = page.evaluate(OPEN_AND_RUN, [path, case.cell, case.run, "01"])
    assert "error" not in opened, f"{student}: {case.notebook}: {opened['error']}"


def _check_patch_explorer(room: Classroom, student: str) -> None:
    case, page = WIDGET_CASE, room.pages[student]
    path = f"{FOLDER}/notebooks/{case.notebook}"
    try:
        page.wait_for_function("() => window.__runs['01'].state !== 'running'", timeout=240_000, polling=250)
    except Exception as error:
        raise AssertionError(f"{student}: notebook 01's cells did not finish within 240 s") from error
    page.wait_for_function(KERNEL_IDLE, arg=path, timeout=30_000)
    run = page.evaluate("() => window.__runs['01']")
    assert run["state"] == "done", f"{student}: notebook 01: {run['state']}"
    errors = page.evaluate(ERRORS, path)
    assert not errors, f"{student}: notebook 01 raised errors its cells are not tagged to raise: {errors}"
    page.evaluate(f"(path) => window.jupyterapp.shell.activateById(({PANEL})(path).id)", path)
    output = page.locator("[data-test-widget-cell='01'] .jp-OutputArea")
    output.locator(case.control).first.wait_for(state="visible", timeout=30_000)
    readout = output.locator(".t-readout").first
    before = _settled_text(readout)
    picture = output.locator(case.picture).first
    picture_before = picture.evaluate(PICTURE)
    assert picture_before and picture_before["bytes"] > 0, f"{student}: the patch explorer shows no picture"
    _set_value(output, case, case.value)
    moved = f"{student}: after setting the slider to {case.value}"
    after = _wait_text_change(page, readout, before, f"{moved}, the readout")
    assert re.search(case.expect[".t-readout"], after), f"{student}: the readout shows {after!r}"
    _wait_picture_change(page, picture, picture_before["src"], moved)
    assert picture.evaluate(PICTURE)["sha256"] != picture_before["sha256"], "the picture's src changed but not its data"


def _check_merge(room: Classroom, student: str) -> None:
    """``student`` edits notebook 00 and saves; the instructor commits; the link again: both are there."""
    page, clone = room.pages[student], room.clone(student)
    notebook = clone / IN_REPOSITORY
    # the first exercise line of notebook 00 that the learner fills in ("answer = None  # your code here ...")
    cells = json.loads(notebook.read_text())["cells"]
    old = next(
        line.rstrip("\n")
        for cell in cells
        if cell["cell_type"] == "code"
        for line in cell["source"]
        if re.match(r"(answer|prediction) = None  # your code here", line)
    )
    mine = f"{old.split(' = ')[0]} = 'b'  # {student}'s answer"
    assert page.evaluate(EDIT_AND_SAVE, [LANDING, old, mine]) == "saved", f"{student} could not save {LANDING}"
    assert mine in notebook.read_text(), f"{student}'s saved edit is not in {notebook}"
    new_title, commit = _instructor_commit(room.origin)
    page.goto(room.link, timeout=60_000)
    room.wait_landed(student)
    merged = notebook.read_text()
    assert mine in merged, f"{student}'s edit was lost when the link was opened again"
    assert json.dumps(new_title, ensure_ascii=False)[1:-1] in merged, "the instructor's new title did not arrive"
    ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", commit, "HEAD"], cwd=clone, timeout=60)
    assert ancestor.returncode == 0, f"the instructor's commit {commit[:12]} is not in {student}'s clone"
    sources = page.evaluate(SOURCES, LANDING)  # what the student sees, reloaded from disk
    assert sources[0].startswith(new_title), f"{student} sees the title {sources[0][:60]!r}"
    assert any(mine in source for source in sources), f"{student} no longer sees the edit on screen"


def _check_isolation(room: Classroom, student: str, other: str) -> None:
    """``student`` cannot reach ``other``'s server through the hub; their own server answers them."""
    hub, page = room.hub, room.pages[student]
    with_cookies = page.request.get(f"{hub.url}/user/{other}/api/contents/{FOLDER}/notebooks", timeout=60_000)
    assert with_cookies.status == 403, f"{student}'s browser reached {other}'s files: {with_cookies.status}"
    assert "01_patchify" not in with_cookies.text()
    token = hub.user_token(student)
    status, _ = hub.request("GET", f"/user/{student}/api/contents/{FOLDER}/notebooks", token=token)
    assert status == 200, f"{student}'s own server did not answer their token: {status}"
    requests = [
        ("GET", f"/user/{other}/api/contents", None),
        ("GET", f"/user/{other}/files/{LANDING}", None),
        ("POST", f"/user/{other}/api/kernels", {}),
        ("DELETE", f"/hub/api/users/{other}/server", None),
        ("GET", f"/hub/api/users/{other}", None),
    ]
    answers = {f"{method} {path}": hub.request(method, path, body, token=token)[0] for method, path, body in requests}
    allowed = {request: status for request, status in answers.items() if status not in (403, 404)}
    assert not allowed, f"{student}'s token was not refused: {allowed}"
    assert hub.server_running(other), f"{other}'s server stopped after {student}'s requests"


def _start_idle_student(room: Classroom) -> str:
    """dora's server (with the class's idle-culling flags, shortened) and one kernel, then nothing: the
    idle-culling must take both."""
    hub = room.hub
    hub.start_server(IDLE_STUDENT)
    args = _server_args(room)[IDLE_STUDENT]
    for name, value in SHORT_IDLE.items():
        assert any(a.endswith(f".{name}={value}") for a in args), f"{IDLE_STUDENT}'s {name} is not short: {args}"
    status, kernel = hub.request("POST", f"/user/{IDLE_STUDENT}/api/kernels", {"name": "python3"})
    assert status == 201, f"could not start {IDLE_STUDENT}'s kernel: {status} {kernel}"
    return kernel["id"]


def _server_args(room: Classroom) -> dict[str, list[str]]:
    """Each running student's server's command line, read from the process itself."""
    found = {}
    for process in room.hub.processes():
        try:
            user, cmdline = process.environ().get("JUPYTERHUB_USER"), process.cmdline()
        except Exception:
            continue
        if user and "jupyterhub.singleuser" in cmdline:
            found[user] = cmdline
    return found


def _check_idle_culling(room: Classroom, kernel_id: str, settings: dict, args: dict) -> None:
    flags = {
        "cull_idle_timeout": settings["KERNEL_IDLE_TIMEOUT_S"],
        "cull_interval": settings["KERNEL_CULL_INTERVAL_S"],
        "shutdown_no_activity_timeout": settings["SERVER_IDLE_TIMEOUT_S"],
    }
    for student in STUDENTS:
        for name, value in flags.items():
            assert any(a.endswith(f".{name}={value}") for a in args[student]), f"{student}: no {name}={value}"
    deadline = time.monotonic() + 150  # the server checks for inactivity once a minute
    while room.hub.server_running(IDLE_STUDENT) and time.monotonic() < deadline:
        time.sleep(1)
    log = room.hub.log_path.read_text(errors="replace")
    culling = "\n".join(line for line in log.splitlines() if "Culling" in line or "shutting down" in line)
    # The kernel is 'starting' or 'idle' (no client ever connected to it): culled for inactivity either way.
    assert re.search(rf"Culling '\w+' kernel 'python3' \({kernel_id}\) .* due to \d+ seconds of inactivity", log), (
        f"{IDLE_STUDENT}'s kernel was not culled:\n{culling}"
    )
    assert not room.hub.server_running(IDLE_STUDENT), f"{IDLE_STUDENT}'s idle server did not stop within 150 s"
    assert re.search(r"No kernels for \d+ seconds; shutting down", log), (
        f"{IDLE_STUDENT}'s server stopped, but not for being idle"
    )


def _check_listening(room: Classroom) -> None:
    """Every socket bound by the hub's processes is on 127.0.0.1, and nothing connects elsewhere."""
    bound, outside = set(), []
    for process in room.hub.processes():
        try:
            connections = process.net_connections(kind="inet")
        except Exception:
            continue
        for conn in connections:
            if conn.status == "LISTEN" or not conn.raddr:
                bound.add(conn.laddr.port)
                if conn.laddr.ip != "127.0.0.1":
                    outside.append(f"{process.name()}[{process.pid}] listens on {conn.laddr.ip}:{conn.laddr.port}")
            elif conn.raddr.ip != "127.0.0.1":
                outside.append(f"{process.name()}[{process.pid}] connects to {conn.raddr.ip}:{conn.raddr.port}")
    assert not outside, "\n".join(outside)
    hub = room.hub
    expected = {hub.port, hub.hub_port, hub.proxy_api_port}
    assert expected <= bound, f"the proxy and the hub listen on {sorted(bound)}, not on {sorted(expected)}"
    assert len(bound) >= len(expected) + len(STUDENTS) * 6, f"too few sockets to be the servers and kernels: {bound}"


@pytest.mark.browser
def test_a_class_on_one_hub(chromium):
    proxy = _prerequisites()
    settings = classroom_settings()
    repository_before = _git("status", "--porcelain", cwd=ROOT)
    tmp = Path(tempfile.mkdtemp(prefix="vit-classroom-"))
    room, leftovers, still, started = None, [], [], time.perf_counter()
    try:
        room = Classroom(tmp, proxy)
        room.hub.start()
        room.link = link.nbgitpuller_url(room.hub.url, git_url=room.git_url, branch="main")
        _step(f"hub up at {room.hub.url}", started)
        idle_kernel = _start_idle_student(room)
        _step(f"{IDLE_STUDENT}'s server and kernel started, then left idle", started)
        for student in STUDENTS:  # all log in first: the hub starts their servers side by side
            room.log_in_through_the_link(chromium, student)
        for student in STUDENTS:
            room.wait_landed(student)
            _check_clone(room, student)
        _step(f"{', '.join(STUDENTS)} logged in through the link; each has the series in their home folder", started)
        _run_notebook_01(room, "alice")
        _check_settings_reach_the_kernel(room, "bob", settings)
        _step("the class's limits reach a student's kernel", started)
        _check_merge(room, "bob")
        _step("bob's edit and the instructor's new commit are both in bob's notebook", started)
        _check_isolation(room, "carol", "alice")
        _step("carol cannot reach alice's server", started)
        _check_patch_explorer(room, "alice")
        _step("alice ran notebook 01; the patch explorer's picture redraws", started)
        args = _server_args(room)
        _check_listening(room)
        _step("every socket is on 127.0.0.1", started)
        _check_idle_culling(room, idle_kernel, settings, args)
        _step(f"{IDLE_STUDENT}'s idle kernel and idle server were culled", started)
    except BaseException:
        if room is not None:
            room.screenshots()
            print(f"[classroom] hub log:\n{room.hub.log_tail(80)}")
        raise
    finally:
        if room is not None:
            room.close_browsers()
            leftovers = room.hub.stop()
            still = room.hub.processes()
        shutil.rmtree(tmp, ignore_errors=True)
    _step("hub stopped", started)
    assert not leftovers, "processes left running after the hub stopped (killed since):\n" + "\n".join(leftovers)
    assert not still, f"processes of the hub still running: {still}"
    assert not tmp.exists(), f"{tmp} was not removed"
    assert _git("status", "--porcelain", cwd=ROOT) == repository_before, "the test wrote into the repository"
