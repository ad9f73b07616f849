"""One policy for what a backend cannot do, the same on every backend.

Every backend gets the same config: an input and a report of modules no backend accepts, and
edges without a ``delay``. Each must refuse the input and the report before setup, together,
as one ConfigError (``bmtoolkit run``) and as listed problems (``bmtoolkit validate
--backend NAME``); for the missing delay each either refuses it the same way or uses the
default its spec declares, which is the one the config reference documents.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.plan import RunPlan
from bmtoolkit.simulator.core.preflight import check, preflight
from bmtoolkit.simulator.core.registries import INPUT_MODULES, REPORT_MODULES
from bmtoolkit.simulator.core.spec import get_spec, specs
from tests.conftest import require_module

BACKENDS = ("pointnet", "bionet", "popnet", "filternet", "torchnet", "numpynet")

#: the default delay (ms, or "dt") of edges without one, as docs/config_reference.md states;
#: None: the backend refuses such edges; "no edges": it reads none
DOCUMENTED_DELAY = {
    "pointnet": 1.0,
    "torchnet": 1.0,
    "numpynet": "dt",
    "popnet": 0.0,
    "bionet": None,
    "filternet": "no edges",
}
DT = 0.1


def _loader(cfg, plan):  # pragma: no cover - never reached: every backend refuses it
    """Test-only stimulus no backend accepts."""
    raise AssertionError("a refused input was loaded")


@pytest.fixture
def unsupported_modules():
    """An input module and a report module registered for this test only."""
    INPUT_MODULES.register("policy_test_input", _loader)
    REPORT_MODULES.register("policy_test_report", _loader)
    try:
        yield
    finally:
        INPUT_MODULES._entries.pop("policy_test_input", None)
        REPORT_MODULES._entries.pop("policy_test_report", None)


def _write(
    folder: Path, delay: float | None = None, odd: bool = True, model: str = "iaf_psc_delta"
) -> Path:
    """Two LIF cells (NEST ``model``) driven by one virtual node through edges without a
    delay (or with ``delay``), with an input and a report no backend accepts (unless not
    ``odd``)."""
    from bmtoolkit.builder import NetworkBuilder, write_circuit
    from bmtoolkit.sonata import write_simulation_config

    models = folder / "models"
    models.mkdir(parents=True)
    (models / "lif.json").write_text(json.dumps({"V_th": -50.0, "E_L": -70.0}))
    cells = NetworkBuilder("cells", seed=1)
    cells.add_nodes(N=2, model_type="point_process", model_template=f"nest:{model}",
                    dynamics_params="lif.json")  # fmt: skip
    ext = NetworkBuilder("ext", seed=1)
    ext.add_nodes(N=1, model_type="virtual")
    given = {} if delay is None else {"delay": delay}
    ext.add_edges(source=ext.nodes(), target=cells.nodes(), connection_rule=1, syn_weight=2.0,
                  **given)  # fmt: skip
    cells.build()
    ext.build()
    circuit = write_circuit([cells, ext], folder / "network",
                            components={"point_neuron_models_dir": models})  # fmt: skip
    path = folder / "simulation_config.json"
    write_simulation_config(
        path,
        network=circuit,
        run={"tstop": 10.0, "dt": DT},
        output={"output_dir": folder / "output", "spikes_file": "spikes.h5"},
        inputs={"odd": {"input_type": "odd", "module": "policy_test_input", "node_set": "ext"}}
        if odd
        else {},
        reports={"odd": {"module": "policy_test_report", "cells": "cells", "variable_name": "x"}}
        if odd
        else {},
    )
    return path


@pytest.fixture
def config(tmp_path, unsupported_modules) -> Path:
    return _write(tmp_path / "net")


def test_every_built_in_backend_declares_itself():
    declared = specs()
    for name in BACKENDS:
        assert declared[name].name == name
        assert declared[name].inputs is not None and declared[name].reports is not None


@pytest.mark.parametrize("backend", BACKENDS)
def test_unsupported_input_and_report_are_capability_errors(config, backend):
    problems = preflight(RunPlan.from_config(config), backend)
    refused = {p.location for p in problems if p.kind == "capability"}
    assert {"inputs.odd", "reports.odd"} <= refused, problems
    for p in problems:
        if p.location in ("inputs.odd", "reports.odd"):
            assert p.severity == "error" and backend in p.message
            assert "accepts" in p.message or "records" in p.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_raises_every_mismatch_at_once_as_one_config_error(config, backend):
    with pytest.raises(ConfigError) as info:
        check(RunPlan.from_config(config), backend)
    message = str(info.value)
    assert f"the {backend} backend cannot run this config" in message
    assert "inputs.odd" in message and "reports.odd" in message
    assert Path(config).name in message


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_delay_is_refused_or_gets_the_documented_default(config, backend):
    spec = get_spec(backend)
    documented = DOCUMENTED_DELAY[backend]
    problems = preflight(RunPlan.from_config(config), backend)
    refused = [p for p in problems if p.kind == "capability" and p.location.endswith(".delay")]
    if documented is None:
        assert spec.default_delay(DT) is None
        assert len(refused) == 1 and "no 'delay'" in refused[0].message
        assert refused[0].location == "ext_to_cells.delay"
        return
    assert not refused
    if documented == "no edges":
        assert spec.delay is None
        return
    expected = DT if documented == "dt" else documented
    assert spec.default_delay(DT) == expected


@pytest.mark.parametrize("backend", ("numpynet", "popnet"))
def test_backends_use_their_declared_default_delay(tmp_path, backend):
    """The edge table a backend builds holds the delay its spec declares."""
    from bmtoolkit.simulator.core.models import edge_table
    from bmtoolkit.simulator.core.registries import get_backend

    plan = RunPlan.from_config(_write(tmp_path / "net"), backend=backend)
    instance = get_backend(backend)(plan)
    edges = next(iter(plan.circuit.edges.values()))
    table = edge_table(plan, edges, default_delay=instance.default_delay)
    expected = DT if DOCUMENTED_DELAY[backend] == "dt" else DOCUMENTED_DELAY[backend]
    np.testing.assert_array_equal(table.delays, np.full(2, expected))


def test_model_types_a_backend_does_not_simulate_are_refused(config):
    problems = preflight(RunPlan.from_config(config), "popnet")
    refused = [p for p in problems if p.location == "cells.model_type"]
    assert len(refused) == 1 and "point_process" in refused[0].message


@pytest.mark.parametrize("backend", ("numpynet", "bionet", "popnet"))
def test_validate_with_backend_lists_the_same_mismatches(config, backend):
    from bmtoolkit.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["validate", "--backend", backend, str(config)])
    text = out.getvalue()
    assert code == 1
    assert "inputs.odd" in text and "reports.odd" in text and backend in text


def test_validate_with_an_unknown_backend_lists_the_known_ones(config):
    from bmtoolkit.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["validate", "--backend", "brian3", str(config)])
    assert code == 1 and "unknown backend 'brian3'" in out.getvalue()
    assert "numpynet" in out.getvalue()


def test_the_config_reference_documents_every_declared_delay():
    text = (Path(__file__).parents[3] / "docs" / "config_reference.md").read_text()
    section = text[text.index("### Default delay") :]
    for name in BACKENDS:
        spec = get_spec(name)
        assert f"`{name}`" in section
        if spec.delay is not None:
            assert f"`{name}`: {spec.delay.describe()}" in section


@pytest.mark.parametrize("backend", [n for n in BACKENDS if get_spec(n).scaffold is not None])
def test_every_scaffold_is_laid_out_the_same_way(backend):
    """``create-environment``: the config's ``target_simulator`` chooses the backend, its
    ``run`` block holds the asked ``tstop``, and the script starts with the shared header
    seeded by ``run.random_seed``."""
    from bmtoolkit.simulator.core.scaffold import HEADER
    from bmtoolkit.simulator.core.spec import backend_for_simulator

    spec = get_spec(backend)
    scaffold = spec.make_scaffold(123.0)
    run = scaffold.simulation["run"]
    assert backend_for_simulator(scaffold.simulation["target_simulator"]) == backend
    assert run["tstop"] == 123.0 and run["dt"] > 0
    assert list(run)[:2] == ["tstop", "dt"] and list(run)[-1] == "random_seed"
    assert scaffold.build_script.startswith(HEADER.replace("SEED", str(run["random_seed"])))
    assert scaffold.nodes and set(scaffold.component_dirs.values()) <= {
        path.split("/")[0] for path in scaffold.components
    }


#: delays (ms) around the half-step and one-step bounds at DT, and beyond
DELAYS = (0.04, 0.049, 0.05, 0.051, 0.06, 0.1, 0.14, 0.149, 0.15, 0.25, 0.35, 1.45, 2.55)


def _nest_delay_steps(delay: float, dt: float) -> int | None:
    """The steps NEST makes of ``delay`` at resolution ``dt``, or None when it refuses it."""
    import nest

    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.resolution = dt
    cells = nest.Create("iaf_psc_alpha", 2)
    try:
        nest.Connect(cells[0], cells[1], syn_spec={"delay": delay})
    except nest.NESTError as err:
        assert "delay" in str(err).lower(), err
        return None
    return round(nest.GetConnections(cells[0], cells[1]).delay / dt)


@pytest.mark.nest
@pytest.mark.parametrize("dt", [DT, 0.25])
def test_short_delay_rule_is_nests(dt):
    """:func:`delay_steps` rounds and refuses exactly as NEST's ``Connect`` does."""
    from bmtoolkit.simulator.core.capabilities import delay_steps

    require_module("nest")
    refused = 0
    for delay in (d * dt / DT for d in DELAYS):
        expected = _nest_delay_steps(delay, dt)
        if expected is None:
            refused += 1
            with pytest.raises(ConfigError, match="shorter than the time step"):
                delay_steps(np.array([delay]), dt)
        else:
            assert delay_steps(np.array([delay]), dt).tolist() == [expected], delay
    assert refused == 2  # 0.04 and 0.049 x dt / 0.1 ms: under half a step (a half rounds up)


