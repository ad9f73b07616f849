"""Manifest variables of SONATA configs: ``$VAR`` and ``${VAR}``, nested, whole-word.

A config's ``manifest`` maps variable names (``"$BASE_DIR"`` or ``"BASE_DIR"``) to strings
that may themselves use other variables. :func:`resolve_manifest` expands them iteratively
and :func:`substitute` expands every string value of a JSON document with the result.

Matching is whole-word: in ``"$BASE/x"`` the variable is ``BASE``, never ``B`` followed by
``ASE``, so a short name cannot corrupt a longer one. Braces delimit a name explicitly:
``"${RUN}_1"`` is ``RUN`` followed by ``_1``. A reference to an undefined variable, or a
cycle between variables, raises :class:`~bmtoolkit.exceptions.ConfigError` naming the file
and the variable.

Examples
--------
>>> resolve_manifest({"$BASE": ".", "$NET": "$BASE/network", "$B": "/elsewhere"}, "/cfg")
{'BASE': '.', 'NET': './network', 'B': '/elsewhere'}
>>> substitute({"f": "${NET}/a.h5"}, {"NET": "./network"})
{'f': './network/a.h5'}
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bmtoolkit.exceptions import ConfigError

__all__ = [
    "VARIABLE_RE",
    "absolute_path",
    "builtin_variables",
    "expand_config",
    "is_path_key",
    "resolve_manifest",
    "substitute",
]

#: ``${NAME}`` or ``$NAME`` where NAME is a whole word (letters, digits, underscore)
VARIABLE_RE = re.compile(r"\$\{(?P<braced>\w+)\}|\$(?P<bare>\w+)")
_NAME_RE = re.compile(r"^\$?\w+$")
#: keys whose string values are paths although their name does not end in _file/_dir/_path
_EXTRA_PATH_KEYS = frozenset({"network", "simulation", "electrode_positions"})
#: top-level keys naming other config files, always relative to the config's folder
_CHILD_CONFIG_KEYS = ("network", "simulation")
#: keys under ``output`` joined onto ``output_dir`` when relative
#: output keys whose relative paths are joined onto ``output_dir`` (BMTK's rule)
_OUTPUT_FILE_KEYS = (
    "spikes_file",
    "log_file",
    "spikes_file_csv",
    "spikes_file_nwb",
    "rates_file",
    "rates_h5",
    "rates_csv",
)


def builtin_variables(config_path: str | os.PathLike[str] | None) -> dict[str, str]:
    """Variables every config may use without declaring them.

    ``configdir`` (folder of the config file), ``configfname`` (its file name) and
    ``workingdir`` (the current working directory), as BMTK provides them.

    Examples
    --------
    >>> builtin_variables("/a/b/config.json")["configdir"]
    '/a/b'
    """
    out = {"workingdir": os.getcwd()}
    if config_path is not None:
        p = Path(config_path).absolute()
        out["configdir"] = str(p.parent)
        out["configfname"] = p.name
    return out


def _name(key: Any, path: str | None) -> str:
    if not isinstance(key, str) or not _NAME_RE.match(key):
        raise ConfigError(
            f"invalid manifest variable name {key!r}: expected '$NAME' with letters, digits "
            "and underscores",
            path=path,
            field="manifest",
        )
    return key[1:] if key.startswith("$") else key


def resolve_manifest(
    manifest: Mapping[str, Any],
    base_dir: str | os.PathLike[str] | None = None,
    *,
    extra: Mapping[str, str] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """Expand the variables of a manifest in terms of each other.

    Parameters
    ----------
    manifest : mapping
        ``{"$NAME": value}`` (the ``$`` is optional). Values are strings that may refer to
        other variables as ``$OTHER`` or ``${OTHER}``.
    base_dir : path-like, optional
        Folder of the config; offered as the built-in variable ``configdir`` unless
        ``extra`` or the manifest defines it.
    extra : mapping, optional
        Further variables (built-ins, user overrides). Manifest entries win over them.
    path : path-like, optional
        The config file, named in error messages.

    Returns
    -------
    dict
        ``{NAME: fully expanded string}``, names without the ``$``.

    Raises
    ------
    ConfigError
        A value is not a string, a name is invalid, a variable refers to an unknown
        variable, or variables refer to each other in a cycle.

    Examples
    --------
    >>> resolve_manifest({"$A": "${B}/x", "$B": "$C/y", "$C": "z"})
    {'A': 'z/y/x', 'B': 'z/y', 'C': 'z'}
    >>> resolve_manifest({"$A": "$B"})
    Traceback (most recent call last):
    ...
    bmtoolkit.exceptions.ConfigError: manifest.$A: unknown variable $B (defined: A)
    """
    where = os.fspath(path) if path is not None else None
    if not isinstance(manifest, Mapping):
        raise ConfigError(
            f"expected an object of variables, got {type(manifest).__name__} {manifest!r}",
            path=where,
            field="manifest",
        )
    known: dict[str, str] = {}
    if base_dir is not None:
        known["configdir"] = os.fspath(base_dir)
    known.update(extra or {})
    raw: dict[str, str] = {}
    for key, value in manifest.items():
        name = _name(key, where)
        if not isinstance(value, str):
            raise ConfigError(
                f"manifest values must be strings, got {type(value).__name__} {value!r}",
                path=where,
                field=f"manifest.{key}",
            )
        raw[name] = value

    resolved: dict[str, str] = {}

    def expand(name: str, stack: tuple[str, ...]) -> str:
        if name in resolved:
            return resolved[name]
        if name in stack:
            cycle = " -> ".join(f"${n}" for n in (*stack[stack.index(name) :], name))
            raise ConfigError(
                f"manifest variables form a cycle: {cycle}", path=where, field=f"manifest.${name}"
            )

        def repl(match: re.Match[str]) -> str:
            ref = match.group("braced") or match.group("bare")
            if ref in raw:
                return expand(ref, (*stack, name))
            if ref in known:
                return known[ref]
            defined = ", ".join(sorted(raw)) or "none"
            raise ConfigError(
                f"unknown variable ${ref} (defined: {defined})",
                path=where,
                field=f"manifest.${name}",
            )

        resolved[name] = VARIABLE_RE.sub(repl, raw[name])
        return resolved[name]

    return {name: expand(name, ()) for name in raw}


def substitute(
    document: Any,
    variables: Mapping[str, str],
    *,
    path: str | os.PathLike[str] | None = None,
    skip: tuple[str, ...] = ("manifest",),
    _where: str = "",
) -> Any:
    """Return a copy of a JSON document with every variable in string values expanded.

    Dictionary keys are left alone (node-set operators such as ``"$gt"`` are keys). Top-level
    keys listed in ``skip`` are copied unchanged.

    Raises
    ------
    ConfigError
        A string refers to a variable that is not defined; the message names the file, the
        JSON path and the variable.

    Examples
    --------
    >>> substitute({"a": ["$X/1", 2]}, {"X": "/d"})
    {'a': ['/d/1', 2]}
    """
    where = os.fspath(path) if path is not None else None
    if isinstance(document, str):

        def repl(match: re.Match[str]) -> str:
            ref = match.group("braced") or match.group("bare")
            if ref not in variables:
                defined = ", ".join(sorted(variables)) or "none"
                raise ConfigError(
                    f"unknown variable ${ref} in {document!r} (defined: {defined})",
                    path=where,
                    field=_where or None,
                )
            return variables[ref]

        return VARIABLE_RE.sub(repl, document)
    if isinstance(document, Mapping):
        out = {}
        for key, value in document.items():
            sub = f"{_where}.{key}" if _where else str(key)
            if not _where and key in skip:
                out[key] = value
            else:
                out[key] = substitute(value, variables, path=path, skip=skip, _where=sub)
        return out
    if isinstance(document, list):
        return [
            substitute(v, variables, path=path, skip=skip, _where=f"{_where}[{i}]")
            for i, v in enumerate(document)
        ]
    return document


# --------------------------------------------------------------------------------------------
# config documents: substitution, then paths
# --------------------------------------------------------------------------------------------
def is_path_key(key: str) -> bool:
    return key.endswith(("_file", "_dir", "_path")) or key in _EXTRA_PATH_KEYS


def absolute_path(value: str, base: Path) -> Path:
    p = Path(os.path.expanduser(value))
    return Path(os.path.normpath(p if p.is_absolute() else base / p))


def _resolve_paths(doc: Any, base: Path, *, key: str | None = None) -> Any:
    """Make the string values of path-like keys absolute (recursively)."""
    if isinstance(doc, Mapping):
        return {k: _resolve_paths(v, base, key=k) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_resolve_paths(v, base, key=key) for v in doc]
    if isinstance(doc, str) and key is not None and is_path_key(key) and doc:
        return str(absolute_path(doc, base))
    return doc


def expand_config(
    doc: dict[str, Any], path: Path, cwd_relative: bool
) -> tuple[dict[str, Any], Path]:
    """Expand a config's manifest in all its strings, then make its paths absolute.

    Paths are values of keys ending in ``_file``, ``_dir`` or ``_path`` (plus ``network``,
    ``simulation``, ``electrode_positions`` and every ``components`` entry); relative ones
    are resolved against the config's folder, or the working directory when
    ``cwd_relative`` (except ``network`` and ``simulation``, which BMTK too resolves against
    the config's folder). Relative ``output`` files are joined onto ``output.output_dir``.

    Returns
    -------
    (dict, Path)
        The resolved document and the folder relative paths were resolved against.
    """
    manifest = resolve_manifest(
        doc.get("manifest", {}) or {}, None, extra=builtin_variables(path), path=path
    )
    variables = {**builtin_variables(path), **manifest}
    resolved = substitute(doc, variables, path=path)
    if "manifest" in resolved:
        resolved["manifest"] = {f"${k}": v for k, v in manifest.items()}
    base = Path.cwd() if cwd_relative else path.absolute().parent
    components = resolved.pop("components", None)
    output = resolved.pop("output", None)
    out = _resolve_paths(resolved, base)
    for key in _CHILD_CONFIG_KEYS:
        if isinstance(resolved.get(key), str) and resolved[key]:
            out[key] = str(absolute_path(resolved[key], path.absolute().parent))
    if components is not None:
        out["components"] = _resolve_components(components, base)
    if output is not None:
        out["output"] = _resolve_output(output, base)
    return out, base


def _resolve_components(components: Any, base: Path) -> Any:
    if not isinstance(components, Mapping):
        return components
    out = {}
    for k, v in components.items():
        if isinstance(v, str):
            out[k] = str(absolute_path(v, base)) if v else v
        elif isinstance(v, Mapping):
            out[k] = _resolve_components(v, base)
        else:
            out[k] = v
    return out


def _resolve_output(output: Any, base: Path) -> Any:
    if not isinstance(output, Mapping):
        return output
    out = dict(output)
    out_dir = out.get("output_dir", "output")
    out_dir = absolute_path(out_dir, base) if isinstance(out_dir, str) else base / "output"
    out["output_dir"] = str(out_dir)
    for key, value in output.items():
        if key in _OUTPUT_FILE_KEYS and isinstance(value, str) and value:
            out[key] = str(absolute_path(value, out_dir))
        elif key != "output_dir":
            out[key] = _resolve_paths(value, base, key=key)
    return out
