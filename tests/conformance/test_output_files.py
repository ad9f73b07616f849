"""Every spike and report file of the conformance examples opens with the expected counts.

Counts are those of SONATA_PROFILE.md section 2.
"""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.sonata import read_frame_report, read_spikes

SPIKE_OUTPUTS = {
    # file: (population, spikes, distinct nodes, first, last)
    "5_cells_iclamp/output/spikes.h5": ("biophysical", 124, 5, None, None),
    "9_cells/output/spikes.h5": ("cortex", 78, 8, 130.3, 2936.0),
    "300_intfire/output/spikes.h5": ("v1", 4322, 273, 566.942, 2989.119),
    "300_cells/output/spikes.h5": ("internal", 13010, 299, 22.9, 1499.8),
}

SPIKE_INPUTS = {
    # file: (default population, spikes)
    "9_cells/inputs/exc_spike_trains.h5": (None, 312),
    "9_cells/inputs/inh_spike_trains.h5": (None, 285),
    "300_intfire/inputs/lgn_spikes.h5": ("lgn", 2738),
    "300_intfire/inputs/tw_spikes.h5": ("tw", 295),
    "300_cells/inputs/external_spike_trains.h5": ("external", 3147),
    "300_pointneurons/inputs/external_spike_trains.h5": ("external", 4334),
}


@pytest.mark.parametrize("name", sorted(SPIKE_OUTPUTS))
def test_reference_spike_outputs(sonata_examples, name):
    pop, count, nodes, first, last = SPIKE_OUTPUTS[name]
    df = read_spikes(sonata_examples / name)
    assert df["population"].unique().tolist() == [pop]
    assert len(df) == count
    assert df["node_id"].nunique() == nodes
    if first is not None:
        assert df["timestamp"].min() == pytest.approx(first, abs=1e-3)
        assert df["timestamp"].max() == pytest.approx(last, abs=1e-3)


def test_five_cells_spikes_per_node(sonata_examples):
    df = read_spikes(sonata_examples / "5_cells_iclamp/output/spikes.h5")
    counts = df.groupby("node_id").size().reindex(range(5), fill_value=0).tolist()
    assert counts == [50, 28, 23, 20, 3]
    times = df["timestamp"].to_numpy()
    # BioNet spikes lie on the 0.1 ms grid
    np.testing.assert_allclose(times * 10, np.round(times * 10), atol=1e-6)


@pytest.mark.parametrize("name", sorted(SPIKE_INPUTS))
def test_input_spike_files(sonata_examples, name):
    default, count = SPIKE_INPUTS[name]
    df = read_spikes(sonata_examples / name, default_population=default)
    assert len(df) == count
    if default is not None:
        assert set(df["population"]) == {default}


@pytest.mark.parametrize(
    "name, pop, shape, variable",
    [
        ("5_cells_iclamp/output/membrane_potential.h5", "biophysical", (40000, 5), "v"),
        ("5_cells_iclamp/output/calcium_concentration.h5", "biophysical", (40000, 5), "cai"),
        ("9_cells/output/membrane_potential.h5", "cortex", (30000, 9), "v"),
        ("9_cells/output/calcium_concentration.h5", "cortex", (30000, 9), "cai"),
    ],
)
def test_reference_reports(sonata_examples, name, pop, shape, variable):
    rep = read_frame_report(sonata_examples / name)[pop]
    assert rep.shape == shape
    assert rep.variable == variable
    assert rep.n_steps == round((rep.tstop - rep.tstart) / rep.dt)
    assert rep.node_ids.tolist() == list(range(shape[1]))
    assert rep.trace(0).shape == (shape[0], 1)


def test_verification_traces_legacy_layout(sonata_examples):
    folder = sonata_examples / "5_cells_iclamp/verification"
    files = sorted(folder.glob("cellvar_gid*.h5"))
    assert len(files) == 5
    for i, f in enumerate(files):
        rep = read_frame_report(f, default_population="biophysical")["biophysical"]
        assert rep.node_ids.tolist() == [i]
        assert rep.variable == "v"
        assert rep.shape == (40001, 1)


def test_bmtk_report_is_one_step_shifted_against_pure_neuron(sonata_examples):
    """Row i of BMTK's report holds t = (i+1) dt: compare PV1 with the pure-NEURON trace."""
    ref = read_frame_report(sonata_examples / "5_cells_iclamp/output/membrane_potential.h5")
    bmtk = ref["biophysical"].trace(3)[:, 0]
    pure = read_frame_report(
        sonata_examples / "5_cells_iclamp/verification/cellvar_gid3_472912177_PV1.h5"
    )["default"].trace(3)[:, 0]
    shifted = np.abs(bmtk - pure[1:]).max()
    unshifted = np.abs(bmtk - pure[:-1]).max()
    assert shifted < 1e-5 < unshifted
