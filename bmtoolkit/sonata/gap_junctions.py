"""BMTK's gap-junction id file (``<network>_gap_juncs.h5``), written next to the edges.

Gap junctions are ordinary SONATA edges whose edge type has ``is_gap_junction`` true (every
SONATA reader reads them); BMTK's bionet also needs, per junction, two ids for NEURON's
``ParallelContext.source_var``/``target_var``. It reads them from this file: root datasets
``source_ids``, ``target_ids`` (node ids of the two cells), ``src_gap_ids`` and
``trg_gap_ids`` (``2k`` and ``2k + 1`` for junction ``k``).

Examples
--------
>>> import tempfile, numpy as np
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "v1_gap_juncs.h5"
>>> _ = write_gap_junction_ids(path, np.array([0, 1]), np.array([1, 2]))
>>> read_gap_junction_ids(path)["trg_gap_ids"].tolist()
[1, 3]
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bmtoolkit.exceptions import SonataFormatError
from bmtoolkit.sonata._h5 import atomic_write, open_h5

__all__ = ["read_gap_junction_ids", "write_gap_junction_ids"]

_KEYS = ("source_ids", "target_ids", "src_gap_ids", "trg_gap_ids")


def write_gap_junction_ids(
    path: str | os.PathLike[str],
    source_ids: np.ndarray,
    target_ids: np.ndarray,
    *,
    compression: str | None = "gzip",
) -> Path:
    """Write one row per junction (repeat a pair for several junctions); returns the path.

    The file is written under a temporary name and renamed (with the other files of a
    :func:`~bmtoolkit.sonata.file_set` block, when inside one).
    """
    src = np.asarray(source_ids, dtype=np.int64)
    trg = np.asarray(target_ids, dtype=np.int64)
    if src.shape != trg.shape or src.ndim != 1:
        raise SonataFormatError(
            f"gap junctions need as many source ids as target ids ({src.shape} vs {trg.shape})",
            path=str(path),
        )
    ids = np.arange(2 * len(src), dtype=np.int64)
    opts = {} if compression in (None, "none") or not len(src) else {"compression": "gzip"}
    with atomic_write(path, root_attrs=True) as h5:
        for key, data in zip(_KEYS, (src, trg, ids[0::2], ids[1::2]), strict=True):
            h5.create_dataset(key, data=data, **opts)
    return Path(path)


def read_gap_junction_ids(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The four datasets of a gap-junction id file."""
    with open_h5(path) as h5:
        missing = [k for k in _KEYS if k not in h5]
        if missing:
            raise SonataFormatError(f"gap-junction file lacks {missing}", path=str(path))
        return {k: np.asarray(h5[k][()], dtype=np.int64) for k in _KEYS}
