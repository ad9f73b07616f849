"""Registries: lazy backends, weight functions, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import BackendNotAvailableError, UnknownModelError
from bmtoolkit.simulator.core.base import Backend
from bmtoolkit.simulator.core.registries import (
    BACKENDS,
    WEIGHT_FUNCTIONS,
    NodeColumns,
    backend_names,
    get_backend,
    get_weight_function,
    register_backend,
    synaptic_weight,
)


def test_builtin_backends_are_listed_without_importing_them():
    names = backend_names()
    for name in ("pointnet", "bionet", "popnet", "filternet", "torchnet", "numpynet"):
        assert name in names


def test_get_backend_imports_lazily_and_caches_the_class():
    cls = get_backend("numpynet")
    assert issubclass(cls, Backend) and cls.name == "numpynet"
    assert BACKENDS.get("numpynet") is cls


def test_unknown_backend_lists_known_names():
    with pytest.raises(UnknownModelError, match="known: .*numpynet.*pointnet"):
        get_backend("brian3")


def test_backend_whose_module_is_missing_says_so():
    register_backend("ghostnet", "bmtoolkit_no_such_module.backend:Ghost")
    try:
        with pytest.raises(BackendNotAvailableError, match="ghostnet.*bmtoolkit_no_such_module"):
            get_backend("ghostnet")
    finally:
        BACKENDS._entries.pop("ghostnet")


def test_backend_path_without_a_backend_class_is_rejected():
    register_backend("numpymod", "numpy")
    try:
        with pytest.raises(BackendNotAvailableError, match="does not define a Backend"):
            get_backend("numpymod")
    finally:
        BACKENDS._entries.pop("numpymod")


def test_default_weight_is_syn_weight_times_nsyns_and_wmax_is_an_alias():
    edges = pd.DataFrame({"syn_weight": [2.0, -1.5], "nsyns": [3, 2]})
    for name in (None, float("nan"), "", "wmax", "default_weight_fnc", "set_syn_weight"):
        fn = get_weight_function(name)
        np.testing.assert_array_equal(fn(edges, None, None), [6.0, -3.0])


def test_synaptic_weight_decorator_registers_vectorized_function():
    @synaptic_weight(name="scaled_by_target_x")
    def scaled(edges, source, target):
        return edges["syn_weight"].to_numpy() * target["x"]

    try:

        class Pop:
            def column(self, name, ids=None):
                return np.array([1.0, 10.0, 100.0])[ids]

        edges = pd.DataFrame({"syn_weight": [1.0, 2.0, 3.0]})
        target = NodeColumns(Pop(), np.array([2, 0, 2]))
        fn = get_weight_function("scaled_by_target_x")
        np.testing.assert_array_equal(fn(edges, None, target), [100.0, 2.0, 300.0])
    finally:
        WEIGHT_FUNCTIONS.unregister("scaled_by_target_x")
    assert "scaled_by_target_x" not in WEIGHT_FUNCTIONS


def test_unregistered_weight_function_names_edge_type_and_file():
    with pytest.raises(UnknownModelError) as info:
        get_weight_function("gaussianLX", edge_type=101, path="net/v1_v1_edge_types.csv")
    msg = str(info.value)
    assert "edge type 101" in msg and "gaussianLX" in msg
    assert "v1_v1_edge_types.csv" in msg and "weight_function" in msg
    assert "wmax" in msg  # the known names are listed
