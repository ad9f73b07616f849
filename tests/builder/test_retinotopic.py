"""Retinotopic LGN -> L4 rule: each L4 cell's summed receptive field follows its orientation."""

from __future__ import annotations

import numpy as np

from bmtoolkit.builder import NetworkBuilder
from bmtoolkit.builder.rules import RetinotopicLGN, orientation_difference

DEG_PER_UM = 0.1


def _build(seed=0):
    rng = np.random.default_rng(seed)
    lgn = NetworkBuilder("lgn")
    n_lgn = 8000
    subtype = rng.choice(np.array(["sON_TF8", "sOFF_TF4", "sONsOFF_001"]), n_lgn, p=[0.4, 0.4, 0.2])
    lgn.add_nodes(
        N=n_lgn,
        model_type="virtual",
        x=rng.uniform(-50, 50, n_lgn),
        y=rng.uniform(-50, 50, n_lgn),
        subtype=subtype,
    )
    l4 = NetworkBuilder("l4")
    n_l4 = 400
    r = 300 * np.sqrt(rng.random(n_l4))
    phi = rng.uniform(0, 2 * np.pi, n_l4)
    pos = np.column_stack([r * np.cos(phi), rng.uniform(-50, 50, n_l4), r * np.sin(phi)])
    l4.add_nodes(
        N=n_l4, positions=pos, tuning_angle=rng.uniform(0, 180, n_l4), model_type="point_neuron"
    )
    rule = RetinotopicLGN(
        n_on=12, n_off=12, length=16.0, width=5.0, separation=5.0, deg_per_um=DEG_PER_UM
    )
    lgn.add_edges(source=lgn.nodes(), target=l4.nodes(), connection_rule=rule, syn_weight=1.0)
    lgn.build(seed=seed)
    return lgn, l4


def _rf_axes(lgn, l4):
    """Per L4 cell: orientation of the ON/OFF border and of the |summed RF| second moment."""
    df = lgn.edges_table()
    ltab, ttab = lgn.node_table(), l4.node_table()
    xy = np.column_stack([ltab.column("x"), ltab.column("y")])
    kind = np.array([RetinotopicLGN.subtype_of(s) for s in ltab.column("subtype")])
    sign = np.where(kind == "ON", 1.0, np.where(kind == "OFF", -1.0, 0.0))
    pos = ttab.positions()
    grid = np.stack(np.meshgrid(np.linspace(-15, 15, 61), np.linspace(-15, 15, 61)), -1)
    border, moment, theta = [], [], []
    for t, group in df.groupby("target_node_id"):
        src = group["source_node_id"].to_numpy()
        centre = DEG_PER_UM * pos[t, [0, 2]]
        rel = xy[src] - centre
        w = sign[src]
        on, off = rel[w > 0].mean(axis=0), rel[w < 0].mean(axis=0)
        dipole = on - off
        border.append(np.degrees(np.arctan2(dipole[1], dipole[0])) + 90.0)
        # summed receptive field: ON minus OFF gaussians (2 deg) on a grid around the cell
        d2 = ((grid[:, :, None, :] - rel[None, None, :, :]) ** 2).sum(-1)
        rf = (np.exp(-d2 / (2 * 2.0**2)) * w).sum(-1)
        mass = np.abs(rf).ravel()
        pts = grid.reshape(-1, 2)
        mean = (pts * mass[:, None]).sum(0) / mass.sum()
        cov = np.cov((pts - mean).T, aweights=mass)
        evals, evecs = np.linalg.eigh(cov)
        major = evecs[:, -1]
        moment.append(np.degrees(np.arctan2(major[1], major[0])))
        theta.append(ttab.column("tuning_angle")[t])
    return np.array(border), np.array(moment), np.array(theta)


def test_summed_receptive_field_is_elongated_along_preferred_orientation():
    lgn, l4 = _build()
    df = lgn.edges_table()
    assert df["target_node_id"].nunique() == l4.nnodes
    indeg = df.groupby("target_node_id").size()
    assert indeg.min() >= 16 and indeg.max() <= 24 and indeg.mean() > 20
    border, moment, theta = _rf_axes(lgn, l4)
    border_ok = orientation_difference(border, theta) <= 20.0
    moment_ok = orientation_difference(moment, theta) <= 20.0
    assert border_ok.mean() >= 0.9, border_ok.mean()
    # the second moment of |RF| is a noisier estimate (ON/OFF units cancel, lobes overlap)
    assert moment_ok.mean() >= 0.75, moment_ok.mean()


def test_inputs_lie_inside_their_subfields():
    lgn, l4 = _build(seed=1)
    df = lgn.edges_table()
    ltab, ttab = lgn.node_table(), l4.node_table()
    xy = np.column_stack([ltab.column("x"), ltab.column("y")])
    centre = DEG_PER_UM * ttab.positions()[df["target_node_id"].to_numpy()][:, [0, 2]]
    dist = np.linalg.norm(xy[df["source_node_id"].to_numpy()] - centre, axis=1)
    # subfield centres are 2.5 deg off the cell centre; sample points lie within 8 deg along and
    # 2.5 deg across, and a unit is at most 2.5 deg from its point
    assert dist.max() <= np.hypot(8.0, 5.0) + 2.5 + 1e-9
    assert not df.duplicated(["source_node_id", "target_node_id"]).any()
