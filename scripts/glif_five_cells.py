"""The GLIF tables of ``docs/glif.md`` for the five biophysical cells of ``5_cells_iclamp``.

Records the conversion protocol of every cell as the bionet run integrates it (NEURON, the
config's ``dt``, ``v_init``, ``celsius`` and spike threshold), then prints

- the explained variance on the held-out noise sweep of each level's own fit and of what the
  nested selection keeps (``fit_levels``, ``"f-i"`` calibration, selection by explained
  variance on the training sweeps);
- the spike counts under the network's three current clamps: NEURON, and the model that
  ``convert-to-point --level LEVEL`` writes (``fit_cell_sweeps``), simulated with the GLIF
  update rules, with the counts within 20 % marked.

Usage::

    python scripts/glif_five_cells.py [--sonata-examples DIR] [--level 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

WINDOWS_MS = ((500.0, 1000.0), (1500.0, 2000.0), (2500.0, 3000.0))
AMPS_A = (150e-12, 175e-12, 200e-12)


def _clamp_stimulus(dt: float) -> np.ndarray:
    stim = np.zeros(int(round(3.0 / dt)))
    for (a, b), amp in zip(WINDOWS_MS, AMPS_A, strict=True):
        stim[int(round(a * 1e-3 / dt)) : int(round(b * 1e-3 / dt))] = amp
    return stim


def _counts(times_ms: np.ndarray) -> list[int]:
    return [int(((times_ms >= a) & (times_ms < b)).sum()) for a, b in WINDOWS_MS]


def main(argv: list[str] | None = None) -> int:
    """Record, fit and print; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = (
        Path(os.environ.get("BMTOOLKIT_CONFORMANCE", "../shared/conformance")) / "sonata_examples"
    )
    parser.add_argument("--sonata-examples", type=Path, default=default)
    parser.add_argument("--level", type=int, default=3, help="level convert-to-point writes")
    args = parser.parse_args(argv)

    from bmtoolkit.glif import evaluate, simulate
    from bmtoolkit.glif.convert import fit_cell_sweeps
    from bmtoolkit.glif.nested import fit_levels
    from bmtoolkit.glif.protocol import CellProtocol, NeuronCellDriver, run_protocol
    from bmtoolkit.glif.spikes import detect_upstrokes
    from bmtoolkit.simulator.bionet.backend import BioNetBackend
    from bmtoolkit.simulator.bionet.cells import build_cell
    from bmtoolkit.simulator.core.plan import RunPlan

    config = args.sonata_examples / "5_cells_iclamp" / "config.json"
    plan = RunPlan.from_config(config, output_dir=Path("glif_five_cells_output"))
    backend = BioNetBackend(plan)
    backend.setup()
    proto = CellProtocol(spike_threshold=float(backend.threshold) * 1e-3)
    dt = plan.dt * 1e-3
    stim = _clamp_stimulus(dt)
    ev_rows, count_rows = [], []
    within = 0
    for spec in backend._specs(next(iter(plan.circuit.nodes.values()))):
        start = time.perf_counter()
        cell = build_cell(spec)
        sweeps = run_protocol(NeuronCellDriver.from_backend(cell, backend), proto)
        clamp_v = NeuronCellDriver.from_backend(cell, backend, settle=0.0)(stim, dt)
        bio = _counts(detect_upstrokes(clamp_v, dt, min_peak=backend.threshold * 1e-3) * plan.dt)
        fits = fit_levels(list(sweeps.train), (1, 2, 3, 4, 5), calibrate="f-i")
        held = list(sweeps.held_out)
        own = [evaluate(f.fit.params, held).explained_variance for f in fits.values()]
        kept = [evaluate(f.params, held).explained_variance for f in fits.values()]
        ev_rows.append(
            (spec.node_id, sweeps.rheobase, own, kept, [f.source for f in fits.values()])
        )
        params, _ev, _ = fit_cell_sweeps(sweeps, args.level)
        model = _counts(simulate(params, stim, dt=dt).spike_times * 1e3)
        ok = [abs(m - b) <= 0.2 * b for m, b in zip(model, bio, strict=True)]
        within += sum(ok)
        count_rows.append((spec.node_id, bio, model, ok))
        print(
            f"node {spec.node_id}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True
        )
    print(
        "| node | rheobase (pA) | GLIF1 | GLIF2 own | GLIF3 own | GLIF4 own | GLIF5 own | GLIF2-5 kept |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for nid, rheo, own, kept, src in ev_rows:
        kept_s = ", ".join(f"{k:.2f} (GLIF{s})" for k, s in zip(kept[1:], src[1:], strict=True))
        print(
            f"| {nid} | {rheo * 1e12:.0f} | "
            + " | ".join(f"{x:.2f}" for x in own)
            + f" | {kept_s} |"
        )
    print()
    print(f"| node | NEURON | GLIF{args.level} (convert-to-point) | within 20 % |")
    print("| --- | --- | --- | --- |")
    for nid, bio, model, ok in count_rows:
        marks = " ".join("yes" if o else "no" for o in ok)
        print(f"| {nid} | {', '.join(map(str, bio))} | {', '.join(map(str, model))} | {marks} |")
    print(f"\n{within} of {3 * len(count_rows)} clamp counts within 20 %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
