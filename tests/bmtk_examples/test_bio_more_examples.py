"""More of BMTK's BioNet examples, run unchanged by BMTK 1.2.0 and by ``bmtoolkit run``.

Staging, running and the comparison (>= 95 % of BMTK's spikes matched within 1 ms on the same
node, counts within 5 %, soma traces within 1 mV RMS) are those of ``test_bio_examples``.
"""

from __future__ import annotations

import pytest

from tests.bmtk_examples.test_bio_examples import (
    compare_spikes,
    compare_trace_report,
    examples,  # noqa: F401 - the fixture
    run_both,
)

pytestmark = [pytest.mark.neuron, pytest.mark.conformance]


@pytest.mark.slow
def test_bio_intfire_ring(examples, tmp_path):  # noqa: F811
    """Biophysical cells and IntFire1 cells in a ring driven by virtual spikes, for 1 s, and
    the soma voltage report."""
    theirs, ours = run_both(examples, "bio_intfire_ring", "config.simulation.json", tmp_path,
                            tstop=1000.0)  # fmt: skip
    compare_spikes(theirs, ours, min_spikes=20)
    compare_trace_report(theirs / "membrane_potential.h5", ours / "membrane_potential.h5")


@pytest.mark.slow
def test_bio_simulated_annealing(examples, tmp_path):  # noqa: F811
    """The 14-cell network with LGN and thalamic spike trains as inputs, for 500 ms."""
    theirs, ours = run_both(examples, "bio_simulated_annealing", "config.simulation.json",
                            tmp_path, tstop=500.0)  # fmt: skip
    compare_spikes(theirs, ours, min_spikes=10)
