"""The records bionet's report loaders make from a config (no NEURON needed).

Every bionet report record is a :class:`~bmtoolkit.simulator.bionet.recording.BionetReport`
with the same name, file and node-set rules; ``netcon_report`` samples as the membrane
report of the same config would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bmtoolkit.simulator.bionet.clamp_report import ClampReport
from bmtoolkit.simulator.bionet.netcon_report import NetconReport
from bmtoolkit.simulator.bionet.recording import BionetReport, ExtracellularReport
from bmtoolkit.simulator.core.plan import RunPlan
from bmtoolkit.simulator.core.reports import MembraneReport, load_membrane_report
from bmtoolkit.simulator.core.spec import get_spec

REPORTS = {
    "syn": {"module": "netcon_report", "cells": "bio", "variable_name": ["i", "g"], "dt": 0.2},
    "nc": {"module": "netcon_report", "variable_name": "weight", "syn_type": "netcon",
           "file_name": "w.h5"},
    "cl": {"module": "clamp_report", "variable_name": "se"},
    "cl2": {"module": "clamp_report", "file_name": "/abs/clamps.h5"},
    "ecp": {"module": "extracellular", "variable_name": "v", "electrode_positions": "el.csv",
            "cells": "bio"},
    "ecp2": {"module": "ecp", "variable_name": "v"},
}  # fmt: skip


@pytest.fixture
def plan(tmp_path) -> RunPlan:
    from bmtoolkit.builder import NetworkBuilder, write_circuit
    from bmtoolkit.sonata import write_simulation_config

    net = NetworkBuilder("bio", seed=1)
    net.add_nodes(N=2, model_type="biophysical", model_template="ctdb:Biophys1.hoc")
    net.build()
    config = tmp_path / "config.json"
    write_simulation_config(
        config,
        network=write_circuit([net], tmp_path / "network"),
        run={"tstop": 10.0, "dt": 0.1},
        output={"output_dir": tmp_path / "out"},
        reports=REPORTS,
    )
    get_spec("bionet").load_registrations()
    return RunPlan.from_config(config, backend="bionet")


def test_every_bionet_report_record_shares_the_base_fields(plan):
    reports = {rep.name: rep for rep in plan.reports()}
    assert set(reports) == set(REPORTS)
    out = plan.output_dir
    for rep in reports.values():
        assert isinstance(rep, BionetReport)
    assert isinstance(reports["syn"], NetconReport) and isinstance(reports["cl"], ClampReport)
    assert isinstance(reports["ecp"], ExtracellularReport)
    assert {n: reports[n].file_name for n in ("nc", "cl", "cl2", "ecp2")} == {
        "nc": out / "w.h5",
        "cl": out / "cl.h5",
        "cl2": Path("/abs/clamps.h5"),
        "ecp2": out / "ecp2.h5",
    }
    assert (reports["cl"].variable, reports["cl2"].variable) == ("se", "ic")
    assert reports["cl"].node_set == "all" and reports["ecp2"].node_set == "all"
    assert reports["ecp"].node_set == "bio"
    assert reports["ecp"].electrode_positions.name == "el.csv"
    assert reports["ecp2"].electrode_positions is None


def test_netcon_report_samples_as_the_membrane_report_of_its_config(plan):
    configs = {cfg.name: cfg for cfg in plan.report_configs.values()}
    for name, syn_type in (("syn", "Exp2Syn"), ("nc", "netcon")):
        rep = next(r for r in plan.reports() if r.name == name)
        membrane = load_membrane_report(configs[name], plan)
        assert isinstance(membrane, MembraneReport)
        for key in ("name", "node_set", "variables", "dt", "start_time", "end_time",
                    "file_name"):  # fmt: skip
            assert getattr(rep, key) == getattr(membrane, key), key
        assert rep.syn_type == syn_type
        assert [rep.file_for(v) for v in rep.variables] == [
            membrane.file_for(v) for v in membrane.variables
        ]
    syn = next(r for r in plan.reports() if r.name == "syn")
    assert syn.dt == 0.2 and [p.name for p in map(syn.file_for, syn.variables)] == [
        "syn_i.h5",
        "syn_g.h5",
    ]


def test_from_report_takes_the_shared_fields_and_the_given_ones():
    membrane = MembraneReport("v", "bio", ("v",), 0.1, 0.0, 5.0, Path("v.h5"), sections="all")
    rep = NetconReport.from_report(membrane, syn_type=None)
    assert (rep.name, rep.node_set, rep.variables, rep.dt, rep.end_time) == (
        "v", "bio", ("v",), 0.1, 5.0,
    )  # fmt: skip
    assert rep.syn_type is None and not hasattr(rep, "sections")
    with pytest.raises(TypeError):
        ClampReport.from_report(membrane)  # a clamp report needs its ``variable``
