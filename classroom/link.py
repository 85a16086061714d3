"""The link to hand out on a JupyterHub: it puts the series into each student's home folder and opens a notebook.

    python classroom/link.py https://hub.example.org                      # opens notebook 00
    python classroom/link.py https://hub.example.org 06                   # opens 06_training_a_vit.ipynb

The link is nbgitpuller's (https://nbgitpuller.readthedocs.io, "Options in an nbgitpuller URL"):
``<hub>/hub/user-redirect/git-pull?repo=<git URL>&branch=<branch>&urlpath=lab/tree/<folder>/notebooks/<notebook>``.
The first click clones the repository into the student's home folder (as ``<folder>``, the last part of
the git URL, as nbgitpuller names it); each later click fetches the new commits and merges them, keeping
the student's own changes (nbgitpuller's "Automatic Merging Behavior"). The repository and the branch
come from ``vitlib.colab`` (``REPOSITORY``, ``BRANCH``), the one place that names them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # vitlib from this checkout, also when it is not installed

from vitlib.colab import BRANCH, REPOSITORY  # noqa: E402  (the one address of the repository)
from vitlib.lab import FIRST_NOTEBOOK  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"


def nbgitpuller_url(
    hub_url: str, notebook: str = FIRST_NOTEBOOK, *, git_url: str | None = None, branch: str = BRANCH
) -> str:
    """The nbgitpuller link that clones (or updates) the series on the hub ``hub_url`` and opens ``notebook``.

    ``hub_url`` is the hub's address as students type it (``https://hub.example.org``, or with a path
    prefix ``https://example.org/jupyter``); ``notebook`` a file in ``notebooks/`` or its number (``"06"``).
    ``git_url`` defaults to this repository on GitHub (``vitlib.colab.REPOSITORY``); ``branch`` to
    ``vitlib.colab.BRANCH``.
    """
    parts = urlsplit(hub_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"hub_url={hub_url!r} is not a hub's address; pass e.g. 'https://hub.example.org'")
    if "/hub/" in parts.path + "/" or "/user/" in parts.path + "/":
        raise ValueError(
            f"hub_url={hub_url!r} is a page of the hub; pass its address only, e.g. 'https://hub.example.org'"
        )
    name = Path(notebook).name
    available = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    numbered = [file for file in available if file.startswith(f"{name}_")] if name.isdigit() else []
    name = numbered[0] if len(numbered) == 1 else name  # "06" is 06_training_a_vit.ipynb
    if name not in available:
        raise ValueError(f"notebook={notebook!r} is not a notebook of the series; pass one of {available}")
    git_url = git_url or f"https://github.com/{REPOSITORY}"
    folder = git_url.rstrip("/").split("/")[-1]  # where nbgitpuller clones it (its default targetPath)
    query = urlencode({"repo": git_url, "branch": branch, "urlpath": f"lab/tree/{folder}/notebooks/{name}"})
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2 or args[0].startswith("-"):
        sys.exit(__doc__)
    try:
        print(nbgitpuller_url(*args))
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
