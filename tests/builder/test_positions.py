"""Position helpers of the builder: layer slabs of one column."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.builder.positions import layer_slabs
from bmtoolkit.exceptions import ConfigError


def test_layer_slabs_put_each_layer_in_its_depth_range():
    ranges = [(-300.0, -100.0), (-100, 0)]
    layers = layer_slabs([50, 20], ranges, radius=100.0, seed=0)
    assert [len(xyz) for xyz in layers] == [50, 20]
    for xyz, (lo, hi) in zip(layers, ranges, strict=True):
        assert ((xyz[:, 1] >= lo) & (xyz[:, 1] <= hi)).all()
        assert (np.hypot(xyz[:, 0], xyz[:, 2]) <= 100.0).all()


def test_a_depth_range_that_is_not_two_numbers_is_named():
    with pytest.raises(ConfigError, match=r"depth range 1 must be \(low, high\), got \[0, 1, 2\]"):
        layer_slabs([5, 5], [(-1.0, 0.0), [0, 1, 2]], radius=10.0, seed=0)
    with pytest.raises(ConfigError, match="depth_ranges"):
        layer_slabs([5], [(0.0,)], radius=10.0, seed=0)
