"""One scenario, every backend that supports it, one reference, a stated tolerance.

The scenarios (``_cross_scenarios.py``) are small SONATA networks written with
:mod:`bmtoolkit.builder` and :mod:`bmtoolkit.sonata` writers and run through the public
:func:`bmtoolkit.simulator.run`. The table, the tolerances and how to add a backend are in
``docs/design/conformance.md``:

======================  ===================================  ==============================
scenario                backends                             reference, tolerance
======================  ===================================  ==============================
(a) step-current cells  pointnet numpynet torchnet           analytic LIF / GLIF1 train and
                                                             first GLIF3 spike: 1 dt;
                                                             pointnet: same count, 1 dt
(b) 50-cell E/I net     pointnet numpynet torchnet           pointnet: >= 95 % of spikes
                                                             matched within 1 dt, both ways
(c) V_m reports         pointnet numpynet torchnet           analytic V below threshold and
                                                             pointnet: 1e-3 mV, same rows
(d) IntFire1 cells      bionet                               analytic event rule: 1e-4 ms
(e) output files        all six                              libsonata reads spikes (sorting,
                                                             ms); rates layout (ms, Hz)
(f) 1 vs 2 threads      pointnet torchnet                    identical spikes
======================  ===================================  ==============================
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bmtoolkit.simulator import run
from bmtoolkit.sonata import read_frame_report, read_spikes
from tests.conformance import _cross_scenarios as sc
from tests.conftest import require_module
from tests.simulator.torchnet.conftest import match_fraction

os.environ.setdefault("PYNEST_QUIET", "1")
os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

DT = sc.DT
#: membrane reports are float32 files: 1e-3 mV is far above their rounding (~1e-5 mV)
V_TOL = 1e-3


def require_backend(backend: str) -> None:
    """Skip, naming the missing module, when ``backend`` cannot run here."""
    module = sc.BACKEND_REQUIRES[backend]
    if module is not None:
        require_module(module)


def cases(scenario: str, *, include_reference: bool) -> list:
    """``(model, backend)`` parameters of a point-neuron scenario, known bugs as xfails."""
    out = []
    for model, backend in sc.model_backend_pairs(include_reference=include_reference):
        reason = sc.KNOWN_BUGS.get((scenario, backend))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(model, backend, id=f"{model}-{backend}", marks=marks))
    return out


def _write_filternet(folder: Path, sort_order: str = "by_time") -> Path:
    from bmtoolkit.builder.lgn import lgn_node_groups
    from tests.simulator.filternet.test_backend import GRATING, _config, _write_network

    folder.mkdir(parents=True, exist_ok=True)
    _write_network(folder, lgn_node_groups(field_size=(60.0, 40.0), tiles=(1, 1), density=0.2,
                                           seed=1))  # fmt: skip
    output = {"spikes_file": "spikes.h5", "rates_h5": "rates.h5", "spikes_sort_order": sort_order}
    return _config(folder, {"movie": GRATING}, output, {"tstop": 300.0})


def _write_popnet(folder: Path) -> Path:
    from tests.simulator.popnet.test_popnet_backend import build

    folder.mkdir(parents=True, exist_ok=True)
    return build(folder)


#: scenario -> writer(folder, model or None, **options) -> simulation config
WRITERS: dict[str, Callable[..., Path]] = {
    "clamp": lambda f, m, **kw: sc.write_clamp_cells(f, m, report=False, **kw),
    "clamp_report": lambda f, m, **kw: sc.write_clamp_cells(f, m, report=True, **kw),
    "network": lambda f, m, **kw: sc.write_ei_network(f, m, **kw),
    "input_timing": lambda f, m, **kw: sc.write_input_timing(f, m, **kw),
    "intfire": lambda f, m, **kw: sc.write_intfire_network(f, **kw),
    "filternet": lambda f, m, **kw: _write_filternet(f, **kw),
    "popnet": lambda f, m, **kw: _write_popnet(f),
}


@pytest.fixture(scope="module")
def simulate(tmp_path_factory) -> Callable[..., object]:
    """``simulate(scenario, model, backend, threads=None, **options)`` -> RunResult, cached.

    A scenario's files are written once and shared by the backends; each run gets its own
    output folder.
    """
    configs: dict[tuple, Path] = {}
    results: dict[tuple, object] = {}

    def go(scenario: str, model: str | None, backend: str, threads: int | None = None,
           **options):  # fmt: skip
        require_backend(backend)
        key = (scenario, model, tuple(sorted(options.items())))
        if key not in configs:
            folder = tmp_path_factory.mktemp(f"{scenario}-{model}")
            configs[key] = WRITERS[scenario](folder, sc.MODELS.get(model), **options)
        rkey = (*key, backend, threads)
        if rkey not in results:
            out = configs[key].parent / f"out-{backend}-{threads}"
            results[rkey] = run(configs[key], backend=backend, threads=threads,
                                output_dir=out, progress=False)  # fmt: skip
        return results[rkey]

    return go


def spikes(result, population: str) -> tuple[np.ndarray, np.ndarray]:
    """``(node_ids, timestamps)`` of one population, sorted by node then time."""
    df = read_spikes(result.outputs["spikes"], population=population)
    df = df.sort_values(["node_id", "timestamp"])
    return df["node_id"].to_numpy(np.int64), df["timestamp"].to_numpy(float)


def train(ids_times: tuple[np.ndarray, np.ndarray], node: int) -> np.ndarray:
    ids, times = ids_times
    return times[ids == node]


# ------------------------------------------------------------------ (a) step-current cells
@pytest.mark.parametrize(("model", "backend"), cases("clamp", include_reference=True))
def test_clamp_spikes_match_analytic_lif(simulate, model, backend):
    """LIF and GLIF1 trains (first spike of GLIF3) within 1 dt of the closed form."""
    m = sc.MODELS[model]
    got = spikes(simulate("clamp", model, backend), "cells")
    stop = sc.CLAMP_ONSET + sc.CLAMP_DURATION
    for node, amp in enumerate(sc.clamp_amps(m)):
        times = train(got, node)
        first = m.analytic_first_spike(amp, sc.CLAMP_ONSET)
        assert times.size > 0 and abs(times[0] - first) <= DT + 1e-9, (node, times[:1], first)
        if not m.adapting:
            expected = m.analytic_train(amp, sc.CLAMP_ONSET, stop, DT)
            assert times.size == expected.size, (node, times, expected)
            np.testing.assert_allclose(times, expected, atol=DT + 1e-9)


@pytest.mark.nest  # the reference, pointnet, runs on NEST
@pytest.mark.parametrize(("model", "backend"), cases("clamp", include_reference=False))
def test_clamp_spikes_match_reference(simulate, model, backend):
    """Same number of spikes per cell as pointnet, each within 1 dt."""
    require_backend(sc.REFERENCE)
    ref = spikes(simulate("clamp", model, sc.REFERENCE), "cells")
    got = spikes(simulate("clamp", model, backend), "cells")
    for node in range(len(sc.CLAMP_DRIVE_MV)):
        a, b = train(ref, node), train(got, node)
        assert a.size >= 2 and a.size == b.size, (node, a, b)
        np.testing.assert_allclose(b, a, atol=DT + 1e-9)


# ----------------------------------------------------------------- (b) recurrent E/I network
@pytest.mark.nest  # the reference, pointnet, runs on NEST
@pytest.mark.parametrize(("model", "backend"), cases("network", include_reference=False))
def test_network_spikes_match_reference(simulate, model, backend):
    """>= 95 % of pointnet's spikes matched within 1 dt by distinct spikes, and vice versa."""
    require_backend(sc.REFERENCE)
    ref = spikes(simulate("network", model, sc.REFERENCE), "v1")
    got = spikes(simulate("network", model, backend), "v1")
    assert ref[0].size > 50 and np.unique(ref[0]).size > 20, "the network must be active"
    assert match_fraction(*ref, *got, DT) >= 0.95
    assert match_fraction(*got, *ref, DT) >= 0.95


