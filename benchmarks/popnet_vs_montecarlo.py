"""popnet's density solver vs a NEST Monte-Carlo simulation of the same network.

Simulates the E/I step-response network of
:func:`bmtoolkit.simulator.popnet.montecarlo.step_response_network` (10,000
``iaf_psc_delta`` neurons per population in NEST) for 1 s and prints the wall-clock time of
each (network construction included), the speed ratio NEST / popnet, and how far popnet's
rates are from the spiking network's PSTH (RMS over 5 ms bins, relative to the mean rate).

Usage::

    PYNEST_QUIET=1 python benchmarks/popnet_vs_montecarlo.py [--tstop 1000] [--neurons 10000]
        [--settings 0.1:0.1 0.5:0.2] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("PYNEST_QUIET", "1")

from bmtoolkit.simulator.popnet.montecarlo import (  # noqa: E402
    psth,
    run_nest,
    step_response_network,
)
from bmtoolkit.simulator.popnet.solver import DensitySolver  # noqa: E402


def popnet_time(tstop: float, dt: float, dv: float, repeats: int = 3):
    """Best wall time over ``repeats`` runs (solver construction included) and the rates."""
    best, rates = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = DensitySolver(step_response_network(dv=dv), dt=dt).run(tstop)
        best = min(best, time.perf_counter() - t0)
        rates = result.rates
    return best, rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tstop", type=float, default=1000.0, help="simulated time (ms)")
    parser.add_argument("--neurons", type=int, default=10_000, help="NEST neurons per population")
    parser.add_argument(
        "--settings",
        nargs="+",
        default=["0.1:0.1", "0.5:0.1", "0.5:0.2"],
        help="popnet settings to time, each 'dt:dv' (ms:mV)",
    )
    parser.add_argument("--threads", type=int, default=1, help="NEST threads")
    args = parser.parse_args()

    net = step_response_network(n_neurons=args.neurons)
    t0 = time.perf_counter()
    mc = run_nest(net, args.tstop, dt=0.1, seed=1, n_threads=args.threads)
    t_nest = time.perf_counter() - t0
    print(
        f"NEST iaf_psc_delta, {args.neurons} neurons x 2 populations, {args.tstop:g} ms, "
        f"{args.threads} thread(s): {t_nest:.2f} s"
    )
    for setting in args.settings:
        dt, dv = (float(x) for x in setting.split(":"))
        t_pop, rates = popnet_time(args.tstop, dt, dv)
        per_bin = int(round(5.0 / dt))
        errors = []
        for i, name in enumerate(net.population_names):
            _, ref = psth(
                mc.spikes[name], n_neurons=args.neurons, tstart=0.0, tstop=args.tstop, bin_ms=5.0
            )
            mine = rates[: len(ref) * per_bin, i].reshape(len(ref), per_bin).mean(axis=1)
            errors.append(np.sqrt(np.mean((mine - ref) ** 2)) / ref.mean())
        err = ", ".join(f"{n} {e:.1%}" for n, e in zip(net.population_names, errors))
        print(
            f"popnet density dt={dt:g} ms dv={dv:g} mV: {t_pop:.3f} s  "
            f"speed-up NEST/popnet = {t_nest / t_pop:.0f}x  (target >= 100x)  "
            f"PSTH RMS error vs NEST: {err}"
        )


if __name__ == "__main__":
    main()
