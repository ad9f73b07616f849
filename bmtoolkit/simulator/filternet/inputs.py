"""The movie input of a filternet run, registered like every other input module.

A filternet config has one input with ``input_type: "movie"`` whose ``module`` names a
stimulus of :data:`~bmtoolkit.simulator.filternet.stimuli.STIMULI` (``grating``, ``movie``
with ``data_file``, ``looming`` ...). Loading it records what to show; the frames are made
when the run starts (:meth:`MovieInput.movie`).

Examples
--------
>>> from bmtoolkit.simulator.core.registries import INPUT_MODULES
>>> INPUT_MODULES.canonical("graiting"), INPUT_MODULES.canonical("visual")
('movie', 'movie')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.registries import INPUT_MODULES
from bmtoolkit.simulator.filternet.stimuli import STIMULI, Movie, make_stimulus

if TYPE_CHECKING:
    from bmtoolkit.simulator.filternet.evaluate import RateResult

#: ``input_type`` values that mean a movie
MOVIE_INPUT_TYPES = ("movie", "visual", "stimulus")


@dataclass(frozen=True)
class EvaluationWindow:
    """BMTK's ``evaluation_options`` of a movie input: which samples of the rates are kept.

    ``t_min``/``t_max`` (seconds of movie time, as BMTK takes them) bound the samples kept;
    the filters still see the movie from its start. ``downsample`` keeps every k-th sample.
    Other keys (``separable``) choose how BMTK computes the same result and are accepted.

    Examples
    --------
    >>> from bmtoolkit.simulator.filternet.evaluate import RateResult
    >>> w = EvaluationWindow(t_min_ms=2.0, t_max_ms=4.0, downsample=2)
    >>> res = RateResult(np.array([7]), np.arange(6.0), np.arange(6.0)[None, :])
    >>> w.apply(res).times_ms.tolist()
    [2.0, 4.0]
    """

    t_min_ms: float | None = None
    t_max_ms: float | None = None
    downsample: int = 1

    def apply(self, res: RateResult) -> RateResult:
        """The samples of ``res`` inside the window, every ``downsample``-th."""
        from bmtoolkit.simulator.filternet.evaluate import RateResult

        t = np.asarray(res.times_ms, float)
        keep = np.ones(t.size, bool)
        if self.t_min_ms is not None:
            keep &= t >= self.t_min_ms - 1e-9
        if self.t_max_ms is not None:
            keep &= t <= self.t_max_ms + 1e-9
        idx = np.nonzero(keep)[0][:: self.downsample]
        return RateResult(res.node_ids, t[idx], res.rates[:, idx])


def evaluation_window(options: Any, path: Any, field: str) -> EvaluationWindow:
    """The :class:`EvaluationWindow` of an input's ``evaluation_options`` (a ConfigError
    names the field when they are not numbers or ``t_max <= t_min``)."""
    if options is None:
        return EvaluationWindow()
    if not isinstance(options, dict):
        raise ConfigError(f"expected an object, got {options!r}", path=path, field=field)
    try:
        t_min = options.get("t_min")
        t_max = options.get("t_max")
        window = EvaluationWindow(
            None if t_min is None else float(t_min) * 1000.0,
            None if t_max is None else float(t_max) * 1000.0,
            int(options.get("downsample", 1)),
        )
    except (TypeError, ValueError) as err:
        raise ConfigError(f"t_min/t_max (seconds) and downsample (integer) expected: {err}",
                          path=path, field=field) from None  # fmt: skip
    if window.downsample < 1 or (
        window.t_min_ms is not None and window.t_max_ms is not None
        and window.t_max_ms <= window.t_min_ms
    ):  # fmt: skip
        raise ConfigError("downsample must be >= 1 and t_max after t_min", path=path,
                          field=field)  # fmt: skip
    return window


@dataclass(frozen=True)
class MovieInput:
    """A stimulus shown to the LGN cells: ``module`` of :data:`STIMULI` and its parameters."""

    name: str
    module: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def window(self, plan: Any) -> EvaluationWindow:
        """The rate samples to keep (BMTK's ``evaluation_options``)."""
        return evaluation_window(self.params.get("evaluation_options"), plan.config_path,
                                 f"inputs.{self.name}.evaluation_options")  # fmt: skip

    def movie(self, plan: Any) -> Movie:
        """The frames over the run (cut to ``tstop - tstart``, or up to and including the
        window's ``t_max``, as BMTK evaluates it), starting at ``tstart``."""
        t_max = self.window(plan).t_max_ms
        movie = self._make(plan, plan.duration)
        n = int(round(plan.duration * movie.frame_rate / 1000.0))
        if t_max is not None:
            # the frame at t_max itself is evaluated too
            n = max(n, int(np.floor((t_max - plan.tstart) * movie.frame_rate / 1000.0 + 1e-9)) + 1)
            if movie.n_frames < n:
                movie = self._make(plan, n * 1000.0 / movie.frame_rate)
        if movie.n_frames > n:
            movie = Movie(movie.data[:n], movie.frame_rate, movie.rows, movie.cols)
        return Movie(movie.data, movie.frame_rate, movie.rows, movie.cols, plan.tstart)

    def _make(self, plan: Any, duration: float) -> Movie:
        try:
            return make_stimulus(self.module, dict(self.params), duration_ms=duration)
        except ConfigError as err:
            raise ConfigError(
                err.message,
                path=plan.config_path,
                field=f"inputs.{self.name}.{err.field or 'module'}",
            ) from err


def load_movie(cfg: Any, plan: Any) -> MovieInput:
    """A :class:`MovieInput` from an ``input_type: "movie"`` config entry."""
    module = getattr(cfg, "module", None) or "movie"
    if module in MOVIE_INPUT_TYPES and module not in STIMULI:
        module = "movie"
    return MovieInput(cfg.name, str(module), dict(getattr(cfg, "params", None) or {}))


if "movie" not in INPUT_MODULES:
    _stimuli = [n for n in (*STIMULI.names(), *STIMULI._aliases) if n != "movie"]
    INPUT_MODULES.register("movie", load_movie, aliases=("visual", "stimulus", *_stimuli))
