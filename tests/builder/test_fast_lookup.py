"""Node views look keys up at plain-dict speed, and answer exactly as a dict does."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

from bmtoolkit.builder import node_table
from bmtoolkit.builder.fast_lookup import (
    DISABLE_ENV,
    _head,
    _MappingMethods,
    _SequenceMethods,
    direct_dict_lookups,
)
from bmtoolkit.builder.node_table import NodeSetSpec, NodeTable, NodeView

CPYTHON_GIL = sys.implementation.name == "cpython" and not sysconfig.get_config_var(
    "Py_GIL_DISABLED"
)


def _slots(cls: type) -> tuple[int | None, int | None]:
    head = _head(cls)
    assert head is not None
    return (
        _MappingMethods.from_address(head.tp_as_mapping).mp_subscript,
        _SequenceMethods.from_address(head.tp_as_sequence).sq_contains,
    )


@pytest.fixture
def views(monkeypatch):
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    spec = NodeSetSpec.from_properties(3, 100, {"ei": "e", "x": [1.0, 2.0, 3.0]})
    return NodeTable.from_specs("v1", [spec]).node_views()


@pytest.mark.skipif(not CPYTHON_GIL, reason="CPython with the GIL only")
def test_node_views_use_dicts_own_lookup_and_in_slots():
    assert node_table.FAST_VIEWS is True
    assert _slots(NodeView) == _slots(dict)
    fresh = type("Fresh", (dict,), {"__slots__": ()})
    assert _slots(fresh) != _slots(dict)  # what CPython gives a dict subclass by itself


def test_views_answer_as_dicts(views):
    v = views[1]
    assert v["x"] == 2.0 and v["ei"] == "e" and v["node_id"] == 1 and v.node_id == 1
    assert "x" in v and "y" not in v and v.get("y", 5) == 5
    with pytest.raises(KeyError) as err:
        v["y"]
    assert err.value.args == ("y",)
    with pytest.raises(TypeError, match="unhashable"):
        v[[1]]
    with pytest.raises(TypeError, match="unhashable"):
        [1] in v  # noqa: B015
    assert sorted(v) == sorted(dict(v)) and len(v) == len(dict(v))


def test_subclasses_keep_their_own_lookups():
    class Row(dict):
        __slots__ = ("node_id",)

    direct_dict_lookups(Row)

    class Defaulted(Row):
        def __missing__(self, key):
            return f"no {key}"

    class Upper(Row):
        def __getitem__(self, key):
            return dict.__getitem__(self, key.upper())

        def __contains__(self, key):
            return dict.__contains__(self, key.upper())

    assert Defaulted(a=1)["b"] == "no b" and Defaulted(a=1)["a"] == 1
    assert Upper(A=1)["a"] == 1 and "a" in Upper(A=1)
    Row.__getitem__ = lambda self, key: "replaced"  # CPython recomputes the slot
    assert Row(a=1)["a"] == "replaced"


@pytest.mark.parametrize(
    "cls",
    [
        type("Own", (dict,), {"__getitem__": lambda self, key: 0}),
        type("OwnIn", (dict,), {"__contains__": lambda self, key: True}),
        type("Grand", (type("Mid", (dict,), {}),), {}),
        type("Other", (list,), {}),
        dict,
    ],
    ids=["own-getitem", "own-contains", "not-direct", "not-dict", "dict-itself"],
)
def test_classes_it_does_not_apply_to_are_left_alone(cls):
    before = _slots(cls) if CPYTHON_GIL and issubclass(cls, dict) else None
    assert direct_dict_lookups(cls) is False
    if before is not None:
        assert _slots(cls) == before


def test_the_layout_read_back_names_the_type():
    if not CPYTHON_GIL:
        pytest.skip("CPython with the GIL only")
    for cls in (dict, NodeView, type("Row", (dict,), {"__slots__": ("a", "b")})):
        head = _head(cls)
        assert head is not None and head.tp_basicsize == cls.__basicsize__


def test_env_turns_it_off_in_a_new_process():
    code = (
        "from bmtoolkit.builder import node_table as t;"
        "v = t.NodeView.__new__(t.NodeView); dict.update(v, {'a': 2});"
        "print(t.FAST_VIEWS, v['a'])"
    )
    env = {**os.environ, DISABLE_ENV: "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "2"]


def test_builds_are_the_same_with_plain_and_direct_lookups(tmp_path):
    """Same edges either way: a per-pair rule reading properties, built in two processes."""
    script = tmp_path / "build.py"
    script.write_text(
        "import sys, numpy as np\n"
        "from bmtoolkit.builder import NetworkBuilder\n"
        "np.random.seed(3)\n"
        "net = NetworkBuilder('n')\n"
        "net.add_nodes(N=60, x=np.random.random(60), ei='e')\n"
        "def rule(s, t):\n"
        "    if 'x' not in s or s.node_id == t.node_id:\n"
        "        return None\n"
        "    return int(abs(s['x'] - t['x']) < 0.3) * np.random.randint(1, 3)\n"
        "net.add_edges(connection_rule=rule)\n"
        "net.build()\n"
        "net.save(output_dir=sys.argv[1])\n"
    )
    from bmtoolkit.sonata import read_edges

    edges = []
    for flag in ("0", "1"):
        out = tmp_path / flag
        env = {**os.environ, DISABLE_ENV: flag}
        subprocess.run([sys.executable, str(script), str(out)], env=env, check=True)
        (pop,) = read_edges(out / "n_n_edges.h5").values()
        edges.append((pop.source_node_ids(), pop.target_node_ids(), pop.column("nsyns")))
    assert len(edges[0][0]) > 0
    for a, b in zip(edges[0], edges[1], strict=True):
        assert np.array_equal(a, b)
