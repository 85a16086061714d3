"""The whole series under nbval: each notebook's wall time and its peak memory.

    python benchmarks/bench_series.py [notebooks/NN_*.ipynb ...]

Each notebook runs in its own ``python -m pytest`` (nbval, as the test suite
runs it), then all of them in one, as the test suite does. The peak RSS is
the largest resident set of that pytest process and everything it waited
for (the notebooks' kernels), read from ``wait4``.
Goals: at most 90 s for the whole series, at most 1 GB for any kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_notebooks(*paths: Path) -> tuple[float, float, bool]:
    """(seconds, peak RSS in MB, passed) for notebooks under nbval, in one pytest process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", *(str(path.relative_to(ROOT)) for path in paths)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, process.returncode == 0


def main() -> None:
    paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    total = 0.0
    print(f"{'notebook':<34} {'seconds':>8} {'peak RSS MB':>12}  result")
    for path in paths:
        seconds, peak, passed = run_notebooks(path)
        total += seconds
        print(f"{path.name:<34} {seconds:8.1f} {peak:12.0f}  {'passed' if passed else 'FAILED'}")
    print(f"{'sum of the separate runs':<34} {total:8.1f}")
    seconds, peak, passed = run_notebooks(*paths)  # as the test suite runs them: one pytest start-up
    print(f"{'all in one pytest run':<34} {seconds:8.1f} {peak:12.0f}  {'passed' if passed else 'FAILED'}")


if __name__ == "__main__":
    main()
