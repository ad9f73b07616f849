"""The gradient-descent loop: torchnet's GLIF cells on windows of the sweeps, Adam, early stop.

Examples
--------
See :func:`fit_glif_gradient`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.fit import GlifFit, _check, fit_glif
from bmtoolkit.glif.gradient._backend import torch_module
from bmtoolkit.glif.gradient.loss import LossTerms, WindowLoss, numpy_loss
from bmtoolkit.glif.gradient.options import GradientOptions
from bmtoolkit.glif.gradient.parametrize import Parametrization, cell_tensors, free_parameters
from bmtoolkit.glif.gradient.windows import Windows, make_windows, theta_voltage_trace
from bmtoolkit.glif.nested import contains, embed
from bmtoolkit.glif.parameters import DEFAULT_ASC_TAUS, GlifParameters, level_has
from bmtoolkit.glif.regression import Membrane
from bmtoolkit.glif.spikes import sweep_spikes
from bmtoolkit.glif.sweeps import Sweep
from bmtoolkit.glif.threshold import Threshold
from bmtoolkit.models.allen_glif import S_TO_MS, V_TO_MV


@dataclass(frozen=True)
class IterationRecord:
    """One optimizer step: training loss terms (before the step) and, at checks, the
    validation loss and explained variance (NaN otherwise)."""

    iteration: int
    train: LossTerms
    validation: float = float("nan")
    validation_ev: float = float("nan")


@dataclass(frozen=True)
class GradientFit(GlifFit):
    """A :class:`~bmtoolkit.glif.GlifFit` made by gradient descent, with its history.

    ``params`` are those of the best validation check (``best_iteration``; 0 is the start,
    so the fit is never worse than ``initial`` on the validation sweeps).
    """

    initial: GlifParameters | None = None
    history: tuple[IterationRecord, ...] = ()
    best_iteration: int = 0
    validation_loss: float = float("nan")
    initial_validation_loss: float = float("nan")
    fitted: tuple[str, ...] = ()
    validation_sweeps: tuple[str, ...] = ()
    options: GradientOptions = field(default_factory=GradientOptions)


def make_cells(params: GlifParameters, dt: float, opts: GradientOptions) -> Any:
    """torchnet's :class:`~bmtoolkit.simulator.torchnet.cells.GLIFCells` (one neuron) for
    ``params`` through the pointnet/torchnet translation, stepping at ``dt`` (s)."""
    from bmtoolkit.simulator.torchnet.cells import GLIFCells
    from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike
    from bmtoolkit.simulator.torchnet.translations import cell_params_from_nest

    surrogate = SurrogateSpike(opts.surrogate, opts.surrogate_scale, opts.surrogate_width)
    return GLIFCells.from_params([cell_params_from_nest("glif_psc", params.to_nest())],
                                 dt=dt * S_TO_MS, surrogate=surrogate,
                                 dtype=getattr(torch_module(), opts.dtype))  # fmt: skip


def bind(cells: Any, tensors: dict[str, Any]) -> None:
    """Make the cells read ``tensors`` (functions of the fitted values) instead of their own
    parameters and buffers of the same names."""
    own = dict(cells.named_parameters(recurse=False))
    for name, value in tensors.items():
        if name in own:
            delattr(cells, name)  # a trainable Parameter slot only takes leaf Parameters
            own.pop(name)
        setattr(cells, name, value)


def run_cells(cells: Any, stimulus: Any, state: Any,
              mechanisms: tuple[bool, bool, bool]) -> tuple[Any, Any, Any]:  # fmt: skip
    """Step ``cells`` through ``(L + 1, B, 1)`` currents (pA; row ``k`` drives step ``k``)
    from ``state``; ``(B, L)`` voltage (mV above El), spikes and refractory steps left."""
    torch = torch_module()
    consts = cells.constants()
    vs, ss, rs = [], [], []
    for k in range(stimulus.shape[0] - 1):  # no synapses: state.y is None
        state, s = cells.step(state, None, stimulus[k + 1], consts, mechanisms)
        vs.append(state.v)
        ss.append(s)
        rs.append(state.refractory)
    return torch.cat(vs, 1), torch.cat(ss, 1), torch.cat(rs, 1)


def start_state(batch: Windows, values: dict[str, Any], params: GlifParameters, cells: Any,
                theta_v: np.ndarray | None = None) -> Any:  # fmt: skip
    """Initial :class:`~bmtoolkit.simulator.torchnet.cells.GLIFState` of every window (see
    :mod:`~bmtoolkit.glif.gradient.windows`); ``theta_v`` (V, one per window) starts the
    voltage-dependent threshold."""
    from bmtoolkit.simulator.torchnet.cells import GLIFState

    torch = torch_module()
    dtype = cells.E_L.dtype
    b = batch.n_windows
    el = values["El"].detach() if "El" in values else torch.tensor([params.El], dtype=dtype)
    # El detached: the start is the recorded voltage, whatever El; otherwise raising El
    # would lower the start relative to the threshold and look like a way to fire less
    v = torch.as_tensor(batch.v_start, dtype=dtype)[:, None] - el * V_TO_MV
    lags_np = np.asarray(batch.lags)
    # inf pads would give inf * 0 = NaN gradients: zero lags, masked out instead
    lags = torch.as_tensor(np.where(np.isfinite(lags_np), lags_np, 0.0), dtype=dtype)  # (B, K) ms
    real = torch.as_tensor(np.isfinite(lags_np), dtype=dtype)
    tensors = cell_tensors(values)
    has = level_has(params.level)
    th_s = torch.zeros((b, 1), dtype=dtype)
    if has["reset_rules"]:
        add = tensors.get("th_spike_add", cells.th_spike_add)
        decay = tensors.get("th_spike_decay", cells.th_spike_decay)
        th_s = add * (torch.exp(-decay[:, None] * lags) * real).sum(1, keepdim=True)
    asc = torch.zeros((b, cells.asc_amps.shape[1], 1), dtype=dtype)
    if has["asc"]:
        amps = tensors.get("asc_amps", cells.asc_amps)[0]  # (n_asc,)
        k = tensors.get("asc_decay", cells.asc_decay)[0]
        decays = torch.exp(-k[None, :, None] * lags[:, None, :]) * real[:, None, :]
        asc = (amps[None, :] * decays.sum(-1))[..., None]
    stim0 = torch.as_tensor(batch.stimulus[0], dtype=dtype)[:, None]
    th_v = torch.zeros((b, 1), dtype=dtype)
    if theta_v is not None:
        th_v = torch.as_tensor(np.asarray(theta_v) * V_TO_MV, dtype=dtype)[:, None]
    return GLIFState(
        v=v, th_spike=th_s, th_voltage=th_v, asc=asc,
        y=None,
        refractory=torch.as_tensor(batch.refractory, dtype=dtype)[:, None], current=stim0,
    )  # fmt: skip


def _theta_v_start(batch: Windows, sweeps: Sequence[Sweep], spikes: Sequence[np.ndarray],
                   cut: int, param: Parametrization) -> np.ndarray:  # fmt: skip
    """Voltage-dependent threshold (V) at the start of each window, from the recording."""
    p = param.params()
    traces = {k: theta_voltage_trace(sweeps[k], spikes[k], cut, p)
              for k in np.unique(batch.sweep_index)}  # fmt: skip
    return np.array([traces[k][t] for k, t in zip(batch.sweep_index, batch.start_sample,
                                                   strict=True)])  # fmt: skip


def default_validation(sweeps: Sequence[Sweep], detect: str = "auto") -> tuple[list, list]:
    """(training, validation): the last noise sweep with spikes (or the last sweep with
    spikes) validates; at least two sweeps with spikes are needed."""
    spiking = [s for s in sweeps if sweep_spikes(s, method=detect).size]
    if len(spiking) < 2:
        raise ConfigError("the gradient fit needs a validation sweep for early stopping: pass "
                          "validation= or give at least two sweeps with spikes (the last "
                          "noise sweep with spikes validates)", field="sweeps")  # fmt: skip
    noise = [s for s in spiking if s.kind == "noise"] or spiking
    val = noise[-1]
    return [s for s in sweeps if s is not val], [val]


def _initial(sweeps: Sequence[Sweep], level: int, init: GlifFit | GlifParameters | None,
             step_options: dict[str, Any]) -> tuple[GlifParameters, Threshold | None]:  # fmt: skip
    if init is None:
        fit = fit_glif(sweeps, level, **step_options)
        return fit.params, fit.threshold_lsq
    if isinstance(init, GlifFit):
        start, lsq = init.params, init.threshold_lsq
    elif isinstance(init, GlifParameters):
        start, lsq = init, None
    else:
        raise ConfigError(f"init must be a GlifFit or GlifParameters, got {type(init).__name__}",
                          field="init")  # fmt: skip
    if start.level != level:
        if not contains(level, start.level):
            raise ConfigError(f"cannot start GLIF{level} from a GLIF{start.level} fit (GLIF"
                              f"{level} does not contain it)", field="init")  # fmt: skip
        start = embed(start, level)
    return start, lsq


def fit_glif_gradient(sweeps: Sequence[Sweep], level: int,
                      init: GlifFit | GlifParameters | None = None, *,
                      validation: Sequence[Sweep] | None = None,
                      options: GradientOptions | None = None, spike_cut: int | None = None,
                      asc_taus: Sequence[float] = DEFAULT_ASC_TAUS, mlin: bool = True,
                      calibrate: bool = False, log: Callable[[str], None] | None = None,
                      **overrides: Any) -> GradientFit:  # fmt: skip
    """Fit GLIF ``level`` by gradient descent through torchnet's GLIF cells.

    Parameters
    ----------
    sweeps : sequence of Sweep
        Training sweeps at one dt (as for :func:`~bmtoolkit.glif.fit_glif`).
    level : int
        GLIF level 1-5.
    init : GlifFit or GlifParameters, optional
        Starting point (a lower level is embedded with its extra mechanisms off). Default:
        :func:`~bmtoolkit.glif.fit_glif` on ``sweeps`` with ``spike_cut``, ``asc_taus``,
        ``mlin`` and ``calibrate``.
    validation : sequence of Sweep, optional
        Sweeps for early stopping. Default: the last noise sweep with spikes of ``sweeps``.
        Validation sweeps that are also in ``sweeps`` are left out of the gradient steps;
        the step-by-step start is fitted on ``sweeps`` as given.
    options : GradientOptions, optional
        Settings; keyword ``overrides`` (``max_iter=30``, ``lr=0.02`` ...) replace single ones.
    spike_cut, asc_taus, mlin, calibrate
        Passed to :func:`~bmtoolkit.glif.fit_glif` for the default start.
    log : callable, optional
        Called with a progress line at each validation check.

    Returns
    -------
    GradientFit
        Best parameters on the validation loss, as Allen ``neuron_config`` and NEST
        parameters like :func:`~bmtoolkit.glif.fit_glif`'s result, and the history.

    Examples
    --------
    >>> from bmtoolkit.glif import GlifParameters, Sweep, make_stimulus, simulate, evaluate
    >>> truth = GlifParameters(level=1, El=-0.07, R=2e8, C=1e-10, th_inf=0.015,
    ...                        spike_cut_length=60, dt=5e-5)
    >>> sweeps = []
    >>> for k, (offset, amp) in enumerate([(0.0, 3e-11), (1e-10, 6e-11), (1e-10, 6e-11)]):
    ...     i = make_stimulus("noise", duration=0.5, dt=5e-5, amplitude=amp, offset=offset,
    ...                       seed=k)
    ...     sweeps.append(Sweep(i, simulate(truth, i).voltage, 5e-5, kind="noise"))
    >>> fit = fit_glif_gradient(sweeps, 1, max_iter=4)
    >>> round(fit.params.R / 1e6), fit.neuron_config["spike_cut_length"]
    (200, 60)
    """
    opts = (options or GradientOptions()).with_overrides(**overrides)
    torch = torch_module()
    dtype = getattr(torch, opts.dtype)
    say = log or (lambda _line: None)
    _check(sweeps)
    if validation is None:
        train, val = default_validation(sweeps, opts.detect)
    else:
        val = list(validation)
        train = [s for s in sweeps if all(s is not v for v in val)]
        _check([*sweeps, *val])
        if not train:
            raise ConfigError("every sweep is a validation sweep; nothing left to train on",
                              field="validation")  # fmt: skip
    step_options = {"spike_cut": spike_cut, "asc_taus": asc_taus, "mlin": mlin,
                    "detect": opts.detect, "calibrate": calibrate}  # fmt: skip
    start, lsq = _initial(sweeps, level, init, step_options)
    free = free_parameters(level, opts.parameters)
    param = Parametrization(start, free, dtype=opts.dtype)
    start = param.params()  # floors of the log-parametrised values applied
    dt = train[0].dt
    cut = int(round(start.spike_cut_length * start.dt / dt))
    spikes = [sweep_spikes(s, method=opts.detect) for s in train]
    val_spikes = [sweep_spikes(s, method=opts.detect) for s in val]
    if not any(sp.size for sp in spikes):
        raise ConfigError("no spikes in the training sweeps of the gradient fit",
                          field="sweeps")  # fmt: skip
    windows = make_windows(train, spikes, cut=cut, window=opts.window, warmup=opts.warmup,
                           bin_size=opts.bin_size)  # fmt: skip
    loss_fn = WindowLoss(windows, sigma=opts.sigma, bin_size=opts.bin_size,
                         voltage_weight=opts.voltage_weight, spike_weight=opts.spike_weight,
                         dtype=opts.dtype)  # fmt: skip
    cells = make_cells(start, dt, opts)
    has = level_has(level)
    mechanisms = (has["reset_rules"], has["asc"], has["voltage_threshold"])

    def validate(p: GlifParameters) -> tuple[float, float]:
        score = numpy_loss(p, val, val_spikes, sigma=opts.sigma, bin_size=opts.bin_size,
                           voltage_weight=opts.voltage_weight,
                           spike_weight=opts.spike_weight)  # fmt: skip
        return score.loss.total, score.explained_variance

    best_loss, best_ev = validate(start)
    initial_loss = best_loss
    best, best_iter, since = start, 0, 0
    say(f"GLIF{level} gradient fit: {windows.n_windows} windows of {windows.length} steps, "
        f"validation loss {best_loss:.4g} (EV {best_ev:.3f}) at the start")  # fmt: skip
    opt = torch.optim.Adam(param.parameters(), lr=opts.lr, betas=opts.betas)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: _cosine(k, opts))
    rng = np.random.default_rng(opts.seed)
    history: list[IterationRecord] = []
    for it in range(1, opts.max_iter + 1):
        batch = windows
        if opts.batch_windows is not None and opts.batch_windows < windows.n_windows:
            batch = windows.select(np.sort(rng.choice(windows.n_windows, opts.batch_windows,
                                                      replace=False)))  # fmt: skip
        opt.zero_grad()
        values = param.values()
        bind(cells, cell_tensors(values))
        theta_v = _theta_v_start(batch, train, spikes, cut, param) if has["voltage_threshold"] \
            else None  # fmt: skip
        state = start_state(batch, values, start, cells, theta_v)
        stim = torch.as_tensor(batch.stimulus, dtype=dtype)[..., None]
        v, s, refr = run_cells(cells, stim, state, mechanisms)
        el = values["El"] if "El" in values else torch.tensor([start.El], dtype=dtype)
        loss, terms = loss_fn(batch, v.T + el * V_TO_MV, s.T, refr.T)
        if not torch.isfinite(loss):
            say(f"iteration {it}: the loss is not finite; stopping")
            break
        loss.backward()
        if not all(bool(torch.isfinite(t.grad).all()) for t in param.parameters()):
            say(f"iteration {it}: the gradient is not finite; stopping")
            break
        opt.step()
        sched.step()
        record = IterationRecord(it, terms)
        if it % opts.check_every == 0 or it == opts.max_iter:
            p = param.params()
            val_loss, val_ev = validate(p)
            record = IterationRecord(it, terms, val_loss, val_ev)
            say(f"iteration {it}: train {terms.total:.4g} (voltage {terms.voltage:.3g}, spikes "
                f"{terms.spikes:.3g}), validation {val_loss:.4g} (EV {val_ev:.3f})")  # fmt: skip
            if val_loss < best_loss:
                best_loss, best, best_iter, since = val_loss, p, it, 0
            else:
                since += 1
        history.append(record)
        if since >= opts.patience:
            break
    n_spikes = int(sum(sp.size for sp in spikes))
    membrane = Membrane(R=best.R, C=best.C, El=best.El, dt=best.dt)
    thr = Threshold(th_inf=best.th_inf, a_spike=best.a_spike, b_spike=best.b_spike,
                    a_voltage=best.a_voltage, b_voltage=best.b_voltage)  # fmt: skip
    return GradientFit(
        params=best, membrane=membrane, threshold_lsq=lsq or thr, threshold=thr,
        n_spikes=n_spikes, initial=start, history=tuple(history), best_iteration=best_iter,
        validation_loss=best_loss, initial_validation_loss=initial_loss,
        fitted=tuple(p.name for p in free), validation_sweeps=tuple(s.name for s in val),
        options=opts,
    )  # fmt: skip


def _cosine(step: int, opts: GradientOptions) -> float:
    """Learning-rate factor: cosine from 1 to ``lr_final`` over ``max_iter`` steps."""
    frac = min(1.0, step / max(1, opts.max_iter))
    return opts.lr_final + (1.0 - opts.lr_final) * 0.5 * (1.0 + np.cos(np.pi * frac))
