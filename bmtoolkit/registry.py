"""Named registries: backends, input modules, reports, cell models, weight functions, rules.

A :class:`Registry` maps names to objects. Unknown names raise
:class:`~bmtoolkit.exceptions.UnknownModelError` listing the known names, so a typo in a config
gives an actionable message instead of an if/elif chain falling through.

Examples
--------
>>> from bmtoolkit.registry import Registry
>>> shapes = Registry("weight function")
>>> @shapes.register("double")
... def double(x):
...     return 2 * x
>>> shapes.get("double")(3)
6
>>> shapes.get("tripple")
Traceback (most recent call last):
...
bmtoolkit.exceptions.UnknownModelError: unknown weight function 'tripple'; known: double
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

from bmtoolkit.exceptions import UnknownModelError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object table with helpful errors.

    Parameters
    ----------
    kind : str
        What the entries are, used in error messages (``"backend"``, ``"input module"`` ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    @overload
    def register(
        self, name: str, obj: T, *, aliases: tuple[str, ...] = ..., replace: bool = ...
    ) -> T: ...

    @overload
    def register(
        self, name: str, obj: None = ..., *, aliases: tuple[str, ...] = ..., replace: bool = ...
    ) -> Callable[[T], T]: ...

    def register(self, name, obj=None, *, aliases=(), replace=False):
        """Register ``obj`` under ``name`` (and ``aliases``); usable as a decorator.

        Raises
        ------
        ValueError
            If the name is taken and ``replace`` is false.
        """

        def _add(item: T) -> T:
            for key in (name, *aliases):
                if not replace and (key in self._entries or key in self._aliases):
                    raise ValueError(f"{self.kind} {key!r} is already registered")
            self._entries[name] = item
            for alias in aliases:
                self._aliases[alias] = name
            return item

        if obj is None:
            return _add
        return _add(obj)

    def get(self, name: str) -> T:
        """Return the entry for ``name`` (or an alias), or raise ``UnknownModelError``."""
        key = self._aliases.get(name, name)
        try:
            return self._entries[key]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "(none registered)"
            raise UnknownModelError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def canonical(self, name: str) -> str:
        """The registered name ``name`` stands for (itself unless it is an alias)."""
        return self._aliases.get(name, name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def names(self) -> list[str]:
        """Sorted registered names (aliases excluded)."""
        return sorted(self._entries)
