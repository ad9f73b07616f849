"""BMTK tutorial-style scripts run with only ``bmtk`` -> ``bmtoolkit`` in their imports.

The scripts in ``pointnet/`` and ``bionet/`` are written the way BMTK's tutorials write them
(build with ``bmtk.builder.networks`` and ``bmtk.builder.auxi``, Poisson inputs with
``bmtk.utils.reports.spike_trains``, a ``run_*.py`` with ``Config.from_json`` ...
``sim.run()``, plots with ``bmtk.analyzer``). Each test runs them twice, in separate
processes: as written, with BMTK 1.2.0, and with the import lines rewritten to bmtoolkit;
then compares what both built (populations, node counts and properties, edges of the
deterministic rules pair by pair) and checks every output of ours exists and reads back.
The spikes of the two runs are not compared: the random draws (positions, Poisson inputs,
random rules) come from different streams.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import conformance_root, require_module

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
#: an import line of a bmtk module, e.g. "from bmtk.builder import X" or "import bmtk.analyzer"
BMTK_IMPORT = re.compile(r"^(\s*(?:from|import)\s+)bmtk(?=[.\s])", re.MULTILINE)


def to_bmtoolkit(text: str) -> str:
    """The script with ``bmtk`` replaced by ``bmtoolkit`` in its import lines only."""
    return BMTK_IMPORT.sub(r"\1bmtoolkit", text)


def _components(name: str) -> Path:
    root = conformance_root() / "bmtk_examples" / name
    if not root.is_dir():
        pytest.skip(
            f"BMTK example components not found at {root}; set BMTOOLKIT_CONFORMANCE to the "
            "folder holding bmtk_examples/"
        )
    return root


def _stage(kind: str, dest: Path, components: Path, *, ours: bool) -> Path:
    """Copy the ``kind`` scripts into ``dest`` (imports rewritten when ``ours``)."""
    dest.mkdir(parents=True)
    (dest / "inputs").mkdir()
    for script in sorted((HERE / kind).iterdir()):
        if script.suffix not in (".py", ".json"):
            continue
        text = script.read_text()
        if script.name == "config.json":
            text = text.replace(f"@{kind.replace('net', '').upper()}_COMPONENTS@", str(components))
        elif ours:
            new = to_bmtoolkit(text)
            changed = [
                (a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True) if a != b
            ]
            assert all(a.lstrip().startswith(("from bmtk", "import bmtk")) for a, _ in changed)
            assert "bmtk." not in new.replace("bmtoolkit", "")
            text = new
        (dest / script.name).write_text(text)
    return dest


def _run(script: str, cwd: Path, *args: str, ours: bool) -> str:
    """Run ``script`` as ``python script args`` in ``cwd``; return its output, fail loudly."""
    env = dict(os.environ, MPLBACKEND="Agg", PYNEST_QUIET="1")
    env.pop("DISPLAY", None)
    # bmtoolkit from this tree for our scripts; nothing extra on the path for BMTK's
    env["PYTHONPATH"] = str(REPO) if ours else ""
    proc = subprocess.run(
        [sys.executable, script, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    who = "bmtoolkit" if ours else "BMTK"
    assert proc.returncode == 0, f"{script} with {who} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _figures(folder: Path, *names: str) -> None:
    """Each file is a PNG image of a drawn figure (not an empty canvas)."""
    import matplotlib.image

    for name in names:
        image = matplotlib.image.imread(folder / name)
        assert image.shape[0] > 200 and image.shape[1] > 200, name
        assert np.unique(image.reshape(-1, image.shape[-1]), axis=0).shape[0] > 10, name


def _nodes(folder: Path, name: str):
    from bmtoolkit.sonata import read_nodes

    net = folder / "network"
    return read_nodes(net / f"{name}_nodes.h5", net / f"{name}_node_types.csv")


def _edges(folder: Path, name: str):
    from bmtoolkit.sonata import read_edges

    net = folder / "network"
    (pop,) = read_edges(net / f"{name}_edges.h5", net / f"{name}_edge_types.csv").values()
    return pop


def _pairs(edges, type_id: int) -> set[tuple[int, int, int]]:
    """``(source, target, nsyns)`` of the edges of one edge type."""
    keep = np.asarray(edges.edge_type_ids()) == type_id
    src = np.asarray(edges.source_node_ids())[keep]
    trg = np.asarray(edges.target_node_ids())[keep]
    nsyns = np.asarray(edges.column("nsyns"))[keep]
    return set(zip(src.tolist(), trg.tolist(), nsyns.astype(int).tolist(), strict=True))


def _type_counts(edges) -> dict[int, int]:
    ids, counts = np.unique(np.asarray(edges.edge_type_ids()), return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


def _same_nodes(ours: Path, peer: Path, name: str, columns: tuple[str, ...]) -> None:
    (a,) = _nodes(ours, name).values()
    (b,) = _nodes(peer, name).values()
    assert a.name == b.name and a.size == b.size
    ids = np.asarray(a.ids())
    for col in columns:
        mine, theirs = pd.Series(a.column(col, ids)), pd.Series(b.column(col, ids))
        assert mine.equals(theirs), (col, mine.tolist(), theirs.tolist())


@pytest.fixture(scope="module")
def pointnet_runs(pointnet_tutorial):
    """The pointnet tutorial run by BMTK and by bmtoolkit: ``(our folder, BMTK's folder)``."""
    return pointnet_tutorial


def run_pointnet_tutorial(base: Path) -> tuple[Path, Path]:
    """Run the pointnet scripts with bmtoolkit and with BMTK under ``base``."""
    require_module("nest")
    require_module("bmtk")
    components = _components("point_components")
    folders = {}
    for ours in (True, False):
        d = _stage("pointnet", base / ("ours" if ours else "bmtk"), components, ours=ours)
        for script in ("build_network.py", "create_inputs.py", "run_pointnet.py"):
            _run(script, d, ours=ours)
        folders[ours] = d
    _run("plot_output.py", folders[True], ours=True)
    return folders[True], folders[False]


def test_pointnet_tutorial_builds_what_bmtk_builds(pointnet_runs):
    ours, peer = pointnet_runs
    _same_nodes(ours, peer, "V1", ("pop_name", "ei", "model_template", "tuning_angle"))
    _same_nodes(ours, peer, "LGN", ("pop_name", "model_type"))
    (v1,) = _nodes(ours, "V1").values()
    pos = np.column_stack([v1.column(c, v1.ids()) for c in ("x", "y", "z")])
    assert (np.hypot(pos[:, 0], pos[:, 2]) <= 30.0).all()  # positions_columinar's cylinder
    assert ((pos[:, 1] >= 0.0) & (pos[:, 1] <= 100.0)).all()
    rot = np.asarray(v1.column("rotation_angle_yaxis", v1.ids()))
    assert ((rot >= 0) & (rot < 2 * np.pi)).all() and np.unique(rot).size == rot.size

    a, b = _edges(ours, "V1_V1"), _edges(peer, "V1_V1")
    # type 100: a deterministic callable rule; 101: random p=0.15 among 30 x 30 pairs;
    # 102: distance_connector, p <= 0.34, 1-3 synapses, among 30 x 10 pairs
    assert _pairs(a, 100) == _pairs(b, 100) and len(_pairs(a, 100)) > 0
    counts_a, counts_b = _type_counts(a), _type_counts(b)
    assert sorted(counts_a) == sorted(counts_b) == [100, 101, 102]
    assert 0.15 * 870 - 5 * 10.5 < counts_a[101] < 0.15 * 870 + 5 * 10.5
    # distance_connector draws from Python's unseeded `random`: a binomial count with a mean
    # of at most 300 * 0.34, so the bound allows four standard deviations above that
    assert 20 < counts_a[102] < 300 * 0.34 + 4 * (300 * 0.34 * 0.66) ** 0.5
    assert set(np.asarray(a.column("nsyns"))[np.asarray(a.edge_type_ids()) == 102]) <= {
        1,
        2,
        3,
    }
    # add_properties('syn_weight', rule=...): one weight per edge of type 101, in (0, 30]
    w = np.asarray(a.column("syn_weight"))[np.asarray(a.edge_type_ids()) == 101]
    assert np.isfinite(w).all() and ((w > 0) & (w <= 30.0)).all() and np.unique(w).size > 1

    la, lb = _edges(ours, "LGN_V1"), _edges(peer, "LGN_V1")
    assert _type_counts(la) == _type_counts(lb)
    for type_id in _type_counts(la):
        assert _pairs(la, type_id) == _pairs(lb, type_id)


def test_pointnet_tutorial_inputs_and_outputs(pointnet_runs):
    from bmtoolkit.sonata import read_frame_report, read_spikes

    ours, peer = pointnet_runs
    for folder in (ours, peer):
        lgn = read_spikes(folder / "inputs" / "lgn_spikes.h5")
        assert set(lgn["population"]) == {"LGN"} and set(lgn["node_id"]) <= set(range(20))
        assert lgn["timestamp"].between(0.0, 500.0).all()  # times=(0.0, 0.5) in seconds
        assert 0.5 * 20 * 15 * 0.5 < len(lgn) < 2 * 20 * 15 * 0.5
        csv = read_spikes(folder / "inputs" / "lgn_spikes.csv")
        assert len(csv) == len(lgn)
        spikes = read_spikes(folder / "output" / "spikes.h5")
        assert (spikes["population"] == "V1").all() and len(spikes) > 0
        assert (folder / "output" / "membrane_potential.h5").stat().st_size > 0
    (report,) = read_frame_report(ours / "output" / "membrane_potential.h5").values()
    assert report is not None
    _figures(ours, "raster.png", "rates.png", "rates_box.png", "traces.png")


def test_spike_table_is_bmtks(pointnet_runs):
    """to_dataframe(config_file=...) gives BMTK's table of the same run, column for column."""
    ours, _ = pointnet_runs
    table = pd.read_csv(ours / "spikes_table.csv")
    assert list(table.columns) == ["timestamps", "node_ids", "population"]
    code = (
        "import sys; from bmtk.analyzer.spike_trains import to_dataframe; "
        "to_dataframe(config_file='config.json').to_csv(sys.argv[1], index=False)"
    )
    out = ours / "bmtk_table.csv"
    env = dict(os.environ, PYTHONPATH="", MPLBACKEND="Agg")
    subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=ours, env=env, check=True, timeout=120
    )
    peer = pd.read_csv(out)
    assert list(peer.columns) == list(table.columns)
    key = ["population", "node_ids", "timestamps"]
    a = table.sort_values(key).reset_index(drop=True)
    b = peer.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_our_loaders_take_a_config_or_a_spikes_file(pointnet_runs):
    from bmtoolkit.analyzer import load_spikes, plot_raster
    from bmtoolkit.sonata import read_spikes

    ours, _ = pointnet_runs
    config, spikes_file = ours / "config.json", ours / "output" / "spikes.h5"
    direct = read_spikes(spikes_file)
    via_config = load_spikes(str(config), properties=["pop_name"])
    assert via_config[["population", "node_id", "timestamp"]].equals(direct)
    assert set(via_config["pop_name"]) <= {"Scnn1a", "PV"} and via_config["pop_name"].notna().all()
    fig, ax = plot_raster(str(spikes_file))
    assert len(ax.collections) == 1 and len(ax.collections[0].get_offsets()) == len(direct)
    fig, ax = plot_raster(config, group_by="pop_name")
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(direct)
    with pytest.raises(Exception, match="give a simulation config"):
        plot_raster(str(spikes_file), group_by="pop_name")