@pytest.mark.nest  # the reference, pointnet, runs on NEST
@pytest.mark.parametrize(("model", "backend"), cases("input_timing", include_reference=False))
def test_input_spike_times_act_on_the_reference_step(simulate, model, backend):
    """Input spikes just after, just before and between grid points: same V as pointnet."""
    require_backend(sc.REFERENCE)
    ref = read_frame_report(
        simulate("input_timing", model, sc.REFERENCE).outputs["membrane_potential"]
    )
    got = read_frame_report(simulate("input_timing", model, backend).outputs["membrane_potential"])
    a, b = ref["v1"].data(), got["v1"].data()
    assert a.shape == b.shape == (900, 1)
    assert np.ptp(a) > 1.0, "the inputs must move V"
    np.testing.assert_allclose(b, a, atol=V_TOL)


# ---------------------------------------------------------------------- (c) membrane reports
@pytest.mark.nest  # the reference, pointnet, runs on NEST
@pytest.mark.parametrize(("model", "backend"), cases("network_report", include_reference=False))
def test_network_report_matches_reference(simulate, model, backend):
    """Same nodes, time axis and rows as pointnet; values within V_TOL."""
    require_backend(sc.REFERENCE)
    ref = read_frame_report(simulate("network", model, sc.REFERENCE).outputs["membrane_potential"])
    got = read_frame_report(simulate("network", model, backend).outputs["membrane_potential"])
    assert list(got) == list(ref) == ["v1"]
    a, b = ref["v1"], got["v1"]
    assert b.node_ids.tolist() == a.node_ids.tolist() == sc.REPORT_CELLS
    assert (b.tstart, b.tstop, b.dt) == (a.tstart, a.tstop, a.dt)
    assert b.data().shape == a.data().shape
    np.testing.assert_allclose(b.data(), a.data(), atol=V_TOL)


