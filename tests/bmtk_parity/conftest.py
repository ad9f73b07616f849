"""Networks built by BMTK 1.2.0's own builder, run by BMTK's PointNet and by ``bmtoolkit run``.

Each tool runs in its own subprocess (NEST keeps state between kernels of one process, and
BMTK's modules hold globals): :data:`BMTK_DRIVER` runs BMTK the way its tutorials' ``run.py``
does, ``python -m bmtoolkit.cli run`` runs ours, both on the same config and files. With
``--connections`` each driver also saves NEST's connection list translated to SONATA ids, so
weights and delays can be compared too (``bmtoolkit_connections`` builds the network with
:class:`~bmtoolkit.simulator.PointNet` for that).

The bionet cases run the conformance examples through :func:`example_configs`; the
:func:`stimulus_parity` fixture is the whole comparison of one extra stimulus (``xstim``,
``comsol``) on the 5_cells_iclamp example, and :func:`assert_same_spikes` the exact spike
comparison every case ends with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import require_module

os.environ.setdefault("PYNEST_QUIET", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("drivers.py")

EXC = {"C_m": 250.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": -70.0, "V_th": -55.0, "V_reset": -70.0}
INH = {"C_m": 200.0, "tau_m": 10.0, "t_ref": 1.0, "E_L": -70.0, "V_th": -52.0, "V_reset": -68.0}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("PYNEST_QUIET", "1")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def _call(args: list[str], cwd: Path, timeout: float = 900) -> None:
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )


def read_spikes_file(path: Path) -> pd.DataFrame:
    """Spikes of a SONATA spikes file, sorted by time then node id (float64 times)."""
    from bmtoolkit.sonata import read_spikes

    df = read_spikes(path)
    df = df.astype({"timestamp": np.float64, "node_id": np.int64})
    return df.sort_values(["timestamp", "node_id"]).reset_index(drop=True)[
        ["population", "node_id", "timestamp"]
    ]


def run_bmtk(
    config: Path, *, connections: bool = False, simulator: str = "pointnet", vecstim: bool = False
) -> Path:
    """Run ``config`` with BMTK's PointNet (or BioNet; ``vecstim`` for networks with virtual
    cells, which BMTK replays with its VecStim mechanism); return its output folder."""
    require_module("bmtk")
    args = [str(DRIVER), "bmtk", simulator, str(config)]
    if connections:
        args.append("--connections")
    if vecstim:
        args.append("--vecstim")
    _call(args, config.parent)
    return Path(json.loads(config.read_text())["output"]["output_dir"])


def run_bmtoolkit(config: Path, *, connections: bool = False) -> Path:
    """Run ``config`` with ``bmtoolkit run`` (and, with ``connections``, save NEST's
    connection list of the network PointNet builds); return the output folder."""
    _call(["-m", "bmtoolkit.cli", "run", "--quiet", str(config)], config.parent)
    if connections:
        _call([str(DRIVER), "bmtoolkit", "pointnet", str(config), "--connections"], config.parent)
    return Path(json.loads(config.read_text())["output"]["output_dir"])


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


def assert_same_spikes(bmtk_out: Path, ours_out: Path, min_spikes: int = 500) -> pd.DataFrame:
    """BMTK's and bmtoolkit's spike files hold exactly the same spikes."""
    theirs = read_spikes_file(bmtk_out / "spikes.h5")
    ours = read_spikes_file(ours_out / "spikes.h5")
    assert len(theirs) >= min_spikes, "the test network must be active"
    if len(ours) != len(theirs) or not ours.equals(theirs):
        n = min(len(ours), len(theirs))
        diff = np.flatnonzero(
            (ours["node_id"].to_numpy()[:n] != theirs["node_id"].to_numpy()[:n])
            | (ours["timestamp"].to_numpy()[:n] != theirs["timestamp"].to_numpy()[:n])
        )
        first = int(diff[0]) if diff.size else n
        pytest.fail(
            f"BMTK {len(theirs)} spikes, bmtoolkit {len(ours)}; first difference at row "
            f"{first}: BMTK {theirs.iloc[first : first + 1].to_dict('records')}, bmtoolkit "
            f"{ours.iloc[first : first + 1].to_dict('records')}"
        )
    return ours


@pytest.fixture
def stimulus_parity(sonata_examples, tmp_path) -> Callable[..., pd.DataFrame]:
    """``stimulus_parity(add_stimulus, tstop=T)``: one bionet stimulus against BMTK's BioNet.

    ``add_stimulus(config, folder) -> config`` adds the stimulus to a config of the
    5_cells_iclamp example (in ``folder``); BMTK and ``bmtoolkit run`` must give the same
    spikes with it, and bmtoolkit other spikes without it (the stimulus matters). ``requires``
    names more modules the stimulus needs; returns bmtoolkit's spikes.
    """

    def check(
        add_stimulus: Callable[[Path, Path], Path],
        *,
        tstop: float,
        requires: tuple[str, ...] = (),
        min_spikes: int = 20,
    ) -> pd.DataFrame:
        for module in ("neuron", "bmtk", *requires):
            require_module(module)
        example = sonata_examples / "5_cells_iclamp"
        plain = tmp_path / "plain"
        plain.mkdir()
        _, ours_plain = example_configs(example, plain, tstop)
        bmtk_cfg, ours_cfg = example_configs(example, tmp_path, tstop)
        bmtk_cfg, ours_cfg = add_stimulus(bmtk_cfg, tmp_path), add_stimulus(ours_cfg, tmp_path)
        ours = assert_same_spikes(
            run_bmtk(bmtk_cfg, simulator="bionet"), run_bmtoolkit(ours_cfg), min_spikes=min_spikes
        )
        without = read_spikes_file(run_bmtoolkit(ours_plain) / "spikes.h5")
        assert not without.equals(ours), "the stimulus does not change the spikes"
        return ours

    return check


def read_connections(out_dir: Path) -> pd.DataFrame:
    """The connection list a driver saved, sorted (SONATA ids, weight, delay, model)."""
    with np.load(out_dir / "connections.npz", allow_pickle=False) as z:
        df = pd.DataFrame({k: z[k] for k in z.files})
    keys = ["source_population", "source", "target", "weight", "delay", "synapse_model"]
    return df.sort_values(keys).reset_index(drop=True)[keys]


def write_components(
    root: Path, cells: dict[str, dict] | None = None, synapses: dict[str, dict] | None = None
) -> dict[str, str]:
    """Cell and synapse parameter files (extra ones by name); returns ``components``."""
    cdir = root / "components" / "cell_models"
    sdir = root / "components" / "synaptic_models"
    cdir.mkdir(parents=True, exist_ok=True)
    sdir.mkdir(parents=True, exist_ok=True)
    for name, params in {"exc.json": EXC, "inh.json": INH, **(cells or {})}.items():
        (cdir / name).write_text(json.dumps(params))
    (sdir / "static.json").write_text("{}")
    (sdir / "tsodyks.json").write_text(json.dumps({"U": 0.5, "tau_rec": 200.0, "tau_fac": 20.0}))
    for name, params in (synapses or {}).items():
        (sdir / name).write_text(json.dumps(params))
    return {"point_neuron_models_dir": str(cdir), "synaptic_models_dir": str(sdir)}


def poisson_inputs(path: Path, population: str, n: int, rate: float, tstop: float, seed: int):
    """15 Hz-style Poisson trains for ``n`` virtual nodes from BMTK's PoissonSpikeGenerator."""
    from bmtk.utils.reports.spike_trains import PoissonSpikeGenerator

    np.random.seed(seed)  # BMTK's generator draws from numpy's global state
    psg = PoissonSpikeGenerator(population=population)
    psg.add(node_ids=list(range(n)), firing_rate=rate, times=(0.0, tstop / 1000.0))
    psg.to_sonata(str(path))


