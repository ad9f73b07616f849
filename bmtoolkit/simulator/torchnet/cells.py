"""GLIF1-5 neurons with per-neuron parameters, advanced one time step at a time.

All five GLIF models (LIF, LIF-R, LIF-ASC, LIF-R-ASC, LIF-R-ASC-A) are one set of equations in
which absent mechanisms have neutral parameters (no threshold increment, no after-spike
currents, no voltage-dependent threshold), so a network mixes them freely in one tensor.
The update follows NEST's ``glif_psc`` step by step (potentials relative to ``E_L``):

1. if not refractory: decay the spike threshold component, take the exact step mean of the
   after-spike currents (ASC) and decay them, propagate the membrane potential exactly
   (or with exponential Euler), update the voltage threshold component exactly;
2. spike when ``V > th_inf + th_spike + th_voltage``; then ASC ``<- amps + r exp(-k t_ref) ASC``,
   ``V <- V_reset`` (GLIF1/3) or ``V <- f_v V_old + delta_V`` (GLIF2/4/5) and
   ``th_spike <- th_spike exp(-b_s t_ref) + delta_th_s``; the neuron then stays refractory for
   ``round(t_ref / dt)`` steps with its state held;
3. propagate the PSCs and add the inputs that arrive at the end of the step.

Examples
--------
>>> import torch
>>> from bmtoolkit.simulator.torchnet.cells import GLIFCells
>>> from bmtoolkit.simulator.torchnet.translations import CellParams
>>> cells = GLIFCells.from_params([CellParams(I_e=300.0)], dt=0.1)
>>> state = cells.initial_state(batch=1)
>>> n_spikes = 0
>>> for _ in range(1000):
...     state, s = cells.step(state, torch.zeros(1, 1, 1))
...     n_spikes += int(s.sum())
>>> n_spikes > 0
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.torchnet._torch import torch
from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike
from bmtoolkit.simulator.torchnet.translations import GLIF_MECHANISMS, CellParams

nn = torch.nn

#: trainable parameter group -> GLIFCells parameter names
CELL_GROUPS: dict[str, tuple[str, ...]] = {
    "time_constants": ("g", "tau_syn", "asc_decay", "th_spike_decay", "th_voltage_decay"),
    "asc_amps": ("asc_amps",),
    "thresholds": ("th_inf",),
}
_SCALARS = (
    "E_L", "th_inf", "V_reset", "g", "C_m", "t_ref", "I_e", "V_m", "th_spike_add",
    "th_spike_decay", "voltage_reset_fraction", "voltage_reset_add", "th_voltage_index",
    "th_voltage_decay",
)  # fmt: skip
_TRAINABLE = {name for names in CELL_GROUPS.values() for name in names}


class GLIFState(NamedTuple):
    """Dynamic state, ``(batch, n)``, ``(batch, n_asc, n)`` for ASCs and
    ``(batch, 2 n_receptors, n)`` for PSCs (rows ``:R`` the alpha auxiliary variables, rows
    ``R:`` the currents); potentials relative to E_L; refractory steps left as floats.

    ``y`` is ``None`` for cells driven by injected current alone (a current-clamp fit): the
    synaptic terms are then left out of every step instead of being computed as zeros, the
    same numbers in about a fifth fewer tensor operations.
    """

    v: torch.Tensor
    th_spike: torch.Tensor
    th_voltage: torch.Tensor
    asc: torch.Tensor
    y: torch.Tensor | None
    refractory: torch.Tensor
    current: torch.Tensor

    def detach(self) -> GLIFState:
        """The same state cut from the autograd graph (truncated BPTT)."""
        return GLIFState(*(None if t is None else t.detach() for t in self))


def _one_minus_exp_poly(x: torch.Tensor) -> torch.Tensor:
    """``1 - exp(-x) (1 + x)``, accurate for small ``|x|``."""
    small = x.abs() < 1e-4
    xs = torch.where(small, torch.ones_like(x), x)
    regular = -torch.expm1(-xs) - xs * torch.exp(-xs)
    series = x * x / 2 - x**3 / 3
    return torch.where(small, series, regular)


def psc_propagators(
    tau_syn: torch.Tensor, tau_m: torch.Tensor, c_m: torch.Tensor, h: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact propagators from the PSC state ``(dI, I)`` to the membrane potential over ``h``.

    Returns ``(P31, P32)``: ``dV = P31 * dI + P32 * I`` for an alpha PSC (``dI`` the auxiliary
    variable) and ``dV = P32 * I`` for an exponential PSC.

    Examples
    --------
    >>> import torch
    >>> f64 = dict(dtype=torch.float64)
    >>> p31, p32 = psc_propagators(torch.tensor([2.0], **f64), torch.tensor([10.0], **f64),
    ...                            torch.tensor([250.0], **f64), 0.1)
    >>> round(float(p32), 9)
    0.000388204
    """
    a = 1.0 / tau_syn - 1.0 / tau_m
    decay_m = torch.exp(-h / tau_m)
    x = a * h
    small = x.abs() < 1e-6
    a_safe = torch.where(small, torch.ones_like(a), a)
    p32_regular = decay_m * -torch.expm1(-a_safe * h) / a_safe / c_m
    p32 = torch.where(small, decay_m * h / c_m, p32_regular)
    p31_regular = decay_m * _one_minus_exp_poly(a_safe * h) / (a_safe * a_safe) / c_m
    p31 = torch.where(small, decay_m * h * h / 2 / c_m, p31_regular)
    return p31, p32