@pytest.fixture(scope="module")
def bionet_runs(tmp_path_factory):
    """The bionet tutorial: built and run by bmtoolkit; built (and inputs made) by BMTK."""
    require_module("neuron")
    require_module("bmtk")
    components = _components("bio_components")
    base = tmp_path_factory.mktemp("bionet_tutorial")
    ours = _stage("bionet", base / "ours", components, ours=True)
    peer = _stage("bionet", base / "bmtk", components, ours=False)
    for script in ("build_network.py", "create_inputs.py"):
        _run(script, ours, ours=True)
        _run(script, peer, ours=False)
    _run("run_bionet.py", ours, "config.json", ours=True)
    _run("plot_output.py", ours, ours=True)
    return ours, peer


def test_bionet_tutorial_runs(bionet_runs):
    from bmtoolkit.sonata import read_frame_report, read_spikes

    ours, peer = bionet_runs
    _same_nodes(ours, peer, "mcortex", ("model_template", "morphology", "dynamics_params"))
    _same_nodes(ours, peer, "mthalamus", ("pop_name", "model_type"))
    a, b = _edges(ours, "mthalamus_mcortex"), _edges(peer, "mthalamus_mcortex")
    assert _type_counts(a) == _type_counts(b) == {100: 5}
    assert _pairs(a, 100) == _pairs(b, 100)

    for folder in (ours, peer):
        inputs = read_spikes(folder / "inputs" / "mthalamus_spikes.h5")
        assert set(inputs["population"]) == {"mthalamus"}
        assert set(inputs["node_id"]) <= set(range(5)) and inputs["timestamp"].max() <= 300.0
    spikes = read_spikes(ours / "output" / "spikes.h5")
    assert set(spikes["population"]) == {"mcortex"}
    t = spikes["timestamp"]
    assert t.between(0.0, 300.0).all()
    assert (t < 100.0).any()  # before the clamp: driven by the Poisson inputs through the edges
    assert t.between(100.0, 250.0).sum() >= 3  # during the clamp
    (report,) = read_frame_report(ours / "output" / "membrane_potential.h5").values()
    assert report is not None
    table = pd.read_csv(ours / "spikes_table.csv")
    assert list(table.columns) == ["timestamps", "node_ids", "population"]
    assert len(table) == len(spikes)
    _figures(ours, "raster.png", "traces.png")
