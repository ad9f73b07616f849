"""The ``bmtoolkit create-environment --backend bionet`` example folder.

Examples
--------
>>> s = scaffold(100.0)
>>> s.simulation["run"]["tstop"]
100.0
"""

from __future__ import annotations

from typing import Any

from bmtoolkit.simulator.core.scaffold import (
    Scaffold,
    backend_scaffold,
    poisson_input,
    spikes_input,
)


def _ball_and_stick_swc() -> str:
    """Soma (radius 10 um), two basal dendrites, one apical dendrite, an axon stub."""
    lines = ["# ball-and-stick cell: soma, 2 basal and 1 apical dendrite, axon",
             "1 1 0.0 0.0 0.0 10.0 -1"]  # fmt: skip
    n = 1

    def branch(kind: int, direction: tuple[float, float, float], length: float,
               radius: float, parent: int = 1, steps: int = 10) -> None:  # fmt: skip
        nonlocal n
        prev = parent
        for k in range(1, steps + 1):
            n += 1
            x, y, z = (c * (10.0 + length * k / steps) for c in direction)
            lines.append(f"{n} {kind} {x:.2f} {y:.2f} {z:.2f} {radius:.2f} {prev}")
            prev = n

    branch(3, (0.7, -0.7, 0.0), 150.0, 0.6)
    branch(3, (-0.7, -0.7, 0.0), 150.0, 0.6)
    branch(4, (0.0, 1.0, 0.0), 400.0, 1.0, steps=20)
    branch(2, (0.0, -1.0, 0.3), 60.0, 0.5, steps=3)
    return "\n".join(lines) + "\n"


def _ball_and_stick_fit() -> dict[str, Any]:
    """Allen perisomatic-style fit (passive, genome, conditions) for the ball-and-stick cell."""

    def gene(section: str, name: str, value: float, mech: str = "") -> dict[str, Any]:
        return {"section": section, "name": name, "value": value, "mechanism": mech}

    genome = []
    for sec in ("soma", "axon", "dend", "apic"):
        genome.append(gene(sec, "g_pas", 5e-5 if sec in ("dend", "apic") else 1e-4))
    genome += [
        gene("soma", "gbar_NaV", 0.06, "NaV"),
        gene("soma", "gbar_Kv3_1", 0.5, "Kv3_1"),
        gene("soma", "gbar_Kd", 0.005, "Kd"),
        gene("soma", "gbar_Ih", 5e-5, "Ih"),
        gene("axon", "gbar_NaV", 0.1, "NaV"),
        gene("axon", "gbar_Kv3_1", 0.8, "Kv3_1"),
        gene("apic", "gbar_Ih", 1e-4, "Ih"),
    ]
    return {
        "passive": [{"ra": 100.0, "e_pas": -72.0,
                     "cm": [{"section": s, "cm": 1.0} for s in ("soma", "axon", "dend", "apic")]}],
        "conditions": [{"celsius": 34.0, "v_init": -72.0,
                        "erev": [{"section": s, "ena": 53.0, "ek": -107.0}
                                 for s in ("soma", "axon")]}],
        "genome": genome,
    }  # fmt: skip


def scaffold(tstop: float) -> Scaffold:
    """The example folder of ``bmtoolkit create-environment --backend bionet``."""
    network = '''
# two biophysical ball-and-stick cells (Allen perisomatic-style fit, channels shipped with
# bmtoolkit's NEURON backend) and 20 virtual input cells
bio = NetworkBuilder("bio")
bio.add_nodes(
    N=2, pop_name="ball_and_stick", ei="e", model_type="biophysical",
    model_template="ctdb:Biophys1.hoc", model_processing="aibs_perisomatic",
    dynamics_params="ball_and_stick_fit.json", morphology="ball_and_stick.swc",
    x=[0.0, 100.0], y=[0.0, 0.0], z=[0.0, 0.0],
)
virt = NetworkBuilder("virt")
virt.add_nodes(N=20, pop_name="input", ei="e", model_type="virtual")
virt.add_edges(source=virt.nodes(), target=bio.nodes(), connection_rule="fixed_probability",
               connection_params={"p": 0.8, "nsyns": (2, 4)}, syn_weight=0.0004, delay=2.0,
               target_sections=["dend", "apic"], distance_range=[0.0, 300.0],
               model_template="Exp2Syn", dynamics_params="AMPA_ExcToExc.json")
bio.build(seed=2)
virt.build(seed=3)
bio.save(output_dir=NETWORK_DIR)
virt.save(output_dir=NETWORK_DIR)
''' + poisson_input("virt", 20, 10.0, tstop / 1000.0, 4)  # fmt: skip
    return backend_scaffold(
        "NEURON",
        tstop,
        dt=0.1,
        network=network,
        nodes=("bio", "virt"),
        edges=("virt_bio",),
        components={
            "biophysical_neuron_models/ball_and_stick_fit.json": _ball_and_stick_fit(),
            "morphologies/ball_and_stick.swc": _ball_and_stick_swc(),
            "synaptic_models/AMPA_ExcToExc.json": {
                "level_of_detail": "exp2syn",
                "tau1": 1.0,
                "tau2": 3.0,
                "erev": 0.0,
            },
            "mechanisms/modfiles/README.txt": (
                "Put extra NMODL (.mod) files here; bmtoolkit compiles them together with the\n"
                "channels it ships (NaV, Kv3_1, Kd, Ih, ...) on the first run.\n"
            ),
        },  # fmt: skip
        component_dirs={
            "biophysical_neuron_models_dir": "biophysical_neuron_models",
            "morphologies_dir": "morphologies",
            "synaptic_models_dir": "synaptic_models",
            "mechanisms_dir": "mechanisms",
        },
        run={"dL": 20.0, "spike_threshold": -15.0},
        conditions={"celsius": 34.0, "v_init": -72.0},
        inputs={
            "virt_spikes": spikes_input("virt"),
            "current_clamp": {
                "input_type": "current_clamp",
                "module": "IClamp",
                "node_set": {"population": "bio"},
                "amp": 0.15,
                "delay": tstop * 0.25,
                "duration": tstop * 0.5,
            },
        },
        reports={
            "membrane_potential": {
                "cells": {"population": "bio"},
                "variable_name": "v",
                "module": "membrane_report",
                "sections": "soma",
            },
        },
    )
