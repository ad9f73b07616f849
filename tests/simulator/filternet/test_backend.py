"""``bmtoolkit run`` with a filternet config: LGN nodes + movie input -> rates and spikes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.builder.lgn import V1_LGN_TYPES, lgn_node_groups
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.filternet.cells import build_cells
from bmtoolkit.simulator.filternet.evaluate import evaluate_rates
from bmtoolkit.simulator.filternet.stimuli import make_stimulus


def _nodes_frame(groups):
    return pd.concat(
        [pd.DataFrame({k: (np.broadcast_to(v, (g["N"],)) if np.ndim(v) == 0 else v)
                       for k, v in g.items() if k != "N"}) for g in groups],
        ignore_index=True,
    )  # fmt: skip


def _write_network(tmp: Path, groups) -> None:
    from bmtoolkit.sonata import NodePopulationData, write_nodes, write_types_csv

    frame = _nodes_frame(groups)
    type_ids = np.repeat(np.arange(100, 100 + len(groups)), [g["N"] for g in groups])
    per_node = [c for c in frame.columns if c not in ("model_type", "model_template",
                                                       "model_name", "ei")]  # fmt: skip
    attrs = {c: frame[c].to_numpy(dtype=float) for c in per_node}
    (tmp / "network").mkdir()
    write_nodes(tmp / "network" / "lgn_nodes.h5",
                [NodePopulationData.single_group("lgn", type_ids, attrs)])  # fmt: skip
    types = pd.DataFrame({
        "node_type_id": np.arange(100, 100 + len(groups)),
        "model_type": "virtual",
        "model_template": [g["model_template"] for g in groups],
        "pop_name": [g["model_name"] for g in groups],
    })  # fmt: skip
    write_types_csv(types, tmp / "network" / "lgn_node_types.csv")


def _config(tmp: Path, inputs: dict, output: dict, run: dict | None = None) -> Path:
    cfg = {
        "run": {"tstart": 0.0, "tstop": 400.0, "dt": 1.0, "random_seed": 3, **(run or {})},
        "target_simulator": "LGNModel",
        "inputs": inputs,
        "output": {"output_dir": str(tmp / "output"), **output},
        "networks": {"nodes": [{"nodes_file": str(tmp / "network" / "lgn_nodes.h5"),
                                "node_types_file": str(tmp / "network" /
                                                       "lgn_node_types.csv")}],
                     "edges": []},
    }  # fmt: skip
    path = tmp / "config.json"
    path.write_text(json.dumps(cfg))
    return path


GRATING = {"input_type": "movie", "module": "graiting", "row_size": 40, "col_size": 60,
           "cpd": 0.05, "temporal_f": 4.0, "theta": 30.0, "contrast": 0.8,
           "frame_rate": 1000.0}  # fmt: skip


def test_lgn_layout_has_v1_type_mix():
    groups = lgn_node_groups(seed=2)
    counts = {g["model_name"]: g["N"] for g in groups}
    assert sum(counts.values()) == 17400
    assert counts == {t.name: t.per_tile * 150 for t in V1_LGN_TYPES}
    son = groups[0]
    assert son["x"].min() >= 0 and son["x"].max() <= 240 and son["y"].max() <= 120
    assert 2.0 <= son["spatial_size"].min() and son["spatial_size"].max() <= 10.0
    two = groups[-1]
    assert np.all(np.isfinite(two["tuning_angle"])) and "weight_non_dom_0" in two
    # every cell can be built and evaluated
    small = lgn_node_groups(field_size=(60.0, 40.0), tiles=(1, 1), seed=2)
    cells = build_cells(_nodes_frame(small), seed=0)
    movie = make_stimulus("grating", {**GRATING, "theta": 0.0}, duration_ms=200.0)
    rates = evaluate_rates(cells, movie).rates
    assert rates.shape == (116, 200) and np.all(rates >= 0) and rates.max() > 5.0


def test_run_filternet_config_writes_rates_and_spikes(tmp_path):
    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_spikes

    groups = lgn_node_groups(field_size=(60.0, 40.0), tiles=(1, 1), seed=1)
    _write_network(tmp_path, groups)
    cfg = _config(tmp_path, {"movie": GRATING},
                  {"spikes_file": "spikes.h5", "rates_csv": "rates.csv"},
                  {"n_trials": 2})  # fmt: skip
    result = run(cfg)
    assert result.backend == "filternet"
    spikes = read_spikes(result.outputs["spikes"])
    assert set(spikes["population"]) == {"lgn"}
    assert spikes["node_id"].max() < 116 and spikes["timestamp"].max() < 400.0
    rates = pd.read_csv(result.outputs["rates_csv"], sep=" ")
    # BMTK's layout: times in seconds
    assert list(rates.columns) == ["node_id", "population", "timestamps", "firing_rates"]
    assert len(rates) == 116 * 400 and rates["timestamps"].max() == pytest.approx(0.399)
    # the spike count agrees with the integral of the rates
    expected = rates["firing_rates"].sum() / 1000.0
    assert abs(len(spikes) - expected) < 5 * np.sqrt(expected)
    trial1 = read_spikes(result.outputs["spikes_trial1"])
    assert abs(len(trial1) - expected) < 5 * np.sqrt(expected)
    assert not np.array_equal(trial1["timestamp"].to_numpy()[:20],
                              spikes["timestamp"].to_numpy()[:20])  # fmt: skip
    # same seed, same spikes
    again = run(cfg)
    pd.testing.assert_frame_equal(read_spikes(again.outputs["spikes"]), spikes)


def test_run_writes_rates_h5(tmp_path):
    pytest.importorskip("bmtoolkit.sonata.rates", reason="bmtoolkit.sonata.rates not available")
    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_rates

    groups = lgn_node_groups(field_size=(60.0, 40.0), tiles=(1, 1), density=0.2, seed=1)
    _write_network(tmp_path, groups)
    cfg = _config(tmp_path, {"movie": GRATING}, {"spikes_file": "spikes.h5",
                                                 "rates_h5": "rates.h5"})  # fmt: skip
    result = run(cfg)
    series = read_rates(result.outputs["rates"])["lgn"]
    n = sum(g["N"] for g in groups)
    assert np.asarray(series.data).shape == (400, n)
    assert np.all(np.asarray(series.data) >= 0)


def test_movie_file_input_and_errors(tmp_path):
    from bmtoolkit.simulator import run

    groups = lgn_node_groups(field_size=(30.0, 20.0), tiles=(1, 1), density=0.2, seed=4)
    _write_network(tmp_path, groups)
    frames = np.zeros((300, 20, 30), np.uint8) + 127
    frames[100:200] = 255
    np.save(tmp_path / "movie.npy", frames)
    movie_input = {"input_type": "movie", "module": "movie", "data_file":
                   str(tmp_path / "movie.npy"), "frame_rate": 1000.0,
                   "normalize": [0, 255]}  # fmt: skip
    cfg = _config(tmp_path, {"movie": movie_input}, {"spikes_file": "spikes.h5",
                                                     "rates_csv": "rates.csv"})  # fmt: skip
    result = run(cfg)
    rates = pd.read_csv(result.outputs["rates_csv"], sep=" ")
    assert rates["timestamps"].max() == pytest.approx(0.399)  # padded with gray to tstop
    bad = _config(tmp_path, {"movie": {**GRATING, "speed": 3}}, {"spikes_file": "s.h5"})
    with pytest.raises(ConfigError, match="speed"):
        run(bad)
