"""pointnet gives exactly the spikes of a plain PyNEST script built from the same files."""

from __future__ import annotations

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