@pytest.mark.parametrize(("model", "backend"), cases("report_end", include_reference=True))
def test_report_ending_at_tstop_equals_longer_run(simulate, model, backend):
    """Rows up to tstop = 100 ms equal those of the same report from a 110 ms run."""
    end = sc.INPUT_TSTOP
    short = simulate("input_timing", model, backend, end_time=end)
    long = simulate("input_timing", model, backend, end_time=end, tstop=end + 10.0)
    a = read_frame_report(long.outputs["membrane_potential"])["v1"].data()
    b = read_frame_report(short.outputs["membrane_potential"])["v1"].data()
    assert a.shape == b.shape == (int(round(end / DT)), 1)
    np.testing.assert_allclose(b, a, atol=V_TOL)


@pytest.mark.parametrize(("model", "backend"), cases("clamp_report", include_reference=True))
def test_clamp_report_rows_match_analytic_v(simulate, model, backend):
    """A window [10, 150] ms every 0.5 ms: 280 rows, row j is V at start + (j + 1) dt."""
    m = sc.MODELS[model]
    result = simulate("clamp_report", model, backend)
    rep = read_frame_report(result.outputs["membrane_potential"])["cells"]
    assert (rep.tstart, rep.tstop, rep.dt) == (10.0, 150.0, 0.5)
    data = rep.data()
    assert data.shape == (280, len(sc.CLAMP_DRIVE_MV))
    t = rep.tstart + (np.arange(data.shape[0]) + 1) * rep.dt
    got = spikes(simulate("clamp", model, backend), "cells")
    for node, amp in enumerate(sc.clamp_amps(m)):
        below = t < train(got, node)[0] - 1e-9
        expected = m.analytic_v(amp, sc.CLAMP_ONSET, t[below])
        np.testing.assert_allclose(data[below, node], expected, atol=V_TOL)


