"""Subprocess drivers of the parity tests (run as a script, never imported by the tests).

``python drivers.py bmtk pointnet CONFIG [--connections]``
    runs CONFIG the way BMTK's tutorial ``run_pointnet.py`` does (``Config.from_json``,
    ``PointNetwork.from_config``, ``PointSimulator.from_config``, ``sim.run()``).
``python drivers.py bmtk bionet CONFIG [--vecstim]``
    the same with BMTK's BioNet; the NMODL files are bmtoolkit's library (with ``--vecstim``
    plus BMTK's own ``vecevent.mod`` for its virtual cells), compiled by
    :func:`bmtoolkit.simulator.bionet.mechanisms.compile_mechanisms` and loaded first.
``python drivers.py bmtoolkit pointnet CONFIG --connections``
    builds the network with bmtoolkit's PointNet and saves NEST's connection list.

With ``--connections`` NEST's connections are saved to ``<output_dir>/connections.npz`` with
SONATA ids (source population, source id, target id, weight, delay, synapse model).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def _save_connections(out_dir: Path, nest_to_sonata: dict[int, tuple[str, int]]) -> None:
    import nest

    conns = nest.GetConnections()
    if len(conns) == 0:
        data = {"source": [], "target": [], "weight": [], "delay": [], "synapse_model": []}
    else:
        data = conns.get(["source", "target", "weight", "delay", "synapse_model"])
    keep = [
        i
        for i, (s, t) in enumerate(zip(data["source"], data["target"], strict=True))
        if s in nest_to_sonata and t in nest_to_sonata
    ]
    np.savez(
        out_dir / "connections.npz",
        source_population=np.array([nest_to_sonata[data["source"][i]][0] for i in keep]),
        source=np.array([nest_to_sonata[data["source"][i]][1] for i in keep], dtype=np.int64),
        target=np.array([nest_to_sonata[data["target"][i]][1] for i in keep], dtype=np.int64),
        weight=np.array([data["weight"][i] for i in keep], dtype=float),
        delay=np.array([data["delay"][i] for i in keep], dtype=float),
        synapse_model=np.array([str(data["synapse_model"][i]) for i in keep]),
    )


def bmtk_pointnet(config: str, connections: bool) -> None:
    from bmtk.simulator import pointnet

    conf = pointnet.Config.from_json(config)
    conf.build_env()
    net = pointnet.PointNetwork.from_config(conf)
    sim = pointnet.PointSimulator.from_config(conf, net)
    sim.run()
    if connections:
        mapping: dict[int, tuple[str, int]] = {}
        for pop in net.node_populations:
            if pop.name in net._virtual_ids_map:
                for node_id, nest_id in net._virtual_ids_map[pop.name].items():
                    mapping[int(nest_id)] = (pop.name, int(node_id))
            if pop.internal_nodes_only or pop.mixed_nodes:
                batches = [b for b in pop.get_nodes() if b.model_type != "virtual"]
                ids = np.concatenate([np.asarray(b.node_ids, dtype=np.int64) for b in batches])
                nest_ids = net.gid_map.get_nestids(pop.name, ids)
                for node_id, nest_id in zip(ids, nest_ids, strict=True):
                    mapping[int(nest_id)] = (pop.name, int(node_id))
        _save_connections(Path(conf.output_dir), mapping)


def _xstim_on_neuron9() -> None:
    """BMTK 1.2.0's xstim and comsol register ``PtrVector.ptr_update_callback`` (which also
    sets the pointers), gone in NEURON 9, whose pointers follow the data by themselves: the
    same setup, with the pointers set at once."""
    from bmtk.simulator.bionet import biocell
    from neuron import h

    if hasattr(h.PtrVector(1), "ptr_update_callback"):
        return

    def setup_xstim(self, set_nrn_mechanism=True):
        self.ptr2e_extracellular = h.PtrVector(self.morphology.nseg)
        if set_nrn_mechanism:
            for sec in self.hobj.all:
                sec.insert("extracellular")
        self.set_ptr2e_extracellular()  # NEURON 9's pointers stay valid once set

    biocell.BioCell.setup_xstim = setup_xstim


def bmtk_bionet(config: str, vecstim: bool) -> None:
    # BMTK replays virtual cells with VecStim, which it ships as vecevent.mod next to its
    # example mechanisms; it is compiled with bmtoolkit's library for BMTK's run
    import bmtk
    from bmtk.simulator import bionet
    from neuron import h

    from bmtoolkit.simulator.bionet.mechanisms import builtin_mod_files, compile_mechanisms

    vecevent = Path(bmtk.__file__).parent / "utils/scripts/bionet/mechanisms/modfiles/vecevent.mod"
    lib = compile_mechanisms([*builtin_mod_files(), *([vecevent] if vecstim else [])])
    h.nrn_load_dll(str(lib))
    _xstim_on_neuron9()
    conf = bionet.Config.from_json(config)
    conf.build_env()
    net = bionet.BioNetwork.from_config(conf)
    sim = bionet.BioSimulator.from_config(conf, network=net)
    sim.run()


def bmtoolkit_pointnet(config: str) -> None:
    from bmtoolkit.simulator import PointNet

    backend = PointNet.from_config(config)
    backend.setup()
    backend.build_network()
    mapping: dict[int, tuple[str, int]] = {}
    for name, pop in backend.populations.items():
        ids = pop.source_ids if pop.virtual else pop.nest_ids
        for node_id, nest_id in enumerate(ids):
            mapping[int(nest_id)] = (name, node_id)
    out = Path(json.loads(Path(config).read_text())["output"]["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    _save_connections(out, mapping)


def main(argv: list[str]) -> None:
    tool, simulator, config = argv[:3]
    connections = "--connections" in argv
    if tool == "bmtk" and simulator == "pointnet":
        bmtk_pointnet(config, connections)
    elif tool == "bmtk" and simulator == "bionet":
        bmtk_bionet(config, "--vecstim" in argv)
    elif tool == "bmtoolkit" and simulator == "pointnet":
        bmtoolkit_pointnet(config)
    else:
        raise SystemExit(f"unknown driver {tool} {simulator}")


if __name__ == "__main__":
    main(sys.argv[1:])
