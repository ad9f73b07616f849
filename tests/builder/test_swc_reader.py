"""``bmtoolkit.builder.bionet.swc_reader`` against BMTK 1.2.0's ``SWCReader`` (which uses NEURON).

For every morphology of BMTK's bio examples, with the axon as read, replaced (``fix_axon``) or
deleted, with one segment per section and with ``set_segment_dl``: the same segments (section
id, type, centre, length, distance from the soma's 0 end), the same candidates and
probabilities from ``find_sections``, the same ``get_swc_id``; and the same choices from
``choose_sections`` for the same ``rng_seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bmtoolkit.builder.bionet.swc_reader import SWCReader, get_swc
from bmtoolkit.exceptions import ConfigError, MissingFileError
from tests.bmtk_parity.conftest import _env
from tests.conftest import conformance_root, require_module

RULES = [
    (["soma", "dend", "apic"], [0.0, 1.0e20]),
    (["basal", "apical"], [30.0, 150.0]),
    (["somatic", "basal"], [0.0, 1.0e20]),
    (["somatic", "basal", "apical"], [0.0, 50.0]),
    (["apical"], [200.0, 400.0]),
]


def _morphologies() -> list[Path]:
    root = conformance_root() / "bmtk_examples" / "bio_components" / "morphologies"
    if not root.is_dir():
        pytest.skip(f"BMTK example morphologies not found at {root}")
    return sorted(root.glob("*.swc"))


def _prepare(reader, axon: str, dl: float | None):
    if dl:
        reader.set_segment_dl(dl)
    if axon == "fixed":
        reader.fix_axon()
    elif axon == "deleted":
        reader.delete_axon()
    return reader


#: BMTK's reader, run in its own process: importing it loads BMTK's bionet hoc files, which
#: replace NEURON's ``fadvance`` for the rest of the process
_PEER_SCRIPT = """
import json, sys
import numpy as np
from bmtk.builder.bionet.swc_reader import SWCReader
from tests.builder.test_swc_reader import _prepare

paths, axon, dl, rules, out = json.loads(sys.argv[1])
arrays = {}
for k, path in enumerate(paths):
    reader = _prepare(SWCReader(path, rng_seed=7), axon, dl)
    props = reader.seg_props
    for name in ("sec_id", "type", "x", "length", "dist"):
        arrays[f"{k}/{name}"] = np.asarray(getattr(props, name))
    for r, (names, d_range) in enumerate(rules):
        seg, prob = reader.find_sections(names, d_range)
        arrays[f"{k}/{r}/seg"], arrays[f"{k}/{r}/p"] = np.asarray(seg), np.asarray(prob)
        if len(seg):
            sec, x = reader.choose_sections(names, d_range, n_sections=20)
            arrays[f"{k}/{r}/sec"], arrays[f"{k}/{r}/xs"] = np.asarray(sec), np.asarray(x)
            if axon != "full":
                ids = [reader.get_swc_id(s, xx) for s, xx in zip(sec.tolist(), x.tolist())]
                arrays[f"{k}/{r}/swc"] = np.asarray(ids, dtype=float)
