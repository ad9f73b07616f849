"""BMTK's ``cell_model`` registration on pointnet: the user's function creates the NEST nodes
of each node type, called as BMTK's PointNet calls it."""

from __future__ import annotations

import numpy as np

from tests.conftest import require_module


def test_cell_model_function_creates_the_nodes(point_network, tmp_path):
    require_module("nest")
    import nest

    from bmtoolkit.simulator import pointnet
    from bmtoolkit.simulator.core.pyfunctions import unregister
    from bmtoolkit.simulator.core.runner import run
    from bmtoolkit.sonata.spikes import read_spikes

    config = point_network("bmtoolkit")
    base = read_spikes(run(config, backend="pointnet", output_dir=tmp_path / "a").outputs["spikes"])
    calls = []

    @pointnet.cell_model(directive="nest", model_type="point_process")
    def driven(nodes, model_name, dynamics_params):
        calls.append((nodes.n_nodes, model_name, set(nodes["ei"])))
        cells = nest.Create(model_name, nodes.n_nodes, dynamics_params)
        if set(nodes["ei"]) == {"i"}:
            cells.set({"I_e": 450.0})  # drive the inhibitory cells
        return cells

    try:
        result = run(config, backend="pointnet", output_dir=tmp_path / "b")
    finally:
        unregister("nest")
    assert sorted(calls) == [(20, "iaf_psc_alpha", {"i"}), (80, "iaf_psc_alpha", {"e"})]
    ours = read_spikes(result.outputs["spikes"])
    v1 = ours[ours["population"] == "v1"]
    v1_base = base[base["population"] == "v1"]
    inh = np.arange(80, 100)
    assert v1["node_id"].isin(inh).sum() > 3 * max(v1_base["node_id"].isin(inh).sum(), 1)
