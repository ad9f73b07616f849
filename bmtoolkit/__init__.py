"""bmtoolkit: build, simulate and analyse brain-circuit models stored as SONATA.

The package is split by stage:

- :mod:`bmtoolkit.sonata` reads and writes every SONATA file (the only code touching HDF5);
- :mod:`bmtoolkit.builder` declares nodes and edges and saves them as SONATA;
- :mod:`bmtoolkit.simulator` runs a simulation config on a pluggable backend;
- :mod:`bmtoolkit.analyzer` reads outputs and draws rasters, rates and traces.

Heavy optional dependencies (NEST, NEURON, PyTorch, mpi4py, matplotlib) are imported only
inside the code that needs them, so ``import bmtoolkit`` works without any of them.

Examples
--------
>>> import bmtoolkit
>>> isinstance(bmtoolkit.__version__, str)
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from bmtoolkit.exceptions import (  # noqa: E402
    BackendNotAvailableError,
    BmtkError,
    ConfigError,
    SonataFormatError,
    UnknownModelError,
)

__all__ = [
    "__version__",
    "BmtkError",
    "ConfigError",
    "SonataFormatError",
    "UnknownModelError",
    "BackendNotAvailableError",
]
