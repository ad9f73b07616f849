"""pointnet gives exactly the spikes of BMTK's own PointNet and of a plain PyNEST script, on
networks built from the same specification by bmtoolkit's and by BMTK's builder.

The plain script is written with BMTK's choices (``precise_times`` generators, weights
``syn_weight * nsyns``); BMTK 1.2.0 itself, run in its own process, is the reference that does
not share our choices.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.simulator import run
from bmtoolkit.sonata import read_spikes
from tests.conftest import require_module


@pytest.mark.parametrize("builder", ["bmtoolkit", "bmtk"])
@pytest.mark.parametrize("threads", [1, 2])
def test_spikes_identical_to_plain_pynest(point_network, plain_nest, builder, threads, tmp_path):
    require_module("nest")
    config = point_network(builder)
    result = run(config, threads=threads, output_dir=tmp_path / "out", progress=False)
    assert result.backend == "pointnet"
    ours = read_spikes(result.outputs["spikes"]).sort_values(["timestamp", "node_id"])
    assert (ours["population"] == "v1").all()
    theirs = plain_nest(config.parent, threads, 7)
    assert len(theirs) > 100, "the test network must be active"
    assert len(ours) == len(theirs)
    np.testing.assert_array_equal(ours["node_id"].to_numpy(), theirs["node_id"].to_numpy())
    np.testing.assert_array_equal(ours["timestamp"].to_numpy(), theirs["timestamp"].to_numpy())


@pytest.mark.parametrize("builder", ["bmtoolkit", "bmtk"])
@pytest.mark.parametrize("threads", [1, 2])
def test_spikes_identical_to_bmtk_pointnet(point_network, builder, threads, tmp_path):
    """The same configs and files run by BMTK's PointNet (n_thread as in BMTK's configs)."""
    require_module("nest")
    require_module("bmtk")
    from tests.bmtk_parity.conftest import read_spikes_file, run_bmtk

    config = point_network(builder)
    result = run(config, threads=threads, output_dir=tmp_path / "out", progress=False)
    ours = read_spikes_file(result.outputs["spikes"])
    spec = json.loads(config.read_text())
    spec["run"]["n_thread"] = threads
    spec["output"]["output_dir"] = str(tmp_path / "bmtk")
    bmtk_config = config.parent / f"bmtk_{threads}_{tmp_path.name}.json"
    bmtk_config.write_text(json.dumps(spec))
    theirs = read_spikes_file(run_bmtk(bmtk_config) / "spikes.h5")
    assert len(theirs) > 100, "the test network must be active"
    assert ours.equals(theirs), f"BMTK {len(theirs)} spikes, bmtoolkit {len(ours)}"
