"""Registries: processes, twins and events are added by name, never by editing the core.

A :class:`Registry` maps a stable name to an object (a class or a factory). Later modules
register themselves at import time with the decorator form::

    from twinforge.core.registry import TWINS

    @TWINS.register("home")
    class HomeTwin: ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Registry", "PROCESSES", "TWINS", "EVENTS"]

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of plug-ins of one kind (``"twin"``, ``"event"``, ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; used bare or as a decorator.

        Raises
        ------
        ValueError
            If ``name`` is already taken by a different object.
        """

        def _add(item: T) -> T:
            if not name or not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"{self.kind} name must be alphanumeric/underscore, got {name!r}")
            existing = self._items.get(name)
            if existing is not None and existing is not item:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = item
            return item

        if obj is not None:
            return _add(obj)
        return _add

    def get(self, name: str) -> T:
        """The plug-in registered as ``name``; a clear error lists the known names."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "(none)"
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


PROCESSES: Registry = Registry("process")
TWINS: Registry = Registry("twin")
EVENTS: Registry = Registry("event")
