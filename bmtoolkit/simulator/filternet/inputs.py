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
from typing import Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.registries import INPUT_MODULES
from bmtoolkit.simulator.filternet.stimuli import STIMULI, Movie, make_stimulus

#: ``input_type`` values that mean a movie
MOVIE_INPUT_TYPES = ("movie", "visual", "stimulus")


@dataclass(frozen=True)
class MovieInput:
    """A stimulus shown to the LGN cells: ``module`` of :data:`STIMULI` and its parameters."""

    name: str
    module: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def movie(self, plan: Any) -> Movie:
        """The frames over the run (cut to ``tstop - tstart``), starting at ``tstart``."""
        try:
            movie = make_stimulus(self.module, dict(self.params), duration_ms=plan.duration)
        except ConfigError as err:
            raise ConfigError(
                err.message,
                path=plan.config_path,
                field=f"inputs.{self.name}.{err.field or 'module'}",
            ) from err
        n = int(round(plan.duration * movie.frame_rate / 1000.0))
        if movie.n_frames > n:
            movie = Movie(movie.data[:n], movie.frame_rate, movie.rows, movie.cols)
        return Movie(movie.data, movie.frame_rate, movie.rows, movie.cols, plan.tstart)


def load_movie(cfg: Any, plan: Any) -> MovieInput:
    """A :class:`MovieInput` from an ``input_type: "movie"`` config entry."""
    module = getattr(cfg, "module", None) or "movie"
    if module in MOVIE_INPUT_TYPES and module not in STIMULI:
        module = "movie"
    return MovieInput(cfg.name, str(module), dict(getattr(cfg, "params", None) or {}))


if "movie" not in INPUT_MODULES:
    _stimuli = [n for n in (*STIMULI.names(), *STIMULI._aliases) if n != "movie"]
    INPUT_MODULES.register("movie", load_movie, aliases=("visual", "stimulus", *_stimuli))
