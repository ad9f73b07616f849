"""Allen GLIF 1-5: neuron_config -> NEST translation, and NEST vs a numpy reference.

The reference below integrates the GLIF equations of Teeter et al. (2018, Nat. Commun. 9:709)
directly in the Allen ``neuron_config`` units (V, A, F, ohm, s), so it checks the unit
translation and NEST's model at once:

    C dV/dt = I_e + sum_j I_j - G (V - E_L)              (all levels; V relative to E_L)
    dI_j/dt = -k_j I_j                                     (3, 4, 5)
    dTheta_s/dt = -b_s Theta_s                             (2, 4, 5)
    dTheta_v/dt = a_v (V - E_L) - b_v Theta_v              (5)
    spike when V > Theta_inf + Theta_s + Theta_v, then during t_ref nothing evolves, and
    V <- 0 (1, 3) or f_v V + delta_V (2, 4, 5); Theta_s <- Theta_s e^{-b_s t_ref} + a_s;
    I_j <- A_j + R_j I_j e^{-k_j t_ref}

Each step of length h is integrated exactly for a current constant over the step (after-spike
currents enter with their mean over the step).
"""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest

from bmtoolkit.models.allen_glif import (
    GLIF_LEVEL_FLAGS,
    allen_glif_level,
    allen_to_nest_glif,
    nest2_glif_params,
)
from tests.conftest import require_module

#: a hand-written Allen neuron_config with round numbers (GLIF5; lower levels drop parts)
ALLEN_GLIF5 = {
    "El_reference": -0.075,
    "El": 0.0,
    "C": 1.0e-10,
    "R_input": 2.0e8,
    "th_inf": 0.025,
    "init_voltage": 0.0,
    "init_threshold": 0.025,
    "spike_cut_length": 40,
    "dt": 5e-05,
    "asc_tau_array": [0.1, 0.01],
    "asc_amp_array": [-2.0e-11, -5.0e-11],
    "init_AScurrents": [0.0, 0.0],
    "coeffs": {"C": 1.2, "G": 1.1, "th_inf": 1.04, "a": 0.8, "b": 1.2, "asc_amp_array": [1.5, 0.8]},
    "threshold_dynamics_method": {
        "name": "three_components_exact",
        "params": {"a_spike": 0.002, "b_spike": 100.0, "a_voltage": 5.0, "b_voltage": 50.0},
    },
    "voltage_reset_method": {"name": "v_before", "params": {"a": 0.4, "b": 0.003}},
    "AScurrent_dynamics_method": {"name": "exp", "params": {}},
    "AScurrent_reset_method": {"name": "sum", "params": {"r": [1.0, 1.0]}},
    "threshold_reset_method": {"name": "three_components", "params": {}},
    "type": "GLIF",
}


def allen_config(level: int) -> dict:
    """The GLIF5 config reduced to ``level`` the way the Allen database writes each level."""
    cfg = copy.deepcopy(ALLEN_GLIF5)
    if level in (1, 3):
        cfg["threshold_dynamics_method"] = {"name": "inf", "params": {}}
        cfg["voltage_reset_method"] = {"name": "zero", "params": {}}
        cfg["threshold_reset_method"] = {"name": "inf", "params": {}}
    if level in (2, 4):
        cfg["threshold_dynamics_method"] = {
            "name": "spike_component",
            "params": {"a_spike": 0.002, "b_spike": 100.0, "a_voltage": 0.0, "b_voltage": 0.0},
        }
    if level in (1, 2):
        cfg["AScurrent_dynamics_method"] = {"name": "none", "params": {}}
        cfg["asc_amp_array"] = []
        cfg["asc_tau_array"] = []
        cfg["init_AScurrents"] = []
        cfg["coeffs"]["asc_amp_array"] = []
    return cfg


