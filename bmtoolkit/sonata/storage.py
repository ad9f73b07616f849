"""How large datasets are stored: HDF5 chunking and compression.

Three choices, by name (``compression=`` of the node and edge writers and of
``NetworkBuilder.save``):

- ``"scaleoffset"`` (the default): integer datasets (ids, counts, indices) are chunked and
  packed losslessly by HDF5's built-in scale-offset filter, each chunk with the fewest bits its
  values need. The filter is part of every HDF5 library, so every SONATA reader reads the files
  (libsonata 0.2.2's PyPI wheel, whose HDF5 has no zlib, included). Floats and strings stay
  contiguous.
- ``"gzip"`` (or a gzip level 0-9): every numeric dataset chunked and compressed with gzip +
  shuffle, as BMTK does: the smallest files, read by h5py, BMTK and NEST, but not by HDF5
  builds without zlib (libsonata's wheel: "Plugin for dynamically loaded library").
- ``None`` or ``"none"``: contiguous, uncompressed datasets.

Datasets of fewer than :attr:`Storage.min_rows` rows stay contiguous.

Examples
--------
>>> Storage.parse("gzip").dataset_options(100_000, (), "uint64")["compression"]
'gzip'
>>> Storage.parse("scaleoffset").dataset_options(100_000, (), "uint64")["scaleoffset"]
0
>>> Storage.parse("scaleoffset").dataset_options(100_000, (), "float64")
{}
>>> Storage.parse(None).dataset_options(100_000, (), "uint64")
{}
>>> Storage.parse("lzf")
Traceback (most recent call last):
...
bmtoolkit.exceptions.ConfigError: compression: unknown compression 'lzf'; choose one of \
None, 'none', 'scaleoffset', 'gzip' or a gzip level 0-9
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError

#: raw bytes per gzip chunk (HDF5's default chunk cache is 1 MiB per dataset)
CHUNK_BYTES = 1 << 19
#: rows per scale-offset chunk (smaller chunks pack sorted ids in fewer bits but read slower)
PACKED_ROWS = 8192

#: compression names -> (method, gzip level)
COMPRESSIONS: dict[str, tuple[str | None, int]] = {
    "none": (None, 0),
    "scaleoffset": ("scaleoffset", 0),
    "gzip": ("gzip", 4),
}


@dataclass(frozen=True)
class Storage:
    """Chunking and compression of the datasets one writer makes.

    Attributes
    ----------
    method : {"scaleoffset", "gzip"} or None
        None stores datasets contiguous, uncompressed.
    level : int
        gzip level (``method="gzip"``).
    min_rows : int
        Datasets with fewer rows are stored contiguous and uncompressed.
    """

    method: str | None = "scaleoffset"
    level: int = 4
    min_rows: int = 1024

    @classmethod
    def parse(cls, value: Any) -> Storage:
        """From a Storage, None, ``"none"``, ``"scaleoffset"``, ``"gzip"`` or a gzip level."""
        if isinstance(value, Storage):
            return value
        if value is None or value is False:
            return cls(None)
        if isinstance(value, str) and value.lower() in COMPRESSIONS:
            method, level = COMPRESSIONS[value.lower()]
            return cls(method, level)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            if 0 <= int(value) <= 9:
                return cls("gzip", int(value))
        raise ConfigError(
            f"unknown compression {value!r}; choose one of None, 'none', 'scaleoffset', 'gzip' "
            "or a gzip level 0-9",
            field="compression",
        )

    def dataset_options(self, n_rows: int, tail: tuple[int, ...], dtype: Any) -> dict[str, Any]:
        """``create_dataset`` keyword arguments for ``n_rows`` rows of shape ``tail``."""
        dtype = np.dtype(dtype)
        if self.method is None or n_rows < self.min_rows or dtype.kind not in "iuf":
            return {}
        if self.method == "scaleoffset":
            if dtype.kind == "f":  # the filter is lossy for floats
                return {}
            return {"chunks": (min(n_rows, PACKED_ROWS), *tail), "scaleoffset": 0}
        row_bytes = dtype.itemsize * int(np.prod(tail, dtype=np.int64))
        rows = int(min(n_rows, max(1024, CHUNK_BYTES // max(row_bytes, 1))))
        return {
            "chunks": (rows, *tail),
            "compression": "gzip",
            "compression_opts": self.level,
            "shuffle": True,
        }


#: no chunking, no compression (what readers of small or legacy files expect)
CONTIGUOUS = Storage(None)
