"""Plain-dict speed for ``view[key]`` and ``key in view`` on a dict subclass (CPython).

Per-pair connection functions read node properties as ``source["x"]`` millions of times, so
the cost of one lookup on a :class:`~bmtoolkit.builder.node_table.NodeView` shows in the build
time. CPython gives every dict subclass defined in Python *generic* ``__getitem__`` and
``__contains__`` slots: ``dict`` defines both as methods beside its C slots, so a subclass's
slot looks the method up on the type and calls it, on every lookup, about 100 % more than the
lookup in a plain ``dict`` (17 ns per ``view[key]`` on a 3 GHz core).

:func:`direct_dict_lookups` points those two slots of a class straight at ``dict``'s own C
functions, the ones the generic slots end up calling. What a lookup returns or raises does not
change (a missing key still goes to ``__missing__`` where a subclass defines one); only the
dispatch goes. It is done only where that is known to hold:

- CPython with the GIL (not PyPy, not a free-threaded build);
- a direct subclass of ``dict`` that neither defines nor inherits its own ``__getitem__`` or
  ``__contains__``;
- the type object laid out as expected: its name, basic size and item size read back at the
  offsets used, ``dict``'s name likewise;
- a probe instance answering lookups, misses and ``in`` exactly as a ``dict`` does afterwards
  (otherwise the old slots are put back).

Anything else leaves the class unchanged, as does ``BMTOOLKIT_PLAIN_VIEWS=1``. Subclasses of the
class made later get CPython's own slots again. Assigning ``__getitem__`` or ``__contains__`` on
the class later makes CPython recompute its slots, which replaces these.

Examples
--------
>>> class Row(dict):
...     __slots__ = ("node_id",)
>>> direct_dict_lookups(Row) in (True, False)  # False where it does not apply
True
>>> r = Row(x=1.0)
>>> r["x"], "x" in r, "y" in r
(1.0, True, False)
"""

from __future__ import annotations

import ctypes
import os
import sys
import sysconfig

__all__ = ["DISABLE_ENV", "direct_dict_lookups"]

#: set to 1 to keep CPython's generic lookup slots on node views
DISABLE_ENV = "BMTOOLKIT_PLAIN_VIEWS"

_ptr, _size = ctypes.c_void_p, ctypes.c_ssize_t
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: the type owns its slot tables


class _TypeHead(ctypes.Structure):
    """The fields of ``PyTypeObject`` up to ``tp_as_mapping`` (unchanged since CPython 3.8)."""

    _fields_ = [
        ("ob_refcnt", _size),
        ("ob_type", _ptr),
        ("ob_size", _size),
        ("tp_name", ctypes.c_char_p),
        ("tp_basicsize", _size),
        ("tp_itemsize", _size),
        ("tp_dealloc", _ptr),
        ("tp_vectorcall_offset", _size),
        ("tp_getattr", _ptr),
        ("tp_setattr", _ptr),
        ("tp_as_async", _ptr),
        ("tp_repr", _ptr),
        ("tp_as_number", _ptr),
        ("tp_as_sequence", _ptr),
        ("tp_as_mapping", _ptr),
    ]


class _MappingMethods(ctypes.Structure):
    _fields_ = [("mp_length", _ptr), ("mp_subscript", _ptr), ("mp_ass_subscript", _ptr)]


class _SequenceMethods(ctypes.Structure):
    _fields_ = [
        ("sq_length", _ptr),
        ("sq_concat", _ptr),
        ("sq_repeat", _ptr),
        ("sq_item", _ptr),
        ("was_sq_slice", _ptr),
        ("sq_ass_item", _ptr),
        ("was_sq_ass_slice", _ptr),
        ("sq_contains", _ptr),
        ("sq_inplace_concat", _ptr),
        ("sq_inplace_repeat", _ptr),
    ]


def _head(cls: type) -> _TypeHead | None:
    """The type object's leading fields, or None if they do not read back as ``cls``'s."""
    head = _TypeHead.from_address(id(cls))
    name = cls.__name__.encode() if cls is not dict else b"dict"
    if (
        head.ob_type != id(type(cls))
        or head.tp_name != name
        or head.tp_basicsize != cls.__basicsize__
        or head.tp_itemsize != cls.__itemsize__
        or not head.tp_as_mapping
        or not head.tp_as_sequence
    ):
        return None
    return head


def _applies(cls: type) -> bool:
    return (
        sys.implementation.name == "cpython"
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
        and os.environ.get(DISABLE_ENV, "") in ("", "0")
        and cls.__bases__ == (dict,)
        and bool(cls.__flags__ & _HEAPTYPE)  # its slot tables are its own, not shared
        and getattr(cls, "__getitem__", None) is dict.__getitem__
        and getattr(cls, "__contains__", None) is dict.__contains__
    )


def _answers_as_dict(cls: type) -> bool:
    """Lookups, misses and ``in`` on an instance give what they give on a ``dict``."""
    probe: dict[str, int] = dict.__new__(cls)
    dict.update(probe, {"a": 1})
    try:
        probe["b"]
    except KeyError as err:
        missing_ok = err.args == ("b",)
    else:
        missing_ok = False
    return probe["a"] == 1 and "a" in probe and "b" not in probe and missing_ok


def direct_dict_lookups(cls: type) -> bool:
    """Give ``cls`` (a direct ``dict`` subclass) ``dict``'s own lookup and ``in`` slots.

    Returns True when the slots now are ``dict``'s, False when ``cls`` was left as it was
    (see the module notes for when that is).

    Examples
    --------
    >>> class Props(dict):
    ...     pass
    >>> direct_dict_lookups(Props) in (True, False)
    True
    >>> Props(a=1)["a"]
    1
    """
    if not _applies(cls):
        return False
    own, base = _head(cls), _head(dict)
    if own is None or base is None:
        return False
    own_map = _MappingMethods.from_address(own.tp_as_mapping)
    own_seq = _SequenceMethods.from_address(own.tp_as_sequence)
    base_map = _MappingMethods.from_address(base.tp_as_mapping)
    base_seq = _SequenceMethods.from_address(base.tp_as_sequence)
    if own.tp_as_mapping == base.tp_as_mapping or own.tp_as_sequence == base.tp_as_sequence:
        return False  # shared tables (not a heap type's own): never written
    if own_map.mp_length != base_map.mp_length or not own_seq.sq_contains:
        return False  # the tables do not read back as a dict subclass's
    old = own_map.mp_subscript, own_seq.sq_contains
    own_map.mp_subscript, own_seq.sq_contains = base_map.mp_subscript, base_seq.sq_contains
    if _answers_as_dict(cls):
        return True
    own_map.mp_subscript, own_seq.sq_contains = old
    return False