# ----------------------------------------------------------------------- (d) IntFire1 on bionet
@pytest.mark.neuron
def test_intfire1_bionet_matches_analytic_event_rule(simulate):
    """IntFire1 cells fire exactly at the input arrivals the event rule predicts.

    The published 300_intfire network is compared with BMTK's reference spikes in
    ``tests/simulator/bionet/test_networks.py::test_300_intfire_event_driven_spikes``.
    """
    got = spikes(simulate("intfire", None, "bionet"), "v1")
    expected = sc.intfire1_analytic()
    assert sum(v.size for v in expected.values()) > 30
    for node, times in expected.items():
        b = train(got, node)
        assert b.size == times.size, (node, b, times)
        np.testing.assert_allclose(b, times, atol=1e-4)


# ------------------------------------------------------------------------- (e) output files
def _model_for(backend: str) -> str:
    return next(name for name, m in sc.MODELS.items() if backend in m.backends)


#: backend -> (scenario, model, spiking population) whose spikes file is checked
SPIKE_OUTPUTS = {
    "pointnet": ("clamp", _model_for("pointnet"), "cells"),
    "numpynet": ("clamp", _model_for("numpynet"), "cells"),
    "torchnet": ("clamp", _model_for("torchnet"), "cells"),
    "bionet": ("intfire", None, "v1"),
    "filternet": ("filternet", None, "lgn"),
}


@pytest.mark.parametrize("sort_order", ["by_time", "by_id"])
@pytest.mark.parametrize("backend", sorted(SPIKE_OUTPUTS))
def test_spike_file_read_back_by_libsonata(simulate, backend, sort_order):
    """libsonata reads the population, the declared sorting, ms, and the same spikes."""
    libsonata = require_module("libsonata")
    scenario, model, population = SPIKE_OUTPUTS[backend]
    result = simulate(scenario, model, backend, sort_order=sort_order)
    reader = libsonata.SpikeReader(str(result.outputs["spikes"]))
    assert reader.get_population_names() == [population]
    pop = reader[population]
    assert pop.sorting == sort_order and pop.time_units == "ms"
    pairs = np.asarray(pop.get(), dtype=float).reshape(-1, 2)
    assert len(pairs) > 0
    key = pairs[:, 1] if sort_order == "by_time" else pairs[:, 0]
    assert np.all(np.diff(key) >= 0)
    ids, times = spikes(result, population)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    np.testing.assert_array_equal(pairs[order, 0], ids)
    np.testing.assert_allclose(pairs[order, 1], times, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("backend", "population", "n_nodes", "dt"),
    [("popnet", "cortex", 2, 0.1), ("filternet", "lgn", None, 1.0)],
)
def test_rate_file_layout(simulate, backend, population, n_nodes, dt):
    """Rates: one row per step from t = 0, times in ms, rates in Hz, non-negative."""
    h5py = require_module("h5py")
    from bmtoolkit.sonata import read_rates

    result = simulate(backend, None, backend)
    series = read_rates(result.outputs["rates"])
    assert list(series) == [population]
    s = series[population]
    if n_nodes is not None:
        assert s.node_ids.tolist() == list(range(n_nodes))
    assert np.all(np.diff(s.node_ids.astype(np.int64)) > 0)
    assert s.units == "Hz" and s.data.shape == (s.times.size, s.node_ids.size)
    np.testing.assert_allclose(s.times, np.arange(s.times.size) * dt, atol=1e-9)
    assert np.all(np.asarray(s.data) >= 0) and np.asarray(s.data).max() > 0
    with h5py.File(result.outputs["rates"], "r") as f:  # the layout, not only our reader
        grp = f[f"rates/{population}"]
        assert grp["time"].attrs["units"] == "ms" and grp["data"].attrs["units"] == "Hz"


# ---------------------------------------------------------------------------- (f) threads
@pytest.mark.parametrize("backend", sc.THREADED)
def test_threads_give_identical_spikes(simulate, backend):
    model = _model_for(backend) if backend != sc.REFERENCE else "glif3"
    one = spikes(simulate("network", model, backend, threads=1), "v1")
    two = spikes(simulate("network", model, backend, threads=2), "v1")
    assert one[0].size > 50
    np.testing.assert_array_equal(two[0], one[0])
    np.testing.assert_array_equal(two[1], one[1])