np.savez(out, **arrays)
"""


def _bmtk_reference(paths: list[Path], axon: str, dl: float | None, tmp_path: Path) -> dict:
    """What BMTK's ``SWCReader`` gives for every morphology, computed in a child process."""
    import json
    import subprocess
    import sys

    out = tmp_path / "peer.npz"
    args = json.dumps([[str(p) for p in paths], axon, dl, RULES, str(out)])
    proc = subprocess.run([sys.executable, "-c", _PEER_SCRIPT, args], capture_output=True,
                          text=True, env=_env(), timeout=600, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize(("axon", "dl"), [("full", None), ("fixed", None), ("fixed", 20.0),
                                          ("deleted", None)])  # fmt: skip
def test_segments_and_choices_equal_bmtks_swc_reader(axon, dl, tmp_path):
    require_module("neuron")
    require_module("bmtk")
    paths = _morphologies()
    peer = _bmtk_reference(paths, axon, dl, tmp_path)
    n_segments = 0
    for k, path in enumerate(paths):
        ours = _prepare(SWCReader(path, rng_seed=7), axon, dl)
        a = ours.seg_props
        assert ours.nseg == len(peer[f"{k}/x"]), path.name
        np.testing.assert_array_equal(a.sec_id, peer[f"{k}/sec_id"])
        np.testing.assert_array_equal(a.type, peer[f"{k}/type"])
        np.testing.assert_allclose(a.x, peer[f"{k}/x"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(a.length, peer[f"{k}/length"], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(a.dist, peer[f"{k}/dist"], rtol=1e-6, atol=1e-4)
        for r, (names, d_range) in enumerate(RULES):
            seg_a, p_a = ours.find_sections(names, d_range)
            np.testing.assert_array_equal(seg_a, peer[f"{k}/{r}/seg"])
            np.testing.assert_allclose(p_a, peer[f"{k}/{r}/p"], rtol=1e-6, atol=1e-9)
            if len(peer[f"{k}/{r}/seg"]):
                sec_a, x_a = ours.choose_sections(names, d_range, n_sections=20)
                np.testing.assert_array_equal(sec_a, peer[f"{k}/{r}/sec"])
                np.testing.assert_array_equal(x_a, peer[f"{k}/{r}/xs"])
                if axon != "full":  # BMTK's swc ids follow its own section names
                    ids = [ours.get_swc_id(s, x) for s, x in zip(sec_a.tolist(), x_a.tolist(),
                                                                  strict=True)]  # fmt: skip
                    np.testing.assert_allclose(ids, peer[f"{k}/{r}/swc"], rtol=0, atol=1e-9)
        n_segments += len(peer[f"{k}/x"])
    assert n_segments > 100


def test_get_swc_reads_a_nodes_morphology_and_caches_it():
    path = _morphologies()[0]
    cell = {"node_id": 3, "population": "v1", "morphology": path.stem, "x": 1.0,
            "model_processing": "aibs_perisomatic"}  # fmt: skip
    swc = get_swc(cell, morphology_dir=path.parent, use_cache=True)
    assert swc.sections[-2:] == ("axon[0]", "axon[1]")  # fixed axon, last in the list
    assert swc.soma_coords.tolist() == [1.0, 0.0, 0.0]
    assert get_swc(cell, morphology_dir=path.parent, use_cache=True) is swc
    assert get_swc(cell, morphology_dir=path.parent) is not swc


def test_unseeded_readers_follow_numpys_global_seed():
    """Two runs of a script seeding numpy.random choose the same sites; two readers of one
    run choose differently."""
    import subprocess
    import sys

    path = _morphologies()[0]
    script = (
        "import sys, numpy as np\n"
        "from bmtoolkit.builder.bionet.swc_reader import SWCReader\n"
        f"np.random.seed(int(sys.argv[1]))\n"
        f"r = [SWCReader({str(path)!r}).choose_sections(['dend'], [0, 1e20], 5)[0].tolist()\n"
        "     for _ in range(2)]\n"
        "print(r)\n"
    )

    def run(seed):
        proc = subprocess.run([sys.executable, "-c", script, str(seed)], capture_output=True,
                              text=True, check=True, timeout=120, env=_env())  # fmt: skip
        return eval(proc.stdout)  # noqa: S307 - our own printed list

    first = run(4)
    assert run(4) == first
    assert first[0] != first[1]  # two readers, two streams
    assert run(5) != first


def test_errors_name_the_problem(tmp_path):
    path = _morphologies()[0]
    with pytest.raises(MissingFileError, match="not found"):
        SWCReader(tmp_path / "none.swc")
    with pytest.raises(MissingFileError, match="node 0"):
        get_swc({"node_id": 0, "morphology": "none"}, morphology_dir=tmp_path)
    reader = SWCReader(path)
    with pytest.raises(ConfigError, match="unknown section name 'dendrite'"):
        reader.find_sections(["dendrite"], [0, 10])
    with pytest.raises(ConfigError, match="no segment"):
        reader.choose_sections(["apical"], [1e9, 2e9])
    with pytest.raises(ConfigError, match="3D segment coordinates are not supported"):
        reader.get_coords(0, 0.5)
    with pytest.raises(ConfigError, match="dL must be > 0"):
        reader.set_segment_dl(0.0)
