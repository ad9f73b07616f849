"""One exception hierarchy for the whole package.

Every error raised on purpose by bmtoolkit derives from :class:`BmtkError` and, where it
fits, from the matching builtin, so ``except KeyError`` or ``except FileNotFoundError`` in
user code keeps working. Messages name the file, the field and what was expected.

Examples
--------
>>> from bmtoolkit.exceptions import ConfigError
>>> try:
...     raise ConfigError("run.dt must be > 0", path="config.json", field="run.dt")
... except ValueError as err:
...     print(err)
config.json: run.dt: run.dt must be > 0
"""

from __future__ import annotations

import os


class BmtkError(Exception):
    """Base class of all bmtoolkit errors.

    Parameters
    ----------
    message : str
        What went wrong and what was expected.
    path : str or os.PathLike, optional
        The file concerned; prefixed to the message.
    field : str, optional
        The JSON path, HDF5 path or column concerned; prefixed after the file.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.field = field
        super().__init__(self._render())
        # ImportError.__init__ resets its own ``path`` attribute: set it again
        self.path = os.fspath(path) if path is not None else None

    def _render(self) -> str:
        parts = [p for p in (self.path, self.field) if p]
        return ": ".join([*parts, self.message])

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self._render()


class ConfigError(BmtkError, ValueError):
    """A circuit or simulation config (or a Python argument standing for one) is invalid."""


class UnsupportedFeatureError(ConfigError):
    """A config asks for a BMTK feature bmtoolkit documents as not supported
    (``docs/differences_from_bmtk.md``, section *Not supported*)."""


class ValidationError(ConfigError):
    """Several problems found by validation; ``problems`` lists each as ``(location, message)``."""

    def __init__(
        self,
        problems: list[tuple[str, str]],
        *,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {loc}: {msg}" for loc, msg in self.problems)
        super().__init__(f"{len(self.problems)} problem(s):\n{lines}", path=path)


class SonataFormatError(BmtkError, ValueError):
    """A SONATA file exists but its content is not what the format requires."""


class UnknownPropertyError(SonataFormatError, KeyError):
    """A node or edge property was asked for that neither the HDF5 groups nor the types table hold."""


class MissingFileError(BmtkError, FileNotFoundError):
    """A file named by a config or an argument does not exist."""


class NodeIdError(BmtkError, IndexError):
    """A node or edge id is outside the population it refers to."""


class UnknownModelError(BmtkError, KeyError):
    """A name (model, backend, rule, input module, weight function ...) is not registered."""


class BackendNotAvailableError(BmtkError, ImportError):
    """The simulator a backend needs (NEST, NEURON, PyTorch, MPI ...) is not installed."""


class SimulationError(BmtkError, RuntimeError):
    """A simulation could not be set up or run."""


class BmtkWarning(UserWarning):
    """Warnings issued by bmtoolkit (tests turn them into errors)."""