def write_config(
    root: Path,
    net_dir: Path,
    pops: list[str],
    edges: list[tuple[str, str]],
    components: dict[str, str],
    *,
    tstop: float,
    dt: float = 0.1,
    inputs: dict | None = None,
    run: dict | None = None,
    name: str = "config.json",
    output: str = "output",
) -> Path:
    """A BMTK-style combined config (``networks``, ``components``, ``run``, ``inputs``)."""
    cfg = {
        "target_simulator": "NEST",
        "run": {"tstop": tstop, "dt": dt, **(run or {})},
        "components": components,
        "networks": {
            "nodes": [
                {
                    "nodes_file": str(net_dir / f"{p}_nodes.h5"),
                    "node_types_file": str(net_dir / f"{p}_node_types.csv"),
                }
                for p in pops
            ],
            "edges": [
                {
                    "edges_file": str(net_dir / f"{s}_{t}_edges.h5"),
                    "edge_types_file": str(net_dir / f"{s}_{t}_edge_types.csv"),
                }
                for s, t in edges
            ],
        },
        "inputs": inputs or {},
        "output": {
            "output_dir": str(root / output),
            "spikes_file": "spikes.h5",
            "log_file": "log.txt",
            "overwrite_output_dir": True,
        },
    }
    path = root / name
    path.write_text(json.dumps(cfg, indent=2))
    return path


def spike_input(path: Path, node_set: str) -> dict:
    """A ``sonata`` spike-file input section."""
    return {
        "input_type": "spikes",
        "module": "sonata",
        "input_file": str(path),
        "node_set": node_set,
    }


