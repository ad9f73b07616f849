"""Every tutorial notebook runs top to bottom (nbclient, one kernel per notebook)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from tests.conftest import require_module

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
#: notebook -> modules it needs (skips name the missing one)
NEEDS: dict[str, tuple[str, ...]] = {
    "single_cell_current_clamp": ("neuron",),
    "glif_point_network": ("nest",),
    "lgn_l4_network": (),
    "popnet_statistics": (),
    "gratings_tuning": ("nest",),
    "torchnet_heterogeneity": ("torch",),
    "mpi_parallel": ("neuron", "mpi4py"),
    "fit_glif_cell": ("nest",),
}
CELL_TIMEOUT = 300


def _notebooks() -> list[str]:
    return sorted(p.stem for p in TUTORIALS.glob("*.ipynb"))


def test_every_notebook_is_listed():
    assert set(_notebooks()) - set(NEEDS) == set()


def test_generated_notebooks_match_their_script(tmp_path):
    """The committed notebooks are what ``_make_notebooks.py`` writes."""
    import nbformat

    spec = importlib.util.spec_from_file_location("_make", TUTORIALS / "_make_notebooks.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    for name, cells in make.NOTEBOOKS.items():
        committed = nbformat.read(TUTORIALS / f"{name}.ipynb", as_version=4)
        assert [c.source for c in committed.cells] == [src for _, src in cells], name


@pytest.mark.slow
@pytest.mark.parametrize("name", _notebooks())
def test_notebook_runs(name, tmp_path, monkeypatch):
    require_module("nbclient")
    require_module("ipykernel")
    for module in NEEDS.get(name, ()):
        require_module(module)
    if name == "mpi_parallel" and shutil.which("mpiexec") is None:
        pytest.skip("mpiexec not found (install OpenMPI)")
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PYNEST_QUIET", "1")
    nb = nbformat.read(TUTORIALS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]  # fmt: skip
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]  # fmt: skip
    assert images, "every tutorial shows at least one figure"
