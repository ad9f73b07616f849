"""The fast yes/no schema check agrees with the full JSON-schema validator."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmtoolkit.sonata.schemas import load_schema, schema_problems
from bmtoolkit.sonata.schemas._check import ANNOTATIONS, KEYWORDS, UnsupportedSchema, conforms

KINDS = ("circuit", "simulation")


def _validator(kind):
    import jsonschema

    schema = load_schema(kind)
    return jsonschema.validators.validator_for(schema)(schema)


def _keywords(node, out):
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(key)
            if key in ("properties", "$defs", "patternProperties"):
                for sub in value.values():
                    _keywords(sub, out)
            else:
                _keywords(value, out)
    elif isinstance(node, list):
        for item in node:
            _keywords(item, out)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_schemas_use_only_implemented_keywords(kind):
    used = _keywords(load_schema(kind), set())
    implemented = set(KEYWORDS) | {"additionalProperties"} | ANNOTATIONS
    assert used <= implemented, used - implemented


def _conformance_configs(root):
    for path in sorted(root.rglob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and ({"run", "networks", "manifest"} & set(doc)):
            yield path, doc


def test_agrees_with_jsonschema_on_every_conformance_config(sonata_examples):
    seen = 0
    for path, doc in _conformance_configs(sonata_examples):
        for kind in KINDS:
            expected = not any(_validator(kind).iter_errors(doc))
            assert conforms(doc, load_schema(kind)) == expected, (path, kind)
            seen += 1
    assert seen >= 20


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-2, 2, allow_nan=False),
    st.sampled_from(["", "x", "$BASE_DIR", "a b", "by_time", "time", "IClamp", "1.5"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["module", "x", "tstop", "$A", "a-b"]), inner, max_size=3),
    ),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


_BASE = {
    "simulation": {
        "manifest": {"$BASE_DIR": "."},
        "run": {"tstop": 100.0, "dt": 0.1, "nsteps_block": 5},
        "conditions": {"celsius": 34.0},
        "output": {"output_dir": "out", "spikes_sort_order": "time", "log_file": False},
        "inputs": {"c": {"input_type": "current_clamp", "module": "IClamp", "amp": [0.1]}},
        "reports": {"v": {"cells": [1, 2], "variable_name": "v", "dt": 0.1}},
        "node_set": "all",
    },
    "circuit": {
        "manifest": {"$NETWORK_DIR": "network"},
        "components": {"morphologies_dir": "m"},
        "networks": {
            "nodes": [{"nodes_file": "n.h5", "node_types_file": "t.csv"}],
            "edges": [{"edges_file": "e.h5", "edge_types_file": "et.csv"}],
        },
    },
}


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_agrees_with_jsonschema_on_mutated_configs(kind, data):
    doc = copy.deepcopy(_BASE[kind])
    paths = list(_paths(doc))[1:]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        value = data.draw(_JSON)
        try:  # an earlier mutation may have replaced part of the path
            parent = doc
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    if data.draw(st.booleans()):
        doc[data.draw(st.sampled_from(["run", "output", "extra", "networks"]))] = data.draw(_JSON)
    expected = not any(_validator(kind).iter_errors(doc))
    assert conforms(doc, load_schema(kind)) == expected
    assert (schema_problems(doc, kind) == []) == expected


def test_json_types_follow_the_json_data_model():
    assert conforms(3.0, {"type": "integer"}) and not conforms(3.5, {"type": "integer"})
    assert not conforms(True, {"type": "integer"}) and not conforms(1, {"type": "boolean"})
    assert not conforms(True, {"enum": [1]}) and conforms(1.0, {"enum": [1]})
    assert conforms({"a": 1}, {"additionalProperties": False, "patternProperties": {"^a$": {}}})
    assert not conforms({"b": 1}, {"additionalProperties": False, "properties": {"a": {}}})


def test_unknown_keyword_falls_back_to_the_full_validator():
    with pytest.raises(UnsupportedSchema, match="maxItems"):
        conforms([1, 2], {"maxItems": 1})
    with pytest.raises(UnsupportedSchema, match="local"):
        conforms(1, {"$ref": "https://example.org/s.json"})
