"""The conformance examples give BMTK's BioNet (and PointNet) spikes under ``bmtoolkit run``.

BMTK's BioNet and ``bmtoolkit run`` simulate the same example (shared conformance data, read
in place) in separate processes with the same NMODL library: bmtoolkit's
(``bmtoolkit/simulator/bionet/nmodl``, compiled by ``compile_mechanisms``), plus BMTK's own
``vecevent.mod`` for BMTK's virtual cells. Reports are left out and runs shortened to keep the
suite fast; clamps use the population as node set because BMTK 1.2.0 resolves the examples'
``{"model_type": "biophysical"}`` node set to no cell at all (docs/differences_from_bmtk.md).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.bmtk_parity.conftest import (
    assert_same_spikes,
    example_configs,
    read_spikes_file,
    run_bmtk,
    run_bmtoolkit,
)
from tests.conftest import require_module


def _require_peers() -> None:
    require_module("neuron")
    require_module("bmtk")


@pytest.mark.slow  # compiles the NMODL library on an empty cache
def test_5_cells_iclamp_gives_bmtk_spikes(sonata_examples, tmp_path):
    """Five biophysical cells (Allen perisomatic models) driven by a current clamp."""
    _require_peers()
    bmtk_cfg, ours_cfg = example_configs(sonata_examples / "5_cells_iclamp", tmp_path, 1200.0)
    assert_same_spikes(run_bmtk(bmtk_cfg, simulator="bionet"), run_bmtoolkit(ours_cfg),
                       min_spikes=20)  # fmt: skip


@pytest.mark.slow
def test_9_cells_gives_bmtk_spikes(sonata_examples, tmp_path):
    """Nine biophysical cells driven through synapses by virtual cells' spike trains."""
    _require_peers()
    bmtk_cfg, ours_cfg = example_configs(sonata_examples / "9_cells", tmp_path, 1000.0)
    theirs_out = run_bmtk(bmtk_cfg, simulator="bionet", vecstim=True)
    assert_same_spikes(theirs_out, run_bmtoolkit(ours_cfg), min_spikes=20)
    assert set(read_spikes_file(theirs_out / "spikes.h5")["population"]) == {"cortex"}


def test_300_intfire_gives_bmtk_spikes(sonata_examples, tmp_path):
    """300 IntFire1 cells (event-driven, off-grid spike times) on NEURON: the same spikes;
    BMTK writes NEURON's float times (654.8699999999999), bmtoolkit their decimal value
    (654.87), so BMTK's are compared after rounding to the 9 decimals bmtoolkit writes."""
    _require_peers()
    bmtk_cfg, ours_cfg = example_configs(sonata_examples / "300_intfire", tmp_path, 1000.0)
    theirs = read_spikes_file(run_bmtk(bmtk_cfg, simulator="bionet", vecstim=True) / "spikes.h5")
    ours = read_spikes_file(run_bmtoolkit(ours_cfg) / "spikes.h5")
    assert len(theirs) > 500
    theirs["timestamp"] = theirs["timestamp"].round(9)
    theirs = theirs.sort_values(["timestamp", "node_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)


def test_300_pointneurons_gives_bmtk_pointnet_spikes(sonata_examples, tmp_path):
    """The NEST example (300 point neurons, spike-file input, dt 0.01 ms) on BMTK's PointNet."""
    require_module("nest")
    require_module("bmtk")
    bmtk_cfg, ours_cfg = example_configs(sonata_examples / "300_pointneurons", tmp_path, 500.0)
    assert_same_spikes(run_bmtk(bmtk_cfg), run_bmtoolkit(ours_cfg), min_spikes=1000)
