"""The V1 model under ``mpiexec -n 2`` (NEST built with MPI) gives the spikes of 2 threads.

NEST's results depend on the number of virtual processes (ranks x threads), not on how they
are split, so 2 ranks of 1 thread must reproduce 1 process of 2 threads spike for spike,
background Poisson input included, while each rank reads only the edges onto its own
cells. Needs the MPI build of NEST (see
``tests/simulator/pointnet/test_mpi.py``; skipped with the reason when absent).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.models.test_v1 import _glif_dir
from tests.simulator.pointnet.test_mpi import _mpi_env, check_rank_reads, run_ranks

pytestmark = [pytest.mark.mpi, pytest.mark.nest, pytest.mark.slow]

FRACTION = 0.01


def test_two_ranks_reproduce_two_threads_on_v1(tmp_path):
    env = _mpi_env()
    folder = _glif_dir()
    from bmtoolkit.models.v1.inputs import lgn_field
    from bmtoolkit.recipes.v1 import build_v1
    from bmtoolkit.recipes.v1.pipeline import lgn_spikes, pointnet_config, stimulus_input
    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_spikes

    b = build_v1(tmp_path, fraction=FRACTION, seed=5, cell_models_dir=folder, progress=False)
    movie = stimulus_input("grating", lgn_field(FRACTION)[0], orientation=45.0)
    lgn = lgn_spikes(tmp_path, b.circuit, movie, tstop=300.0, seed=5, tag="mpi", progress=False)
    cfg = pointnet_config(tmp_path, b.circuit, lgn, tstop=300.0, seed=5, tag="mpi")
    # each rank reads and connects only the edges onto its own cells (about half of each
    # population, found through the files' target index)
    check_rank_reads(run_ranks(cfg, tmp_path / "ranks", env, ranks=2, threads=1))
    threads = run(cfg, backend="pointnet", threads=2, output_dir=tmp_path / "threads",
                  progress=False)  # fmt: skip
    a = read_spikes(tmp_path / "ranks" / "spikes.h5").sort_values(["timestamp", "node_id"])
    ref = read_spikes(threads.outputs["spikes"]).sort_values(["timestamp", "node_id"])
    assert len(a) == len(ref) > 500
    assert ref["node_id"].nunique() > 100  # many cells fire, not a few
    np.testing.assert_array_equal(a["node_id"].to_numpy(), ref["node_id"].to_numpy())
    np.testing.assert_array_equal(a["timestamp"].to_numpy(), ref["timestamp"].to_numpy())
