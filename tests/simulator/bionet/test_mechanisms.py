"""Compiling NMODL libraries: a failing ``nrnivmodl`` is reported with its own words."""

from __future__ import annotations

import pytest

from tests.conftest import require_module

pytestmark = [pytest.mark.neuron]

_BROKEN = """NEURON {
    SUFFIX broken_leak
    NONSPECIFIC_CURRENT i
    RANGE g
}
PARAMETER { g = 0.001 (S/cm2) }
BREAKPOINT {
    i = g * (v - undeclared_name
}
"""


@pytest.mark.parametrize("coreneuron", [False, True], ids=["neuron", "coreneuron"])
def test_failing_nrnivmodl_is_quoted_in_the_error(tmp_path, coreneuron):
    require_module("neuron")
    from neuron import config

    from bmtoolkit.exceptions import SimulationError
    from bmtoolkit.simulator.bionet.mechanisms import compile_mechanisms

    if coreneuron and not config.arguments.get("NRN_ENABLE_CORENEURON"):
        pytest.skip("this NEURON build has no CoreNEURON")
    mod = tmp_path / "mods" / "broken_leak.mod"
    mod.parent.mkdir()
    mod.write_text(_BROKEN)
    cache = tmp_path / "cache"
    with pytest.raises(SimulationError) as info:
        compile_mechanisms([mod], cache_dir=cache, coreneuron=coreneuron)
    message = str(info.value)
    kind = "nrnivmodl -coreneuron" if coreneuron else "nrnivmodl"
    assert message.startswith(f"{kind} failed for ['broken_leak.mod'] with exit status")
    body = message.split(":", 1)[1].strip()
    assert body, "the failure must quote the compiler's output"
    # the translator's own complaint about the broken line is quoted
    assert "broken_leak.mod" in body or "undeclared_name" in body or "error" in body.lower()
    logs = list(cache.glob("*.failed.log"))
    assert len(logs) == 1 and str(logs[0]) in message
    assert "--- stderr ---" in logs[0].read_text()
    # nothing half-built is left to be mistaken for a library later
    assert [p.name for p in cache.iterdir() if p.is_dir()] == []


def test_coreneuron_compiles_after_neuron_nmodl_was_imported(tmp_path):
    """Importing NEURON's transpiler bindings sets NMODLHOME to a folder without the unit
    table; compiling from such a process (as a test runner or docs build can be) must work."""
    require_module("neuron")
    import subprocess
    import sys

    from neuron import config

    if not config.arguments.get("NRN_ENABLE_CORENEURON"):
        pytest.skip("this NEURON build has no CoreNEURON")
    script = (
        "import sys, pathlib\n"
        "import neuron.nmodl  # sets NMODLHOME\n"
        "from bmtoolkit.simulator.bionet.mechanisms import builtin_mod_files, compile_mechanisms\n"
        "files = [p for p in builtin_mod_files() if p.stem in ('CaDynamics', 'SK')]\n"
        "print(compile_mechanisms(files, cache_dir=pathlib.Path(sys.argv[1]), coreneuron=True))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("libnrnmech.so")
