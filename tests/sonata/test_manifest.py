"""Manifest variables: $VAR and ${VAR}, nesting, whole-word matching, clear errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.sonata.config import load_circuit_config
from bmtoolkit.sonata.manifest import builtin_variables, resolve_manifest, substitute


def test_nested_and_braced_variables_resolve_in_any_order():
    out = resolve_manifest(
        {"$OUT": "${BASE}/output", "$BASE": "$ROOT/sim", "$ROOT": "/data"}, "/cfg"
    )
    assert out == {"OUT": "/data/sim/output", "BASE": "/data/sim", "ROOT": "/data"}


def test_dollar_is_optional_in_manifest_keys():
    assert resolve_manifest({"A": "x", "$B": "$A/y"}) == {"A": "x", "B": "x/y"}


def test_short_name_never_corrupts_a_longer_one():
    # libsonata's substring replacement would turn $BASE into /elsewhereASE
    variables = resolve_manifest({"$B": "/elsewhere", "$BASE": "/base"})
    assert substitute({"f": "$BASE/nodes.h5", "g": "$B/x"}, variables) == {
        "f": "/base/nodes.h5",
        "g": "/elsewhere/x",
    }


def test_braces_delimit_a_name_followed_by_word_characters():
    assert substitute("${RUN}_1/$RUN", {"RUN": "r"}) == "r_1/r"


def test_several_variables_in_one_string():
    assert substitute("$A/$B/${A}", {"A": "1", "B": "2"}) == "1/2/1"


def test_keys_are_not_substituted_and_non_strings_pass_through():
    doc = {"node_set": {"x": {"$gt": 3}}, "n": 2, "flag": True, "lst": ["$A", 1.5]}
    assert substitute(doc, {"A": "a"}) == {
        "node_set": {"x": {"$gt": 3}},
        "n": 2,
        "flag": True,
        "lst": ["a", 1.5],
    }


def test_builtins_configdir_and_workingdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "sub" / "c.json"
    out = builtin_variables(cfg)
    assert out["configdir"] == str(cfg.parent)
    assert out["configfname"] == "c.json"
    assert out["workingdir"] == str(tmp_path)
    assert resolve_manifest({"$D": "${configdir}/net"}, extra=out)["D"] == f"{cfg.parent}/net"


def test_unknown_variable_names_file_and_variable(tmp_path):
    path = tmp_path / "circuit_config.json"
    path.write_text(json.dumps({"manifest": {"$NET": "$NETWORK_DIR/x"}, "networks": {"nodes": []}}))
    with pytest.raises(ConfigError) as err:
        load_circuit_config(path)
    text = str(err.value)
    assert str(path) in text
    assert "$NETWORK_DIR" in text
    assert "manifest.$NET" in text


def test_unknown_variable_in_a_value_names_the_json_path(tmp_path):
    path = tmp_path / "circuit_config.json"
    path.write_text(
        json.dumps({"manifest": {"$A": "."}, "networks": {"nodes": [{"nodes_file": "$B/n.h5"}]}})
    )
    with pytest.raises(ConfigError) as err:
        load_circuit_config(path)
    assert err.value.path == str(path)
    assert err.value.field == "networks.nodes[0].nodes_file"
    assert "$B" in err.value.message


@pytest.mark.parametrize(
    "manifest",
    [{"$A": "$A/x"}, {"$A": "$B", "$B": "${C}", "$C": "$A/y"}],
    ids=["self", "three"],
)
def test_cycles_are_reported(manifest, tmp_path):
    with pytest.raises(ConfigError, match="cycle") as err:
        resolve_manifest(manifest, path=tmp_path / "c.json")
    assert err.value.path == str(tmp_path / "c.json")
    assert "$A" in str(err.value)


@pytest.mark.parametrize("manifest", [{"$A": 3}, {"$A-B": "x"}, {"": "x"}])
def test_bad_manifest_entries(manifest):
    with pytest.raises(ConfigError, match="manifest"):
        resolve_manifest(manifest)


_NAMES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=6)


@given(names=st.lists(_NAMES, min_size=1, max_size=5, unique=True), braces=st.booleans())
def test_any_variable_names_substitute_exactly(names, braces):
    # names may be prefixes of each other; each reference must get its own value
    variables = {name: f"/v{i}" for i, name in enumerate(names)}
    refs = [f"${{{n}}}" if braces else f"${n}" for n in names]
    text = "/".join(f"{ref}/x" for ref in refs)
    expected = "/".join(f"{variables[n]}/x" for n in names)
    assert substitute(text, variables) == expected
