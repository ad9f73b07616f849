"""The registered ``bionet`` backend runs the 5_cells_iclamp config end to end."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron, pytest.mark.conformance]


@pytest.mark.slow
def test_5_cells_iclamp_through_runner(sonata_examples, tmp_path):
    require_module("neuron")
    import json

    from bmtoolkit.simulator.core.runner import run
    from bmtoolkit.sonata import read_ecp_report, read_frame_report, read_spikes

    case = sonata_examples / "5_cells_iclamp"
    # the reference was made by an older Import3d, which kept six digits of each 3D point
    doc = json.loads((case / "simulation_config.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(case)
    doc["run"]["swc_point_digits"] = 6
    config = tmp_path / "simulation_config.json"
    config.write_text(json.dumps(doc))
    result = run(config, backend="bionet", output_dir=tmp_path / "out")
    ours = read_spikes(result.outputs["spikes"])
    ref = read_spikes(case / "output" / "spikes.h5")
    assert ours.groupby("node_id").size().tolist() == [50, 28, 23, 20, 3]
    for node_id in range(5):
        a = np.sort(ours.loc[ours.node_id == node_id, "timestamp"].to_numpy())
        b = np.sort(ref.loc[ref.node_id == node_id, "timestamp"].to_numpy())
        assert np.max(np.abs(a - b)) <= 1e-6, node_id

    (mine,) = read_frame_report(result.outputs["membrane_potential"]).values()
    (theirs,) = read_frame_report(case / "output" / "membrane_potential.h5").values()
    assert mine.data().shape == theirs.data().shape == (40000, 5)
    # same one-step convention as the reference: identical before the first spike (~530 ms)
    np.testing.assert_allclose(mine.data()[:5000], theirs.data()[:5000], atol=1e-3)
    rms = np.sqrt(np.mean((mine.data() - theirs.data()) ** 2, axis=0))
    assert np.all(rms < 0.05), rms

    ecp = read_ecp_report(result.outputs["ecp"])
    assert ecp.data.shape == (40000, 86)
    assert np.isfinite(ecp.data).all() and np.abs(ecp.data).max() > 1e-3


def test_importing_the_backend_loads_no_heavy_module():
    """NEURON, MPI, HDF5, pandas and the NeuroML parser load only when a run needs them."""
    import subprocess
    import sys

    heavy = ("neuron", "mpi4py", "h5py", "pandas", "xml.etree.ElementTree", "matplotlib")
    code = (
        "import sys, bmtoolkit.simulator.bionet.backend\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_run_needs_neither_pandas_nor_jsonschema(sonata_examples, tmp_path):
    """Loading, validating and running a config and writing its outputs imports no
    DataFrame or JSON-schema library: their import alone would cost as much as building
    the five cells."""
    import json
    import subprocess
    import sys

    require_module("neuron")
    case = sonata_examples / "5_cells_iclamp"
    doc = json.loads((case / "simulation_config.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(case)
    doc["run"]["tstop"] = 20.0
    config = tmp_path / "simulation_config.json"
    config.write_text(json.dumps(doc))
    code = (
        "import sys\n"
        "from bmtoolkit.simulator.core.runner import run\n"
        f"result = run({str(config)!r}, backend='bionet', output_dir={str(tmp_path / 'out')!r})\n"
        "assert set(result.outputs) >= {'spikes', 'membrane_potential'}, result.outputs\n"
        "print(sorted(m for m in ('pandas', 'jsonschema') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
