"""``import bmtoolkit`` and every module of the package work without the optional simulators.

A subprocess blocks ``nest``, ``neuron``, ``torch``, ``mpi4py`` and ``matplotlib`` (as if they
were not installed), imports every module of the package, and checks that none of them was
imported behind our back. Modules that consist of simulator code (e.g. ``torch.nn.Module``
subclasses) may refuse to import, but only with BackendNotAvailableError naming what to
install, never a raw ImportError; every package, the registries and the CLI import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

BLOCKED = ("nest", "neuron", "torch", "mpi4py", "matplotlib")

SCRIPT = textwrap.dedent(
    f"""
    import importlib, pkgutil, sys

    BLOCKED = {BLOCKED!r}

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    import bmtoolkit

    failed, refused = [], []
    for mod in pkgutil.walk_packages(bmtoolkit.__path__, "bmtoolkit."):
        try:
            importlib.import_module(mod.name)
        except Exception as err:
            if type(err).__name__ == "BackendNotAvailableError" and not mod.ispkg:
                refused.append(mod.name)
                continue
            failed.append(f"{{mod.name}}: {{type(err).__name__}}: {{err}}")
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print("REFUSED", refused)
    print("FAILED", failed)
    print("LEAKED", leaked)
    """
)


def test_every_module_imports_without_optional_simulators():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(" ", 1) for line in proc.stdout.strip().splitlines()[-3:])
    assert lines["FAILED"] == "[]", lines["FAILED"]
    # only modules of the torch backend are made of torch code
    refused = ast.literal_eval(lines["REFUSED"])
    assert all(name.startswith("bmtoolkit.simulator.torchnet.") for name in refused), refused
    assert lines["LEAKED"] == "[]", lines["LEAKED"]


def _tiny_point_config(tmp_path):
    import json

    import numpy as np
    import pandas as pd

    from bmtoolkit.sonata import (
        NodePopulationData,
        write_circuit_config,
        write_nodes,
        write_simulation_config,
        write_types_csv,
    )

    write_nodes(tmp_path / "v1_nodes.h5", [NodePopulationData.single_group("v1", np.zeros(2, int))])
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [0],
                "model_type": ["point_neuron"],
                "model_template": ["nest:iaf_psc_alpha"],
                "dynamics_params": ["cell.json"],
            }
        ),
        tmp_path / "v1_node_types.csv",
    )
    (tmp_path / "cell.json").write_text(json.dumps({"I_e": 400.0}))
    write_circuit_config(
        tmp_path / "circuit_config.json",
        nodes=[
            {
                "nodes_file": tmp_path / "v1_nodes.h5",
                "node_types_file": tmp_path / "v1_node_types.csv",
            }
        ],
        components={"point_neuron_models_dir": tmp_path},
    )
    cfg = tmp_path / "simulation_config.json"
    write_simulation_config(
        cfg, network=tmp_path / "circuit_config.json", run={"tstop": 50.0, "dt": 0.1}
    )
    return cfg


def test_running_a_backend_without_its_simulator_says_what_to_install(tmp_path):
    cfg = _tiny_point_config(tmp_path)
    script = textwrap.dedent(
        f"""
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Block())
        from bmtoolkit.exceptions import BackendNotAvailableError
        from bmtoolkit.simulator import run
        for name in ("pointnet", "torchnet"):
            try:
                run({str(cfg)!r}, backend=name, progress=False)
            except BackendNotAvailableError as err:
                print(name, "|", err)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    messages = dict(line.split(" | ", 1) for line in proc.stdout.strip().splitlines())
    assert set(messages) == {"pointnet", "torchnet"}, proc.stdout
    assert "nest" in messages["pointnet"].lower() and "install" in messages["pointnet"]
    assert "torch" in messages["torchnet"].lower() and "install" in messages["torchnet"]
