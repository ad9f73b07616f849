"""How far two runs of the same network agree, spike by spike: backends, dtypes, threads.

:func:`spike_agreement` pairs the spikes of a reference run with those of another run of the
same nodes: exact pairs (same node, times equal to ``exact`` ms), then one-to-one pairs within
``tolerance`` ms (one time step, say) among the rest; it reports the first time the two runs
differ and, per group of nodes (cell class, layer), the spike counts and their difference.

Examples
--------
>>> import pandas as pd
>>> ref = pd.DataFrame({"node_id": [0, 0, 1, 2], "timestamp": [1.0, 5.0, 2.0, 9.0]})
>>> other = pd.DataFrame({"node_id": [0, 0, 1], "timestamp": [1.0, 5.1, 2.0]})
>>> a = spike_agreement(ref, other, tolerance=0.1)
>>> a.n_reference, a.n_other, a.exact, a.within, a.first_divergence
(4, 3, 2, 3, 5.0)
>>> round(a.fraction_within, 2)
0.75
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError

__all__ = ["SpikeAgreement", "spike_agreement"]


@dataclass(frozen=True)
class SpikeAgreement:
    """Agreement of a run with a reference run.

    Attributes
    ----------
    n_reference, n_other : int
        Spikes of each run.
    exact : int
        Pairs with the same node and times within ``exact`` ms.
    within : int
        One-to-one pairs within ``tolerance`` ms (the exact ones included).
    first_divergence : float or None
        Earliest time (ms) of a spike of either run without an exact partner; None when the
        runs are identical.
    tolerance : float
        The tolerance used (ms).
    groups : pandas.DataFrame
        Per group (index): ``reference``, ``other``, ``within`` spike counts and
        ``difference_pct`` = 100 (other - reference) / reference. Empty without groups.
    """

    n_reference: int
    n_other: int
    exact: int
    within: int
    first_divergence: float | None
    tolerance: float
    groups: pd.DataFrame

    @property
    def fraction_within(self) -> float:
        """Share of the reference spikes that have a partner within the tolerance."""
        return self.within / self.n_reference if self.n_reference else 1.0


def _frame(spikes: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = {"node_id", "timestamp"} - set(spikes.columns)
    if missing:
        raise ConfigError(
            f"{name} spikes need columns node_id and timestamp; missing {sorted(missing)}",
            field=name,
        )
    return pd.DataFrame(
        {
            "node_id": spikes["node_id"].to_numpy(dtype=np.int64),
            "timestamp": spikes["timestamp"].to_numpy(dtype=float),
        }
    )


def _pair_within(ref: pd.DataFrame, other: pd.DataFrame, tolerance: float) -> np.ndarray:
    """Node ids of the greedy one-to-one pairs within ``tolerance`` (time order, per node)."""
    ref = ref.sort_values(["node_id", "timestamp"], kind="stable")
    other = other.sort_values(["node_id", "timestamp"], kind="stable")
    r_node, r_t = ref["node_id"].to_numpy(), ref["timestamp"].to_numpy()
    o_node, o_t = other["node_id"].to_numpy(), other["timestamp"].to_numpy()
    paired: list[int] = []
    for node in np.intersect1d(r_node, o_node):
        a = r_t[np.searchsorted(r_node, node) : np.searchsorted(r_node, node, "right")]
        b = o_t[np.searchsorted(o_node, node) : np.searchsorted(o_node, node, "right")]
        i = j = 0
        while i < len(a) and j < len(b):
            if abs(a[i] - b[j]) <= tolerance + 1e-9:  # times are sums of steps
                paired.append(int(node))
                i += 1
                j += 1
            elif a[i] < b[j]:
                i += 1
            else:
                j += 1
    return np.asarray(paired, dtype=np.int64)


def spike_agreement(
    reference: pd.DataFrame,
    other: pd.DataFrame,
    *,
    tolerance: float,
    exact: float = 1e-6,
    groups: Mapping[int, object] | pd.Series | None = None,
) -> SpikeAgreement:
    """Compare the spikes of ``other`` with those of ``reference`` (one node population).

    Parameters
    ----------
    reference, other : pandas.DataFrame
        Spikes with ``node_id`` and ``timestamp`` (ms) columns, as
        :func:`bmtoolkit.sonata.read_spikes` returns them (select one population first).
    tolerance : float
        Largest time difference (ms) of a pair counted in ``within`` (e.g. the time step).
    exact : float
        Largest time difference (ms) of an exact pair (default 1e-6: the same time step).
    groups : mapping or pandas.Series, optional
        Group label of each node id (e.g. its cell class) for the per-group counts.

    Returns
    -------
    SpikeAgreement

    Examples
    --------
    >>> ref = pd.DataFrame({"node_id": [0, 1], "timestamp": [1.0, 2.0]})
    >>> a = spike_agreement(ref, ref, tolerance=0.1, groups={0: "e", 1: "i"})
    >>> a.first_divergence is None, a.groups["within"].tolist()
    (True, [1, 1])
    """
    if tolerance < 0 or exact < 0:
        raise ConfigError(f"tolerance and exact must be >= 0 ms, got {tolerance} and {exact}")
    ref, oth = _frame(reference, "reference"), _frame(other, "other")
    for df in (ref, oth):
        df["tick"] = np.round(df["timestamp"].to_numpy() / max(exact, 1e-12)).astype(np.int64)
    merged = ref.merge(oth, on=["node_id", "tick"], how="outer", indicator=True)
    both = merged["_merge"] == "both"
    n_exact = int(both.sum())
    unpaired = merged.loc[~both]
    first = None
    if len(unpaired):
        times = unpaired["timestamp_x"].fillna(unpaired["timestamp_y"])
        first = float(times.min())
    rest_ref = ref.merge(oth[["node_id", "tick"]], on=["node_id", "tick"], how="left",
                         indicator=True)  # fmt: skip
    rest_ref = rest_ref.loc[rest_ref["_merge"] == "left_only", ["node_id", "timestamp"]]
    rest_oth = oth.merge(ref[["node_id", "tick"]], on=["node_id", "tick"], how="left",
                         indicator=True)  # fmt: skip
    rest_oth = rest_oth.loc[rest_oth["_merge"] == "left_only", ["node_id", "timestamp"]]
    loose = _pair_within(rest_ref, rest_oth, tolerance) if tolerance > exact else np.zeros(0, int)
    table = pd.DataFrame()
    if groups is not None:
        label = pd.Series(groups) if not isinstance(groups, pd.Series) else groups
        exact_nodes = merged.loc[both, "node_id"].to_numpy()
        counts = {
            "reference": label.reindex(ref["node_id"].to_numpy()).value_counts(),
            "other": label.reindex(oth["node_id"].to_numpy()).value_counts(),
            "within": label.reindex(np.concatenate([exact_nodes, loose])).value_counts(),
        }
        table = pd.DataFrame(counts).reindex(pd.unique(label.to_numpy())).fillna(0).astype(int)
        with np.errstate(divide="ignore", invalid="ignore"):
            table["difference_pct"] = (
                100.0
                * (table["other"] - table["reference"])
                / table["reference"].replace(0, np.nan)
            )
    return SpikeAgreement(
        n_reference=len(ref),
        n_other=len(oth),
        exact=n_exact,
        within=n_exact + len(loose),
        first_divergence=first,
        tolerance=float(tolerance),
        groups=table,
    )
