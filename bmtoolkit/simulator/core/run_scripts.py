"""The objects of BMTK's run scripts (``run_pointnet.py``, ``run_bionet.py``) over :func:`run`.

BMTK's scripts read::

    conf = <backend>.Config.from_json("config.json")
    conf.build_env()
    net = <backend>.<Network>.from_config(conf)
    sim = <backend>.<Simulator>.from_config(conf, net)
    sim.run()

Here :class:`Config` is the loaded :class:`~bmtoolkit.sonata.SimulationConfig` (read-only,
indexable like the JSON document as BMTK's dict-based config is), :class:`Network` remembers
the config, and :meth:`Simulator.run` runs it with :func:`bmtoolkit.simulator.run` on the
backend of the module the script imported. The network is built when the simulator runs,
not before. A backend folder that offers BMTK's script names subclasses :class:`Network` and
:class:`Simulator` (setting :attr:`Simulator.backend`) in its own ``run_scripts.py`` and
exports them lazily; the simulators themselves are imported only by :meth:`Simulator.run`.

Examples
--------
>>> class ToySimulator(Simulator):
...     backend = "toynet"
>>> ToySimulator.backend
'toynet'
>>> conf = Config.from_json("config.json")  # doctest: +SKIP
>>> ToySimulator.from_config(conf, Network.from_config(conf)).run()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from bmtoolkit.exceptions import ConfigError

__all__ = [
    "Config",
    "Network",
    "Simulator",
    "io",
    "quit_execution",
]

log = logging.getLogger("bmtoolkit.simulator")


class Config(Mapping):
    """A simulation config as BMTK's run scripts use it.

    Parameters
    ----------
    simulation : SimulationConfig
        The loaded config (:func:`bmtoolkit.sonata.load_simulation_config`).

    Examples
    --------
    >>> conf = Config.from_json("config.json")  # doctest: +SKIP
    >>> conf["run"]["tstop"], conf.output_dir  # doctest: +SKIP
    (3000.0, '/path/to/output')
    """

    def __init__(self, simulation: Any) -> None:
        self.simulation = simulation
        self.env_built = False

    @classmethod
    def from_json(
        cls, config_file: str | os.PathLike[str], validate: bool = False, **kwargs: Any
    ) -> Config:
        """Load a simulation config (BMTK's combined config works too).

        The config is always checked against bmtoolkit's JSON schemas; ``validate`` is
        accepted for BMTK's signature.
        """
        from bmtoolkit.sonata import load_simulation_config

        return cls(load_simulation_config(config_file))

    load = from_json

    def __getitem__(self, key: str) -> Any:
        return self.simulation.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.simulation.raw)

    def __len__(self) -> int:
        return len(self.simulation.raw)

    @property
    def config_path(self) -> Path | None:
        """Path of the config file."""
        return self.simulation.path

    @property
    def output_dir(self) -> str:
        """The output folder (absolute)."""
        return str(self.simulation.output.output_dir)

    @property
    def tstop(self) -> float:
        """End of the run (ms)."""
        return float(self.simulation.run.tstop)

    @property
    def dt(self) -> float:
        """Time step (ms)."""
        return float(self.simulation.run.dt)

    def build_env(self, force: bool = False) -> None:
        """Create the output folder (the run writes its log and config copy there)."""
        if self.env_built and not force:
            return
        Path(self.output_dir).mkdir(parents=True, exist_ok=True)
        self.env_built = True


class Network:
    """The network of a config; built by the backend when the simulator runs."""

    def __init__(self, config: Config) -> None:
        self.config = config

    @classmethod
    def from_config(cls, conf: Config | str | os.PathLike[str], **properties: Any) -> Network:
        """Remember the config (a :class:`Config` or a config path)."""
        return cls(conf if isinstance(conf, Config) else Config.from_json(conf))


class Simulator:
    """Runs a config on the backend named by :attr:`backend`."""

    backend: ClassVar[str] = ""

    def __init__(self, config: Config, network: Network | None = None) -> None:
        self.config = config
        self.network = network
        self.result: Any = None

    @classmethod
    def from_config(
        cls, configure: Config | str | os.PathLike[str], network: Network | None = None, **kw: Any
    ) -> Simulator:
        """A simulator for the config (and its network)."""
        conf = configure if isinstance(configure, Config) else Config.from_json(configure)
        if network is not None and network.config.config_path != conf.config_path:
            raise ConfigError(
                f"the network was made from {network.config.config_path}, the simulator "
                f"from {conf.config_path}; give both the same config",
                path=conf.config_path,
            )
        return cls(conf, network)

    @property
    def tstop(self) -> float:
        """End of the run (ms)."""
        return self.config.tstop

    @property
    def dt(self) -> float:
        """Time step (ms)."""
        return self.config.dt

    def run(self) -> Any:
        """Run the simulation and write its outputs; returns the :class:`RunResult`."""
        from bmtoolkit.simulator.core.runner import run

        self.config.build_env()
        self.result = run(self.config.simulation, backend=self.backend)
        return self.result


class _IO:
    """BMTK's ``io`` logger of run scripts, writing to the ``bmtoolkit`` log."""

    @staticmethod
    def log_info(message: str, *args: Any, **kwargs: Any) -> None:
        log.info(message)

    @staticmethod
    def log_warning(message: str, *args: Any, **kwargs: Any) -> None:
        log.warning(message)

    @staticmethod
    def log_debug(message: str, *args: Any, **kwargs: Any) -> None:
        log.debug(message)

    @staticmethod
    def log_exception(message: str, *args: Any, **kwargs: Any) -> None:
        from bmtoolkit.exceptions import SimulationError

        raise SimulationError(message)


#: BMTK's ``io`` object of the simulator packages
io = _IO()


def quit_execution() -> None:
    """End the script as BMTK's ``nrn.quit_execution()`` does (exit status 0)."""
    sys.exit(0)
