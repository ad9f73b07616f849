"""Networks on the bionet backend against the BMTK reference outputs."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron, pytest.mark.conformance]


def _by_node(df):
    return {
        key: np.sort(g["timestamp"].to_numpy()) for key, g in df.groupby(["population", "node_id"])
    }


def _run(bionet_run, examples, case):
    from bmtoolkit.sonata import read_spikes

    result = bionet_run(case)
    ref = read_spikes(examples / case / "output" / "spikes.h5")
    return read_spikes(result.outputs["spikes"]), ref


def test_9_cells_spikes_match_reference(sonata_examples, bionet_run):
    ours, ref = _run(bionet_run, sonata_examples, "9_cells")
    mine, theirs = _by_node(ours), _by_node(ref)
    assert set(mine) == set(theirs)
    for key, times in theirs.items():
        assert abs(len(mine[key]) - len(times)) <= 1, key
        n = min(len(times), len(mine[key]))
        assert np.max(np.abs(mine[key][:n] - times[:n])) <= 1.0, key
    assert set(ours["population"]) == {"cortex"}  # virtual inputs are not reported


def test_300_intfire_event_driven_spikes(sonata_examples, bionet_run):
    ours, ref = _run(bionet_run, sonata_examples, "300_intfire")
    mine = _by_node(ours)
    matched = 0
    for key, g in ref.groupby(["population", "node_id"]):
        have = mine.get(key, np.zeros(0))
        for t in g["timestamp"].to_numpy():
            matched += bool(len(have)) and np.min(np.abs(have - t)) <= 1e-3
    assert matched >= 0.95 * len(ref)
    assert len(ours) == len(ref)


def test_section_id_out_of_range_names_edge_file(sonata_examples, tmp_path):
    require_module("neuron")
    from bmtoolkit.exceptions import SonataFormatError
    from bmtoolkit.simulator.core.runner import run
    from bmtoolkit.sonata import EdgePopulationData, read_edges, write_edges

    case = tmp_path / "9_cells"
    shutil.copytree(sonata_examples / "9_cells", case, ignore=shutil.ignore_patterns("output"))
    shutil.copytree(sonata_examples / "shared_components", tmp_path / "shared_components")
    h5 = case / "network" / "excvirt_cortex_edges.h5"
    (pop,) = read_edges(h5).values()
    attrs = {name: pop.column(name) for name in ("sec_id", "sec_x", "syn_weight")}
    attrs["sec_id"] = attrs["sec_id"].copy()
    attrs["sec_id"][0] = 10_000
    data = EdgePopulationData.single_group(
        pop.name,
        pop.source_population,
        pop.target_population,
        pop.source_node_ids(),
        pop.target_node_ids(),
        pop.edge_type_ids(),
        attributes=attrs,
    )
    write_edges(h5, [data])
    with pytest.raises(SonataFormatError) as err:
        run(case / "config.json", backend="bionet", output_dir=tmp_path / "out")
    msg = str(err.value)
    assert "10000" in msg and "out of range" in msg and "excvirt_cortex_edge_types.csv" in msg
