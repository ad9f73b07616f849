"""Retinotopic LGN -> L4 connectivity with oriented ON/OFF subfields.

Each L4 cell ``j`` has a visual-space position ``c_j`` (degrees) mapped from its cortical position,
``c_j = visual_center + deg_per_um * (position[axes] - cortex_center)``, or read from two node
columns, and a preferred orientation ``theta_j`` (degrees, counter-clockwise from the visual x axis).
With ``u = (cos theta, sin theta)`` along the orientation and ``n = (-sin theta, cos theta)`` across
it, the cell has two elliptical subfields of half-length ``length / 2`` along ``u`` and half-width
``width / 2`` along ``n``, centred at ``c_j + s * separation / 2 * n`` (ON) and
``c_j - s * separation / 2 * n`` (OFF), with polarity ``s = +-1`` drawn per cell (or +1 when
``random_polarity`` is False). The cell samples ``n_on`` points in the ON subfield, stratified
along its length (one per ``length / n_on`` stretch) and uniform across its width, and connects
to the ON unit whose receptive-field centre is nearest to each point; likewise ``n_off`` OFF
units. A fraction ``onoff_fraction`` of each subfield's points is stratified separately and
served by ON/OFF units. Points whose nearest unit is farther than ``width / 2`` (the
edge of the LGN field) give no input, and a unit nearest to several points connects once.
The summed receptive field, ON minus OFF, is therefore elongated along ``theta`` with its ON and
OFF lobes side by side (Arkhipov et al. 2018; Billeh et al. 2020).

Nearest units come from one ``scipy.spatial.cKDTree`` query per block and subfield polarity;
there is no Python loop over cells or pairs.

Examples
--------
>>> rule = RetinotopicLGN(n_on=10, n_off=10, length=15.0, width=5.0, separation=5.0)
>>> rule.subtype_of("sON_TF8"), rule.subtype_of("sOFF_TF4"), rule.subtype_of("sONsOFF_001")
('ON', 'OFF', 'ONOFF')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bmtoolkit.builder.rules.base import (
    CONNECTION_RULES,
    ConnectionRule,
    Connections,
    NodeBlock,
    SynapseCount,
)
from bmtoolkit.builder.rules.distance import axes_index
from bmtoolkit.exceptions import ConfigError


@CONNECTION_RULES.register("retinotopic")
class RetinotopicLGN(ConnectionRule):
    """Oriented ON/OFF subfield sampling of LGN units (see the module docstring).

    Parameters
    ----------
    n_on, n_off : int
        Sample points (at most that many inputs) in the ON and the OFF subfield of each target.
    length, width, separation : float
        Subfield length (along the orientation), width, and distance between the two subfield
        centres, in degrees of visual angle.
    lgn_columns : (str, str)
        LGN node columns with the receptive-field centre in degrees.
    subtype_column : str
        LGN node column naming the subtype. Values containing both ``ON`` and ``OFF`` are ON/OFF
        units, else ``ON`` or ``OFF`` (case-insensitive), as in ``sON_TF8`` / ``sONsOFF_001``.
    angle_column : str
        Target column with the preferred orientation in degrees.
    visual_columns : (str, str), optional
        Target columns with the visual-space position; when None it is mapped from positions.
    axes : str
        Two cortical axes mapped onto visual x and y (default ``"xz"``, the horizontal plane).
    deg_per_um : float
        Magnification factor (degrees per micrometre) of the mapping.
    cortex_center, visual_center : (float, float)
        Points that correspond in the mapping.
    random_polarity : bool
        Draw which side is ON per cell (else ON is always on the ``+n`` side).
    onoff_fraction : float
        Fraction of each subfield's sample points served by ON/OFF units (stratified on their
        own), the rest by pure ON (OFF) units, so the pure units stay balanced along the axis.
    nsyns : int or (int, int)
        Synapses per connection.
    """

    def __init__(
        self,
        n_on: int = 10,
        n_off: int = 10,
        length: float = 15.0,
        width: float = 5.0,
        separation: float = 5.0,
        lgn_columns: Sequence[str] = ("x", "y"),
        subtype_column: str = "subtype",
        angle_column: str = "tuning_angle",
        visual_columns: Sequence[str] | None = None,
        axes: str = "xz",
        deg_per_um: float = 0.1,
        cortex_center: Sequence[float] = (0.0, 0.0),
        visual_center: Sequence[float] = (0.0, 0.0),
        random_polarity: bool = True,
        onoff_fraction: float = 0.2,
        nsyns: Any = 1,
    ) -> None:
        if min(length, width) <= 0 or separation < 0:
            raise ConfigError("length and width must be > 0 and separation >= 0")
        if int(n_on) < 0 or int(n_off) < 0:
            raise ConfigError("n_on and n_off must be >= 0")
        if len(axes_index(axes)) != 2:
            raise ConfigError(f"axes must name two cortical axes, got {axes!r}", field="axes")
        self.n_on, self.n_off = int(n_on), int(n_off)
        self.length, self.width, self.separation = float(length), float(width), float(separation)
        self.lgn_columns = tuple(lgn_columns)
        self.subtype_column = subtype_column
        self.angle_column = angle_column
        self.visual_columns = None if visual_columns is None else tuple(visual_columns)
        self.axes = axes
        self.deg_per_um = float(deg_per_um)
        self.cortex_center = np.asarray(cortex_center, dtype=float)
        self.visual_center = np.asarray(visual_center, dtype=float)
        self.random_polarity = random_polarity
        if not 0.0 <= float(onoff_fraction) <= 1.0:
            raise ConfigError("onoff_fraction must be in [0, 1]", field="onoff_fraction")
        self.onoff_fraction = float(onoff_fraction)
        self.nsyns = SynapseCount.parse(nsyns)

    @staticmethod
    def subtype_of(value: Any) -> str:
        """``"ON"``, ``"OFF"`` or ``"ONOFF"`` for a subtype label."""
        text = str(value).upper()
        has_off = "OFF" in text
        has_on = "ON" in text.replace("OFF", "")
        if has_on and has_off:
            return "ONOFF"
        if has_off:
            return "OFF"
        if has_on:
            return "ON"
        raise ConfigError(f"LGN subtype {value!r} is neither ON, OFF nor ON/OFF")

    def visual_positions(self, targets: NodeBlock) -> np.ndarray:
        """``(n, 2)`` visual-space positions (degrees) of the targets."""
        if self.visual_columns is not None:
            return np.column_stack(
                [np.asarray(targets.column(c), dtype=float) for c in self.visual_columns]
            )
        cortical = targets.positions("RetinotopicLGN")[:, axes_index(self.axes)]
        return self.visual_center + self.deg_per_um * (cortical - self.cortex_center)

    def prepare(self, sources: NodeBlock) -> dict[str, Any]:  # noqa: D102
        from scipy.spatial import cKDTree

        xy = np.column_stack([np.asarray(sources.column(c), dtype=float) for c in self.lgn_columns])
        labels = sources.column(self.subtype_column)
        uniq, inverse = np.unique(np.asarray(labels).astype(str), return_inverse=True)
        kinds = np.array([self.subtype_of(u) for u in uniq])[inverse.ravel()]
        state = {}
        for name, eligible in (
            ("ON", kinds == "ON"),
            ("OFF", kinds == "OFF"),
            ("ONOFF", kinds == "ONOFF"),
        ):
            rows = np.flatnonzero(eligible).astype(np.int64)
            state[name] = (rows, cKDTree(xy[rows]) if len(rows) else None)
        return state

    def subfield_centres(
        self, centre: np.ndarray, theta_deg: np.ndarray, polarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """ON and OFF subfield centres for cells at ``centre`` with orientation ``theta``."""
        theta = np.deg2rad(theta_deg)
        normal = np.column_stack([-np.sin(theta), np.cos(theta)])
        shift = (0.5 * self.separation * polarity)[:, None] * normal
        return centre + shift, centre - shift

    def _sample(
        self, centres: np.ndarray, theta: np.ndarray, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        """``(n, k, 2)`` points covering each subfield: stratified along, uniform across."""
        n = len(centres)
        strata = (np.arange(k) + rng.random((n, k))) / k - 0.5
        along = strata * self.length
        across = (rng.random((n, k)) - 0.5) * self.width
        rad = np.deg2rad(theta)[:, None]
        x = centres[:, 0:1] + along * np.cos(rad) - across * np.sin(rad)
        y = centres[:, 1:2] + along * np.sin(rad) + across * np.cos(rad)
        return np.stack([x, y], axis=-1)

    def connect(self, sources, targets, rng, state):  # noqa: D102
        n = len(targets)
        if n == 0 or len(sources) == 0:
            return Connections.empty()
        centre = self.visual_positions(targets)
        theta = np.asarray(targets.column(self.angle_column), dtype=float)
        polarity = rng.choice(np.array([-1.0, 1.0]), size=n) if self.random_polarity else np.ones(n)
        on_c, off_c = self.subfield_centres(centre, theta, polarity)
        src_parts, trg_parts = [], []
        plan = []
        for centres, key, k in ((on_c, "ON", self.n_on), (off_c, "OFF", self.n_off)):
            k_mixed = int(round(k * self.onoff_fraction))
            plan += [(centres, key, k - k_mixed), (centres, "ONOFF", k_mixed)]
        for centres, key, k in plan:
            rows, tree = state[key]
            if k == 0 or tree is None:
                continue
            points = self._sample(centres, theta, k, rng)
            dist, nearest = tree.query(points.reshape(-1, 2), k=1)
            # a unit farther than half the subfield width from its sample point is outside
            ok = dist <= 0.5 * self.width
            src_parts.append(rows[nearest[ok]])
            trg_parts.append(np.repeat(np.arange(n, dtype=np.int64), k)[ok])
        if not src_parts:
            return Connections.empty()
        src = np.concatenate(src_parts)
        trg = np.concatenate(trg_parts)
        # one connection per pair (a unit may be nearest to several sample points)
        key = np.unique(trg * len(sources) + src)
        trg, src = np.divmod(key, len(sources))
        return Connections(src, trg, self.nsyns.draw(len(src), rng))
