"""Refusing, before anything is allocated, an edge set that cannot fit in memory.

Examples
--------
>>> memory_bytes() > 0
True
"""

from __future__ import annotations

import os
from typing import Any

from bmtoolkit.exceptions import ConfigError

__all__ = ["BYTES_PER_EDGE", "memory_bytes", "refuse_oversized"]

#: bytes one edge takes while it is built (ids, type id, synapse count, a property or two)
BYTES_PER_EDGE = 48


def memory_bytes() -> int:
    """Physical memory of this machine (bytes); a large number when it cannot be known."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 50


def refuse_oversized(edge_set: Any) -> None:
    """Refuse an edge set whose rule knows its edge count (``expected_edges``: all-to-all,
    fixed probability) when that many edges cannot fit in this machine's memory.

    Raises
    ------
    ConfigError
        Naming the rule, the two networks, the estimate and the memory available.
    """
    estimate = getattr(edge_set.rule, "expected_edges", None)
    if estimate is None:
        return
    n_edges = estimate(len(edge_set.source.indices()), len(edge_set.target.indices()))
    need, have = n_edges * BYTES_PER_EDGE, memory_bytes()
    if need > have:
        rule = type(edge_set.rule).__name__
        raise ConfigError(
            f"{rule} between {edge_set.source_network_name!r} and "
            f"{edge_set.target_network_name!r} would make about {n_edges:,} edges "
            f"(~{need / 1e9:,.0f} GB) but this machine has {have / 1e9:,.0f} GB; "
            "select fewer nodes or use a sparser rule",
            field="connection_rule",
        )
