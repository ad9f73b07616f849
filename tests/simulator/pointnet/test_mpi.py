"""pointnet under ``mpiexec`` with NEST built with MPI (scripts/install-nest-mpi.sh).

The PyPI wheel of NEST has no MPI, so this test needs the MPI build: it looks for
``$BMTOOLKIT_NEST_MPI_PREFIX/bin/nest_vars.sh`` (default ``.nest-mpi`` in the repository) and
skips, saying how to build it, when that is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bmtoolkit.simulator import run
from bmtoolkit.sonata import read_spikes
from tests.conftest import require_module

REPO = Path(__file__).resolve().parents[3]
PREFIX = Path(os.environ.get("BMTOOLKIT_NEST_MPI_PREFIX", REPO / ".nest-mpi"))
NEST_VARS = PREFIX / "bin" / "nest_vars.sh"

pytestmark = [pytest.mark.mpi, pytest.mark.nest, pytest.mark.slow]


def _mpi_env() -> dict[str, str]:
    if not NEST_VARS.exists():
        pytest.skip(
            f"NEST with MPI is not built ({NEST_VARS} not found): run "
            "scripts/install-nest-mpi.sh or set BMTOOLKIT_NEST_MPI_PREFIX"
        )
    if shutil.which("mpiexec") is None:
        pytest.skip("mpiexec not found (apt-get install openmpi-bin)")
    require_module("mpi4py")
    out = subprocess.run(
        ["bash", "-c", f"source {NEST_VARS} && env -0"], capture_output=True, check=True
    ).stdout
    env = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    # a test process that has initialised MPI itself (mpi4py, as a singleton) carries Open
    # MPI's per-job variables in its C environment; an mpiexec started with them exits 1
    # without a word, so the job starts from an environment without them
    env = {k: v for k, v in env.items() if not k.startswith(("OMPI_", "PMIX_", "OPAL_"))}
    env["PYNEST_QUIET"] = "1"
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


#: run a config on pointnet under mpiexec; each rank writes what it read and connected
RANK_SCRIPT = """
import json, sys
import numpy as np
import nest
from bmtoolkit.simulator import PointNet

config, out, dump, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
backend = PointNet.from_config(config, threads=threads, output_dir=out, progress=False)
result = backend.run()
rank, size = int(nest.Rank()), int(nest.NumProcesses())
onto_mine, onto_nest = {}, {}
for name, edges in backend.plan.circuit.edges.items():
    target = backend.populations[edges.target_population]
    nest_targets = target.nest_ids[edges.target_node_ids()]
    onto_mine[name] = int(np.count_nonzero(nest_targets % size == rank))
    onto_nest[name] = len(nest.GetConnections(
        source=backend.populations[edges.source_population].collection(),
        target=target.collection()))
info = {"rank": rank, "processes": size, "edges_read": result.extra["edges_read"],
        "connected": result.extra["n_connections"], "onto_mine": onto_mine,
        "nest_local": onto_nest, "memory_gib": result.extra.get("memory_gib", {})}
with open(f"{dump}/rank{rank}.json", "w") as f:
    json.dump(info, f)
"""


def run_ranks(config: Path, out: Path, env: dict[str, str], *, ranks: int = 2,
              threads: int = 1) -> list[dict]:  # fmt: skip
    """Run ``config`` on pointnet with ``mpiexec -n ranks``; what each rank read, in rank
    order (``edges_read``, ``connected``, ``onto_mine``: edges onto its NEST nodes counted
    from the whole file, ``nest_local``: NEST's connections per edge population there)."""
    import json

    script = out.parent / f"{out.name}_ranks.py"
    script.write_text(RANK_SCRIPT)
    dump = out.parent / f"{out.name}_ranks"
    dump.mkdir(parents=True, exist_ok=True)
    cmd = ["mpiexec", "--oversubscribe", "-n", str(ranks), sys.executable, str(script),
           str(config), str(out), str(dump), str(threads)]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads((dump / f"rank{r}.json").read_text()) for r in range(ranks)]


