"""The conformance examples give BMTK's BioNet spikes exactly under ``bmtoolkit run``.

BMTK's BioNet and ``bmtoolkit run`` simulate the same example (shared conformance data, read
in place) in separate processes with the same NMODL library: bmtoolkit's
(``bmtoolkit/simulator/bionet/nmodl``, compiled by ``compile_mechanisms``), plus BMTK's own
``vecevent.mod`` for BMTK's virtual cells. Reports are left out and runs shortened to keep the
suite fast; clamps use the population as node set because BMTK 1.2.0 resolves the examples'
``{"model_type": "biophysical"}`` node set to no cell at all (docs/differences_from_bmtk.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bmtk_parity.conftest import read_spikes_file, run_bmtk, run_bmtoolkit
from tests.bmtk_parity.test_pointnet_parity import assert_same_spikes
from tests.conftest import require_module


def _absolute(manifest: dict, folder: Path) -> None:
    for key, value in manifest.items():
        if isinstance(value, str) and (value == "." or value.startswith(("./", "../"))):
            manifest[key] = str((folder / value).resolve())


def example_configs(example: Path, tmp: Path, tstop: float) -> tuple[Path, Path]:
    """Configs of ``example`` for BMTK and for bmtoolkit, writing into ``tmp``."""
    spec = json.loads((example / "simulation_config.json").read_text())
    circuit = json.loads((example / "circuit_config.json").read_text())
    _absolute(circuit["manifest"], example)
    circuit["components"].pop("mechanisms_dir", None)  # the library is loaded by the drivers
    (tmp / "circuit_config.json").write_text(json.dumps(circuit))
    _absolute(spec["manifest"], example)
    spec["network"] = str(tmp / "circuit_config.json")
    spec["run"]["tstop"] = tstop
    spec.pop("reports", None)
    # the population of the circuit's first nodes file stands for "biophys_cells"
    first = Path(circuit["networks"]["nodes"][0]["nodes_file"]).name
    for item in spec.get("inputs", {}).values():
        if item.get("node_set") == "biophys_cells":
            item["node_set"] = first[: -len("_nodes.h5")]
    out = []
    for tool in ("bmtk", "bmtoolkit"):
        tool_spec = json.loads(json.dumps(spec))
        tool_spec["manifest"]["$OUTPUT_DIR"] = str(tmp / f"out_{tool}")
        tool_spec["output"]["output_dir"] = str(tmp / f"out_{tool}")
        path = tmp / f"{tool}.json"
        path.write_text(json.dumps(tool_spec))
        out.append(path)
    return out[0], out[1]


def _require_peers() -> None:
    require_module("neuron")
    require_module("bmtk")


@pytest.mark.slow  # compiles the NMODL library twice on an empty cache
def test_5_cells_iclamp_gives_bmtk_spikes(sonata_examples, tmp_path):
    """Five biophysical cells (Allen perisomatic models) driven by a current clamp."""
    _require_peers()
    bmtk_cfg, ours_cfg = example_configs(sonata_examples / "5_cells_iclamp", tmp_path, 1200.0)
    assert_same_spikes(run_bmtk(bmtk_cfg, simulator="bionet"), run_bmtoolkit(ours_cfg),
                       min_spikes=20)  # fmt: skip


@pytest.mark.slow
def test_9_cells_gives_bmtk_spikes(sonata_examples, tmp_path):
    """Nine biophysical cells driven through synapses by virtual cells' spike trains."""
    _require_peers()
    bmtk_cfg, ours_cfg = example_configs(sonata_examples / "9_cells", tmp_path, 1000.0)
    theirs_out = run_bmtk(bmtk_cfg, simulator="bionet")
    assert_same_spikes(theirs_out, run_bmtoolkit(ours_cfg), min_spikes=20)
    assert set(read_spikes_file(theirs_out / "spikes.h5")["population"]) == {"cortex"}
