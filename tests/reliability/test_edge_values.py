"""Numeric edge properties: missing values read as BMTK reads them, bad values refused early.

BMTK's builder writes ``nsyns`` in only one of two edge groups when ``cm.add_properties``
sets ``syn_weight`` per edge on one edge type; the other group counts one synapse per edge
(as BMTK's PointNet counts it). A NaN or infinite ``syn_weight``, ``nsyns`` or ``delay``
(a ``NULL`` the builder saved in the edge types table included) or a column with several
values per edge is refused before anything is connected: ``bmtoolkit run`` prints one line
naming the file, the group (or edge type) and the column, exits 1 and writes no spikes file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_module

os.environ.setdefault("PYNEST_QUIET", "1")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bmtk_network(tmp_path):
    """A small BMTK-built network whose recurrent excitatory weights come from
    ``add_properties`` (group 0: ``syn_weight``; group 1: ``nsyns``); returns the config."""
    require_module("bmtk")
    from tests.bmtk_parity.conftest import (
        build_v1_lgn,
        poisson_inputs,
        spike_input,
        write_components,
        write_config,
    )

    net = tmp_path / "network"
    net.mkdir()
    build_v1_lgn(net, n_cells=40, n_lgn=10, seed=1, weight_rule=True)
    comps = write_components(tmp_path)
    poisson_inputs(tmp_path / "lgn.h5", "lgn", 10, 15.0, 200.0, seed=2)
    return write_config(tmp_path, net, ["v1", "lgn"], [("v1", "v1"), ("lgn", "v1")], comps,
                        tstop=200.0, inputs={"lgn": spike_input(tmp_path / "lgn.h5", "lgn")},
                        )  # fmt: skip


def _edge_file(config: Path) -> Path:
    return config.parent / "network" / "v1_v1_edges.h5"


def _table(config: Path):
    from bmtoolkit.simulator.core.models import edge_table
    from bmtoolkit.simulator.core.plan import RunPlan

    plan = RunPlan.from_config(config)
    return edge_table(plan, plan.circuit.edges["v1_to_v1"], default_delay=1.0)


def test_group_without_nsyns_counts_one_synapse_per_edge(bmtk_network):
    import h5py

    with h5py.File(_edge_file(bmtk_network), "r") as f:
        grp = f["edges/v1_to_v1"]
        assert "syn_weight" in grp["0"] and "nsyns" not in grp["0"]  # BMTK's layout
        assert "nsyns" in grp["1"] and "syn_weight" not in grp["1"]
        gid = grp["edge_group_id"][()]
        gidx = grp["edge_group_index"][()]
        weight0 = grp["0/syn_weight"][()]
        nsyns1 = grp["1/nsyns"][()]
    table = _table(bmtk_network)
    assert np.isfinite(table.weights).all()
    in0 = gid == 0
    np.testing.assert_array_equal(table.weights[in0], weight0[gidx[in0]])
    np.testing.assert_array_equal(table.properties["nsyns"][in0], 1.0)
    # group 1: nsyns x the edge type's syn_weight (-40 pA from the inhibitory type)
    np.testing.assert_array_equal(table.weights[~in0], nsyns1[gidx[~in0]] * -40.0)


def test_null_nsyns_in_the_types_table_counts_one(bmtk_network):
    """An ``nsyns`` column in the edge types table with ``NULL`` for the type whose group has
    no ``nsyns`` dataset: those edges still count one synapse each."""
    before = _table(bmtk_network).weights
    types = bmtk_network.parent / "network" / "v1_v1_edge_types.csv"
    lines = types.read_text().splitlines()
    rows = [lines[0] + " nsyns"] + [line + " NULL" for line in lines[1:]]
    types.write_text("\n".join(rows) + "\n")
    np.testing.assert_array_equal(_table(bmtk_network).weights, before)


def _set(path: Path, name: str, values: np.ndarray) -> None:
    import h5py

    with h5py.File(path, "r+") as f:
        grp = f["edges/v1_to_v1"]
        if name in grp:
            del grp[name]
        grp.create_dataset(name, data=values)


def _mutate(config: Path, case: str) -> tuple[str, str]:
    """Spoil one property; return the file and the field the error must name."""
    import h5py

    path = _edge_file(config)
    with h5py.File(path, "r") as f:
        weight0 = f["edges/v1_to_v1/0/syn_weight"][()]
        nsyns1 = f["edges/v1_to_v1/1/nsyns"][()]
    if case in ("nan_weight", "inf_weight"):
        weight0[3] = np.nan if case == "nan_weight" else np.inf
        _set(path, "0/syn_weight", weight0)
        return path.name, "/edges/v1_to_v1/0/syn_weight"
    if case == "nan_nsyns":
        spoiled = nsyns1.astype(float)
        spoiled[0] = np.nan
        _set(path, "1/nsyns", spoiled)
        return path.name, "/edges/v1_to_v1/1/nsyns"
    if case == "inf_delay":
        delay = np.full(len(nsyns1), 1.0)
        delay[-1] = -np.inf
        _set(path, "1/delay", delay)
        return path.name, "/edges/v1_to_v1/1/delay"
    if case == "2d_weight":
        _set(path, "0/syn_weight", np.column_stack([weight0, weight0]))
        return path.name, "/edges/v1_to_v1/0/syn_weight"
    if case == "null_delay_in_types":
        types = config.parent / "network" / "v1_v1_edge_types.csv"
        lines = types.read_text().splitlines()
        head = lines[0].split(" ")
        row = lines[-1].split(" ")
        row[head.index("delay")] = "NULL"
        types.write_text("\n".join([*lines[:-1], " ".join(row)]) + "\n")
        return types.name, "delay"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    ["nan_weight", "inf_weight", "nan_nsyns", "inf_delay", "2d_weight", "null_delay_in_types"],
)
def test_bad_edge_value_is_one_line_exit_1_before_connecting(bmtk_network, case):
    require_module("nest")
    name, field = _mutate(bmtk_network, case)
    proc = subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", "run", "--quiet", str(bmtk_network)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # the run log's own copy of the error ("ERROR bmtoolkit: run failed ...") is the duplicate
    # line the CLI's error handling removes separately; the message is the CLI's one line
    lines = [
        line
        for line in proc.stderr.strip().splitlines()
        if not line.startswith("ERROR bmtoolkit: run failed")
    ]
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1 and lines[0].startswith("bmtoolkit run: error: "), proc.stderr
    assert name in lines[0] and field in lines[0], lines[0]
    assert "group" in lines[0] or "edge type" in lines[0], lines[0]
    assert not (bmtk_network.parent / "output" / "spikes.h5").exists()


def test_every_backend_gets_the_same_refusal(bmtk_network):
    """The check lives in edge_table, which pointnet, bionet, torchnet, popnet and numpynet
    all read: the error comes before any simulator is imported."""
    from bmtoolkit.exceptions import ConfigError

    _mutate(bmtk_network, "nan_weight")
    with pytest.raises(ConfigError, match="non-finite syn_weight") as err:
        _table(bmtk_network)
    assert err.value.field == "/edges/v1_to_v1/0/syn_weight"
    assert "\n" not in str(err.value)


def test_null_delay_saved_by_the_builder_is_refused(tmp_path):
    """BMTK's builder saves an edge type added without ``delay`` as ``NULL`` in the edge types
    table when another type has one; that edge type is named in the error."""
    require_module("bmtk")
    from bmtk.builder import NetworkBuilder

    from bmtoolkit.exceptions import ConfigError
    from tests.bmtk_parity.conftest import write_components, write_config

    net = tmp_path / "network"
    v1 = NetworkBuilder("v1")
    v1.add_nodes(N=5, model_type="point_neuron", model_template="nest:iaf_psc_alpha",
                 dynamics_params="exc.json")  # fmt: skip
    v1.add_edges(source=v1.nodes(), target=v1.nodes(), connection_rule=1, syn_weight=2.0,
                 delay=1.5, model_template="static_synapse", dynamics_params="static.json")  # fmt: skip
    v1.add_edges(source=v1.nodes(), target=v1.nodes(), connection_rule=1, syn_weight=3.0,
                 model_template="static_synapse", dynamics_params="static.json")  # fmt: skip
    v1.build()
    v1.save(output_dir=str(net))
    assert "NULL" in (net / "v1_v1_edge_types.csv").read_text()
    config = write_config(tmp_path, net, ["v1"], [("v1", "v1")], write_components(tmp_path),
                          tstop=10.0)  # fmt: skip
    from bmtoolkit.simulator.core.models import edge_table
    from bmtoolkit.simulator.core.plan import RunPlan

    plan = RunPlan.from_config(config)
    with pytest.raises(ConfigError, match=r"edge type 101 .*delay = nan") as err:
        edge_table(plan, plan.circuit.edges["v1_to_v1"], default_delay=1.0)
    assert err.value.path.endswith("v1_v1_edge_types.csv")
