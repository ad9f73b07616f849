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


def test_bio_stp_models_stops_on_its_own_mechanisms_in_one_line(examples, tmp_path):  # noqa: F811
    """The example brings its own NMODL synapses (``expsyn``, ``stp1syn``-``stp5syn``),
    which bmtoolkit's mechanism library does not have (documented): the run stops before
    anything is written, with one error line naming the synapse model and the file."""
    import subprocess
    import sys

    from tests.bmtk_examples.test_bio_examples import stage

    folder = stage(examples, "bio_stp_models", tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", "run", "--quiet", "config.simulation.json"],
        cwd=folder, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert "'expsyn'" in errors[0] and "edge_types.csv" in errors[0], errors[0]
    assert not (folder / "output" / "spikes.h5").exists()
