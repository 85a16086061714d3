"""Execute notebooks top to bottom in a fresh kernel and store their outputs.

    python tools/execute_notebooks.py notebooks/01_patchify.ipynb ...
    python tools/execute_notebooks.py --from-py /tmp/src/01_patchify.py notebooks/01_patchify.ipynb

Each notebook runs from ``notebooks/`` (as nbval runs it), with one torch
thread (as on Binder). The widget state that nbclient would store is dropped
(our widgets carry a static picture instead) and the kernelspec is set to
``python3``. Prints the wall time and the kernel's peak RSS for each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

PEAK_RSS = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def execute(path: Path, *, timeout: int = 600) -> tuple[float, float]:
    """Run ``path`` in place; return (seconds, peak RSS in MB)."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata.pop("widgets", None)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_RSS))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    probe = nb.cells.pop()
    peak_mb = int("".join(o.get("text", "") for o in probe.outputs).strip() or 0) / 1024
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds, peak_mb


def from_py(source: Path, target: Path) -> None:
    """Convert a jupytext percent script into ``target`` (outputs are filled by execute)."""
    import jupytext

    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)
    nbformat.write(nb, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from-py", type=Path, help="jupytext percent script to convert first (one notebook)")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    if args.from_py:
        if len(args.notebooks) != 1:
            sys.exit("--from-py converts into exactly one notebook")
        from_py(args.from_py, args.notebooks[0])
    report = {}
    for path in args.notebooks:
        seconds, peak = execute(path)
        report[path.name] = {"seconds": round(seconds, 1), "peak_rss_mb": round(peak)}
        print(f"{path.name}: {seconds:.1f} s, kernel peak RSS {peak:.0f} MB, {path.stat().st_size / 1e3:.0f} kB")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
