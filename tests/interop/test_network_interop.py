"""A network, spikes and reports written by bmtoolkit are read by libsonata, bluepysnap and BMTK.

Every reader must see non-zero populations with the sizes we wrote, afferent/efferent edge
lookups equal to a brute-force numpy answer, and spikes/report values equal to what was
written. The shared ``check_interop.py`` tool is run on the same files when present.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.sonata import (
    EdgePopulationData,
    FrameReportData,
    NodePopulationData,
    write_circuit_config,
    write_edges,
    write_frame_report,
    write_nodes,
    write_simulation_config,
    write_spikes,
    write_types_csv,
)
from tests.conftest import conformance_root, require_module

pytestmark = pytest.mark.interop

N_V1, N_LGN = 60, 25


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    d = tmp_path_factory.mktemp("net")
    rng = np.random.default_rng(11)
    net = d / "network"
    v1_types = rng.choice([100, 101], N_V1)
    write_nodes(
        net / "v1_nodes.h5",
        [
            NodePopulationData.single_group(
                "v1",
                v1_types,
                {
                    "x": rng.uniform(-100, 100, N_V1).astype(np.float32),
                    "y": rng.uniform(-100, 100, N_V1).astype(np.float32),
                    "z": rng.uniform(-100, 100, N_V1).astype(np.float32),
                    "tuning_angle": rng.uniform(0, 360, N_V1),
                },
            )
        ],
    )
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [100, 101],
                "model_type": ["point_process", "point_process"],
                "model_template": ["nest:iaf_psc_alpha", "nest:iaf_psc_alpha"],
                "ei": ["e", "i"],
                "pop_name": ["Scnn1a", "PV"],
            }
        ),
        net / "v1_node_types.csv",
    )
    write_nodes(
        net / "lgn_nodes.h5",
        [NodePopulationData.single_group("lgn", np.full(N_LGN, 1), {})],
    )
    write_types_csv(
        pd.DataFrame({"node_type_id": [1], "model_type": ["virtual"], "pop_name": ["tON"]}),
        net / "lgn_node_types.csv",
    )
    n_e = 700
    src = rng.integers(0, N_V1, n_e)
    trg = rng.integers(0, N_V1, n_e)
    lsrc = rng.integers(0, N_LGN, 300)
    ltrg = rng.integers(0, N_V1, 300)
    write_edges(
        net / "v1_v1_edges.h5",
        [
            EdgePopulationData.single_group(
                "v1_to_v1",
                "v1",
                "v1",
                src,
                trg,
                np.full(n_e, 200),
                {"nsyns": rng.integers(1, 5, n_e), "syn_weight": rng.normal(1, 0.1, n_e)},
            )
        ],
        n_source_nodes=N_V1,
        n_target_nodes=N_V1,
    )
    write_edges(
        net / "lgn_v1_edges.h5",
        [
            EdgePopulationData.single_group(
                "lgn_to_v1",
                "lgn",
                "v1",
                lsrc,
                ltrg,
                np.full(300, 300),
                {"syn_weight": rng.normal(2, 0.1, 300)},
            )
        ],
        n_source_nodes=N_LGN,
        n_target_nodes=N_V1,
    )
    for name, tid in (("v1_v1", 200), ("lgn_v1", 300)):
        write_types_csv(
            pd.DataFrame(
                {
                    "edge_type_id": [tid],
                    "model_template": ["static_synapse"],
                    "delay": [2.0],
                    "dynamics_params": ["ExcToExc.json"],
                }
            ),
            net / f"{name}_edge_types.csv",
        )
    circuit = d / "circuit_config.json"
    write_circuit_config(
        circuit,
        nodes=[
            {"nodes_file": net / "v1_nodes.h5", "node_types_file": net / "v1_node_types.csv"},
            {"nodes_file": net / "lgn_nodes.h5", "node_types_file": net / "lgn_node_types.csv"},
        ],
        edges=[
            {"edges_file": net / "v1_v1_edges.h5", "edge_types_file": net / "v1_v1_edge_types.csv"},
            {
                "edges_file": net / "lgn_v1_edges.h5",
                "edge_types_file": net / "lgn_v1_edge_types.csv",
            },
        ],
    )
    spikes = {"v1": (rng.integers(0, N_V1, 500), np.round(rng.uniform(0, 500, 500), 2))}
    write_spikes(d / "output" / "spikes.h5", spikes)
    data = rng.normal(-65, 3, (50, 4)).astype(np.float32)
    write_frame_report(
        d / "output" / "membrane_potential.h5",
        [FrameReportData.soma("v1", [0, 3, 7, 9], data, 0.0, 5.0, 0.1, variable="V_m")],
    )
    sim = d / "simulation_config.json"
    write_simulation_config(
        sim,
        network=circuit,
        run={"tstop": 5.0, "dt": 0.1, "random_seed": 1},
        output={"output_dir": d / "output", "spikes_file": "spikes.h5"},
        reports={
            "membrane_potential": {
                "cells": "v1",
                "variable_name": "V_m",
                "sections": "soma",
                "file_name": "membrane_potential.h5",
            }
        },
    )
    edges = {
        "v1_to_v1": (src, trg),
        "lgn_to_v1": (lsrc, ltrg),
    }
    return {
        "dir": d,
        "circuit": circuit,
        "sim": sim,
        "edges": edges,
        "spikes": spikes,
        "report": data,
    }


def _brute(edges_written, nid, column):
    # our writer sorts by (target, source), stable: recompute that order
    src, trg = edges_written
    order = np.lexsort((src, trg))
    ids = (trg if column == "target" else src)[order]
    return np.flatnonzero(ids == nid)


def test_libsonata(network):
    libsonata = require_module("libsonata")
    cfg = libsonata.CircuitConfig.from_file(str(network["circuit"]))
    assert sorted(cfg.node_populations) == ["lgn", "v1"]
    assert cfg.node_population("v1").size == N_V1
    assert cfg.node_population("lgn").size == N_LGN
    for name, written in network["edges"].items():
        pop = cfg.edge_population(name)
        assert pop.size == len(written[0])
        for nid in range(N_V1):
            got = np.sort(pop.afferent_edges([nid]).flatten())
            np.testing.assert_array_equal(got, _brute(written, nid, "target"))
        n_src = N_V1 if name == "v1_to_v1" else N_LGN
        for nid in range(n_src):
            got = np.sort(pop.efferent_edges([nid]).flatten())
            np.testing.assert_array_equal(got, _brute(written, nid, "source"))
    sim = libsonata.SimulationConfig.from_file(str(network["sim"]))
    reader = libsonata.SpikeReader(os.path.join(sim.output.output_dir, sim.output.spikes_file))
    ids, ts = network["spikes"]["v1"]
    assert sorted(reader["v1"].get()) == sorted(zip(ids.tolist(), ts.tolist()))


def test_bluepysnap(network):
    snap = require_module("bluepysnap")
    circuit = snap.Circuit(str(network["circuit"]))
    assert circuit.nodes["v1"].size == N_V1 and circuit.nodes["lgn"].size == N_LGN
    for name, written in network["edges"].items():
        edges = circuit.edges[name]
        assert edges.size == len(written[0])
        for nid in range(0, N_V1, 7):
            got = np.sort(np.asarray(edges.afferent_edges(nid)))
            np.testing.assert_array_equal(got, _brute(written, nid, "target"))
    sim = snap.Simulation(str(network["sim"]))
    df = sim.spikes["v1"].get()
    ids, ts = network["spikes"]["v1"]
    got = sorted(zip(df.index.to_numpy().astype(float).tolist(), df.to_numpy().tolist()))
    assert got == sorted(zip(ts.tolist(), ids.tolist()))
    rep = sim.reports["membrane_potential"]["v1"].get()
    np.testing.assert_allclose(rep.to_numpy(), network["report"])


def test_bmtk(network):
    require_module("bmtk")
    from bmtk.utils import sonata as bsonata

    net = network["dir"] / "network"
    f = bsonata.File(
        data_files=[str(net / "v1_nodes.h5")], data_type_files=[str(net / "v1_node_types.csv")]
    )
    df = f.nodes["v1"].to_dataframe()
    assert len(df) == N_V1
    assert set(df["pop_name"]) <= {"Scnn1a", "PV"}
    e = bsonata.File(
        data_files=[str(net / "v1_v1_edges.h5")],
        data_type_files=[str(net / "v1_v1_edge_types.csv")],
    ).edges["v1_to_v1"]
    written = network["edges"]["v1_to_v1"]
    for nid in range(0, N_V1, 5):
        got = sorted(edge.source_node_id for edge in e.get_target(nid))
        src, trg = written
        assert got == sorted(src[trg == nid].tolist())
    from bmtk.simulator.core.simulation_config import SimulationConfig

    cfg = SimulationConfig.from_json(str(network["sim"]))
    assert cfg["run"]["tstop"] == 5.0


def test_shared_interop_tool(network):
    tool = conformance_root().parent / "tools" / "check_interop.py"
    if not tool.exists():
        pytest.skip(f"{tool} not found (shared tools are not part of a user's clone)")
    for mod in ("libsonata", "bluepysnap", "bmtk"):
        require_module(mod)
    proc = subprocess.run(
        [sys.executable, str(tool), str(network["circuit"]), "--simulation", str(network["sim"])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    last = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    passed, total = last.split()[-3].split("/")
    assert passed == total and int(total) >= 6, last
