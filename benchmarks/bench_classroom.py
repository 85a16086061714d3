"""How many students one server holds: N students' kernels running the heaviest notebooks at the same time on a
real JupyterHub with the class's settings (classroom/jupyterhub_config.py).

    python benchmarks/bench_classroom.py                                  # 1, 2, 3 and 4 students; 05, 06, 09
    python benchmarks/bench_classroom.py --students 1 2 4 6 --notebooks 06_training_a_vit.ipynb

The hub is classroom/local_hub.py's (127.0.0.1, a temporary folder, stopped at the end). Each student's server
is started through the hub's API; then, for each notebook and each N, N students open it at once (a session
through their server's REST API, as JupyterLab does), and their kernels run its code cells in order over the
kernel's websocket, all starting together; then each kernel is shut down (as a student does with "Close and Shut
Down Notebook"). Printed per student and notebook: the wall time, the kernel's CPU time and peak RSS (from the
kernel itself, ``tools/execute_notebooks.py``'s probe), and the student's peak memory (server and kernel
together, sampled every 0.2 s: what a per-student memory limit counts). Then the largest N that keeps every
notebook within its time budget (CONTRIBUTING.md: 00-04 10 s, 05 30 s, 06 and later 45 s) and every student
within ``MEMORY_LIMIT``, measured, and as predicted from the CPU times (N kernels share the cores), and from it
the sizing rule: students per core and per GB.

The kernels run one torch thread each (the class's ``OMP_NUM_THREADS=1``). On a machine that other jobs share,
wall times are inflated; the CPU times much less so. The load average is printed to say how busy it was.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import websocket

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "classroom"))
sys.path.insert(0, str(ROOT / "tools"))

from execute_notebooks import PROBE  # noqa: E402  (the one probe of a kernel's peak RSS and CPU time)
from local_hub import LocalHub, find_proxy, proxy_install_command  # noqa: E402  (the one local hub, shared with tests/test_classroom.py)

from vitlib.colab import REPOSITORY  # noqa: E402

HEAVIEST = ["05_attention_and_encoder.ipynb", "06_training_a_vit.ipynb", "09_vit_vs_cnn.ipynb"]
FOLDER = REPOSITORY.split("/")[-1]  # where the link puts the series in a student's home folder


def budget_s(notebook: str) -> float:
    """A notebook's time budget from a fresh kernel on one thread (CONTRIBUTING.md)."""
    number = int(notebook[:2])
    return 10.0 if number <= 4 else 30.0 if number == 5 else 45.0


def memory_limit_mb() -> float:
    """``MEMORY_LIMIT`` of classroom/jupyterhub_config.py, in MB (2**20 bytes)."""
    import runpy

    from traitlets.config import Config

    limit = runpy.run_path(str(ROOT / "classroom" / "jupyterhub_config.py"), init_globals={"get_config": Config})
    text = limit["MEMORY_LIMIT"]
    return float(text[:-1]) * {"K": 2**-10, "M": 1, "G": 2**10, "T": 2**20}[text[-1]]


class Kernel:
    """A kernel opened as JupyterLab opens a notebook (a session), driven over its websocket."""

    def __init__(self, hub: LocalHub, student: str, path: str):
        self.hub, self.student = hub, student
        body = {"path": path, "name": Path(path).name, "type": "notebook", "kernel": {"name": "python3"}}
        status, session = hub.request("POST", f"/user/{student}/api/sessions", body)
        if status != 201:
            raise RuntimeError(f"{student}: no session for {path}: {status} {session}")
        self.session_id, self.kernel_id = session["id"], session["kernel"]["id"]
        url = hub.url.replace("http://", "ws://") + f"/user/{student}/api/kernels/{self.kernel_id}/channels"
        self.ws = websocket.create_connection(url, header=[f"Authorization: token {hub.token}"], timeout=900)
        self.session = uuid.uuid4().hex
        self.request("kernel_info_request", {})  # returns once the kernel answers

    def request(self, msg_type: str, content: dict) -> tuple[dict, str]:
        """Send one shell request; return (its reply's content, the text it printed) once the kernel is idle."""
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "username": self.student, "session": self.session,
                  "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "version": "5.3"}  # fmt: skip
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell"}
        self.ws.send(json.dumps(message))
        reply, idle, printed = None, False, []
        while reply is None or not idle:
            frame = self.ws.recv()
            if isinstance(frame, bytes):  # a message with binary buffers (a widget's picture): never a reply
                continue
            answer = json.loads(frame)
            if answer.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = answer["header"]["msg_type"]
            if answer["channel"] == "shell" and kind.endswith("_reply"):
                reply = answer["content"]
            elif kind == "status" and answer["content"]["execution_state"] == "idle":
                idle = True
            elif kind == "stream":
                printed.append(answer["content"]["text"])
        return reply, "".join(printed)

    def run(self, code: str, *, may_fail: bool = False) -> str:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}
        reply, printed = self.request("execute_request", {**content, "stop_on_error": True})
        if reply["status"] != "ok" and not may_fail:
            raise RuntimeError(f"{self.student}: {reply.get('ename')}: {reply.get('evalue')} in\n{code[:300]}")
        return printed

    def close(self) -> None:
        self.ws.close()
        self.hub.request("DELETE", f"/user/{self.student}/api/sessions/{self.session_id}")


