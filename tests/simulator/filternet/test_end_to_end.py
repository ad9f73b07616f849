"""Gratings -> filternet LGN spikes -> pointnet L4 built with the retinotopic rule.

L4 cells wired retinotopically (ON and OFF subfields side by side along their preferred
orientation) must be more orientation selective than the same cells when the LGN -> L4
connectivity is shuffled (LGN ids relabelled by a random permutation, which keeps every
in- and out-degree).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_module

ORIENTATIONS = np.arange(0.0, 180.0, 30.0)
N_L4 = 40


def _build(tmp: Path) -> Path:
    from bmtoolkit.builder import NetworkBuilder, write_circuit
    from bmtoolkit.builder.lgn import LGNTypeSpec, lgn_node_groups
    from bmtoolkit.builder.rules.retinotopic import RetinotopicLGN

    lgn = NetworkBuilder("lgn")
    types = (LGNTypeSpec("sON_TF4", 120, (2.0, 4.0)), LGNTypeSpec("sOFF_TF4", 120, (2.0, 4.0)))
    for props in lgn_node_groups(field_size=(60.0, 60.0), tiles=(3, 3), types=types, seed=5):
        lgn.add_nodes(**props)
    rng = np.random.default_rng(0)
    l4 = NetworkBuilder("l4")
    l4.add_nodes(
        N=N_L4,
        model_type="point_neuron",
        model_template="nest:iaf_psc_exp",
        dynamics_params="l4.json",
        tuning_angle=np.linspace(0.0, 180.0, N_L4, endpoint=False),
        vx=30.0 + rng.uniform(-5.0, 5.0, N_L4),
        vy=30.0 + rng.uniform(-5.0, 5.0, N_L4),
    )
    rule = RetinotopicLGN(n_on=15, n_off=15, length=15.0, width=5.0, separation=5.0,
                          subtype_column="model_name", visual_columns=("vx", "vy"))  # fmt: skip
    l4.add_edges(source=lgn.nodes(), target=l4.nodes(), connection_rule=rule, syn_weight=1000.0,
                 delay=1.5, model_template="static_synapse", dynamics_params="exc.json")  # fmt: skip
    comp = tmp / "components"
    comp.mkdir()
    (comp / "l4.json").write_text(json.dumps({
        "C_m": 250.0, "tau_m": 10.0, "E_L": -70.0, "V_th": -55.0, "V_reset": -70.0,
        "t_ref": 2.0, "tau_syn_ex": 2.0, "I_e": -300.0,
    }))  # fmt: skip
    (comp / "exc.json").write_text("{}")
    lgn.build(seed=1)
    l4.build(seed=2)
    return write_circuit([lgn, l4], tmp / "network",
                         components={"point_neuron_models_dir": str(comp),
                                     "synaptic_models_dir": str(comp)})  # fmt: skip


def _config(tmp: Path, circuit: Path, name: str, inputs: dict, dt: float) -> Path:
    cfg = {
        "network": str(circuit),
        "run": {"tstop": 2000.0, "dt": dt, "random_seed": 7},
        "inputs": inputs,
        "output": {"output_dir": str(tmp / name), "spikes_file": "spikes.h5"},
        "node_sets": {"lgn": {"population": "lgn"}},
    }
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(cfg))
    return path


def _osi(counts: np.ndarray) -> np.ndarray:
    """Orientation selectivity index per cell; ``counts`` is (orientations, cells)."""
    z = (counts * np.exp(2j * np.deg2rad(ORIENTATIONS))[:, None]).sum(axis=0)
    return np.abs(z) / np.maximum(counts.sum(axis=0), 1e-12)


@pytest.mark.slow
@pytest.mark.nest
def test_retinotopic_l4_is_more_orientation_selective_than_shuffled(tmp_path):
    require_module("nest")
    from scipy.stats import mannwhitneyu

    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_spikes, write_spikes

    circuit = _build(tmp_path)
    n_lgn = 2 * 120 * 9
    perm = np.random.default_rng(9).permutation(n_lgn)
    counts: dict[str, list[np.ndarray]] = {"retinotopic": [], "shuffled": []}
    for ori in ORIENTATIONS:
        grating = {"input_type": "movie", "module": "grating", "row_size": 60, "col_size": 60,
                   "sf": 0.1, "tf": 2.0, "orientation": float(ori), "contrast": 1.0}  # fmt: skip
        lgn_run = run(_config(tmp_path, circuit, f"lgn{int(ori)}", {"movie": grating}, 1.0),
                      backend="filternet")  # fmt: skip
        spikes = read_spikes(lgn_run.outputs["spikes"])
        assert set(spikes["population"]) == {"lgn"} and len(spikes) > n_lgn
        shuffled = spikes.copy()
        shuffled["node_id"] = perm[shuffled["node_id"].to_numpy()]
        shuffled_path = tmp_path / f"lgn{int(ori)}" / "shuffled.h5"
        write_spikes(shuffled_path, shuffled)
        for key, path in (("retinotopic", lgn_run.outputs["spikes"]),
                          ("shuffled", str(shuffled_path))):  # fmt: skip
            inputs = {"lgn": {"input_type": "spikes", "module": "sonata", "input_file": path,
                              "node_set": "lgn"}}  # fmt: skip
            out = run(_config(tmp_path, circuit, f"l4_{key}{int(ori)}", inputs, 0.1),
                      backend="pointnet")  # fmt: skip
            l4 = read_spikes(out.outputs["spikes"], population="l4")
            counts[key].append(np.bincount(l4["node_id"], minlength=N_L4))
    ret = np.asarray(counts["retinotopic"], dtype=float)
    shuf = np.asarray(counts["shuffled"], dtype=float)
    assert ret.sum(axis=0).min() > 0 and shuf.sum() > 0  # every L4 cell responds
    osi_ret, osi_shuf = _osi(ret), _osi(shuf)
    assert osi_ret.mean() > osi_shuf.mean() + 0.05
    assert mannwhitneyu(osi_ret, osi_shuf, alternative="greater").pvalue < 0.01
