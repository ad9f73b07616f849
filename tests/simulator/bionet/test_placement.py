"""Rule-based synapse placement follows BMTK's BioNet: edge type ``target_sections`` and
``distance_range``, length-weighted segments, BMTK's random stream per cell (checked against
BMTK 1.2.0's own ``Morphology.find_sections`` on the same NEURON cell)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")


def test_edge_type_columns_are_parsed_as_bmtk_reads_them():
    from bmtoolkit.simulator.bionet.placement import (
        parse_distance_range,
        parse_target_sections,
        placement_rule,
    )

    assert parse_target_sections("['somatic', 'basal', 'apical']") == (
        "somatic",
        "basal",
        "apical",
    )
    assert parse_target_sections("soma") == ("soma",)
    assert parse_target_sections(float("nan")) is None
    assert parse_distance_range("[0.0, 1e+20]") == (0.0, 1e20)
    assert parse_distance_range("150") == (0.0, 150.0)
    assert parse_distance_range(None) is None
    # lists as bmtoolkit's builder writes them in types tables
    assert parse_target_sections("dend apic") == ("dend", "apic")
    assert parse_distance_range("0.0 300.0") == (0.0, 300.0)
    # the edge type wins over the synapse JSON, which wins over the defaults
    rule = placement_rule("['apical']", None, {"sec_type": ["dend"], "distance_range": [5, 9]})
    assert rule.sections == ("apical",) and rule.distance_range == (5.0, 9.0)
    assert placement_rule(None, None, {}).sections == ("soma", "dend")


def test_bad_target_sections_name_the_column():
    from bmtoolkit.exceptions import ConfigError
    from bmtoolkit.simulator.bionet.placement import parse_distance_range, parse_target_sections

    with pytest.raises(ConfigError, match="expected section lists among"):
        parse_target_sections("['basal', 'tuft']", "v1_v1_edge_types.csv")
    with pytest.raises(ConfigError, match="target_sections"):
        parse_target_sections("['basal'", "v1_v1_edge_types.csv")
    with pytest.raises(ConfigError, match="distance_range"):
        parse_distance_range("near", "v1_v1_edge_types.csv")


@pytest.fixture(scope="module")
def scnn1a_cell(sonata_examples):
    """An Allen perisomatic cell (Scnn1a morphology, NML model, dL 20 um)."""
    require_module("neuron")
    from bmtoolkit.simulator.bionet.cells import CellSpec, build_cell
    from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms

    load_mechanisms()
    comp = sonata_examples / "shared_components"
    spec = CellSpec(
        "v1", 3, 100, "biophysical", "nml:Cell_472363762.cell.nml",
        comp / "morphologies" / "Scnn1a_473845048_m.swc", None, "aibs_perisomatic",
        comp / "biophysical_neuron_templates" / "nml", dL=20.0,
    )  # fmt: skip
    return build_cell(spec)


RULES = [
    (("basal", "apical"), (0.0, 150.0)),
    (("basal", "apical"), (30.0, 150.0)),
    (("somatic", "basal"), (0.0, 1e20)),
    (("somatic", "basal", "apical"), (0.0, 50.0)),
    (("apic",), (100.0, 400.0)),
    (("axon",), (0.0, 45.0)),
]


@pytest.mark.parametrize(("sections", "drange"), RULES)
def test_candidates_and_weights_equal_bmtk_find_sections(scnn1a_cell, sections, drange):
    """Same segments, same probabilities (bit for bit) as BMTK 1.2.0 on the same cell."""
    require_module("bmtk")
    from bmtk.simulator.bionet.morphology import Morphology

    from bmtoolkit.simulator.bionet.placement import segment_props

    theirs = Morphology(hobj=scnn1a_cell.hobj).find_sections(list(sections), list(drange))
    ours = segment_props(scnn1a_cell.sections, scnn1a_cell.soma).find(sections, drange)
    assert len(ours[0]) > 0
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])


def test_sites_are_weighted_by_length_not_uniform_per_segment(scnn1a_cell):
    """A segment's chance is its length inside the range: long segments get more synapses."""
    from bmtoolkit.simulator.bionet.placement import segment_props

    props = segment_props(scnn1a_cell.sections, scnn1a_cell.soma)
    ix, prob = props.find(("basal", "apical"), (0.0, 1e20))
    np.testing.assert_allclose(prob, props.length[ix] / props.length[ix].sum())
    assert prob.max() / prob.min() > 3  # far from uniform
    picks = np.random.RandomState(0).choice(ix, 20000, p=prob)
    counts = np.bincount(np.searchsorted(ix, picks), minlength=len(ix)) / 20000
    long, short = prob > np.quantile(prob, 0.8), prob < np.quantile(prob, 0.2)
    assert counts[long].mean() > 3 * counts[short].mean()


def test_gaussian_ll_weight_equals_bmtk():
    """The ``gaussianLL`` weight function gives BMTK's values edge by edge."""
    require_module("bmtk")
    import pandas as pd
    from bmtk.simulator.bionet.default_setters.synaptic_weights import gaussianLL

    from bmtoolkit.simulator.core.registries import WEIGHT_FUNCTIONS

    rng = np.random.default_rng(1)
    src, tgt = rng.uniform(0, 360, 200), rng.uniform(0, 360, 200)
    edges = pd.DataFrame({"syn_weight": 5e-5, "weight_sigma": 50.0, "nsyns": 3}, index=range(200))
    # the registry gives the connection total (nsyns synapses), BMTK one synapse's weight
    total = WEIGHT_FUNCTIONS.get("gaussianLL")(edges, {"tuning_angle": src}, {"tuning_angle": tgt})
    ours = np.asarray(total) / 3
    theirs = [
        gaussianLL({"syn_weight": 5e-5, "weight_sigma": 50.0}, {"tuning_angle": s},
                   {"tuning_angle": t})
        for s, t in zip(src, tgt, strict=True)
    ]  # fmt: skip
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