class MemorySampler:
    """Each student's peak memory: their server and its kernels (the processes a per-student limit counts)."""

    def __init__(self, hub: LocalHub, students: list[str]):
        self.servers = {}
        for process in hub.processes():
            try:
                user = process.environ().get("JUPYTERHUB_USER")
                if user in students and "jupyterhub.singleuser" in process.cmdline():
                    self.servers[user] = process
            except psutil.Error:
                continue
        missing = set(students) - set(self.servers)
        if missing:
            raise RuntimeError(f"no server process found for {sorted(missing)}")
        self.peak_mb = dict.fromkeys(students, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def rss_mb(self, student: str) -> float:
        server = self.servers[student]
        total = 0
        for process in [server, *server.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total / 2**20

    def _sample(self) -> None:
        while not self._stop.is_set():
            for student in self.peak_mb:
                try:
                    self.peak_mb[student] = max(self.peak_mb[student], self.rss_mb(student))
                except psutil.Error:
                    pass
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_together(hub: LocalHub, students: list[str], notebook: str) -> list[dict]:
    """``students`` open ``notebook`` at once and run its code cells; one row per student."""
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    cells = [
        (cell.source, "raises-exception" in cell.metadata.get("tags", []))
        for cell in nb.cells
        if cell.cell_type == "code"
    ]
    path = f"{FOLDER}/notebooks/{notebook}"
    barrier = threading.Barrier(len(students))
    rows, errors = {}, []

    def student_runs(student: str) -> None:
        kernel = None
        try:
            kernel = Kernel(hub, student, path)
            barrier.wait(timeout=300)
            start = time.perf_counter()
            for source, may_fail in cells:
                kernel.run(source, may_fail=may_fail)
            seconds = time.perf_counter() - start
            rss_kb, cpu_s = kernel.run(PROBE).split()[:2]
            rows[student] = {"seconds": seconds, "kernel_cpu_s": float(cpu_s), "kernel_peak_mb": int(rss_kb) / 1024}
        except Exception as error:  # reported below, after the other students finished
            errors.append(f"{student}: {type(error).__name__}: {error}")
            barrier.abort()
        finally:
            if kernel is not None:
                kernel.close()

    with MemorySampler(hub, students) as memory:
        threads = [threading.Thread(target=student_runs, args=(student,)) for student in students]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise RuntimeError(f"{notebook} with {len(students)} students:\n" + "\n".join(errors))
    for student in students:
        rows[student]["student_peak_mb"] = memory.peak_mb[student]
    return [rows[student] for student in students]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[1, 2, 3, 4], help="class sizes to run")
    parser.add_argument("--notebooks", nargs="+", default=HEAVIEST, help="notebook files, run one after another")
    args = parser.parse_args()
    args.notebooks = [Path(notebook).name for notebook in args.notebooks]  # "notebooks/06_x.ipynb" or "06_x.ipynb"
    sys.stdout.reconfigure(line_buffering=True)  # each row as soon as it is measured, also into a file
    proxy = find_proxy()
    if proxy is None:
        sys.exit(f"configurable-http-proxy not found: install it as .ci/run does: {proxy_install_command()}")
    sizes = sorted(set(args.students))
    names = [f"student{i:02d}" for i in range(1, max(sizes) + 1)]
    cores = os.cpu_count() or 1
    ram_mb = psutil.virtual_memory().total / 2**20
    limit_mb = memory_limit_mb()
    print(f"{cores} cores, {ram_mb / 1024:.1f} GB; load average {os.getloadavg()[0]:.1f} at the start")
    tmp = Path(tempfile.mkdtemp(prefix="bench-classroom-"))
    hub = LocalHub(tmp / "hub", names, proxy=proxy)
    results: dict[tuple[int, str], list[dict]] = {}
    try:
        hub.start()
        for name in names:  # ask for every server first: the hub starts them side by side
            hub.request("POST", f"/hub/api/users/{name}/server")
        for name in names:
            hub.wait_ready(name)
            shutil.copytree(ROOT / "notebooks", hub.home(name) / FOLDER / "notebooks")
        idle = MemorySampler(hub, names)
        idle_mb = max(idle.rss_mb(name) for name in names)
        print(f"{len(names)} students' servers up; an idle server: {idle_mb:.0f} MB\n")
        relative = f"vs N={sizes[0]}"
        print(f"{'students':>8}  {'notebook':<32} {'wall s':>7} {relative:>8} {'budget':>6} {'kernel CPU s':>12} "
              f"{'kernel peak MB':>14} {'student peak MB':>15}")  # fmt: skip
        for notebook in args.notebooks:
            for size in sizes:
                rows = run_together(hub, names[:size], notebook)
                results[(size, notebook)] = rows
                alone = max(r["seconds"] for r in results[(sizes[0], notebook)])  # the smallest class: 1 by default
                wall = max(r["seconds"] for r in rows)
                cpu = sum(r["kernel_cpu_s"] for r in rows) / size
                print(f"{size:>8}  {notebook:<32} {wall:7.1f} {wall / alone:7.2f}x {budget_s(notebook):6.0f} "
                      f"{cpu:12.1f} {max(r['kernel_peak_mb'] for r in rows):14.0f} "
                      f"{max(r['student_peak_mb'] for r in rows):15.0f}  load {os.getloadavg()[0]:.1f}")  # fmt: skip
    finally:
        left = hub.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        if left:
            print(f"killed after the hub stopped: {left}")
    summarize(results, sizes, args.notebooks, cores=cores, ram_mb=ram_mb, limit_mb=limit_mb)


def summarize(results, sizes, notebooks, *, cores: int, ram_mb: float, limit_mb: float) -> None:
    peak = max(r["student_peak_mb"] for rows in results.values() for r in rows)
    print(f"\nlargest student peak (server + kernel): {peak:.0f} MB; MEMORY_LIMIT = {limit_mb:.0f} MB"
          f" ({'within' if peak <= limit_mb else 'ABOVE'} the limit)")  # fmt: skip
    measured = [
        size
        for size in sizes
        if all(r["seconds"] <= budget_s(nb) for nb in notebooks for r in results[(size, nb)])
        and size * peak <= 0.9 * ram_mb
    ]
    print(f"measured: the largest N tested that kept every notebook within its budget: {max(measured, default=0)}")
    per_core = {}
    for nb in notebooks:
        alone_cpu = sum(r["kernel_cpu_s"] for r in results[(sizes[0], nb)]) / sizes[0]
        per_core[nb] = budget_s(nb) / alone_cpu  # kernels running at once per core, each within the budget
        print(f"  {nb}: {alone_cpu:.1f} s of CPU alone: {per_core[nb]:.2f} students per core at once, "
              f"each within {budget_s(nb):.0f} s")  # fmt: skip
    by_cpu = min(per_core.values())
    by_memory = 1024 / peak
    print(
        f"sizing rule: {math.floor(by_cpu * 10) / 10:.1f} students per core running the heaviest notebook at the same "
        f"moment, {math.floor(by_memory * 10) / 10:.1f} students per GB of memory (the peak above)"
    )
    print(f"this machine ({cores} cores, {ram_mb / 1024:.0f} GB): {math.floor(by_cpu * cores)} at the same moment "
          f"by CPU, {math.floor(0.9 * ram_mb / peak)} by memory (90 % of it)")  # fmt: skip


if __name__ == "__main__":
    main()