def _delay_steps_used(backend: str, config: Path) -> list[int]:
    """The delays (steps) the backend built its edges with."""
    from bmtoolkit.simulator.core.registries import get_backend

    plan = RunPlan.from_config(config, backend=backend)
    if backend == "torchnet":
        from bmtoolkit.simulator.torchnet.io import build_network

        return sorted(set(build_network(plan).synapses.delay.tolist()))
    instance = get_backend(backend)(plan)
    instance.setup()
    instance.build_network()
    return sorted({int(s) for _, steps in instance.edges for s in steps})


@pytest.mark.parametrize("backend", ["numpynet", "torchnet"])
def test_step_backends_round_short_delays_as_nest_and_refuse_shorter(tmp_path, backend):
    """One rule in the backends that move spikes on the run.dt grid: the delay rounds to the
    nearest step, halves up (0.06 -> 1 step, 0.15 -> 2, 0.25 -> 3 at dt 0.1), and one
    under half a step is refused before anything runs, naming the edges and the file."""
    from bmtoolkit.simulator import run

    if backend == "torchnet":
        require_module("torch")
    for delay, steps in ((0.06, 1), (0.15, 2), (0.25, 3)):
        config = _write(tmp_path / f"d{delay}", delay=delay, odd=False, model="iaf_psc_alpha")
        assert _delay_steps_used(backend, config) == [steps], delay
    config = _write(tmp_path / "short", delay=0.04, odd=False, model="iaf_psc_alpha")
    with pytest.raises(ConfigError) as info:
        run(config, backend=backend)
    message = str(info.value)
    assert "edges 'ext_to_cells': 2 delays shorter than the time step run.dt = 0.1 ms" in message
    assert "smallest 0.04 ms" in message and "ext_cells_edge_types.csv" in message
    assert not (tmp_path / "short" / "output" / "spikes.h5").exists()


