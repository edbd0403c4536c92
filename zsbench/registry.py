"""One generic registry, instantiated once per plug-in family.

Modelled on lm-evaluation-harness: names map to objects or to lazy ``"module:attr"`` strings
so listing the registry never imports torch or a reference package; a duplicate name is an
error (two plug-ins silently shadowing each other would mix up results); third-party plug-ins
arrive through an entry-point group.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """A name that no plug-in registered; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    name: str
    target: Any  # the object, or "module:attr" until first use
    description: str


class Registry(Generic[T]):
    def __init__(self, kind: str, entry_point_group: str | None = None, base: type | None = None,
                 builtins: str | None = None):
        self.kind = kind
        self.group = entry_point_group
        self.builtins = builtins  # package whose import registers the built-ins by decorator
        self.base = base
        self._entries: dict[str, Entry] = {}
        self._plugins_loaded = False

    def register(self, name: str, description: str = "", target: Any = None) -> Callable[[T], T] | None:
        """Register ``target`` under ``name``; without a target, return a decorator."""
        if target is not None:
            self._add(name, target, description)
            return None

        def decorator(obj: T) -> T:
            self._add(name, obj, description or _first_line(obj.__doc__))
            return obj

        return decorator

    def _add(self, name: str, target: Any, description: str) -> None:
        old = self._entries.get(name)
        if old is not None and old.target is not target:
            raise ValueError(f"{self.kind} {name!r} is registered twice ({old.target!r} and {target!r})")
        self._entries[name] = Entry(name, target, description)

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        if self.builtins:
            importlib.import_module(self.builtins)
        for ep in entry_points(group=self.group) if self.group else ():
            if ep.name not in self._entries:
                self._entries[ep.name] = Entry(ep.name, ep.value, f"plug-in from {ep.value}")

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry]:
        self._load_plugins()
        for name in sorted(self._entries):
            yield self._entries[name]

    def get(self, name: str) -> T:
        self._load_plugins()
        entry = self._entries.get(name)
        if entry is None:
            close = difflib.get_close_matches(name, self._entries, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"Unknown {self.kind} {name!r}.{hint} Valid {self.kind}s: {', '.join(self.names())}"
            )
        target = entry.target
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
            if self.base is not None and isinstance(target, type) and not issubclass(target, self.base):
                raise TypeError(f"{self.kind} {name!r} ({entry.target}) is not a {self.base.__name__}")
            self._entries[name] = Entry(name, target, entry.description)
        return target

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._entries


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""


# The registries. Built-ins register by decorator when their package is imported; listing a
# registry imports those packages, whose modules keep heavy imports inside functions.
MODELS: Registry = Registry("model", "zsbench.adapters", builtins="zsbench.adapters")
TASKS: Registry = Registry("task", "zsbench.tasks", builtins="zsbench.tasks")
PROMPTS: Registry = Registry("prompt strategy", "zsbench.prompt_strategies", builtins="zsbench.prompt_strategies")
METRICS: Registry = Registry("metric", None, builtins="zsbench.metrics")
