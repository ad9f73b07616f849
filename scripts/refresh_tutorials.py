"""Re-execute the tutorial notebooks and store their outputs in them.

The notebooks in ``tutorials/`` are committed with the outputs of their last run, so they
read well on a code host and in the documentation (which renders them without executing).
Run this after changing a notebook (or ``tutorials/_make_notebooks.py``) or bmtoolkit::

    python scripts/refresh_tutorials.py                 # every notebook
    python scripts/refresh_tutorials.py gratings_tuning # some of them

Each notebook runs in a fresh kernel inside a temporary folder (its files go to
``tutorial_outputs/`` there and are removed afterwards); the temporary folder's path is
replaced by ``.`` in the stored outputs, and a notebook is rewritten only when it ran without
an error (written to a temporary file, then renamed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
CELL_TIMEOUT = 900


def _is_bar(out) -> bool:
    """A redraw of a progress bar (transient on screen, noise once stored)."""
    if out.get("output_type") != "stream" or out.get("name") != "stderr":
        return False
    text = out.get("text", "")
    return "%|" in text or not text.replace("\x1b[A", "").strip()


def _scrub(nb, folder: str) -> None:
    """Drop progress-bar redraws; replace the temporary folder's path in outputs by ``.``."""
    for cell in nb.cells:
        if "outputs" in cell:
            cell["outputs"] = [o for o in cell["outputs"] if not _is_bar(o)]
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = out["text"].replace(folder, ".")
            for key, value in out.get("data", {}).items():
                if key.startswith("text/") and isinstance(value, str):
                    out["data"][key] = value.replace(folder, ".")


def refresh(name: str) -> float:
    """Execute ``tutorials/<name>.ipynb`` and store its outputs; return the seconds it took."""
    import nbformat
    from nbclient import NotebookClient

    path = TUTORIALS / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix=f"tutorial-{name}-") as work:
        work = os.path.realpath(work)
        start = time.perf_counter()
        NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                       resources={"metadata": {"path": work}}).execute()  # fmt: skip
        elapsed = time.perf_counter() - start
        _scrub(nb, work)
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Refresh the named notebooks (default: all); print how long each took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all)")
    args = parser.parse_args(argv)
    names = args.names or sorted(p.stem for p in TUTORIALS.glob("*.ipynb"))
    os.environ.setdefault("PYNEST_QUIET", "1")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    for name in names:
        print(f"{name}: {refresh(name):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