def columnar_positions(rng: np.random.Generator, n: int, radius: float = 150.0) -> np.ndarray:
    """Positions uniform in a cylinder (as BMTK's ``positions_columinar``), um."""
    r = radius * np.sqrt(rng.random(n))
    phi = 2 * np.pi * rng.random(n)
    return np.column_stack([r * np.cos(phi), rng.uniform(-100.0, 100.0, n), r * np.sin(phi)])


def distance_nsyns(rng: np.random.Generator, d_max: float, p_max: float):
    """A BMTK ``one_to_all`` connection rule: 1-4 synapses with a probability falling with
    the distance between somata (a tutorial-style Python callable)."""

    def rule(source, targets):
        src = np.asarray(source["positions"], float)
        pos = np.array([t["positions"] for t in targets], float)
        d = np.linalg.norm(pos - src, axis=1)
        p = p_max * np.exp(-((d / d_max) ** 2))
        ids = np.array([t.node_id for t in targets])
        hit = (rng.random(len(targets)) < p) & (ids != source.node_id)
        return np.where(hit, rng.integers(1, 5, len(targets)), 0).tolist()

    return rule


def build_v1_lgn(
    net_dir: Path,
    *,
    n_cells: int,
    n_lgn: int,
    seed: int,
    weight_rule: bool = False,
    cells: tuple[str, str, str, str] = ("nest:iaf_psc_alpha", "exc.json") * 2,
    recurrent_synapse: str = "static_synapse",
    synapse_files: tuple[str, str] = ("static.json", "tsodyks.json"),
    weight_scale: float = 1.0,
) -> None:
    """BMTK-built V1 (80 % excitatory) with distance-dependent recurrent edges (1-4 nsyns) and
    ``n_lgn`` virtual LGN nodes feeding it; ``weight_rule`` sets the excitatory weights per
    edge with ``cm.add_properties('syn_weight', rule=...)`` as BMTK's tutorials do.

    ``cells`` is ``(exc template, exc params, inh template, inh params)``; excitatory recurrent
    edges use ``recurrent_synapse`` (``synapse_files[1]`` holds its parameters when it is not
    static), every other edge ``static_synapse`` with ``synapse_files[0]``.
    """
    from bmtk.builder import NetworkBuilder

    rng = np.random.default_rng(seed)
    n_exc = int(0.8 * n_cells)
    pos = columnar_positions(rng, n_cells)
    exc_model, exc_params, inh_model, inh_params = cells
    static, plastic = synapse_files
    v1 = NetworkBuilder("v1")
    v1.add_nodes(N=n_exc, positions=pos[:n_exc], ei="e", model_type="point_neuron",
                 model_template=exc_model, dynamics_params=exc_params)  # fmt: skip
    v1.add_nodes(N=n_cells - n_exc, positions=pos[n_exc:], ei="i", model_type="point_neuron",
                 model_template=inh_model, dynamics_params=inh_params)  # fmt: skip
    syn = static if recurrent_synapse == "static_synapse" else plastic
    exc = {"model_template": recurrent_synapse, "dynamics_params": syn, "delay": 1.5}
    if weight_rule:
        cm = v1.add_edges(source={"ei": "e"}, target=v1.nodes(), iterator="one_to_all",
                          connection_rule=distance_nsyns(rng, 60.0, 0.3), **exc)  # fmt: skip
        cm.add_properties("syn_weight",
                          rule=lambda s, t: float(rng.uniform(10.0, 20.0)) * weight_scale,
                          dtypes=float)  # fmt: skip
    else:
        v1.add_edges(source={"ei": "e"}, target=v1.nodes(), iterator="one_to_all",
                     connection_rule=distance_nsyns(rng, 60.0, 0.3),
                     syn_weight=15.0 * weight_scale, **exc)  # fmt: skip
    v1.add_edges(source={"ei": "i"}, target=v1.nodes(), iterator="one_to_all",
                 connection_rule=distance_nsyns(rng, 80.0, 0.4), syn_weight=-40.0 * weight_scale,
                 delay=1.0, model_template="static_synapse", dynamics_params=static)  # fmt: skip
    v1.build()
    v1.save(output_dir=str(net_dir))
    lgn = NetworkBuilder("lgn")
    lgn.add_nodes(N=n_lgn, model_type="virtual", ei="e")
    lgn.add_edges(source=lgn.nodes(), target=v1.nodes(), iterator="one_to_all",
                  connection_rule=lambda s, ts: (rng.random(len(ts)) < 0.15).astype(int).tolist(),
                  syn_weight=250.0 * weight_scale, delay=2.0, model_template="static_synapse",
                  dynamics_params=static)  # fmt: skip
    lgn.build()
    lgn.save(output_dir=str(net_dir))
