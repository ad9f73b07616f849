"""``mpiexec -n 2 bmtoolkit run`` gives the same spikes as one process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron, pytest.mark.mpi, pytest.mark.conformance]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["9_cells", "300_intfire"])
def test_two_ranks_equal_one(sonata_examples, tmp_path, case, bionet_run):
    require_module("neuron")
    require_module("mpi4py")
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("mpiexec not found (install OpenMPI)")
    from bmtoolkit.sonata import read_spikes

    config = sonata_examples / case / "config.json"
    serial = bionet_run(case)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [mpiexec, "--oversubscribe", "-n", "2", sys.executable, "-m", "bmtoolkit.cli", "run"]
    cmd += [str(config), "--backend", "bionet", "--output-dir", str(tmp_path / "mpi")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "numprocs=2" in proc.stdout + proc.stderr

    def load(path):
        df = read_spikes(path)
        return df.sort_values(["population", "node_id", "timestamp"]).reset_index(drop=True)

    one = load(serial.outputs["spikes"])
    two = load(tmp_path / "mpi" / "spikes.h5")
    assert len(one) > 0
    assert one.equals(two)
