"""``bmtoolkit show-versions``: versions of bmtoolkit and of the libraries it can use."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys

NAME = "show-versions"
HELP = "Print the versions of bmtoolkit, Python and the optional simulators."

_PACKAGES = (
    ("numpy", "numpy"),
    ("pandas", "pandas"),
    ("h5py", "h5py"),
    ("scipy", "scipy"),
    ("matplotlib", "matplotlib"),
    ("jsonschema", "jsonschema"),
    ("NEST", "nest"),
    ("NEURON", "neuron"),
    ("torch", "torch"),
    ("mpi4py", "mpi4py"),
)


def collect_versions() -> dict[str, str]:
    """Return ``{name: version}``; ``"not installed"`` for missing packages.

    Examples
    --------
    >>> "numpy" in collect_versions()
    True
    """
    from bmtoolkit import __version__

    out = {
        "bmtoolkit": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    for label, module in _PACKAGES:
        try:
            if module == "nest":
                # NEST prints a banner on import unless told to be quiet.
                import os

                os.environ.setdefault("PYNEST_QUIET", "1")
            mod = importlib.import_module(module)
            out[label] = _version_of(mod, module)
        except Exception as err:  # noqa: BLE001 - an import failing for any reason counts as missing
            out[label] = "not installed" if isinstance(err, ImportError) else f"broken ({err})"
    return out


def _version_of(mod, module: str) -> str:
    """Version from the installed distribution's metadata, else the module's attribute."""
    from importlib import metadata

    dist = {"nest": "nest-simulator", "neuron": "neuron"}.get(module, module)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = getattr(mod, "__version__", None)
        if version is None and module == "neuron":
            version = mod.h.nrnversion(5)
        return str(version)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    """Print one ``name: version`` line per package."""
    for name, version in collect_versions().items():
        print(f"{name:>12}: {version}")
    return 0
