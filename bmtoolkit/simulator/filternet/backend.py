"""The ``filternet`` backend: ``bmtoolkit run config.json`` for LGN filter models.

A filternet config names the LGN nodes (``model_template = "lgnmodel:<type>"``), one movie
input and the outputs::

    "run": {"tstop": 3000.0, "dt": 1.0, "random_seed": 1, "n_trials": 1},
    "inputs": {"stimulus": {"input_type": "movie", "module": "grating", "row_size": 120,
                            "col_size": 240, "sf": 0.04, "tf": 2.0, "orientation": 45.0,
                            "contrast": 0.8, "frame_rate": 1000.0}},
    "output": {"output_dir": "output", "spikes_file": "spikes.h5",
               "rates_h5": "rates.h5", "rates_csv": "rates.csv"}

``rates_csv`` is BMTK's table (``node_id population timestamps firing_rates``, times in
seconds); ``rates_h5`` is a SONATA rates file (times in ms).

``module`` is any stimulus of :data:`~bmtoolkit.simulator.filternet.stimuli.STIMULI`
(``movie`` with ``data_file``, ``grating``, ``full_field_flash``, ``moving_bar``, ``looming``,
``gray_screen`` ...). Generated stimuli last ``tstop - tstart``; array movies are cut to it or
padded with gray. Optional ``run`` keys: ``n_trials`` (extra trials go to
``<spikes>_trial<k>.h5``), ``n_workers`` (processes), ``nonlinearity``, ``spatial_kernel``
(``"pixel"``, the default, puts receptive fields on the movie's pixels as BMTK does;
``"sampled"`` samples the Gaussians exactly, see :mod:`~bmtoolkit.simulator.filternet.spatial`).
``evaluation_options`` of the movie input (``t_min``, ``t_max`` in seconds, ``downsample``)
choose the rate samples kept, as in BMTK. ``dynamics_params``
and ``non_dom_params`` JSON files are looked up in ``components.filter_models_dir``.

Examples
--------
>>> from bmtoolkit.simulator.core.registries import get_backend
>>> get_backend("filternet").name
'filternet'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.simulator.core.base import Backend
from bmtoolkit.simulator.core.catalogue import component_folders, is_empty, params_path
from bmtoolkit.simulator.filternet.cells import LGNCells, build_cells
from bmtoolkit.simulator.filternet.evaluate import RateResult, evaluate_rates
from bmtoolkit.simulator.filternet.inputs import EvaluationWindow
from bmtoolkit.simulator.filternet.spec import SPEC
from bmtoolkit.simulator.filternet.spiking import poisson_spikes
from bmtoolkit.simulator.filternet.stimuli import Movie

log = logging.getLogger("bmtoolkit.simulator.filternet")


class FilterNetBackend(Backend):
    """LGN filters -> rates -> Poisson spikes (see the module docstring)."""

    name: ClassVar[str] = SPEC.name
    requires: ClassVar[tuple[str, ...]] = SPEC.requires

    def setup(self) -> None:
        """Read the filternet options of the run (:class:`.spec.FilterNetOptions`)."""
        self.n_trials = self.options.n_trials
        self.n_workers = self.options.n_workers
        self.nonlinearity = self.options.nonlinearity
        self.spatial_kernel = self.options.spatial_kernel
        self.cells: dict[str, LGNCells] = {}
        self.movie: Movie | None = None
        self.window = EvaluationWindow()
        self.rates: dict[str, RateResult] = {}

    def build_network(self) -> None:
        """Build the cells of every LGN population of the circuit (restricted to the node set)."""
        selected = self.plan.resolve_node_set(None)
        for pop_name, pop in self.plan.circuit.nodes.items():
            ids = selected.get(pop_name)
            if ids is None or len(ids) == 0:
                continue
            table = pop.get(ids=np.asarray(ids, dtype=np.int64))
            if not SPEC.takes_population(table.get("model_template")):
                continue  # not a filter population (e.g. cortex in the same circuit)
            table = _load_params(table, self.plan.components, pop.types_path)
            seed = None if self.plan.seed is None else self.plan.seed + len(self.cells)
            self.cells[pop_name] = build_cells(table, seed=seed,
                                               spatial_kernel=self.spatial_kernel)  # fmt: skip
            log.info("filternet: %d cells in population %s", len(ids), pop_name)
        if not self.cells:
            raise ConfigError("no LGN nodes (model_template 'lgnmodel:<type>') in the circuit",
                              path=self.plan.config_path, field="networks.nodes")  # fmt: skip

    def add_inputs(self) -> None:
        """Build the movie of the (single) movie input."""
        movies = self.plan.inputs()  # MovieInput only: the spec refuses other inputs
        if len(movies) != 1:
            raise ConfigError(
                f"filternet needs exactly one input with input_type 'movie', found {len(movies)}",
                path=self.plan.config_path,
                field="inputs",
            )
        self.window = movies[0].window(self.plan)
        self.movie = movies[0].movie(self.plan)

    def simulate(self) -> None:
        """Evaluate the rates of every population (kept within the evaluation window)."""
        if self.movie is None:
            raise ConfigError("no movie input was added", path=self.plan.config_path)
        for pop_name, cells in self.cells.items():
            res = evaluate_rates(
                cells, self.movie, nonlinearity=self.nonlinearity, n_workers=self.n_workers
            )
            self.rates[pop_name] = self.window.apply(res)

    def write_outputs(self) -> None:
        """Write rates (``rates_h5``/``rates_file`` and ``rates_csv``) and every trial's spikes."""
        self._write_rates(self.options.rates_h5, self.options.rates_csv)
        for trial in range(self.n_trials):
            spikes = {}
            for pop_name, res in self.rates.items():
                idx, times = poisson_spikes(res.rates, dt_ms=res.dt_ms, t0_ms=res.times_ms[0],
                                            seed=self.plan.seed, trial=trial)  # fmt: skip
                spikes[pop_name] = (res.node_ids[idx], times)
            if trial == 0:
                self.hand_back_spikes(spikes)
                if self.options.spikes_csv:
                    self._write_spikes_csv(self.options.spikes_csv, spikes)
            elif self.plan.spikes_file is not None:
                base = self.plan.output_path(self.plan.spikes_file)
                path = base.with_name(f"{base.stem}_trial{trial}{base.suffix}")
                from bmtoolkit.sonata import write_spikes

                write_spikes(path, spikes, sort_order=self.plan.spikes_sort_order)
                self.result.outputs[f"spikes_trial{trial}"] = str(path)

    def _write_spikes_csv(self, name: Any, spikes: dict) -> None:
        from bmtoolkit.sonata import write_spikes

        path = self.plan.output_path(name)
        if path.suffix != ".csv":
            path = path.with_suffix(".csv")
        write_spikes(path, spikes, sort_order=self.plan.spikes_sort_order)
        self.result.outputs["spikes_csv"] = str(path)

    def _write_rates(self, h5: Any, csv: Any) -> None:
        if h5 is not None:
            from bmtoolkit.sonata import write_rates

            path = self.plan.output_path(h5)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                path.unlink()
            for pop_name, res in self.rates.items():
                write_rates(path, pop_name, res.node_ids, res.times_ms, res.rates.T)
            self.result.outputs["rates"] = str(path)
        if csv is not None:
            path = self.plan.output_path(csv)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_rates_csv(path, self.rates)
            self.result.outputs["rates_csv"] = str(path)


