"""Every tutorial notebook runs top to bottom (nbclient, one kernel per notebook)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from tests.conftest import NEEDS as MARKER_OF
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
#: seconds per cell; the torchnet tutorial trains two networks in one cell (~2-5 min on 2 cores)
CELL_TIMEOUT = 600
#: what each notebook must show, run in its kernel after its last cell (kept out of the
#: reader's way: the notebooks explain, the tests check)
CHECKS: dict[str, str] = {
    "single_cell_current_clamp": """
assert rates[-1] > rates[0], f"a larger current must give a higher rate: {rates}"
assert traces.data[:400].max() < -50, "the cell rests before the first step"
""",
    "glif_point_network": """
assert (summary > 0).all(), summary
""",
    "lgn_l4_network": """
assert prob[0] > prob[-1], f"nearby cells connect more often: {prob}"
assert p[0] > 2 * p[-1], f"like-to-like: {p}"
""",
    "popnet_statistics": """
assert (np.diff(steady[:, 0]) > 0).all(), f"more input, more output: {steady}"
""",
    "gratings_tuning": """
assert DIRECTIONS == [45.0 * k for k in range(8)], "eight directions, so DSI is defined"
assert list(curves.columns) == DIRECTIONS
assert sel["dsi"].notna().any(), "direction selectivity is defined"
assert len(reliable) >= 3 and reliable["gosi"].mean() > 0.05, reliable
assert reliable["gosi"].mean() > reliable["gdsi"].mean(), "orientation, not direction"
""",
    "mpi_parallel": """
assert all(same), dict(zip(names, same))
assert "numprocs=2" in two_run.stdout + two_run.stderr, "NEURON ran on two ranks"
assert one.equals(two) and len(one) > 0
""",
    "fit_glif_cell": """
for name in ("R", "C", "El"):
    assert abs(getattr(fitted, name) / getattr(truth, name) - 1) < 0.02, name
assert abs(fitted.th_inf - truth.th_inf) < 1e-3, (fitted.th_inf, truth.th_inf)
assert (WORK / "cell.png").stat().st_size > 10_000
""",
    "torchnet_heterogeneity": """
assert set(results) == {"heterogeneous + STP", "homogeneous control"}
assert all(len(c["loss"]) == EPOCHS for c in results.values())
# what the notebook concludes: the heterogeneous network learns the order (held-out accuracy
# well above chance, 0.25, over the last five epochs) and the control clearly less
late = {k: float(np.mean(c["accuracy"][-5:])) for k, c in results.items()}
assert late["heterogeneous + STP"] > 0.4, late
assert late["heterogeneous + STP"] > late["homogeneous control"] + 0.1, late
""",
}
#: words of explanation every tutorial has at least
MIN_WORDS = 400


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


def _notebooks_marked() -> list:
    """Every notebook, marked with what it needs (``nest``, ``neuron``, ``torch``, ``mpi``)."""
    return [
        pytest.param(name, marks=[getattr(pytest.mark, MARKER_OF[m]) for m in NEEDS.get(name, ())])
        for name in _notebooks()
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", _notebooks_marked())
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
    nb.cells.append(nbformat.v4.new_code_cell(CHECKS[name]))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]  # fmt: skip
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]  # fmt: skip
    assert images, "every tutorial shows at least one figure"


def _prose_words(nb) -> int:
    import re

    text = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return len(re.findall(r"[A-Za-z][A-Za-z'-]*", text))


@pytest.mark.parametrize("name", _notebooks())
def test_notebook_explains_and_stores_its_outputs(name):
    """>= 400 words of prose, no test asserts in the reader's way, outputs of a run stored."""
    import nbformat

    nb = nbformat.read(TUTORIALS / f"{name}.ipynb", as_version=4)
    assert _prose_words(nb) >= MIN_WORDS, f"{name}: {_prose_words(nb)} words of explanation"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [c.source for c in code if "assert " in c.source], "asserts belong in CHECKS"
    assert all(c.get("outputs") or c.execution_count for c in code), (
        f"{name} has cells never executed: run python scripts/refresh_tutorials.py {name}"
    )
    stored = [o for c in code for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in stored), "a stored figure"
    assert not any(o.get("output_type") == "error" for o in stored)
    assert not any("/tmp/" in str(o) for o in stored), "temporary paths scrubbed"
