"""A yes/no JSON-schema check for the keyword subset the shipped config schemas use.

Loading a config must not cost the ~40 ms that importing a general JSON-schema library
takes. :func:`conforms` answers "is this document valid?" for the keywords listed in
:data:`KEYWORDS` with the semantics of JSON Schema 2020-12; only when the answer is no is
the full validator imported to describe the problems. The test suite checks that both
agree on every conformance config and on many generated documents.

Examples
--------
>>> schema = {"type": "object", "properties": {"tstop": {"type": "number", "minimum": 0}}}
>>> conforms({"tstop": 5}, schema), conforms({"tstop": -1}, schema)
(True, False)
>>> conforms({"tstop": True}, schema)  # booleans are not numbers in JSON
False
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

__all__ = ["KEYWORDS", "UnsupportedSchema", "conforms"]

#: annotation keywords without effect on validity
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "$comment"})


class UnsupportedSchema(ValueError):
    """The schema uses a keyword :func:`conforms` does not implement."""


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return name == "number" or isinstance(value, int) or float(value).is_integer()


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_equal(a: Any, b: Any) -> bool:
    """Equality in the JSON data model (``true`` differs from ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return a == b


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _type(value: Any, arg: Any, root: Mapping) -> bool:
    names = [arg] if isinstance(arg, str) else arg
    return any(_is_type(value, n) for n in names)


def _properties(value: Any, arg: Mapping, root: Mapping) -> bool:
    if not isinstance(value, dict):
        return True
    return all(_valid(value[k], sub, root) for k, sub in arg.items() if k in value)


def _additional(value: Any, arg: Any, root: Mapping, schema: Mapping) -> bool:
    if not isinstance(value, dict):
        return True
    known = schema.get("properties", {})
    patterns = [_pattern(p) for p in schema.get("patternProperties", {})]
    extra = [k for k in value if k not in known and not any(p.search(k) for p in patterns)]
    return all(_valid(value[k], arg, root) for k in extra)


def _pattern_properties(value: Any, arg: Mapping, root: Mapping) -> bool:
    if not isinstance(value, dict):
        return True
    return all(
        _valid(v, sub, root)
        for p, sub in arg.items()
        for k, v in value.items()
        if _pattern(p).search(k)
    )


def _property_names(value: Any, arg: Any, root: Mapping) -> bool:
    return not isinstance(value, dict) or all(_valid(k, arg, root) for k in value)


def _required(value: Any, arg: list, root: Mapping) -> bool:
    return not isinstance(value, dict) or all(k in value for k in arg)


def _items(value: Any, arg: Any, root: Mapping) -> bool:
    return not isinstance(value, list) or all(_valid(v, arg, root) for v in value)


def _enum(value: Any, arg: list, root: Mapping) -> bool:
    return any(_json_equal(value, option) for option in arg)


def _minimum(value: Any, arg: float, root: Mapping) -> bool:
    return not _number(value) or value >= arg


def _exclusive_minimum(value: Any, arg: float, root: Mapping) -> bool:
    return not _number(value) or value > arg


def _maximum(value: Any, arg: float, root: Mapping) -> bool:
    return not _number(value) or value <= arg


def _min_length(value: Any, arg: int, root: Mapping) -> bool:
    return not isinstance(value, str) or len(value) >= arg


def _string_pattern(value: Any, arg: str, root: Mapping) -> bool:
    return not isinstance(value, str) or _pattern(arg).search(value) is not None


def _any_of(value: Any, arg: list, root: Mapping) -> bool:
    return any(_valid(value, sub, root) for sub in arg)


def _all_of(value: Any, arg: list, root: Mapping) -> bool:
    return all(_valid(value, sub, root) for sub in arg)


def _ref(value: Any, arg: str, root: Mapping) -> bool:
    if not arg.startswith("#/"):
        raise UnsupportedSchema(f"only local references are supported, got {arg!r}")
    target: Any = root
    for part in arg[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return _valid(value, target, root)


#: implemented keywords and their checks
KEYWORDS: dict[str, Callable[..., bool]] = {
    "type": _type,
    "properties": _properties,
    "patternProperties": _pattern_properties,
    "propertyNames": _property_names,
    "required": _required,
    "items": _items,
    "enum": _enum,
    "minimum": _minimum,
    "exclusiveMinimum": _exclusive_minimum,
    "maximum": _maximum,
    "minLength": _min_length,
    "pattern": _string_pattern,
    "anyOf": _any_of,
    "allOf": _all_of,
    "$ref": _ref,
}


def _valid(value: Any, schema: Any, root: Mapping) -> bool:
    if schema is True:
        return True
    if schema is False:
        return False
    for key, arg in schema.items():
        if key == "additionalProperties":
            ok = _additional(value, arg, root, schema)
        elif key in ANNOTATIONS:
            continue
        else:
            check = KEYWORDS.get(key)
            if check is None:
                raise UnsupportedSchema(f"keyword {key!r} is not implemented")
            ok = check(value, arg, root)
        if not ok:
            return False
    return True


def conforms(document: Any, schema: Mapping) -> bool:
    """True when ``document`` is valid under ``schema`` (2020-12 semantics, keyword subset).

    Raises
    ------
    UnsupportedSchema
        The schema uses a keyword outside :data:`KEYWORDS` (callers then fall back to a
        full validator).
    """
    return _valid(document, schema, schema)
