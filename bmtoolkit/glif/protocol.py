"""The stimulus protocol that turns any cell model into fitting sweeps.

A *driver* is a callable ``drive(stimulus, dt) -> voltage`` (A in, V out, one value per
sample); :class:`NeuronCellDriver` is the one for a bionet cell in NEURON. The protocol
(:class:`CellProtocol`) first finds the rheobase with a ramp (the current at the first
spike), then records, scaled to it: a subthreshold noise sweep around half the rheobase
(the membrane is linearised where the cell operates, not at rest), suprathreshold
noise sweeps and long squares (after-spike currents, reset, threshold, the f-I curve), and
a held-out noise sweep with its own seed (explained variance). For a network's cell the
sweeps should be what the network run computes: :meth:`NeuronCellDriver.from_backend`
integrates with the run's ``dt``, ``v_init`` and ``celsius``, the protocol samples at the
driver's step, and ``CellProtocol.spike_threshold`` counts spikes as the run does.

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

from bmtoolkit.exceptions import ConfigError, SimulationError
from bmtoolkit.glif.spikes import detect_spikes, detect_upstrokes
from bmtoolkit.glif.sweeps import Sweep, make_stimulus

Driver = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class CellProtocol:
    """Amplitudes (multiples of the rheobase), durations (s) and seeds of the protocol.

    ``dt`` is the sample interval (s); ``None`` samples at the driver's own integration
    step (its ``step`` attribute, e.g. the network's ``dt`` for :class:`NeuronCellDriver`)
    or, for drivers without one, at :data:`DEFAULT_DT`. ``spike_threshold`` (V), when set,
    counts an action potential only if the voltage crosses it (as a network simulator counts
    spikes); the sweeps then carry these spike times. The long squares (``square_width``
    s each) sweep the f-I curve from below the rheobase to well above it, as the Allen
    protocol's long-square series does. With ``squares_from_rest`` each square is its own
    ``square_duration`` s sweep from rest (after ``square_delay`` s); with ``square_gap``
    (s) they are also recorded as one series in increasing order, each followed by
    ``square_gap`` s at zero current, so adaptation that outlasts a square (slow
    conductances) is in the record and the calibration sees it (the difference between the
    two records is what :func:`~bmtoolkit.glif.calibrate.calibrate_adaptation` fits). At
    least one of the two must be on.
    """

    dt: float | None = None
    spike_threshold: float | None = None
    ramp_slope: float = 2.5e-10  # A/s
    ramp_duration: float = 2.0
    sub_duration: float = 1.0
    sub_offset: float = 0.5
    sub_sigma: float = 0.15
    noise_duration: float = 1.5
    noise_sigma: float = 0.3
    noise_offsets: tuple[float, ...] = (0.9, 1.1, 1.3)
    square_amplitudes: tuple[float, ...] = (0.5, 0.75, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3,
                                            1.5, 1.75, 2.0, 2.5)  # fmt: skip
    square_duration: float = 0.8
    square_delay: float = 0.15
    square_width: float = 0.5
    square_gap: float | None = 0.5
    squares_from_rest: bool = True
    held_out_offset: float = 1.1
    seed: int = 0

    def sample_dt(self, drive: Driver) -> float:
        """The sample interval used with ``drive`` (see the class docstring)."""
        if self.dt is not None:
            return float(self.dt)
        return float(getattr(drive, "step", None) or DEFAULT_DT)


#: sample interval (s) for drivers that do not say their own step
DEFAULT_DT: float = 5e-5


@dataclass(frozen=True)
class ProtocolSweeps:
    """Training and held-out sweeps and the rheobase (A) found by the ramp."""

    train: tuple[Sweep, ...]
    held_out: tuple[Sweep, ...]
    rheobase: float


def _spike_samples(v: np.ndarray, dt: float, protocol: CellProtocol) -> np.ndarray:
    if protocol.spike_threshold is None:
        return detect_spikes(v, dt)
    return detect_upstrokes(v, dt, min_peak=protocol.spike_threshold)


def _record(drive: Driver, protocol: CellProtocol, kind: str, name: str, duration: float,
            **params: Any) -> Sweep:  # fmt: skip
    stim = make_stimulus(kind, duration=duration, dt=protocol.sample_dt(drive), **params)
    return record_stimulus(drive, protocol, stim, name=name, kind=kind)


def record_stimulus(drive: Driver, protocol: CellProtocol, stimulus: np.ndarray, *,
                    name: str, kind: str = "long_square", weight: float = 1.0) -> Sweep:  # fmt: skip
    """Drive the cell with ``stimulus`` (A, one value per ``protocol.sample_dt(drive)``
    sample) and return the recording as a :class:`Sweep` (spikes counted as the protocol
    counts them). ``kind="long_square"`` counts each current step separately
    (:func:`~bmtoolkit.glif.calibrate.count_windows`), as for a network's current clamps;
    ``weight`` is the sweep's :attr:`~bmtoolkit.glif.sweeps.Sweep.weight`.

    Examples
    --------
    >>> import numpy as np
    >>> flat = lambda stim, dt: np.full(stim.size, -0.07)
    >>> record_stimulus(flat, CellProtocol(dt=1e-3), np.zeros(5), name="rest").n_samples
    5
    """
    dt = protocol.sample_dt(drive)
    v = drive(np.asarray(stimulus, float), dt)
    times = None if protocol.spike_threshold is None else _spike_samples(v, dt, protocol) * dt
    return Sweep(stimulus, v, dt, kind=kind, name=name, spike_times=times, weight=weight)


def _record_series(drive: Driver, p: CellProtocol, rheo: float) -> Sweep:
    """The long squares in one recording, in increasing order, ``square_gap`` s apart."""
    dt = p.sample_dt(drive)
    period = p.square_width + float(p.square_gap or 0.0)
    duration = p.square_delay + len(p.square_amplitudes) * period
    stim = np.sum([make_stimulus("long_square", duration=duration, dt=dt, amplitude=a * rheo,
                                 delay=p.square_delay + k * period, width=p.square_width)
                   for k, a in enumerate(sorted(p.square_amplitudes))], axis=0)  # fmt: skip
    return record_stimulus(drive, p, stim, name="long_square_series")


def rheobase_from_ramp(drive: Driver, protocol: CellProtocol) -> float:
    """Current (A) of the ramp at the first spike."""
    dt = protocol.sample_dt(drive)
    stim = make_stimulus("ramp", duration=protocol.ramp_duration, dt=dt,
                         slope=protocol.ramp_slope, delay=0.1)  # fmt: skip
    spikes = _spike_samples(drive(stim, dt), dt, protocol)
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
        return _record(drive, p, kind, name, duration, **params)

    train = [record("noise", "subthreshold_noise", p.sub_duration, amplitude=p.sub_sigma * rheo,
                    offset=p.sub_offset * rheo, seed=p.seed)]  # fmt: skip
    for k, off in enumerate(p.noise_offsets):
        train.append(record("noise", f"noise_{off:g}", p.noise_duration,
                            amplitude=p.noise_sigma * rheo, offset=off * rheo,
                            seed=p.seed + 1 + k))  # fmt: skip
    if p.square_gap is None and not p.squares_from_rest:
        raise ConfigError(
            "CellProtocol records no long squares: set square_gap or squares_from_rest"
        )
    if p.squares_from_rest:
        for amp in p.square_amplitudes:
            train.append(record("long_square", f"long_square_{amp:g}", p.square_duration,
                                amplitude=amp * rheo, delay=p.square_delay,
                                width=p.square_width))  # fmt: skip
    if p.square_gap is not None and p.square_amplitudes:
        train.append(_record_series(drive, p, rheo))
    held = record("noise", "held_out_noise", p.noise_duration, amplitude=p.noise_sigma * rheo,
                  offset=p.held_out_offset * rheo, seed=p.seed + 100)  # fmt: skip
    return ProtocolSweeps(train=tuple(train), held_out=(held,), rheobase=rheo)


class NeuronCellDriver:
    """Drive the soma of a bionet cell in NEURON with a current (A); record soma V (V).

    The cell is integrated with NEURON's fixed step ``nrn_dt`` and sampled at the ``dt`` the
    protocol asks for (a multiple of ``nrn_dt``). :meth:`from_backend` takes ``nrn_dt``,
    ``v_init`` and ``celsius`` from a set-up bionet backend, so the recorded cell is the one
    the network run integrates, step for step.

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
    celsius : float, optional
        Temperature (degC) during the sweeps; default: whatever ``h.celsius`` is.

    Examples
    --------
    >>> NeuronCellDriver(None, None, nrn_dt=0.1).step
    0.0001
    """

    def __init__(self, cell: Any, h: Any, *, v_init: float = -80.0, settle: float = 0.5,
                 nrn_dt: float = 0.025, celsius: float | None = None) -> None:  # fmt: skip
        self.cell, self.h = cell, h
        self.v_init, self.settle, self.nrn_dt = v_init, settle, nrn_dt
        self.celsius = celsius

    @classmethod
    def from_backend(cls, cell: Any, backend: Any, **options: Any) -> NeuronCellDriver:
        """A driver integrating ``cell`` as ``backend`` (a set-up ``BioNetBackend``) does:
        its ``dt``, ``v_init`` and ``celsius``."""
        return cls(cell, backend.h, v_init=backend.v_init, nrn_dt=float(backend.plan.dt),
                   celsius=float(backend.h.celsius), **options)  # fmt: skip

    @property
    def step(self) -> float:
        """NEURON's integration step (s): the finest sample interval this driver records."""
        return round(self.nrn_dt * 1e-3, 15)

    def __call__(self, stimulus: np.ndarray, dt: float) -> np.ndarray:
        h = self.h
        ratio = dt / self.step
        if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
            raise SimulationError(f"sample interval {dt * 1e3:g} ms is not a multiple of "
                                  f"NEURON's step {self.nrn_dt:g} ms")  # fmt: skip
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
        old = h.dt, h.steps_per_ms, h.celsius
        h.dt, h.steps_per_ms = self.nrn_dt, 1.0 / self.nrn_dt  # stdrun keeps dt as set
        if self.celsius is not None:
            h.celsius = self.celsius
        try:
            h.finitialize(self.v_init)
            h.continuerun((pad + len(stimulus) - 0.5) * dt_ms)
            v = np.asarray(rec, float)[pad : pad + len(stimulus)] * 1e-3
        finally:
            play.play_remove()
            rec.play_remove()
            h.dt, h.steps_per_ms, h.celsius = old
            del clamp
        if v.size != len(stimulus):
            raise SimulationError(f"NEURON recorded {v.size} samples, expected {len(stimulus)}")
        return v
