"""What ``bmtoolkit create-environment`` writes for a backend: the :class:`Scaffold` data.

Each backend that offers an example folder declares ``scaffold="pkg.scaffold:scaffold"`` in
its :class:`~bmtoolkit.simulator.core.spec.BackendSpec`; that function returns a
:class:`Scaffold` for a simulated time, and the command writes it (configs, components,
``build_network.py``). Every such function builds it with :func:`backend_scaffold`, which
lays out what all scaffolds share (the script's :data:`HEADER`, the simulation config's
``target_simulator`` and ``run`` block); :func:`poisson_input` and :func:`spikes_input`
are the input pieces several use.

Examples
--------
>>> s = backend_scaffold("TOY", 10.0, dt=0.1, network="net = NetworkBuilder('net')",
...                      nodes=("net",), components={}, component_dirs={})
>>> s.nodes, "NetworkBuilder" in s.build_script, s.simulation["run"]
(('net',), True, {'tstop': 10.0, 'dt': 0.1, 'random_seed': 1})
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


def backend_scaffold(
    target_simulator: str,
    tstop: float,
    *,
    dt: float,
    network: str,
    nodes: tuple[str, ...],
    components: Mapping[str, Any],
    component_dirs: Mapping[str, str],
    edges: tuple[str, ...] = (),
    run: Mapping[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
    seed: int = 1,
    **sections: Any,
) -> Scaffold:
    """A backend's ``create-environment`` folder, laid out as every backend's is.

    Parameters
    ----------
    target_simulator : str
        The simulation config's ``target_simulator`` (chooses the backend).
    tstop : float
        Simulated time (ms), ``run.tstop``.
    dt : float
        ``run.dt`` (ms).
    network : str
        The lines of ``build_network.py`` after :data:`HEADER` (which defines
        ``NetworkBuilder``, ``NETWORK_DIR``, ``INPUTS_DIR`` and ``rng``).
    nodes, edges : tuple of str
        Network file stems the script writes.
    components, component_dirs, files
        As in :class:`Scaffold`.
    run : mapping, optional
        More ``run`` keys, after ``tstop`` and ``dt`` (``dL``, ``spike_threshold`` ...).
    seed : int
        ``run.random_seed`` and the seed of the script's ``rng``.
    **sections
        Further simulation config sections, in this order (``conditions``, ``inputs``,
        ``reports``, ``output`` ...).

    Examples
    --------
    >>> s = backend_scaffold("NEST", 100.0, dt=0.1, network="", nodes=("v1",), components={},
    ...                      component_dirs={}, run={"nthreads": 2}, inputs={})
    >>> list(s.simulation), s.simulation["run"]
    (['target_simulator', 'run', 'inputs'], {'tstop': 100.0, 'dt': 0.1, 'nthreads': 2, 'random_seed': 1})
    """
    return Scaffold(
        components=components,
        build_script=HEADER.replace("SEED", str(seed)) + network,
        nodes=nodes,
        edges=edges,
        simulation={
            "target_simulator": target_simulator,
            "run": {"tstop": tstop, "dt": dt, **(run or {}), "random_seed": seed},
            **sections,
        },
        component_dirs=component_dirs,
        files=files or {},
    )


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