#: node model types each backend simulates (BMTK's own lists where BMTK has the simulator)
SIMULATES = {
    "pointnet": {"point_process", "point_neuron", "virtual"},
    "bionet": {"biophysical", "point_process", "point_neuron", "virtual"},
    "popnet": {"population", "virtual"},
    "filternet": {"virtual"},
    "torchnet": {"point_process", "point_neuron", "virtual"},
    "numpynet": {"point_process", "point_neuron", "virtual"},
}
MODEL_TYPES = ("biophysical", "point_process", "point_neuron", "point_soma", "population",
               "virtual")  # fmt: skip


def _one_population_per_model_type(folder: Path) -> Path:
    """One population per model type (named after it, LGN filter templates so that every
    backend takes it), and a ``cortex`` of NEST point neurons."""
    from bmtoolkit.builder import NetworkBuilder, write_circuit
    from bmtoolkit.sonata import write_simulation_config

    nets = []
    for model_type in MODEL_TYPES:
        net = NetworkBuilder(model_type, seed=1)
        net.add_nodes(N=2, model_type=model_type, model_template="lgnmodel:sON_TF4")
        nets.append(net)
    cortex = NetworkBuilder("cortex", seed=1)
    cortex.add_nodes(N=2, model_type="point_neuron", model_template="nest:iaf_psc_delta")
    for net in (*nets, cortex):
        net.build()
    path = folder / "simulation_config.json"
    write_simulation_config(
        path,
        network=write_circuit([*nets, cortex], folder / "network"),
        run={"tstop": 10.0, "dt": DT},
        output={"output_dir": folder / "output"},
    )
    return path


def test_every_backend_declares_the_model_types_it_simulates(tmp_path):
    """The capability check refuses, on every backend, the populations whose model type the
    backend does not simulate, and only those; filternet passes over populations without an
    LGN filter template (``cortex``) instead of refusing them."""
    from bmtoolkit.simulator.core.capabilities import mismatches

    plan = RunPlan.from_config(_one_population_per_model_type(tmp_path))
    assert set(SIMULATES) == set(BACKENDS)
    for backend, simulated in SIMULATES.items():
        spec = get_spec(backend)
        assert set(spec.simulates) == simulated, backend
        refused = {
            p.location.removesuffix(".model_type"): p.message
            for p in mismatches(plan, spec)
            if p.location.endswith(".model_type")
        }
        expected = {t for t in MODEL_TYPES if t not in simulated}
        if backend != "filternet" and "point_neuron" not in simulated:
            expected.add("cortex")
        assert set(refused) == expected, backend
        for pop, message in refused.items():
            assert f"{backend} does not simulate model_type" in message
            assert "point_neuron" in message if pop == "cortex" else repr(pop) in message
            assert ", ".join(spec.simulates) in message
