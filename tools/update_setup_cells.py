"""Write ``vitlib.colab.SETUP_CELL`` into the setup cell (the first code cell) of every notebook.

    python tools/update_setup_cells.py                 # every notebooks/NN_*.ipynb
    python tools/update_setup_cells.py --check         # exit 1 if a notebook's setup cell differs
    python tools/update_setup_cells.py path/to/NN_x.ipynb ...

Source only: the cell's metadata (slide type, tags) and every other cell are kept as they are, and
nothing is executed; re-execute the notebooks afterwards (``tools/execute_notebooks.py``) so that
the stored outputs match. Idempotent: a second run changes nothing. A notebook's own seed
(``torch.manual_seed(N)`` in its old setup cell) is kept.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's vitlib, whatever is installed

from vitlib.colab import SETUP_CELL  # noqa: E402

SEED = re.compile(r"torch\.manual_seed\((\d+)\)")


def setup_source(old: str) -> str:
    """The new setup cell for a notebook whose setup cell reads ``old`` (its seed kept)."""
    seed = SEED.search(old)
    return SETUP_CELL if seed is None else SEED.sub(f"torch.manual_seed({seed.group(1)})", SETUP_CELL)


def update(path: Path, *, check: bool = False) -> bool:
    """Rewrite ``path``'s setup cell; return whether it changed (with ``check``, write nothing)."""
    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if c.cell_type == "code"), None)
    if cell is None:
        raise SystemExit(f"{path}: no code cell to hold the setup")
    new = setup_source(cell.source)
    if cell.source == new:
        return False
    if not check:
        cell.source = new
        nbformat.write(nb, path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report notebooks whose setup cell differs; write none")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    changed = [path for path in paths if update(path, check=args.check)]
    for path in changed:
        print(f"{path.name}: {'differs' if args.check else 'setup cell rewritten (re-execute it)'}")
    if not changed:
        print(f"{len(paths)} notebooks: setup cells up to date")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
