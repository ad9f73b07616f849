"""Synapse locations on biophysical targets: SWC sections as bionet numbers them, statistics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from bmtoolkit.builder import NetworkBuilder, write_circuit
from bmtoolkit.builder.bionet import rand_syn_locations
from bmtoolkit.builder.synapses import (
    BMTK_NAMES,
    BMTK_SWC_NAMES,
    SONATA_NAMES,
    SynapseLocations,
)
from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError
from bmtoolkit.models.morphology import read_sections
from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

MORPHS = (
    "Nr5a1_471087815_m.swc",
    "Pvalb_469628681_m.swc",
    "Pvalb_470522102_m.swc",
    "Rorb_325404214_m.swc",
    "Scnn1a_473845048_m.swc",
)

# multi-point soma with branches at its first point, an interior point and its end; a type
# change along a branch; a zero-length section NEURON drops
MULTI_SOMA = """\
1 1 0 0 0 5 -1
2 1 0 3 0 5 1
3 1 0 6 0 5 2
4 1 0 9 0 4 3
5 3 2 0 0 1 1
6 3 12 0 0 1 5
7 3 20 5 0 1 6
8 3 20 -5 0 1 6
9 4 0 20 0 1 4
10 4 0 40 0 1 9
11 2 0 40 0 1 10
12 2 5 60 0 1 11
13 3 -5 4 0 1 3
14 3 -15 4 0 1 13
15 3 -15 4 0 1 14
16 3 -30 10 0 1 14
17 3 -30 10 0 1 16
"""
# neuromorpho three-point soma (a sphere)
THREE_POINT_SOMA = """\
1 1 0 0 0 6 -1
2 1 0 -6 0 6 1
3 1 0 6 0 6 1
4 3 6 0 0 1 1
5 3 30 0 0 1 4
6 4 0 10 0 1 1
7 4 0 50 3 1 6
8 4 10 80 3 1 7
9 4 -10 80 3 1 7
10 2 0 -10 0 1 1
11 2 0 -40 0 1 10
"""

# a branch attached to the first point of a dendrite that is wired to a one-point soma (NEURON
# connects it to the dendrite's 0 end); no axon
WIRED_BRANCH = """\
1 1 0 0 0 5 -1
2 3 8 0 0 1 1
3 3 20 0 0 1 2
4 3 30 0 0 1 3
5 3 8 10 0 1 2
6 3 8 20 0 1 5
7 4 0 10 0 1 1
8 4 0 30 0 1 7
9 4 5 40 0 1 8
10 4 -5 40 0 1 8
11 3 -8 0 0 1 1
12 3 -20 0 0 1 11
"""
# a branched soma (three soma sections) with dendrites on its interior and its ends
BRANCHED_SOMA = """\
1 1 0 0 0 5 -1
2 1 0 3 0 5 1
3 1 0 6 0 5 2
4 1 3 6 0 4 3
5 1 6 6 0 4 4
6 1 -3 6 0 4 3
7 3 0 20 0 1 3
8 3 0 30 0 1 7
9 3 10 0 0 1 2
10 3 20 0 0 1 9
11 4 9 6 0 1 5
12 4 19 6 0 1 11
13 2 0 -10 0 1 1
14 2 0 -20 0 1 13
"""


def _morph_dir(sonata_examples: Path) -> Path:
    return sonata_examples / "shared_components" / "morphologies"


def _neuron_sections(path: Path, axon: str):
    from neuron import h

    from bmtoolkit.simulator.bionet.morphology import load_swc, stub_axon

    cell = load_swc(path)
    if axon != "full":
        stub_axon(cell, style="allactive" if axon == "stub_allactive" else "perisomatic")
    h.distance(0, 0.5, sec=cell.soma[0])
    rows = []
    for sec in cell.all:
        ref = h.SectionRef(sec=sec)
        parent = ref.parent.name().split(".", 1)[1] if ref.has_parent() else None
        rows.append(
            (
                sec.name().split(".", 1)[1],
                sec.L,
                parent,
                h.distance(0, sec=sec),
                h.distance(1, sec=sec),
            )
        )
    return rows


def test_sections_equal_neurons_import3d(sonata_examples, tmp_path):
    require_module("neuron")
    files = [_morph_dir(sonata_examples) / m for m in MORPHS]
    for name, text in (
        ("multi.swc", MULTI_SOMA),
        ("three.swc", THREE_POINT_SOMA),
        ("wired.swc", WIRED_BRANCH),
        ("branched.swc", BRANCHED_SOMA),
    ):
        files.append(tmp_path / name)
        files[-1].write_text(text)
    for path in files:
        has_axon = 2 in np.loadtxt(path, comments="#", ndmin=2)[:, 1]
        for axon in ("full", "stub", "stub_allactive") if has_axon else ("full",):
            ref = _neuron_sections(path, axon)
            tree = read_sections(path, axon=axon)
            assert list(tree.names) == [r[0] for r in ref], path.name
            np.testing.assert_allclose(tree.length, [r[1] for r in ref], rtol=1e-6, atol=1e-5)
            parents = [tree.names[p] if p >= 0 else None for p in tree.parent]
            assert parents == [r[2] for r in ref], path.name
            ids = np.arange(len(tree))
            for x, col in ((0.0, 3), (1.0, 4)):
                np.testing.assert_allclose(
                    tree.distance(ids, np.full(len(tree), x)),
                    [r[col] for r in ref],
                    rtol=1e-6,
                    atol=1e-4,
                    err_msg=f"{path.name} distance at x={x}",
                )


def test_reader_errors(tmp_path):
    with pytest.raises(MissingFileError):
        read_sections(tmp_path / "absent.swc")
    bad = tmp_path / "bad.swc"
    bad.write_text("1 1 0 0 0 5 -1\n2 3 0 x 0 1 1\n")
    with pytest.raises(SonataFormatError, match="line 2"):
        read_sections(bad)
    two_roots = tmp_path / "roots.swc"
    two_roots.write_text("1 1 0 0 0 5 -1\n2 3 0 5 0 1 -1\n")
    with pytest.raises(SonataFormatError, match="single tree"):
        read_sections(two_roots)
    no_soma = tmp_path / "nosoma.swc"
    no_soma.write_text("1 3 0 0 0 1 -1\n2 3 0 5 0 1 1\n")
    with pytest.raises(SonataFormatError, match="soma"):
        read_sections(no_soma)
    with pytest.raises(ConfigError, match="axon"):
        read_sections(bad, axon="none")


def _network(
    morph_dir,
    rule,
    n_targets=10,
    nsyns=40,
    names=SONATA_NAMES,
    seed=3,
    processing="aibs_perisomatic",
    dtypes=(np.int32, np.float32),
    **etype,
):
    net = NetworkBuilder("cortex")
    morphs = [m.removesuffix(".swc") for m in MORPHS]
    net.add_nodes(
        N=n_targets,
        model_type="biophysical",
        model_processing=processing,
        morphology=[morphs[i % len(morphs)] for i in range(n_targets)],
        positions=np.zeros((n_targets, 3)),
    )
    inputs = NetworkBuilder("inputs")
    inputs.add_nodes(N=5, model_type="virtual")
    cm = inputs.add_edges(
        source=inputs.nodes(),
        target=net.nodes(),
        connection_rule=nsyns,
        model_template="Exp2Syn",
        **etype,
    )
    cm.add_properties(list(names), rule=rule, dtypes=list(dtypes))
    inputs.build(seed=seed)
    return net, inputs


def _allowed_cdf(tree, types, d_min, d_max, sec, x, grid=4001):
    """Fraction of the allowed length before each (sec, x), by brute force on a grid."""
    xs = np.linspace(0.0, 1.0, grid)
    allowed = np.zeros(len(tree))
    before_x = np.zeros(len(sec))
    for s in range(len(tree)):
        if tree.swc_type[s] not in types:
            continue
        d = tree.distance(np.full(grid, s), xs)
        ok = ((d >= d_min) & (d <= d_max)).astype(float)
        allowed[s] = np.trapezoid(ok, xs) * tree.length[s]
        rows = np.flatnonzero(sec == s)
        if len(rows):
            cum = np.concatenate([[0.0], np.cumsum((ok[1:] + ok[:-1]) / 2 * np.diff(xs))])
            before_x[rows] = np.interp(x[rows], xs, cum) * tree.length[s]
    start = np.concatenate([[0.0], np.cumsum(allowed)[:-1]])
    return (start[sec] + before_x) / allowed.sum()


@pytest.mark.parametrize(
    ("sections", "types", "d_range"),
    [
        (["basal", "apical"], (3, 4), (50.0, 250.0)),
        ("soma", (1,), (0.0, 3.0)),
        (["somatic", "dend"], (1, 3), (0.0, 1e9)),
    ],
)
def test_locations_follow_types_distances_and_length(sonata_examples, sections, types, d_range):
    morph_dir = _morph_dir(sonata_examples)
    rule = SynapseLocations(morph_dir, sections=sections, distance_range=d_range)
    net, inputs = _network(morph_dir, rule)
    edges = inputs.edges_table()
    assert len(edges) == 5 * 10 * 40
    for i, name in enumerate(MORPHS):
        rows = edges["target_node_id"].to_numpy() % len(MORPHS) == i
        sec = edges["afferent_section_id"].to_numpy()[rows]
        x = edges["afferent_section_pos"].to_numpy()[rows].astype(float)
        tree = read_sections(morph_dir / name)
        assert np.isin(tree.swc_type[sec], types).all(), name
        d = tree.distance(sec, x)
        assert d.min() >= d_range[0] - 1e-3 and d.max() <= d_range[1] + 1e-3, name
        assert ((x >= 0) & (x <= 1)).all()
        # uniform by length over the allowed part of the tree
        cdf = _allowed_cdf(tree, types, *d_range, sec, x)
        assert stats.kstest(cdf, "uniform").pvalue > 1e-3, name


def test_reproducible_and_seed_dependent(sonata_examples):
    morph_dir = _morph_dir(sonata_examples)

    def locations(seed):
        rule = SynapseLocations(morph_dir, ["basal", "apical"], (0.0, 400.0))
        _, inputs = _network(morph_dir, rule, n_targets=5, nsyns=4, seed=seed)
        e = inputs.edges_table()
        return e["afferent_section_id"].to_numpy(), e["afferent_section_pos"].to_numpy()

    a, b, c = locations(7), locations(7), locations(8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert a[0].dtype == np.int32 and a[1].dtype == np.float32


def test_bmtk_names_and_edge_type_defaults(sonata_examples):
    morph_dir = _morph_dir(sonata_examples)
    rule = SynapseLocations(morph_dir)  # sections and range from the edge type
    _, inputs = _network(
        morph_dir,
        rule,
        n_targets=5,
        nsyns=20,
        names=BMTK_NAMES,
        target_sections=["basal"],
        distance_range="[30.0, 80.0]",  # as read back from an edge types CSV
    )
    e = inputs.edges_table()
    for i, name in enumerate(MORPHS):
        rows = e["target_node_id"].to_numpy() % len(MORPHS) == i
        tree = read_sections(morph_dir / name)
        sec, x = e["sec_id"].to_numpy()[rows], e["sec_x"].to_numpy()[rows]
        assert (tree.swc_type[sec] == 3).all(), name
        d = tree.distance(sec, x)
        assert d.min() >= 30.0 - 1e-3 and d.max() <= 80.0 + 1e-3


def test_rule_errors(sonata_examples, tmp_path):
    morph_dir = _morph_dir(sonata_examples)
    with pytest.raises(ConfigError, match="unknown section type"):
        SynapseLocations(morph_dir, sections="spine")
    with pytest.raises(ConfigError, match="distance_range"):
        SynapseLocations(morph_dir, distance_range=(10.0, 5.0))
    net = NetworkBuilder("cortex")
    net.add_nodes(N=2, model_type="biophysical", morphology="Scnn1a_473845048_m")
    cm = net.add_edges(connection_rule=1)
    with pytest.raises(ConfigError, match="sets 2 properties"):
        cm.add_properties(["sec_id"], rule=SynapseLocations(morph_dir))
    # the stub axon (two 30 um sections) ends 60 um from the soma
    stub = SynapseLocations(morph_dir, "axon", (100.0, 200.0), axon="stub")
    cm.add_properties(SONATA_NAMES, rule=stub)
    with pytest.raises(ConfigError, match="no section of types"):
        net.build(seed=1)
    missing = NetworkBuilder("cortex")
    missing.add_nodes(N=2, model_type="biophysical", morphology="nothere")
    cm = missing.add_edges(connection_rule=1)
    cm.add_properties(SONATA_NAMES, rule="synapse_locations", rule_params={"morphologies_dir": "."})
    with pytest.raises(MissingFileError, match="nothere"):
        missing.build(seed=1)
    point = NetworkBuilder("points")
    point.add_nodes(N=2, model_type="point_neuron")
    cm = point.add_edges(connection_rule=1)
    cm.add_properties(SONATA_NAMES, rule=SynapseLocations(tmp_path))
    with pytest.raises(ConfigError, match="need a 'morphology' per target"):
        point.build(seed=1)


def test_axon_numbering_follows_model_processing(sonata_examples):
    morph_dir = _morph_dir(sonata_examples)
    rule = SynapseLocations(morph_dir, ["soma", "axon"], (0.0, 40.0))
    for processing, axon in (("fullaxon", "full"), ("aibs_allactive", "stub_allactive")):
        _, inputs = _network(morph_dir, rule, n_targets=5, nsyns=50, processing=processing)
        e = inputs.edges_table()
        for i, name in enumerate(MORPHS):
            rows = e["target_node_id"].to_numpy() % len(MORPHS) == i
            tree = read_sections(morph_dir / name, axon=axon)
            sec = e["afferent_section_id"].to_numpy()[rows]
            assert np.isin(tree.swc_type[sec], (1, 2)).all(), (processing, name)
            assert (tree.swc_type[sec] == 2).any(), (processing, name)
            d = tree.distance(sec, e["afferent_section_pos"].to_numpy()[rows])
            assert d.max() <= 40.0 + 1e-3


def test_bmtk_rand_syn_locations_runs_vectorized(sonata_examples):
    morph_dir = _morph_dir(sonata_examples)
    params = {"sections": ["basal", "apical"], "distance_range": [10.0, 120.0]}
    net = NetworkBuilder("cortex")
    net.add_nodes(
        N=5,
        model_type="biophysical",
        model_processing="aibs_perisomatic",
        morphology=[m.removesuffix(".swc") for m in MORPHS],
    )
    cm = net.add_edges(connection_rule=6, model_template="Exp2Syn")
    cm.add_properties(
        list(BMTK_SWC_NAMES),
        rule=rand_syn_locations,
        rule_params={**params, "morphology_dir": str(morph_dir)},
        dtypes=[np.int32, np.float32, np.int64, np.float32],
    )
    net.build(seed=4)
    e = net.edges_table()
    assert len(e) == 5 * 5 * 6  # every pair, 6 synapses each
    for i, name in enumerate(MORPHS):
        rows = e["target_node_id"].to_numpy() == i
        tree = read_sections(morph_dir / name)
        sec = e["afferent_section_id"].to_numpy()[rows]
        assert np.isin(tree.swc_type[sec], (3, 4)).all()
        # the SWC point lies in the section, with a position in [0, 1]
        for s, swc_id in zip(sec, e["afferent_swc_id"].to_numpy()[rows]):
            assert swc_id in tree.swc_ids[tree.swc_offsets[s] : tree.swc_offsets[s + 1]]
        pos = e["afferent_swc_pos"].to_numpy()[rows]
        assert ((pos >= 0) & (pos <= 1)).all()
    # called per pair, as BMTK does, it gives one location of the same kind
    trg = {"node_id": 0, "morphology": MORPHS[4], "model_processing": "aibs_perisomatic"}
    sec_id, sec_x, swc_id, _ = rand_syn_locations({}, trg, morphology_dir=morph_dir, **params)
    tree = read_sections(morph_dir / MORPHS[4])
    assert tree.swc_type[sec_id] in (3, 4) and 10.0 - 1e-6 <= tree.distance(sec_id, sec_x)
    assert swc_id in tree.swc_ids


def _nine_cells_like(sonata_examples: Path, out: Path) -> Path:
    """Three Allen cells of 9_cells driven by its 10 virtual inputs through placed synapses."""
    from bmtoolkit.sonata import validate_config

    comps = sonata_examples / "shared_components"
    cortex = NetworkBuilder("cortex")
    for tid, (model, morph) in enumerate(
        [
            ("Cell_472363762", "Scnn1a_473845048_m"),
            ("Cell_473863510", "Rorb_325404214_m"),
            ("Cell_473863035", "Nr5a1_471087815_m"),
        ]
    ):
        cortex.add_nodes(
            N=1,
            node_type_id=100 + tid,
            ei="e",
            model_type="biophysical",
            model_processing="aibs_perisomatic",
            model_template=f"nml:nml/{model}.cell.nml",
            morphology=morph,
            dynamics_params="NONE",
            positions=np.zeros((1, 3)),
        )
    excvirt = NetworkBuilder("excvirt")
    excvirt.add_nodes(N=10, model_type="virtual", ei="e")
    cm = excvirt.add_edges(
        source=excvirt.nodes(),
        target=cortex.nodes(),
        connection_rule=8,
        syn_weight=0.00034,
        delay=2.0,
        dynamics_params="AMPA_ExcToExc.json",
        model_template="Exp2Syn",
    )
    cm.add_properties(
        SONATA_NAMES,
        rule=SynapseLocations(comps / "morphologies", ["basal", "apical"], (0.0, 150.0)),
        dtypes=[np.int32, np.float32],
    )
    cortex.build(seed=1)
    excvirt.build(seed=1)
    circuit = write_circuit(
        [cortex, excvirt],
        out / "network",
        components={
            "morphologies_dir": str(comps / "morphologies"),
            "synaptic_models_dir": str(comps / "synaptic_models"),
            "biophysical_neuron_models_dir": str(comps / "biophysical_neuron_templates"),
        },
    )
    problems = validate_config(circuit)
    assert problems == [], problems
    sim = {
        "run": {"tstop": 500.0, "dt": 0.1, "dL": 20.0, "spike_threshold": -15},
        "target_simulator": "NEURON",
        "network": str(circuit),
        "conditions": {"celsius": 34.0, "v_init": -80},
        "inputs": {
            "exc_spikes": {
                "input_type": "spikes",
                "module": "h5",
                "input_file": str(sonata_examples / "9_cells" / "inputs" / "exc_spike_trains.h5"),
                "node_set": {"population": "excvirt"},
            }
        },
        "output": {"output_dir": str(out / "output"), "spikes_file": "spikes.h5"},
    }
    config = out / "simulation_config.json"
    config.write_text(json.dumps(sim, indent=2))
    assert validate_config(config) == []
    return config


def test_placed_synapses_validate_and_run_in_bionet(sonata_examples, tmp_path):
    config = _nine_cells_like(sonata_examples, tmp_path)
    require_module("neuron")
    from bmtoolkit.simulator.core.runner import run
    from bmtoolkit.sonata import read_spikes

    result = run(config, backend="bionet", output_dir=tmp_path / "output")
    spikes = read_spikes(result.outputs["spikes"])
    # every cell is driven through the synapses placed on its dendrites
    assert set(spikes["population"]) == {"cortex"}
    assert spikes["node_id"].nunique() == 3
