"""Execute notebooks top to bottom in a fresh kernel and store their outputs.

    python tools/execute_notebooks.py notebooks/01_patchify.ipynb ...
    python tools/execute_notebooks.py --from-py /tmp/src/01_patchify.py notebooks/01_patchify.ipynb

Each notebook runs from ``notebooks/`` (as nbval runs it), with one torch
thread (as on Binder). The widget state that nbclient would store is dropped
(our widgets carry a static picture instead) and the kernelspec is set to
``python3``. Prints the wall time, the kernel's CPU time and its peak RSS
for each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

# The kernel's peak RSS (kB) and the CPU seconds it used: CPU time varies less than wall time on a busy machine.
PROBE = "import resource; _r = resource.getrusage(resource.RUSAGE_SELF); print(_r.ru_maxrss, _r.ru_utime + _r.ru_stime)"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def execute(path: Path, *, timeout: int = 600) -> tuple[float, float, float]:
    """Run ``path`` in place; return (wall seconds, peak RSS in MB, kernel CPU seconds)."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata.pop("widgets", None)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    resources = {"metadata": {"path": str(path.parent)}}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources)
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    probe = nb.cells.pop()
    rss_kb, cpu = ("".join(o.get("text", "") for o in probe.outputs).split() or ["0", "0"])[:2]
    peak_mb = int(rss_kb) / 1024
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds, peak_mb, float(cpu)


BUDGET = re.compile(r"(\*\*Time budget:\*\* *\d+ minutes in class)[^\n]*(?:\n[^\n]+)*")  # to the end of its paragraph


def update_budget(path: Path, seconds: float, peak_mb: float) -> None:
    """Write the measured run time and memory into the header's time-budget line."""
    nb = nbformat.read(path, as_version=4)
    header = nb.cells[0]
    text = BUDGET.sub(
        lambda m: (
            f"{m.group(1)} · runs in {seconds:.0f} s, kernel peak {peak_mb:.0f} MB "
            "(measured on a 2-core CPU with `tools/execute_notebooks.py`)."
        ),
        header.source,
        count=1,
    )
    if text == header.source and not BUDGET.search(header.source):
        raise SystemExit(f"{path.name}: no '**Time budget:** N minutes in class' line in the first cell")
    header.source = text
    nbformat.write(nb, path)


def from_py(source: Path, target: Path) -> None:
    """Convert a jupytext percent script into ``target`` (outputs are filled by execute)."""
    import jupytext

    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:  # CONTRIBUTING: a cell that continues the slide has no slide_type ("-" would hide it)
        if cell.metadata.get("slideshow", {}).get("slide_type") == "-":
            del cell.metadata["slideshow"]["slide_type"]
            if not cell.metadata["slideshow"]:
                del cell.metadata["slideshow"]
    nbformat.write(nb, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from-py", type=Path, help="jupytext percent script to convert first (one notebook)")
    parser.add_argument(
        "--update-budget", action="store_true", help="write the measured time and memory into each header"
    )
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    if args.from_py:
        if len(args.notebooks) != 1:
            sys.exit("--from-py converts into exactly one notebook")
        from_py(args.from_py, args.notebooks[0])
    report = {}
    for path in args.notebooks:
        seconds, peak, cpu = execute(path)
        if args.update_budget:
            update_budget(path, seconds, peak)
        report[path.name] = {"seconds": round(seconds, 1), "kernel_cpu_s": round(cpu, 1), "peak_rss_mb": round(peak)}
        print(
            f"{path.name}: {seconds:.1f} s wall, kernel CPU {cpu:.1f} s, kernel peak RSS {peak:.0f} MB, "
            f"{path.stat().st_size / 1e3:.0f} kB"
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
