"""Measure each notebook's run time and kernel peak RSS, without touching the notebooks.

    python tools/measure_notebooks.py                      # every notebooks/NN_*.ipynb
    python tools/measure_notebooks.py notebooks/07_vit_vae.ipynb --limit-mb 1024

Runs a copy of each notebook in a temporary folder with ``execute_notebooks.execute``
(the same fresh kernel, one torch thread and peak-RSS probe as the build), and prints
a Markdown table for the README. Binder kills a kernel above 2 GB; the series keeps
every kernel under 1 GB. With ``--limit-mb``, the exit status is 1 when a kernel's
peak RSS exceeds the limit.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_notebooks import execute  # noqa: E402  (the one place that runs a notebook and reads its peak RSS)

ROOT = Path(__file__).resolve().parent.parent
BINDER_LIMIT_MB = 2048


def measure(path: Path) -> dict:
    """Run a copy of ``path``; return its name, wall seconds, peak RSS (MB) and, if known, kernel CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="measure-") as folder:
        copy = Path(folder) / path.name
        shutil.copy(path, copy)
        seconds, peak_mb, *rest = execute(copy)
    row = {"notebook": path.name, "seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb)}
    if rest:
        row["kernel_cpu_s"] = round(float(rest[0]), 1)
    return row


def markdown(rows: list[dict]) -> str:
    cpu = any("kernel_cpu_s" in row for row in rows)
    head = "| notebook | run time (wall) |" + (" kernel CPU |" if cpu else "") + " kernel peak RSS |"
    lines = [head, "|---|---:|" + ("---:|" if cpu else "") + "---:|"]
    for row in rows:
        cells = [f"`{row['notebook']}`", f"{row['seconds']:.1f} s"]
        if cpu:
            cells.append(f"{row['kernel_cpu_s']:.1f} s" if "kernel_cpu_s" in row else "")
        cells.append(f"{row['peak_rss_mb']} MB")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--limit-mb", type=float, default=None, help="fail when a kernel's peak RSS exceeds this")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        parser.error("no notebooks to measure")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    rows = []
    for path in paths:
        rows.append(measure(path))
        print(json.dumps(rows[-1]), flush=True)
    print()
    print(markdown(rows))
    peak = max(row["peak_rss_mb"] for row in rows)
    print(f"\nhighest kernel peak RSS: {peak} MB (Binder's limit: {BINDER_LIMIT_MB} MB)")
    over = [row["notebook"] for row in rows if args.limit_mb is not None and row["peak_rss_mb"] > args.limit_mb]
    if over:
        print(f"over the {args.limit_mb:.0f} MB limit: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
