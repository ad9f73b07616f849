"""JSON schemas of circuit and simulation configs, and the JSON reader used for configs.

``circuit_config.schema.json`` and ``simulation_config.schema.json`` (package data) accept
both the BMTK dialect and the spec/BBP (libsonata) dialect; they are applied to each config
file as written, before manifest substitution.

Examples
--------
>>> schema_problems({"networks": {"nodes": [{"nodes_file": 3}]}}, "circuit")
[('networks.nodes[0].nodes_file', "3 is not of type 'string'")]
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.sonata.schemas._check import UnsupportedSchema, conforms

__all__ = ["json_location", "load_schema", "read_json", "schema_problems"]

PathLike = str | os.PathLike[str]


def read_json(path: PathLike) -> dict[str, Any]:
    """Read a JSON object from ``path`` with errors naming the file, line and column.

    Raises
    ------
    MissingFileError
        The file does not exist.
    ConfigError
        The file is not valid JSON or its top level is not an object.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "bad.json")
    >>> _ = open(p, "w").write('{"run": {"tstop": 1,}}')
    >>> read_json(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bmtoolkit.exceptions.ConfigError: ...bad.json: line 1, column 21: invalid JSON: ...
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError("file does not exist", path=p)
    if p.is_dir():
        raise ConfigError("expected a JSON file, found a folder", path=p)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the file: {err}", path=p) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"invalid JSON: {err.msg}", path=p, field=f"line {err.lineno}, column {err.colno}"
        ) from None
    if not isinstance(doc, dict):
        raise ConfigError(f"expected a JSON object at the top, got {type(doc).__name__}", path=p)
    return doc


def load_schema(kind: str) -> dict[str, Any]:
    """The shipped JSON schema of ``kind`` (``"circuit"`` or ``"simulation"``) configs."""
    import importlib.resources

    text = (
        importlib.resources.files("bmtoolkit.sonata.schemas")
        .joinpath(f"{kind}_config.schema.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


@functools.cache
def _schema(kind: str) -> dict[str, Any]:
    return load_schema(kind)


@functools.cache
def _validator(kind: str):
    # The shipped schemas are checked against their meta-schema by the test suite, not on
    # every load (that check costs as much as validating a config).
    import jsonschema

    schema = _schema(kind)
    return jsonschema.validators.validator_for(schema)(schema)


def json_location(parts) -> str:
    """Render a JSON path (sequence of keys and indices) as ``run.tstop`` / ``a.b[0].c``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def schema_problems(document: Mapping[str, Any], kind: str) -> list[tuple[str, str]]:
    """Check a raw (not yet substituted) config against a shipped schema.

    Parameters
    ----------
    document : mapping
        The JSON object as read from the file.
    kind : {"circuit", "simulation"}
        Which schema.

    Returns
    -------
    list of (location, message)
        Every problem, sorted by location; empty when the document conforms.

    Examples
    --------
    >>> schema_problems({"run": {"tstop": "1000", "dt": 0.1}}, "simulation")
    [('run.tstop', "'1000' is not of type 'number'")]
    """
    try:
        if conforms(document, _schema(kind)):
            return []
    except UnsupportedSchema:
        pass
    validator = _validator(kind)
    problems = []
    for err in validator.iter_errors(document):
        leaf = _deepest(err)
        problems.append((json_location(leaf.absolute_path), leaf.message))
    return sorted(set(problems))


def _deepest(err):
    """For anyOf/oneOf failures report the most specific sub-error."""
    if err.context:
        best = max(err.context, key=lambda e: len(e.absolute_path))
        if len(best.absolute_path) > len(err.absolute_path):
            return _deepest(best)
    return err
