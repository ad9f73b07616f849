"""What ``bmtoolkit create-environment`` writes for a backend: the :class:`Scaffold` data.

Each backend that offers an example folder declares ``scaffold="pkg.scaffold:scaffold"`` in
its :class:`~bmtoolkit.simulator.core.spec.BackendSpec`; that function returns a
:class:`Scaffold` for a simulated time, and the command writes it (configs, components,
``build_network.py``). :data:`HEADER`, :func:`poisson_input` and :func:`spikes_input` are
the pieces scaffolds share.

Examples
--------
>>> s = Scaffold({}, HEADER.replace("SEED", "1"), ("net",), (), {"run": {"tstop": 10.0}})
>>> s.nodes, "NetworkBuilder" in s.build_script
(('net',), True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Scaffold:
    """What one backend's folder holds.

    Attributes
    ----------
    components : mapping
        ``{path under components/: file content}`` (dicts are written as JSON).
    build_script : str
        Source of ``build_network.py``.
    nodes, edges : tuple of str
        Network file stems (``network/<stem>_nodes.h5`` / ``network/<stem>_edges.h5``).
    simulation : mapping
        Simulation config sections besides ``manifest``, ``network``, ``output``.
    component_dirs : mapping
        ``components`` keys of the circuit config -> folder under ``components/``.
    files : mapping
        Other files of the folder: ``{path under the folder: text}`` (input tables ...).
    """

    components: Mapping[str, Any]
    build_script: str
    nodes: tuple[str, ...]
    edges: tuple[str, ...]
    simulation: Mapping[str, Any]
    component_dirs: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)


#: start of every ``build_network.py`` (``SEED`` is replaced by the scaffold's seed)
HEADER = '''"""Build the example network of this folder and its input spikes.

Run again after editing: ``bmtoolkit build build_network.py`` (or ``python build_network.py``).
"""

from pathlib import Path

import numpy as np

from bmtoolkit.builder import NetworkBuilder
from bmtoolkit.simulator import PoissonSpikeGenerator

HERE = Path(__file__).resolve().parent
NETWORK_DIR = HERE / "network"
INPUTS_DIR = HERE / "inputs"
NETWORK_DIR.mkdir(exist_ok=True)
INPUTS_DIR.mkdir(exist_ok=True)
rng = np.random.default_rng(SEED)
'''


def poisson_input(pop: str, n: int, rate: float, tstop_s: float, seed: int) -> str:
    """Lines of ``build_network.py`` writing Poisson spikes of ``n`` virtual nodes."""
    return f"""
# Poisson spike trains of the virtual input population
spikes = PoissonSpikeGenerator(seed={seed}, population="{pop}")
spikes.add(range({n}), {rate}, times=(0.0, {tstop_s}))
spikes.to_sonata(INPUTS_DIR / "{pop}_spikes.h5")
"""


def spikes_input(pop: str) -> dict[str, Any]:
    """The ``inputs`` entry replaying the spikes file :func:`poisson_input` writes."""
    return {
        "input_type": "spikes",
        "module": "sonata",
        "input_file": f"$INPUT_DIR/{pop}_spikes.h5",
        "node_set": {"population": pop},
    }