def write_rates_csv(path: Path, rates: dict[str, RateResult]) -> None:
    """BMTK's rates table: ``node_id population timestamps firing_rates``, space separated.

    One row per cell and sample; ``timestamps`` in seconds and rates in Hz, as BMTK's
    filternet writes them (so its analysis scripts read the file unchanged).

    Examples
    --------
    >>> import tempfile
    >>> res = RateResult(np.array([0, 1]), np.array([0.0, 1.0]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> path = Path(tempfile.mkdtemp()) / "rates.csv"
    >>> write_rates_csv(path, {"lgn": res})
    >>> print(path.read_text().splitlines()[:3])
    ['node_id population timestamps firing_rates', '0 lgn 0 1', '0 lgn 0.001 2']
    """
    frames = []
    for pop_name, res in rates.items():
        n, t = res.rates.shape
        frames.append(pd.DataFrame({
            "node_id": np.repeat(res.node_ids, t),
            "population": pop_name,
            "timestamps": np.tile(np.asarray(res.times_ms, float) / 1000.0, n),
            "firing_rates": res.rates.ravel(),
        }))  # fmt: skip
    tmp = path.with_name(path.name + ".tmp")
    pd.concat(frames, ignore_index=True).to_csv(tmp, sep=" ", index=False,
                                                float_format="%.9g")  # fmt: skip
    tmp.replace(path)


def _load_params(
    table: pd.DataFrame, components: Mapping[str, Any], types_path: Path | None
) -> pd.DataFrame:
    """Replace ``dynamics_params``/``non_dom_params`` file names by their JSON contents."""
    table = table.copy()
    for col in ("dynamics_params", "non_dom_params"):
        if col not in table.columns:
            continue
        cache: dict[str, Any] = {}
        values = []
        for v in table[col].to_numpy():
            if not isinstance(v, str) or is_empty(v) or v.upper() in ("NULL", "NONE"):
                values.append(None)
                continue
            if v not in cache:
                cache[v] = _read_json(v, components, types_path, col)
            values.append(cache[v])
        table[col] = values
    return table


def _read_json(name: str, components: Mapping[str, Any], types_path: Path | None, col: str) -> dict:
    """The JSON of a filter ``name``: in ``filter_models_dir`` (the components-folder rule of
    :mod:`~bmtoolkit.simulator.core.catalogue`), else the name as given."""
    candidates = [Path(name)]
    folder = next((components[k] for k in component_folders("filter") if k in components), None)
    if folder is not None:
        candidates.insert(0, params_path(name, components, "filter"))
    for path in candidates:
        if path.is_file():
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError as err:
                raise ConfigError(f"invalid JSON: {err}", path=path, field=col) from err
    raise MissingFileError(
        f"{col} file {name!r} not found (looked in components.filter_models_dir={folder})",
        path=types_path,
        field=col,
    )
