"""The stimulus protocol that turns any cell model into fitting sweeps.

A *driver* is a callable ``drive(stimulus, dt) -> voltage`` (A in, V out, one value per
sample); :class:`NeuronCellDriver` is the one for a bionet cell in NEURON. The protocol
(:class:`CellProtocol`) first finds the rheobase with a ramp (the current at the first
spike), then records, scaled to it: a subthreshold noise sweep around half the rheobase
(the membrane is linearised where the cell operates, not at rest), suprathreshold
noise sweeps and long squares (after-spike currents, reset, threshold), and a held-out noise
sweep with its own seed (explained variance).

Examples
--------
>>> CellProtocol().noise_offsets
(0.9, 1.1, 1.3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.exceptions import SimulationError
from bmtoolkit.glif.spikes import detect_spikes
from bmtoolkit.glif.sweeps import Sweep, make_stimulus

Driver = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class CellProtocol:
    """Amplitudes (multiples of the rheobase), durations (s) and seeds of the protocol."""

    dt: float = 5e-5
    ramp_slope: float = 2.5e-10  # A/s
    ramp_duration: float = 2.0
    sub_duration: float = 1.0
    sub_offset: float = 0.5
    sub_sigma: float = 0.15
    noise_duration: float = 1.5
    noise_sigma: float = 0.3
    noise_offsets: tuple[float, ...] = (0.9, 1.1, 1.3)
    square_amplitudes: tuple[float, ...] = (0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5)
    square_duration: float = 0.8
    held_out_offset: float = 1.1
    seed: int = 0


@dataclass(frozen=True)
class ProtocolSweeps:
    """Training and held-out sweeps and the rheobase (A) found by the ramp."""

    train: tuple[Sweep, ...]
    held_out: tuple[Sweep, ...]
    rheobase: float


def rheobase_from_ramp(drive: Driver, protocol: CellProtocol) -> float:
    """Current (A) of the ramp at the first spike."""
    stim = make_stimulus("ramp", duration=protocol.ramp_duration, dt=protocol.dt,
                         slope=protocol.ramp_slope, delay=0.1)  # fmt: skip
    v = drive(stim, protocol.dt)
    spikes = detect_spikes(v, protocol.dt)
    if spikes.size == 0:
        raise SimulationError(
            f"the cell did not spike on a ramp up to {stim.max() * 1e12:.0f} pA; raise "
            "CellProtocol.ramp_slope or ramp_duration"
        )
    return float(stim[spikes[0]])


def run_protocol(drive: Driver, protocol: CellProtocol | None = None) -> ProtocolSweeps:
    """Record the protocol's sweeps with ``drive`` (see the module docstring)."""
    p = protocol or CellProtocol()
    rheo = rheobase_from_ramp(drive, p)

    def record(kind: str, name: str, duration: float, **params: Any) -> Sweep:
        stim = make_stimulus(kind, duration=duration, dt=p.dt, **params)
        return Sweep(stim, drive(stim, p.dt), p.dt, kind=kind, name=name)

    train = [record("noise", "subthreshold_noise", p.sub_duration, amplitude=p.sub_sigma * rheo,
                    offset=p.sub_offset * rheo, seed=p.seed)]  # fmt: skip
    for k, off in enumerate(p.noise_offsets):
        train.append(record("noise", f"noise_{off:g}", p.noise_duration,
                            amplitude=p.noise_sigma * rheo, offset=off * rheo,
                            seed=p.seed + 1 + k))  # fmt: skip
    for amp in p.square_amplitudes:
        train.append(record("long_square", f"long_square_{amp:g}", p.square_duration,
                            amplitude=amp * rheo, delay=0.15, width=0.5))  # fmt: skip
    held = record("noise", "held_out_noise", p.noise_duration, amplitude=p.noise_sigma * rheo,
                  offset=p.held_out_offset * rheo, seed=p.seed + 100)  # fmt: skip
    return ProtocolSweeps(train=tuple(train), held_out=(held,), rheobase=rheo)


class NeuronCellDriver:
    """Drive the soma of a bionet cell in NEURON with a current (A); record soma V (V).

    Parameters
    ----------
    cell : BioCell
        A cell built by :func:`bmtoolkit.simulator.bionet.cells.build_cell` (NEURON set up).
    h : object
        NEURON's ``h``.
    v_init : float
        Initial voltage (mV).
    settle : float
        Seconds simulated at zero current before each sweep (dropped from the record).
    nrn_dt : float
        NEURON's integration step (ms).
    """

    def __init__(self, cell: Any, h: Any, *, v_init: float = -80.0, settle: float = 0.3,
                 nrn_dt: float = 0.025) -> None:  # fmt: skip
        self.cell, self.h = cell, h
        self.v_init, self.settle, self.nrn_dt = v_init, settle, nrn_dt

    def __call__(self, stimulus: np.ndarray, dt: float) -> np.ndarray:
        h = self.h
        dt_ms = dt * 1e3
        pad = int(round(self.settle / dt))
        amps = np.r_[np.zeros(pad), np.asarray(stimulus, float) * 1e9, 0.0]  # A -> nA
        soma = self.cell.soma
        clamp = h.IClamp(soma(0.5))
        clamp.delay, clamp.dur = 0.0, 1e9
        play = h.Vector(amps)
        play.play(clamp._ref_amp, dt_ms)
        rec = h.Vector()
        rec.record(soma(0.5)._ref_v, dt_ms)
        old_dt = h.dt
        h.dt = self.nrn_dt
        try:
            h.finitialize(self.v_init)
            h.continuerun((pad + len(stimulus) - 0.5) * dt_ms)
            v = np.asarray(rec, float)[pad : pad + len(stimulus)] * 1e-3
        finally:
            play.play_remove()
            rec.play_remove()
            h.dt = old_dt
            del clamp
        if v.size != len(stimulus):
            raise SimulationError(f"NEURON recorded {v.size} samples, expected {len(stimulus)}")
        return v