# --------------------------------------------------------------------------- translation
def test_allen_to_nest_translation_matches_hand_derived_values():
    p = allen_to_nest_glif(allen_config(5), tau_syn=[5.5, 8.5])
    expected = {
        "E_L": -75.0,  # (El + El_reference) V -> mV
        "V_m": -75.0,
        "V_reset": -75.0,
        "V_th": -49.0,  # -75 + 0.025 V * 1.04 * 1000
        "C_m": 120.0,  # 1e-10 F * 1.2 -> pF
        "g": 5.5,  # 1.1 / 2e8 ohm -> nS
        "t_ref": 2.0,  # 40 steps * 5e-5 s -> ms
        "th_spike_add": 2.0,  # 0.002 V -> mV
        "th_spike_decay": 0.1,  # 100 /s -> /ms
        "voltage_reset_fraction": 0.4,
        "voltage_reset_add": 3.0,  # 0.003 V -> mV
        "th_voltage_index": 0.004,  # 5 /s * 0.8 -> /ms
        "th_voltage_decay": 0.06,  # 50 /s * 1.2 -> /ms
    }
    for key, value in expected.items():
        assert p[key] == pytest.approx(value, rel=1e-12), key
    np.testing.assert_allclose(p["asc_amps"], [-30.0, -40.0])  # A * coeff -> pA
    np.testing.assert_allclose(p["asc_decay"], [0.01, 0.1])  # 1 / (0.1 s, 0.01 s) -> /ms
    np.testing.assert_allclose(p["asc_init"], [0.0, 0.0])
    np.testing.assert_allclose(p["asc_r"], [1.0, 1.0])
    assert p["tau_syn"] == [5.5, 8.5]
    assert p["spike_dependent_threshold"] and p["after_spike_currents"]
    assert p["adapting_threshold"]


def test_glif1_translation_has_only_lif_parameters():
    cfg = allen_config(1)
    cfg["El"] = 0.001  # El shifts E_L (and the reset potential) by 1 mV
    p = allen_to_nest_glif(cfg)
    assert p["E_L"] == pytest.approx(-74.0)
    assert p["V_reset"] == pytest.approx(-74.0)
    assert p["V_th"] == pytest.approx(-48.0)
    assert not any(k in p for k in ("asc_amps", "th_spike_add", "th_voltage_index"))
    assert p == {**p, **GLIF_LEVEL_FLAGS[1]}


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_glif_level_is_read_from_the_method_names(level):
    assert allen_glif_level(allen_config(level)) == level


def test_bad_allen_config_names_the_missing_field():
    cfg = allen_config(5)
    del cfg["R_input"]
    with pytest.raises(ValueError, match="R_input"):
        allen_to_nest_glif(cfg)


def test_nest2_glif_names_are_renamed():
    model, params = nest2_glif_params(
        "glif_lif_r_asc_a_psc", {"a_spike": 1.0, "b_voltage": 0.2, "k": [0.1], "V_th": -50.0}
    )
    assert model == "glif_psc"
    assert params["th_spike_add"] == 1.0 and params["th_voltage_decay"] == 0.2
    assert params["asc_decay"] == [0.1] and params["V_th"] == -50.0
    assert params["adapting_threshold"]


