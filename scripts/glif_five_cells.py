"""The GLIF tables of ``docs/glif.md`` for the five biophysical cells of ``5_cells_iclamp``.

Records the conversion protocol of every cell as the bionet run integrates it (NEURON, the
config's ``dt``, ``v_init``, ``celsius`` and spike threshold), then prints

- the explained variance on the held-out noise sweep of each level's own fit and of what the
  nested selection keeps (``fit_levels``, ``"f-i"`` calibration, selection by explained
  variance on the training sweeps);
- the spike counts under the network's three current clamps: NEURON, and the model that
  ``convert-to-point --level LEVEL`` writes (``fit_cell_sweeps`` on the protocol and, unless
  ``--no-network-inputs``, the cell's record under those clamps), simulated with the GLIF
  update rules, with the counts within 20 % marked;
- the same for clamp sequences the fit never saw (:data:`HELD_OUT`).

Usage::

    python scripts/glif_five_cells.py [--sonata-examples DIR] [--level auto]
        [--no-network-inputs]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

#: the network's clamps: (start ms, stop ms, nA)
NETWORK = ((500.0, 1000.0, 0.15), (1500.0, 2000.0, 0.175), (2500.0, 3000.0, 0.2))
#: clamp sequences no fit sees: the network's in reverse order, and shorter, closer steps
HELD_OUT = {
    "reversed": ((500.0, 1000.0, 0.2), (1500.0, 2000.0, 0.175), (2500.0, 3000.0, 0.15)),
    "300 ms steps": tuple((300.0 + 600.0 * k, 600.0 + 600.0 * k, a)
                          for k, a in enumerate((0.16, 0.185, 0.21, 0.235))),
}  # fmt: skip


def _counts(times_ms: np.ndarray, steps) -> list[int]:
    return [int(((times_ms >= a) & (times_ms < b)).sum()) for a, b, _ in steps]


def _table(title: str, rows, width: int) -> int:
    print(f"| node | NEURON | {title} | within 20 % |")
    print("| --- | --- | --- | --- |")
    within = 0
    for nid, bio, model in rows:
        ok = [abs(m - b) <= 0.2 * b for m, b in zip(model, bio, strict=True)]
        within += sum(ok)
        marks = " ".join("yes" if o else "no" for o in ok)
        print(f"| {nid} | {', '.join(map(str, bio))} | {', '.join(map(str, model))} | {marks} |")
    print(f"\n{within} of {width * len(rows)} clamp counts within 20 %\n")
    return within


def main(argv: list[str] | None = None) -> int:
    """Record, fit and print; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = (
        Path(os.environ.get("BMTOOLKIT_CONFORMANCE", "../shared/conformance")) / "sonata_examples"
    )
    parser.add_argument("--sonata-examples", type=Path, default=default)
    parser.add_argument("--level", default="auto", help="level convert-to-point writes")
    parser.add_argument("--no-network-inputs", dest="network_inputs", action="store_false")
    args = parser.parse_args(argv)
    level = args.level if args.level == "auto" else int(args.level)

    from bmtoolkit.glif import evaluate, simulate
    from bmtoolkit.glif.convert import clamp_stimulus, fit_cell_sweeps, record_cell_sweeps
    from bmtoolkit.glif.nested import fit_levels
    from bmtoolkit.glif.protocol import CellProtocol, NeuronCellDriver
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
    sequences = {"network": NETWORK, **HELD_OUT}
    stims = {k: clamp_stimulus(v, dt=plan.dt, units=1e-9) for k, v in sequences.items()}
    ev_rows = []
    count_rows: dict[str, list] = {k: [] for k in sequences}
    pop = next(iter(plan.circuit.nodes))
    for spec in backend._specs(plan.circuit.nodes[pop]):
        start = time.perf_counter()
        cell = build_cell(spec)
        clamps_of = (plan, pop, spec.node_id) if args.network_inputs else None
        sweeps = record_cell_sweeps(cell, backend, proto, clamps_of=clamps_of)
        protocol_train = [s for s in sweeps.train if s.name != "network_clamps"]
        fits = fit_levels(protocol_train, (1, 2, 3, 4, 5), calibrate="f-i")
        held = list(sweeps.held_out)
        own = [evaluate(f.fit.params, held).explained_variance for f in fits.values()]
        kept = [evaluate(f.params, held).explained_variance for f in fits.values()]
        ev_rows.append(
            (spec.node_id, sweeps.rheobase, own, kept, [f.source for f in fits.values()])
        )
        params, _ev, _ = fit_cell_sweeps(sweeps, level)
        drive = NeuronCellDriver.from_backend(cell, backend, settle=0.0)
        for name, stim in stims.items():
            v = drive(stim, dt)
            steps = sequences[name]
            bio = _counts(detect_upstrokes(v, dt, min_peak=backend.threshold * 1e-3) * plan.dt,
                          steps)  # fmt: skip
            model = _counts(simulate(params, stim, dt=dt).spike_times * 1e3, steps)
            count_rows[name].append((f"{spec.node_id} (GLIF{params.level})", bio, model))
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
    fitted = "fitted to" if args.network_inputs else "not fitted to"
    _table(f"convert-to-point, network clamps ({fitted})", count_rows["network"], 3)
    for name, steps in HELD_OUT.items():
        _table(f"held-out clamps: {name}", count_rows[name], len(steps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
