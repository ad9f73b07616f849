"""Collecting popnet results and writing them through :mod:`bmtoolkit.sonata.rates`.

Rates are stored per SONATA node population: each ``model_type: population`` node is one
column (its node id), one row per time step. Density snapshots of every population node go
under ``/densities`` of the report file named in the config.

Examples
--------
>>> import numpy as np
>>> rec = RateRecorder(["cortex:0", "cortex:1"])
>>> rec.add(np.array([0.0, 0.1]), np.ones((2, 2)))
>>> rec.times.tolist(), rec.rates.shape
([0.0, 0.1], (2, 2))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.sonata.rates import write_densities, write_rates


class RateRecorder:
    """Accumulates rate chunks (and density snapshots) of the internal populations."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._times: list[np.ndarray] = []
        self._rates: list[np.ndarray] = []
        self._density_times: list[np.ndarray] = []
        self._densities: dict[str, list[np.ndarray]] = {n: [] for n in self.names}

    def add(self, times: np.ndarray, rates: np.ndarray) -> None:
        """Append ``rates[t, i]`` (Hz) sampled at ``times`` (ms)."""
        self._times.append(np.asarray(times, float))
        self._rates.append(np.asarray(rates, float).reshape(len(times), len(self.names)))

    def add_densities(self, times: np.ndarray, densities: Mapping[str, np.ndarray]) -> None:
        """Append density snapshots ``{name: (T, n_bins)}`` taken at ``times``."""
        if len(times) == 0:
            return
        self._density_times.append(np.asarray(times, float))
        for name in self.names:
            self._densities[name].append(np.asarray(densities[name]))

    @property
    def times(self) -> np.ndarray:
        """All sample times (ms)."""
        return np.concatenate(self._times) if self._times else np.zeros(0)

    @property
    def rates(self) -> np.ndarray:
        """All rates, shape ``(T, n_populations)``."""
        if not self._rates:
            return np.zeros((0, len(self.names)))
        return np.concatenate(self._rates, axis=0)

    def write_rates(
        self, path: Path, columns: Mapping[str, tuple[str, int]], *, csv: bool = True
    ) -> Path:
        """Write one ``/rates/<population>`` group per SONATA node population.

        ``columns`` maps each internal name to its ``(node population, node id)``.
        """
        by_pop: dict[str, list[tuple[int, int]]] = {}
        for i, name in enumerate(self.names):
            pop, node = columns[name]
            by_pop.setdefault(pop, []).append((node, i))
        times, rates = self.times, self.rates
        for k, (pop, items) in enumerate(sorted(by_pop.items())):
            items.sort()
            ids = np.array([n for n, _ in items], dtype=np.int64)
            cols = [i for _, i in items]
            write_rates(path, pop, ids, times, rates[:, cols], csv=csv, mode="w" if k == 0 else "a")
        return path

    def write_densities(
        self,
        path: Path,
        columns: Mapping[str, tuple[str, int]],
        edges: Mapping[str, np.ndarray],
    ) -> Path | None:
        """Write density snapshots of every population node; ``None`` if none were taken."""
        if not self._density_times:
            return None
        times = np.concatenate(self._density_times)
        for k, name in enumerate(self.names):
            pop, node = columns[name]
            data = np.concatenate(self._densities[name], axis=0)
            write_densities(path, pop, node, times, edges[name], data, mode="w" if k == 0 else "a")
        return path


# ---------------------------------------------------------------------- config reports
@dataclass(frozen=True)
class DensityReport:
    """Snapshots of every population's membrane-potential density every ``dt`` ms."""

    name: str
    dt: float
    file_name: Path


def load_density_report(cfg: Any, plan: Any) -> DensityReport:
    """A ``population_density`` report: ``dt`` (ms) between snapshots and ``file_name``."""
    from bmtoolkit.exceptions import ConfigError

    dt = getattr(cfg, "dt", None)
    if dt is None or not float(dt) > 0:
        raise ConfigError(
            f"density report needs dt > 0, got {dt}",
            path=plan.config_path if plan is not None else None,
            field=f"reports.{cfg.name}.dt",
        )
    name = getattr(cfg, "file_name", None) or f"{cfg.name}.h5"
    return DensityReport(cfg.name, float(dt), plan.output_path(name))


def _register() -> None:
    from bmtoolkit.simulator.core.registries import REPORT_MODULES

    if "population_density" not in REPORT_MODULES:
        REPORT_MODULES.register("population_density", load_density_report, aliases=("density",))


_register()
