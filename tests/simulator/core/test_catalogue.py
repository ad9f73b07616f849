"""The model catalogue: records resolved once, one components-folder rule, empty cells, and
the run values kept in one place."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.simulator.core.catalogue import (
    EdgeTypeModel,
    cell_value,
    is_empty,
    params_path,
)
from bmtoolkit.simulator.core.plan import RunPlan
from bmtoolkit.sonata.components import COMPONENT_DIRS, component_folders, folder_key

from .conftest import LIF


@pytest.mark.parametrize(
    "value, empty",
    [
        (None, True),
        (np.nan, True),
        (float("nan"), True),
        (np.float32("nan"), True),
        ("", True),
        (0, False),
        (0.0, False),
        ("0", False),
        ("lif.json", False),
        (np.int64(3), False),
    ],
)
def test_empty_cells(value, empty):
    assert is_empty(value) is empty
    assert (cell_value(value) is None) is empty


@pytest.mark.parametrize(
    "kind, components, folder",
    [
        ("point_process", {"point_neuron_models_dir": "/p", "point_models_dir": "/q"}, "/p"),
        ("point_process", {"point_models_dir": "/q"}, "/q"),
        ("point_neuron", {"point_neuron_models_dir": "/p"}, "/p"),
        ("biophysical", {"biophysical_neuron_models_dir": "/b", "point_neuron_models_dir": "/p"}, "/b"),
        ("population", {"population_models_dir": "/d", "point_neuron_models_dir": "/p"}, "/d"),
        ("population", {"point_neuron_models_dir": "/p"}, "/p"),
        ("synapse", {"synaptic_models_dir": "/s", "point_neuron_models_dir": "/p"}, "/s"),
        ("filter", {"filter_models_dir": "/f"}, "/f"),
        ("some_new_type", {"point_neuron_models_dir": "/p"}, "/p"),
        (None, {"point_neuron_models_dir": "/p"}, "/p"),
    ],
)  # fmt: skip
def test_components_folder_rule(kind, components, folder):
    assert params_path("m.json", components, kind).as_posix() == f"{folder}/m.json"
    assert components[folder_key(components, kind)] == folder
    assert params_path("/abs/m.json", {}, kind).as_posix() == "/abs/m.json"


def test_components_folder_missing_names_the_key_and_the_type():
    with pytest.raises(ConfigError, match="synaptic_models_dir") as err:
        params_path("e.json", {"point_neuron_models_dir": "/p"}, "synapse", who="edge type 7")
    assert "edge type 7" in str(err.value) and "e.json" in str(err.value)
    assert err.value.field == "components.synaptic_models_dir"
    with pytest.raises(ConfigError, match="biophysical_neuron_models_dir"):
        params_path("c.json", {"point_neuron_models_dir": "/p"}, "biophysical")


def test_one_table_for_validator_and_catalogue():
    assert component_folders("virtual") == ()
    assert folder_key({}, "virtual") is None
    assert folder_key({}, "population") == COMPONENT_DIRS["population"][0]


def test_node_types_resolved_once_per_run(tiny_config, monkeypatch):
    plan = RunPlan.from_config(tiny_config())
    v1 = plan.circuit.nodes["v1"]
    import bmtoolkit.simulator.core.catalogue as catalogue

    reads = []
    real = catalogue.load_json_params
    monkeypatch.setattr(
        catalogue, "load_json_params", lambda *a, **k: reads.append(a[0]) or real(*a, **k)
    )
    models = plan.catalogue.node_types(v1)
    again = plan.catalogue.node_types(plan.circuit.nodes["v1"])
    assert again is models and len(reads) == 1
    (model,) = models.values()
    assert model.node_type_id == 100 and model.model_type == "point_process"
    assert dict(model.params) == LIF and model.params_file.name == "lif.json"
    # a copy that only writes elsewhere keeps the resolved catalogue
    assert plan.with_overrides(output_dir=plan.output_dir / "x").catalogue is plan.catalogue
    with pytest.raises(TypeError):
        models[101] = model  # type: ignore[index]


def test_virtual_population_and_empty_cells_are_none(tiny_config):
    plan = RunPlan.from_config(tiny_config())
    inp = plan.circuit.nodes["inp"]
    assert plan.catalogue.is_virtual(inp) is True
    assert plan.catalogue.is_virtual(plan.circuit.nodes["v1"]) is False
    (model,) = plan.catalogue.node_types(inp).values()
    assert model.model_template is None and model.params_file is None and model.params == {}


def _rewrite_types(path, **columns):
    from bmtoolkit.sonata import read_types_csv, write_types_csv

    df = read_types_csv(path)
    for key, values in columns.items():
        df[key] = values
    write_types_csv(df, path)


def test_mixed_population_is_one_error_for_every_backend(tiny_config, tmp_path):
    from bmtoolkit.sonata import write_types_csv

    cfg = tiny_config()
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [100, 101],
                "model_type": ["point_process", "virtual"],
                "model_template": ["nest:iaf_psc_delta", None],
                "dynamics_params": ["lif.json", None],
            }
        ),
        tmp_path / "network" / "v1_node_types.csv",
    )
    from bmtoolkit.sonata import NodePopulationData, write_nodes

    write_nodes(
        tmp_path / "network" / "v1_nodes.h5",
        [NodePopulationData.single_group("v1", np.array([100, 100, 101, 101]))],
    )
    plan = RunPlan.from_config(cfg)
    with pytest.raises(ConfigError, match="mixes virtual and non-virtual") as err:
        plan.catalogue.is_virtual(plan.circuit.nodes["v1"])
    assert err.value.field == "model_type"


def test_edge_type_records(tiny_config, tmp_path):
    cfg = tiny_config()
    syn = tmp_path / "synapses"
    syn.mkdir()
    (syn / "e.json").write_text(json.dumps({"receptor_type": 2, "U": 0.3}))
    types = tmp_path / "network" / "inp_v1_edge_types.csv"
    _rewrite_types(types, dynamics_params=["e.json"], model_template=["nest:tsodyks2_synapse"])
    circuit = json.loads((tmp_path / "circuit_config.json").read_text())
    # no synaptic_models_dir: the error names the edge type, the file and the key to set
    plan = RunPlan.from_config(cfg)
    edges = plan.circuit.edges["inp_to_v1"]
    with pytest.raises(ConfigError, match="edge type 1.*e.json.*synaptic_models_dir"):
        plan.catalogue.edge_type(edges, 1)
    circuit["components"]["synaptic_models_dir"] = str(syn)
    (tmp_path / "circuit_config.json").write_text(json.dumps(circuit))
    plan = RunPlan.from_config(cfg)
    edges = plan.circuit.edges["inp_to_v1"]
    record = plan.catalogue.edge_type(edges, 1)
    assert record == EdgeTypeModel(
        1,
        "nest:tsodyks2_synapse",
        {"receptor_type": 2, "U": 0.3},
        syn / "e.json",
        None,
        types,
    )
    assert record.synapse_model == "tsodyks2_synapse"
    assert plan.catalogue.edge_type(edges, 1) is record
    # an id the types table lacks: an empty record, not an error
    assert plan.catalogue.edge_type(edges, 99).params == {}
    (syn / "e.json").unlink()
    plan = RunPlan.from_config(cfg)
    with pytest.raises(MissingFileError, match="edge type 1"):
        plan.catalogue.edge_type(plan.circuit.edges["inp_to_v1"], 1)


def test_run_values_have_one_home(tiny_config):
    cfg = tiny_config(
        run={"tstop": 50.0, "dt": 0.5, "tstart": 10.0, "random_seed": 4, "n_thread": 2}
    )
    plan = RunPlan.from_config(cfg)
    run = plan.run
    assert (plan.tstart, plan.tstop, plan.dt, plan.seed) == (10.0, 50.0, 0.5, 4)
    assert plan.n_steps == run.n_steps == 80 and plan.duration == run.duration == 40.0
    assert run.threads == 2 and plan.threads == 2
    later = plan.with_overrides(tstop=60.0, seed=9)
    assert later.run.tstop == later.tstop == 60.0 and later.run.random_seed == later.seed == 9
    assert later.n_steps == 100 and plan.tstop == 50.0
    assert RunPlan.from_config(cfg, seed=11).run.random_seed == 11
