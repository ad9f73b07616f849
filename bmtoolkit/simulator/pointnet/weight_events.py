"""BMTK's ``weight_recorder`` report: a NEST weight recorder on a plastic synapse model.

BMTK's convention, in a config's ``reports``::

    "weight_recorder_1": {
      "module": "weight_recorder",
      "nest_model": "stdp_synapse",
      "model_template": "stdp_synapse_recorder",
      "file_name": "stdp_weights.csv"
    }

copies ``nest_model`` to ``model_template`` with a ``weight_recorder`` device attached before
any connection is made; the edge types whose ``model_template`` is ``stdp_synapse_recorder``
then report each spike they transmit with the weight after it. The table is written as BMTK
writes it (:func:`bmtoolkit.sonata.write_weight_events`): SONATA node ids and populations of
both ends, ``time_ms``, ``weights``, ``receptors``, ``ports``. Nothing is sampled on a time
grid, so recording costs nothing between spikes. Without ``nest_model`` the recorder is
attached to ``model_template``/``synapse_model`` itself.

Examples
--------
>>> from bmtoolkit.simulator.pointnet.weight_events import WeightEvents
>>> WeightEvents.__name__
'WeightEvents'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError

__all__ = ["WeightEvents"]


class WeightEvents:
    """One event-recording weight report.

    Parameters
    ----------
    report : WeightReport
        With ``events`` true; ``synapse_model`` (BMTK's ``model_template``) and/or
        ``nest_model``.
    config_path : path, optional
        For error messages.
    """

    def __init__(self, report: Any, config_path: Any = None) -> None:
        self.report = report
        self.config_path = config_path
        self.device: Any = None
        self.targets: dict[str, np.ndarray] | None = None

    def attach(self) -> None:
        """Create the recorder and the recorded synapse model; call before connecting."""
        import nest

        rep = self.report
        model, base = rep.synapse_model, rep.nest_model
        if not model and not base:
            raise ConfigError(
                f"weight_recorder report {rep.name!r} names no synapse model; give "
                "'model_template' (and 'nest_model' to copy it from) or 'synapse_model'",
                path=self.config_path,
                field=f"reports.{rep.name}",
            )
        known = set(nest.synapse_models)
        if base and base not in known:
            raise ConfigError(
                f"weight_recorder report {rep.name!r}: NEST has no synapse model {base!r}",
                path=self.config_path,
                field=f"reports.{rep.name}.nest_model",
            )
        self.device = nest.Create("weight_recorder")
        if base and model and model != base and model not in known:
            nest.CopyModel(base, model, {"weight_recorder": self.device})
            return
        name = model or base
        if name not in known:
            raise ConfigError(
                f"weight_recorder report {rep.name!r}: NEST has no synapse model {name!r}; "
                "give 'nest_model' to make it as a copy of a NEST model",
                path=self.config_path,
                field=f"reports.{rep.name}.model_template",
            )
        nest.SetDefaults(name, {"weight_recorder": self.device})

    def select(self, targets: dict[str, np.ndarray]) -> None:
        """Keep only events onto these ``{population: SONATA ids}`` (the report's node set)."""
        self.targets = {k: np.asarray(v, dtype=np.int64) for k, v in targets.items()}

    def table(self, populations: dict[str, Any]) -> Any:
        """The recorded events as BMTK's table (a :class:`pandas.DataFrame`)."""
        import pandas as pd

        ev = self.device.get("events")
        senders = np.asarray(ev["senders"], dtype=np.int64)
        receivers = np.asarray(ev["targets"], dtype=np.int64)
        src_pop, src_id = _lookup(senders, populations, "source_ids")
        trg_pop, trg_id = _lookup(receivers, populations, "nest_ids")
        df = pd.DataFrame(
            {
                "source_node_id": src_id,
                "source_population": src_pop,
                "target_node_id": trg_id,
                "target_population": trg_pop,
                "time_ms": np.asarray(ev["times"], dtype=float),
                "weights": np.asarray(ev["weights"], dtype=float),
                "receptors": np.asarray(ev.get("receptors", np.zeros(len(senders))), dtype=int),
                "ports": np.asarray(ev.get("ports", np.zeros(len(senders))), dtype=int),
            }
        )
        if self.targets is not None:
            keep = np.zeros(len(df), dtype=bool)
            for pop, ids in self.targets.items():
                keep |= (df["target_population"].to_numpy() == pop) & np.isin(
                    df["target_node_id"].to_numpy(), ids
                )
            df = df[keep]
        return df.sort_values(
            ["time_ms", "source_population", "source_node_id", "target_node_id"], kind="stable"
        ).reset_index(drop=True)

    def write(self, populations: dict[str, Any], path: Path | None = None) -> Path:
        """Write :meth:`table` to the report's ``file_name`` (or ``path``)."""
        from bmtoolkit.sonata import write_weight_events

        return write_weight_events(path or self.report.file_name, self.table(populations))


def _lookup(nest_ids: np.ndarray, populations: dict[str, Any], attr: str):
    """(population names, SONATA ids) of NEST ids (``attr``: which ids of each population
    the events name: ``source_ids`` for senders, relays included, ``nest_ids`` for targets)."""
    names = np.full(len(nest_ids), "", dtype=object)
    ids = np.full(len(nest_ids), -1, dtype=np.int64)
    for name, pop in populations.items():
        own = np.asarray(getattr(pop, attr), dtype=np.int64)
        if not len(own):
            continue
        order = np.argsort(own)
        pos = np.searchsorted(own, nest_ids, sorter=order)
        pos = np.minimum(pos, len(own) - 1)
        hit = own[order[pos]] == nest_ids
        names[hit] = name
        ids[hit] = order[pos[hit]]
    return names, ids