def check_rank_reads(infos: list[dict]) -> None:
    """Every rank read exactly the edges onto its own targets, each edge was read by one
    rank, and NEST holds on each rank the connections it was given."""
    ranks = len(infos)
    names = set(infos[0]["edges_read"])
    assert names
    for info in infos:
        assert info["processes"] == ranks
        for name in names:
            read = info["edges_read"][name]
            assert read["read"] == info["onto_mine"][name], (info["rank"], name)
            assert read["read"] == info["nest_local"][name], (info["rank"], name)
            assert read["read"] < 0.75 * read["total"], (info["rank"], name)
        assert info["connected"] == sum(info["edges_read"][n]["read"] for n in names)
    for name in names:
        total = infos[0]["edges_read"][name]["total"]
        assert sum(info["edges_read"][name]["read"] for info in infos) == total > 0


def test_each_rank_reads_only_the_edges_onto_its_cells(point_network, tmp_path):
    env = _mpi_env()
    config = point_network("bmtoolkit")
    infos = run_ranks(config, tmp_path / "mpi", env)
    check_rank_reads(infos)
    merged = read_spikes(tmp_path / "mpi" / "spikes.h5").sort_values(["timestamp", "node_id"])
    single = run(config, output_dir=tmp_path / "one", threads=2, progress=False)
    assert (
        single.extra["edges_read"]["v1_to_v1"]["read"]
        == infos[0]["edges_read"]["v1_to_v1"]["total"]
    )
    ref = read_spikes(single.outputs["spikes"]).sort_values(["timestamp", "node_id"])
    assert len(merged) == len(ref) > 100
    np.testing.assert_array_equal(merged["node_id"].to_numpy(), ref["node_id"].to_numpy())
    np.testing.assert_array_equal(merged["timestamp"].to_numpy(), ref["timestamp"].to_numpy())


def test_two_ranks_write_one_merged_spike_file(point_network, tmp_path):
    env = _mpi_env()
    config = point_network("bmtoolkit")
    cmd = ["mpiexec", "--oversubscribe", "-n", "2", sys.executable, "-m", "bmtoolkit.cli",
           "run", str(config), "--output-dir", str(tmp_path / "mpi"), "--quiet"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    merged = read_spikes(tmp_path / "mpi" / "spikes.h5").sort_values(["timestamp", "node_id"])
    single = run(config, output_dir=tmp_path / "one", progress=False)
    ref = read_spikes(single.outputs["spikes"]).sort_values(["timestamp", "node_id"])
    assert len(merged) == len(ref) > 100
    np.testing.assert_array_equal(merged["node_id"].to_numpy(), ref["node_id"].to_numpy())
    np.testing.assert_array_equal(merged["timestamp"].to_numpy(), ref["timestamp"].to_numpy())


def test_membrane_report_gathered_from_ranks(sonata_examples, tmp_path):
    from bmtoolkit.sonata import read_frame_report

    env = _mpi_env()
    config = sonata_examples / "300_pointneurons" / "config.json"
    cmd = ["mpiexec", "--oversubscribe", "-n", "2", sys.executable, "-m", "bmtoolkit.cli",
           "run", str(config), "--output-dir", str(tmp_path / "mpi"), "--quiet"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    single = run(config, output_dir=tmp_path / "one", progress=False)
    merged = read_frame_report(tmp_path / "mpi" / "membrane_potential.h5")["internal"]
    ref = read_frame_report(single.outputs["membrane_potential"])["internal"]
    assert merged.node_ids.tolist() == ref.node_ids.tolist() == [0, 80, 160, 240, 270]
    np.testing.assert_array_equal(merged.data(), ref.data())
    a = read_spikes(tmp_path / "mpi" / "spikes.h5")
    assert len(a) == len(read_spikes(single.outputs["spikes"])) > 1000