# --------------------------------------------------------------------------- dynamics
def numpy_glif(cfg: dict, level: int, amp_a: float, onset_s: float, t_s: float, h_s: float):
    """Spike times (ms) of the Teeter et al. GLIF ``level`` in Allen units (see module doc)."""
    co = cfg["coeffs"]
    cap = cfg["C"] * co["C"]
    g = co["G"] / cfg["R_input"]
    tau = cap / g
    th_inf = cfg["th_inf"] * co["th_inf"]
    t_ref_steps = int(cfg["spike_cut_length"])  # Allen dt 5e-5 s == h here
    th = cfg["threshold_dynamics_method"]["params"]
    reset = cfg["voltage_reset_method"]["params"]
    has_r, has_asc, has_a = (level in (2, 4, 5), level in (3, 4, 5), level == 5)
    k = 1.0 / np.asarray(cfg["asc_tau_array"], float) if has_asc else np.zeros(0)
    amps = np.asarray(cfg["asc_amp_array"], float) * np.asarray(co["asc_amp_array"], float)
    r = np.ones(len(k))
    asc = np.zeros(len(k))
    v = th_s = th_v = 0.0
    a_v = th.get("a_voltage", 0.0) * co["a"]
    b_v = th.get("b_voltage", 0.0) * co["b"]
    refractory = 0
    spikes = []
    decay = np.exp(-h_s / tau)
    for step in range(int(round(t_s / h_s))):
        t = step * h_s
        if refractory > 0:
            refractory -= 1
            continue
        i_ext = amp_a if t >= onset_s - 1e-12 else 0.0
        i_asc = float(np.sum(asc * (1.0 - np.exp(-k * h_s)) / (k * h_s))) if has_asc else 0.0
        beta = (i_ext + i_asc) / g
        v_old = v
        v = beta + (v_old - beta) * decay
        if has_a:
            eb = np.exp(-b_v * h_s)
            th_v = (
                th_v * eb
                + a_v * beta / b_v * (1.0 - eb)
                + a_v * (v_old - beta) / (b_v - 1.0 / tau) * (decay - eb)
            )
        asc = asc * np.exp(-k * h_s)
        if has_r:
            th_s *= np.exp(-th["b_spike"] * h_s)
        if v > th_inf + th_s + th_v:
            spikes.append((t + h_s) * 1e3)
            refractory = t_ref_steps
            t_ref = t_ref_steps * h_s
            asc = amps + asc * r * np.exp(-k * t_ref)
            if has_r:
                v = reset["a"] * v_old + reset["b"]
                th_s = th_s * np.exp(-th["b_spike"] * t_ref) + th["a_spike"]
            else:
                v = 0.0
    return np.asarray(spikes)


def nest_glif(params: dict, amp_pa: float, onset_ms: float, t_ms: float, h_ms: float):
    """Spike times of one ``glif_psc`` driven by a step current (delay 1 ms)."""
    nest = require_module("nest")
    nest.ResetKernel()
    nest.resolution = h_ms
    neuron = nest.Create("glif_psc", params=params)
    gen = nest.Create(
        "step_current_generator",
        params={"amplitude_times": [onset_ms - 1.0], "amplitude_values": [amp_pa]},
    )
    rec = nest.Create("spike_recorder")
    nest.Connect(gen, neuron, syn_spec={"delay": 1.0})
    nest.Connect(neuron, rec)
    nest.Simulate(t_ms)
    return np.asarray(rec.get("events")["times"], float)


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_nest_glif_matches_numpy_teeter_reference(level):
    os.environ.setdefault("PYNEST_QUIET", "1")
    require_module("nest")
    cfg = allen_config(level)
    h = 0.05
    params = allen_to_nest_glif(cfg, tau_syn=[2.0])
    amp_pa = 250.0
    expected = numpy_glif(cfg, level, amp_pa * 1e-12, 0.1, 1.0, h * 1e-3)
    got = nest_glif(params, amp_pa, 100.0, 1000.0, h)
    assert len(expected) > 5, "the step current must make the cell fire repeatedly"
    assert len(got) == len(expected)
    np.testing.assert_allclose(got, expected, atol=h + 1e-9)


def test_glif_cond_ports_from_an_allen_config():
    nest = require_module("nest")
    cfg = {**allen_config(4), "tau_syn": [0.2, 2.0], "E_rev": [0.0, -85.0]}
    params = allen_to_nest_glif(cfg, model="glif_cond")
    assert params["tau_syn"] == [0.2, 2.0] and params["E_rev"] == [0.0, -85.0]
    assert params["g_m"] == pytest.approx(5.5) and "g" not in params  # glif_cond name
    nest.ResetKernel()
    cell = nest.Create("glif_cond", params=params)
    gen = nest.Create("spike_generator", params={"spike_times": [10.0]})
    nest.Connect(gen, cell, syn_spec={"receptor_type": 2, "weight": 5.0})  # inhibitory port
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.1})
    nest.Connect(meter, cell)
    nest.Simulate(40.0)
    v = np.asarray(meter.get("events")["V_m"])
    assert v.min() < params["E_L"] - 0.1  # E_rev -85 mV pulls V below rest