class GLIFCells(nn.Module):
    """A population of GLIF1-5 neurons with per-neuron parameters.

    Parameters live in NEST units with potentials relative to ``E_L``; scalars are ``(n,)``,
    after-spike-current parameters ``(n, n_asc)`` and synaptic time constants
    ``(n, n_receptors)`` (padded with neutral values where a cell has fewer).

    Parameters
    ----------
    params : dict of str -> array-like
        Values for every name in ``_SCALARS`` plus ``asc_init``, ``asc_decay``, ``asc_amps``,
        ``asc_r``, ``tau_syn``, ``is_alpha`` (bool ``(n, n_receptors)``), ``has_r`` (bool).
    dt : float
        Time step (ms).
    integrator : {"exact", "exp_euler"}
        ``exact`` integrates the PSC input exactly across the step (NEST); ``exp_euler`` holds
        the synaptic current constant over the step (exponential Euler).
    surrogate : SurrogateSpike, optional
        Spike function used in the forward pass; its pseudo-derivative drives training.
    detach_reset : bool
        Keep the surrogate gradient out of the reset (default). Through the reset, raising a
        threshold looks like it *raises* later firing (less reset), which often dominates and
        points training the wrong way.
    dtype, device
        Of all tensors.

    Examples
    --------
    >>> from bmtoolkit.simulator.torchnet.translations import CellParams
    >>> GLIFCells.from_params([CellParams(), CellParams(glif_level=2)], dt=0.1).n
    2
    """

    def __init__(
        self,
        params: dict[str, object],
        *,
        dt: float,
        integrator: str = "exact",
        surrogate: SurrogateSpike | None = None,
        detach_reset: bool = True,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        if dt <= 0:
            raise ConfigError(f"dt must be > 0 ms, got {dt}", field="run.dt")
        if integrator not in ("exact", "exp_euler"):
            raise ConfigError(
                f"integrator must be 'exact' or 'exp_euler', got {integrator!r}", field="integrator"
            )
        self.dt = float(dt)
        self.integrator = integrator
        self.surrogate = surrogate or SurrogateSpike()
        self.detach_reset = detach_reset
        for name in (*_SCALARS, "asc_init", "asc_decay", "asc_amps", "asc_r", "tau_syn"):
            value = torch.as_tensor(np.asarray(params[name]), dtype=dtype, device=device)
            if name in _TRAINABLE:
                self.register_parameter(name, nn.Parameter(value, requires_grad=False))
            else:
                self.register_buffer(name, value)
        is_alpha = np.asarray(params["is_alpha"], dtype=bool)
        self.register_buffer("is_alpha", torch.as_tensor(is_alpha, device=device))
        self.register_buffer("has_r", torch.as_tensor(np.asarray(params["has_r"]), device=device))
        self.n = int(self.E_L.shape[0])
        # decided on the host: reading them back from an accelerator would synchronise it
        self.any_alpha = bool(is_alpha.any())
        self.any_exp = not bool(is_alpha.all())

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_params(
        cls,
        cells: Sequence[CellParams],
        type_index: np.ndarray | None = None,
        **kwargs,
    ) -> GLIFCells:
        """Build from cell types and, optionally, the type of each neuron.

        Parameters
        ----------
        cells : sequence of CellParams
            One entry per neuron, or per type when ``type_index`` is given.
        type_index : array of int, optional
            ``cells[type_index[i]]`` describes neuron ``i``.
        **kwargs
            Passed to :class:`GLIFCells` (``dt`` is required).
        """
        if not cells:
            raise ConfigError("a GLIF population needs at least one cell")
        idx = np.arange(len(cells)) if type_index is None else np.asarray(type_index, dtype=int)
        n_asc = max(1, max(len(c.asc_decay) for c in cells))
        n_rec = max(len(c.tau_syn) for c in cells)

        def pad(values: tuple[float, ...], n: int, fill: float) -> list[float]:
            return list(values) + [fill] * (n - len(values))

        per_type: dict[str, np.ndarray] = {
            name: np.array([getattr(c, name) for c in cells], dtype=float) for name in _SCALARS
        }
        per_type["asc_init"] = np.array([pad(c.asc_init, n_asc, 0.0) for c in cells])
        per_type["asc_decay"] = np.array([pad(c.asc_decay, n_asc, 1.0) for c in cells])
        per_type["asc_amps"] = np.array([pad(c.asc_amps, n_asc, 0.0) for c in cells])
        per_type["asc_r"] = np.array([pad(c.asc_r, n_asc, 0.0) for c in cells])
        per_type["tau_syn"] = np.array([pad(c.tau_syn, n_rec, 1.0) for c in cells])
        per_type["is_alpha"] = np.array([[c.psc_shape == "alpha"] * n_rec for c in cells])
        per_type["has_r"] = np.array([GLIF_MECHANISMS[c.glif_level][0] for c in cells])
        params = {k: v[idx] for k, v in per_type.items()}
        return cls(params, **kwargs)

    @property
    def n_receptors(self) -> int:
        """Number of receptor ports (PSC kernels) per neuron."""
        return int(self.tau_syn.shape[1])

    # ------------------------------------------------------------------ dynamics
    def mechanisms(self) -> tuple[bool, bool, bool]:
        """Whether any neuron has a spike threshold component, ASCs, a voltage component."""
        has_asc = bool((self.asc_amps != 0).any() or (self.asc_init != 0).any())
        has_a = bool((self.th_voltage_index != 0).any())
        has_r = bool(self.has_r.any()) or bool((self.th_spike_add != 0).any())
        return has_r, has_asc, has_a

    def constants(self) -> dict[str, torch.Tensor]:
        """Per-step propagators computed from the (possibly trainable) parameters.

        Per-receptor and per-ASC tensors are laid out ``(k, n)`` to match the state.
        """
        h = self.dt
        tau_m = self.C_m / self.g
        p33 = torch.exp(-h / tau_m)
        c = {"P33": p33, "P30": (1.0 - p33) / self.g}
        c["th_s_decay"] = torch.exp(-self.th_spike_decay * h)
        c["th_s_refr"] = torch.exp(-self.th_spike_decay * self.t_ref)
        k = self.asc_decay.T
        c["asc_rate"] = torch.exp(-k * h)
        c["asc_stable"] = (1.0 - c["asc_rate"]) / (k * h)
        c["asc_refr"] = self.asc_r.T * torch.exp(-k * self.t_ref)
        c["asc_amps"] = self.asc_amps.T
        c["th_v_inv"] = torch.exp(-self.th_voltage_decay * h)
        c["phi"] = self.th_voltage_index / (self.th_voltage_decay - self.g / self.C_m)
        c["ab"] = self.th_voltage_index / self.th_voltage_decay
        tau_syn = self.tau_syn.T
        alpha = self.is_alpha.T
        p11 = torch.exp(-h / tau_syn)
        c["P11"], c["P21"] = p11, h * p11
        p31, p32 = psc_propagators(tau_syn, tau_m, self.C_m, h)
        if self.integrator == "exp_euler":
            p31, p32 = torch.zeros_like(p31), c["P30"].expand_as(p32)
        c["P3"] = torch.cat([p31 * alpha, p32])
        c["decay"] = torch.cat([p11, p11])
        c["psc_alpha"] = alpha * math.e / tau_syn
        c["psc_exp"] = (~alpha).to(p11.dtype)
        c["asc_refr_m1"] = c["asc_refr"] - 1.0
        c["refr_steps"] = torch.round(self.t_ref / h)
        c["reset_a"] = torch.where(self.has_r, self.voltage_reset_fraction, 0.0)
        c["reset_b"] = torch.where(self.has_r, self.voltage_reset_add, self.V_reset)
        return c

    def initial_state(self, batch: int = 1) -> GLIFState:
        """Resting state (``V_m`` from the parameters, ASC at ``asc_init``)."""
        ref = self.E_L
        shape = (batch, self.n)
        zeros = torch.zeros(shape, dtype=ref.dtype, device=ref.device)
        syn = torch.zeros((batch, 2 * self.n_receptors, self.n), dtype=ref.dtype, device=ref.device)
        return GLIFState(
            v=self.V_m.expand(shape).clone(),
            th_spike=zeros.clone(),
            th_voltage=zeros.clone(),
            asc=self.asc_init.T.expand(batch, -1, -1).clone(),
            y=syn,
            refractory=zeros.clone(),
            current=zeros.clone(),
        )

    def step(
        self,
        state: GLIFState,
        syn_input: torch.Tensor,
        external_current: torch.Tensor | None = None,
        consts: dict[str, torch.Tensor] | None = None,
        mechanisms: tuple[bool, bool, bool] | None = None,
    ) -> tuple[GLIFState, torch.Tensor]:
        """Advance one step of ``dt``.

        Parameters
        ----------
        state : GLIFState
            State at the start of the step.
        syn_input : torch.Tensor or None
            ``(batch, n_receptors, n)`` summed synaptic weights (pA) arriving at the end of
            the step; ``None`` when ``state.y`` is ``None`` (no synapses).
        external_current : torch.Tensor, optional
            ``(batch, n)`` injected current (pA) that acts from the next step on (NEST's
            current-generator timing).
        consts, mechanisms
            Outputs of :meth:`constants` and :meth:`mechanisms`, computed when absent
            (pass them when stepping in a loop).

        Returns
        -------
        (GLIFState, torch.Tensor)
            New state and ``(batch, n)`` spikes (0/1 with a surrogate gradient).
        """
        c = self.constants() if consts is None else consts
        has_r, has_asc, has_a = self.mechanisms() if mechanisms is None else mechanisms
        active = state.refractory == 0
        v = state.v
        drive = state.current + self.I_e
        asc = state.asc
        if has_asc:
            drive = drive + (c["asc_stable"] * state.asc).sum(1)
            asc = state.asc * c["asc_rate"]
        v_new = torch.addcmul(v * c["P33"], drive, c["P30"])
        if state.y is not None:
            v_new = v_new + (c["P3"] * state.y).sum(1)
        elif syn_input is not None:
            raise ValueError("synaptic input given to a state without synapses (y is None)")
        threshold = self.th_inf
        th_s, th_v = state.th_spike, state.th_voltage
        if has_r:
            th_s = th_s * c["th_s_decay"]
            threshold = threshold + th_s
        if has_a:
            beta = drive / self.g
            phi_v = c["phi"] * (v - beta)
            th_v = (
                phi_v * c["P33"]
                + c["th_v_inv"] * (state.th_voltage - phi_v - c["ab"] * beta)
                + c["ab"] * beta
            )
            threshold = threshold + th_v
        if torch.is_grad_enabled():
            s, v_new, th_s, asc, refractory = self._spike_and_reset_grad(
                c, state, active, v, v_new, threshold, th_s, asc, has_r, has_asc
            )
        else:
            s, v_new, th_s, asc, refractory = self._spike_and_reset_fast(
                c, state, active, v, v_new, threshold, th_s, asc, has_r, has_asc
            )
        if has_a:
            th_v = torch.where(active, th_v, state.th_voltage)
        y = None if state.y is None else self._synapse_step(c, state.y, syn_input)
        new = GLIFState(
            v=torch.where(active, v_new, v),
            th_spike=th_s,
            th_voltage=th_v,
            asc=asc,
            y=y,
            refractory=refractory,
            current=state.current if external_current is None else external_current,
        )
        return new, s

    def _synapse_step(self, c, y_old, syn_input):
        """The PSC state after one step, with ``syn_input`` arriving at its end."""
        r = self.n_receptors
        y = y_old * c["decay"]
        y[:, r:] += c["P21"] * y_old[:, :r]
        if self.any_alpha:
            y[:, :r] += c["psc_alpha"] * syn_input
        if self.any_exp:
            y[:, r:] += c["psc_exp"] * syn_input
        return y

    def _spike_and_reset_grad(
        self, c, state, active, v, v_new, threshold, th_s, asc, has_r, has_asc
    ):
        """Spikes through the surrogate and resets written as blends, so gradients flow."""
        s = self.surrogate(v_new - threshold) * active
        s_reset = s.detach() if self.detach_reset else s
        v_new = v_new + s_reset * (c["reset_a"] * v + c["reset_b"] - v_new)
        if has_r:
            th_s = th_s + s_reset * (th_s * (c["th_s_refr"] - 1.0) + self.th_spike_add)
            th_s = torch.where(active, th_s, state.th_spike)
        if has_asc:
            asc = torch.addcmul(
                asc, s_reset[:, None], torch.addcmul(c["asc_amps"], asc, c["asc_refr_m1"])
            )
            asc = torch.where(active[:, None], asc, state.asc)
        refractory = (state.refractory - 1.0).clamp(min=0.0)
        refractory = refractory + s.detach() * (c["refr_steps"] - refractory)
        return s, v_new, th_s, asc, refractory

    def _spike_and_reset_fast(
        self, c, state, active, v, v_new, threshold, th_s, asc, has_r, has_asc
    ):
        """The same update without autograd: fewer, selecting operations."""
        spiked = (v_new > threshold) & active
        s = spiked.to(v.dtype)
        reset = torch.addcmul(c["reset_b"], c["reset_a"], v) if has_r else c["reset_b"]
        v_new = torch.where(spiked, reset, v_new)
        if has_r:
            th_s = torch.where(spiked, torch.addcmul(self.th_spike_add, th_s, c["th_s_refr"]), th_s)
            th_s = torch.where(active, th_s, state.th_spike)
        if has_asc:
            asc = torch.where(
                spiked[:, None], torch.addcmul(c["asc_amps"], asc, c["asc_refr"]), asc
            )
            asc = torch.where(active[:, None], asc, state.asc)
        refractory = torch.where(spiked, c["refr_steps"], (state.refractory - 1.0).clamp_(min=0.0))
        return s, v_new, th_s, asc, refractory

    def extra_repr(self) -> str:
        return f"n={self.n}, receptors={self.n_receptors}, dt={self.dt}, {self.integrator}"
