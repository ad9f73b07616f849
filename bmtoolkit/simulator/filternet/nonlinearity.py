"""Output nonlinearities: linear filter response + offset -> firing rate (Hz).

Each subunit of a cell passes ``amplitude * L(t)`` plus its offset (the spontaneous rate for
single-subunit cells) through the nonlinearity; a cell's rate is the sum over its subunits.
Nonlinearities are registered by name; the default ``"rectify"`` is
``max(0, L + offset)``, so a cell fires at its spontaneous rate on a gray screen.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.simulator.filternet.nonlinearity import NONLINEARITIES
>>> NONLINEARITIES.get("rectify")(np.array([-5.0, 0.0, 2.0]), 3.0)
array([0., 3., 5.])
>>> @NONLINEARITIES.register("squared")
... def squared(linear, offset):
...     return np.maximum(linear + offset, 0.0) ** 2
>>> NONLINEARITIES.get("squared")(np.array([1.0]), 1.0)
array([4.])
>>> NONLINEARITIES._entries.pop("squared") and None
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bmtoolkit.registry import Registry

Nonlinearity = Callable[[np.ndarray, "np.ndarray | float"], np.ndarray]

#: name -> ``fn(linear, offset) -> rate``; ``offset`` broadcasts against ``linear``
NONLINEARITIES: Registry[Nonlinearity] = Registry("filternet nonlinearity")


@NONLINEARITIES.register("rectify", aliases=("relu", "heaviside", "default"))
def rectify(linear: np.ndarray, offset: np.ndarray | float) -> np.ndarray:
    """``max(0, linear + offset)``: rectification offset by the spontaneous rate."""
    out = np.add(linear, offset)
    return np.maximum(out, 0.0, out=out)


@NONLINEARITIES.register("softplus")
def softplus(linear: np.ndarray, offset: np.ndarray | float) -> np.ndarray:
    """``log(1 + exp(linear + offset))``: a smooth rectifier (rate > 0 everywhere)."""
    return np.logaddexp(0.0, np.add(linear, offset))


@NONLINEARITIES.register("linear")
def linear(linear: np.ndarray, offset: np.ndarray | float) -> np.ndarray:
    """``linear + offset`` without rectification (may be negative; for analysis only)."""
    return np.add(linear, offset)
