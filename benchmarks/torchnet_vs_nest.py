"""torchnet against NEST on the same random heterogeneous GLIF3 network.

Builds one network (default 10,000 GLIF3 neurons, ~1 M synapses, 80 % excitatory, delays
1-5 ms, 500 Poisson input nodes), simulates 1 s at dt = 1 ms forward-only in both, and prints
the time ratio torchnet / NEST (below 1 means torchnet is faster) and how many spikes each
produced. Both use the same number of threads (``--threads``); each time is the best of
``--repeat`` runs, since a shared machine makes single runs noisy. Network construction is
not timed for either.

With ``--device cuda`` (NEST is not run) it prints the time per simulated second and per
training step (forward + backward of ``--train-ms`` ms with ``--batch`` trials, all weights
trainable).

Usage::

    python benchmarks/torchnet_vs_nest.py                      # CPU, 10k / 1M
    python benchmarks/torchnet_vs_nest.py --neurons 2000 --synapses 200000
    python benchmarks/torchnet_vs_nest.py --device cuda --neurons 50000 --synapses 10000000
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("PYNEST_QUIET", "1")


def make_network(n: int, n_syn: int, n_inputs: int, seed: int):
    """Random GLIF3 parameters (NEST names), edges and input spike times."""
    rng = np.random.default_rng(seed)
    e_l = rng.uniform(-80, -65, n)
    cells = [
        {
            "E_L": e_l[i],
            "V_th": e_l[i] + rng.uniform(15, 25),
            "V_reset": e_l[i] + rng.uniform(0, 5),
            "V_m": e_l[i],
            "g": rng.uniform(5, 15),
            "C_m": rng.uniform(50, 150),
            "t_ref": 2.0,
            "tau_syn": [rng.uniform(1.5, 3.0), rng.uniform(4.0, 8.0)],
            "after_spike_currents": True,
            "asc_init": [0.0, 0.0],
            "asc_decay": [rng.uniform(0.01, 0.05), rng.uniform(0.1, 0.5)],
            "asc_amps": [rng.uniform(-30, -5), rng.uniform(-60, 0)],
            "asc_r": [1.0, 1.0],
        }
        for i in range(n)
    ]
    n_rec = int(0.9 * n_syn)
    src = rng.integers(0, n, n_rec)
    tgt = rng.integers(0, n, n_rec)
    exc = src < int(0.8 * n)
    w = np.where(exc, rng.uniform(5, 30, n_rec), -rng.uniform(20, 80, n_rec))
    n_in = n_syn - n_rec
    src_in = n + rng.integers(0, n_inputs, n_in)
    tgt_in = rng.integers(0, n, n_in)
    w_in = rng.uniform(40, 120, n_in)
    src = np.concatenate([src, src_in])
    tgt = np.concatenate([tgt, tgt_in])
    w = np.concatenate([w, w_in])
    receptor = (w < 0).astype(int)
    delay = rng.integers(1, 6, src.size).astype(float)
    inputs = [np.nonzero(rng.random(1000) < 0.02)[0] + 1.0 for _ in range(n_inputs)]
    return cells, src, tgt, receptor, w, delay, inputs


def build_torchnet(net, n_inputs, dt, device, dtype):
    import torch

    from bmtoolkit.simulator.torchnet.cells import GLIFCells
    from bmtoolkit.simulator.torchnet.model import TorchNet
    from bmtoolkit.simulator.torchnet.synapses import Synapses
    from bmtoolkit.simulator.torchnet.translations import cell_params_from_nest

    cells, src, tgt, receptor, w, delay, _ = net
    params = [cell_params_from_nest("glif_psc", c) for c in cells]
    dtype = getattr(torch, dtype)
    glif = GLIFCells.from_params(params, dt=dt, dtype=dtype, device=device)
    syn = Synapses(
        src,
        tgt,
        receptor,
        w,
        np.round(delay / dt).astype(int),
        n_sources=len(cells) + n_inputs,
        n_targets=len(cells),
        n_receptors=2,
        dt=dt,
        dtype=dtype,
        device=device,
    )
    return TorchNet(glif, syn, n_virtual=n_inputs)


def run_torchnet(net, n_inputs, dt, tstop, device, dtype, repeat=1):
    """Best of ``repeat`` timed forward runs (the machine may be shared)."""
    import torch

    from bmtoolkit.simulator.torchnet.inputs import spike_times_to_tensor

    model = build_torchnet(net, n_inputs, dt, device, dtype)
    inputs = spike_times_to_tensor(net[-1], dt, tstop, dtype=model.cells.E_L.dtype, device=device)
    model.simulate(5 * dt, inputs=inputs[:5])  # warm-up (allocators, kernels)
    best, n_spikes = float("inf"), 0
    for _ in range(repeat):
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        ids, _ = model.simulate(tstop, inputs=inputs)
        if device != "cpu":
            torch.cuda.synchronize()
        best, n_spikes = min(best, time.perf_counter() - t0), ids.size
    return best, n_spikes, model, inputs


def run_nest(net, n_inputs, dt, tstop, threads, repeat=1):
    """Best of ``repeat`` timed runs; each repeat rebuilds the network."""
    best, n = float("inf"), 0
    for _ in range(repeat):
        t, n = _run_nest_once(net, n_inputs, dt, tstop, threads)
        best = min(best, t)
    return best, n


def _run_nest_once(net, n_inputs, dt, tstop, threads):
    import nest

    from bmtoolkit.simulator.torchnet.translations import cell_params_from_nest, cell_params_to_nest

    cells, src, tgt, receptor, w, delay, inputs = net
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": dt, "local_num_threads": threads})
    params = [cell_params_to_nest(cell_params_from_nest("glif_psc", c))[1] for c in cells]
    neurons = nest.Create("glif_psc", len(cells), params=params)
    gens = nest.Create("spike_generator", n_inputs, params=[{"spike_times": t} for t in inputs])
    rec = nest.Create("spike_recorder")
    nest.Connect(neurons, rec)
    ids = np.concatenate([np.asarray(neurons.tolist()), np.asarray(gens.tolist())])
    nest.Connect(
        ids[src],
        ids[tgt],
        "one_to_one",
        syn_spec={"weight": w, "delay": delay, "receptor_type": (receptor + 1).astype(float)},
    )
    nest.Simulate(dt)  # prepare (connection sorting) outside the timing
    t0 = time.perf_counter()
    nest.Simulate(tstop)
    return time.perf_counter() - t0, int(rec.get("n_events"))


def training_step_time(model, inputs, steps: int, batch: int) -> float:
    import torch

    model.set_trainable(["weights"])
    x = inputs[:steps].expand(-1, batch, -1).contiguous()
    t0 = time.perf_counter()
    out = model(x)
    loss = out["spikes"].mean()
    loss.backward()
    if x.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=10_000)
    ap.add_argument("--synapses", type=int, default=1_000_000)
    ap.add_argument("--inputs", type=int, default=500)
    ap.add_argument("--dt", type=float, default=1.0)
    ap.add_argument("--tstop", type=float, default=1000.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--train-ms", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="report the best of this many runs")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    net = make_network(args.neurons, args.synapses, args.inputs, args.seed)
    print(
        f"network: {args.neurons} GLIF3 neurons, {net[1].size} synapses, {args.inputs} inputs "
        f"(generated in {time.perf_counter() - t0:.1f} s)"
    )
    t_torch, n_torch, model, inputs = run_torchnet(
        net, args.inputs, args.dt, args.tstop, args.device, args.dtype, args.repeat
    )
    sim_s = args.tstop / 1000.0
    print(
        f"torchnet ({args.device}, {args.dtype}): {t_torch:.3f} s for {sim_s:g} s simulated "
        f"({t_torch / sim_s:.3f} s per simulated second), {n_torch} spikes"
    )
    if args.device == "cpu":
        t_nest, n_nest = run_nest(net, args.inputs, args.dt, args.tstop, args.threads, args.repeat)
        print(f"NEST {args.threads} thread(s): {t_nest:.3f} s, {n_nest} spikes")
        print(
            f"ratio torchnet / NEST = {t_torch / t_nest:.2f} "
            f"({'torchnet faster' if t_torch <= t_nest else 'NEST faster'})"
        )
    else:
        steps = int(round(args.train_ms / args.dt))
        t_train = training_step_time(model, inputs, steps, args.batch)
        print(
            f"training step ({args.train_ms:g} ms x batch {args.batch}, weights trainable): "
            f"{t_train:.3f} s"
        )
        print(
            f"real-time factor: {t_torch / sim_s:.3f} "
            f"({'faster' if t_torch < sim_s else 'slower'} than real time)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
