"""One generic registry, instantiated once per plug-in family.

Modelled on lm-evaluation-harness: names map to objects or to lazy ``"module:attr"`` strings
so listing the registry never imports torch or a reference package; a duplicate name is an
error (two plug-ins silently shadowing each other would mix up results); third-party plug-ins
arrive through an entry-point group, and one named like a built-in is an error naming both. What
is registered is checked against the registry's base: a class (subclass), a protocol (its
methods), or ``Callable``; for a lazy target when it is first imported. A registry built with
``import_paths`` (models) also takes ``package.module:Attr`` in ``get``: one's own adapter, imported
and checked the same way, without registering or installing anything.
"""

from __future__ import annotations

import collections.abc
import difflib
import importlib
import typing
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """A name that no plug-in registered; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class ImportPathError(ValueError):
    """A ``module:Class`` name that does not import or does not fit the registry's base. A
    ValueError, so the command line prints it as one line naming the module and the fix."""


@dataclass(frozen=True)
class Entry:
    name: str
    target: Any  # the object, or "module:attr" until first use
    description: str
    origin: str = ""  # where it comes from: the registering module, or the plug-in's entry point


class Registry(Generic[T]):
    def __init__(self, kind: str, entry_point_group: str | None = None, base: Any = None,
                 builtins: str | None = None, import_paths: bool = False):
        self.kind = kind
        # also accept "package.module:Attr" in get(): one's own plug-in without an entry point
        self.import_paths = import_paths
        self._imported: dict[str, Any] = {}
        self.group = entry_point_group
        self.builtins = builtins  # package whose import registers the built-ins by decorator
        # what every target must be: a class, a Protocol, Callable, or "module:attr" naming one
        # (imported at the first check, so that defining a registry imports nothing)
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
        origin = target.partition(":")[0] if isinstance(target, str) else getattr(target, "__module__", "") or ""
        if not isinstance(target, str):
            self._check(name, target, origin)
        self._entries[name] = Entry(name, target, description, origin)

    def _resolved_base(self) -> Any:
        if isinstance(self.base, str):
            module, _, attr = self.base.partition(":")
            self.base = getattr(importlib.import_module(module), attr)
        return self.base

    def _check(self, name: str, target: Any, origin: str) -> None:
        """TypeError unless ``target`` is what this registry holds (see ``base``)."""
        base = self._resolved_base()
        if base is None:
            return
        problem = _mismatch(target, base)
        if problem is not None:
            where = f" ({origin})" if origin else ""
            raise TypeError(f"{self.kind} {name!r}{where} is not a {getattr(base, '__name__', base)}{problem}")

    def _load_plugins(self) -> None:
        """Import the built-ins, then add the entry-point plug-ins (lazily: "module:attr").
        A plug-in named like a registered entry is an error naming both, every time it is asked."""
        if self._plugins_loaded:
            return
        if self.builtins:
            importlib.import_module(self.builtins)
        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=self.group) if self.group else ():
            plugin = _describe(ep)
            old, twin = self._entries.get(ep.name), found.get(ep.name)
            if old is not None and old.origin != plugin:  # the same entry point again is no clash
                raise ValueError(f"{self.kind} {ep.name!r} is defined twice: by the entry-point plug-in {plugin} "
                                 f"and by the built-in {self.kind} in module {old.origin or repr(old.target)}; rename "
                                 f"the plug-in's entry point (one name, one {self.kind})")
            if twin is not None and twin.value != ep.value:
                raise ValueError(f"{self.kind} {ep.name!r} is defined twice: by the entry-point plug-ins "
                                 f"{_describe(twin)} and {plugin}; uninstall or rename one")
            found[ep.name] = ep
        for name, ep in found.items():
            if name not in self._entries:
                self._entries[name] = Entry(name, ep.value, f"plug-in from {ep.value}", _describe(ep))
        self._plugins_loaded = True

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
        if entry is None and self.import_paths and is_import_path(name):
            return self._import(name)
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
            self._check(name, target, entry.target)
            self._entries[name] = Entry(name, target, entry.description, entry.origin)
        return target

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._entries

    def _import(self, path: str) -> T:
        """The object ``path`` ("package.module:Attr") names, imported and checked against the
        base like a registered entry; kept out of ``names()`` (it is not registered)."""
        if path not in self._imported:
            target = import_target(path, self.kind)
            try:
                self._check(path, target, path.partition(":")[0])
            except TypeError as exc:
                raise ImportPathError(f"{exc}. Fix the class in {_module_file(path)} so it implements the "
                                      f"{self.kind} protocol") from None
            self._imported[path] = target
        return self._imported[path]


def is_import_path(name: str) -> bool:
    """Whether ``name`` has the form ``package.module:Attr`` (dotted identifiers either side)."""
    module, sep, attr = name.partition(":")
    return bool(sep) and all(p.isidentifier() for p in module.split(".")) and \
        all(p.isidentifier() for p in attr.split("."))


def _module_file(path: str) -> str:
    module = importlib.import_module(path.partition(":")[0])
    return getattr(module, "__file__", None) or module.__name__


def import_target(path: str, kind: str) -> Any:
    """Import ``package.module:Attr``; an ImportPathError naming the module and the fix when the
    module does not import (not on ``sys.path``, or failing inside) or lacks the attribute."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name != exc.name and not module_name.startswith(exc.name + "."):
            raise ImportPathError(f"{kind} {path!r}: importing module {module_name!r} failed: it needs "
                                  f"{exc.name!r}, which is not installed; install it (pip install ...)") from exc
        raise ImportPathError(f"{kind} {path!r}: no module named {module_name!r} on the Python path. Install "
                              "the package that provides it, or run from the folder that contains it with "
                              f"PYTHONPATH=. (e.g. `PYTHONPATH=. zsbench run --model {path}`)") from exc
    except Exception as exc:  # the module's own code raised while importing
        raise ImportPathError(f"{kind} {path!r}: importing module {module_name!r} raised "
                              f"{type(exc).__name__}: {exc}; fix the module ({getattr(exc, 'filename', None) or module_name})"
                              ) from exc
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            defined = sorted(n for n, v in vars(module).items() if isinstance(v, type) and not n.startswith("_")
                             and getattr(v, "__module__", None) == module.__name__)
            raise ImportPathError(f"{kind} {path!r}: module {module_name!r} ({module.__file__}) has no attribute "
                                  f"{attr!r}; classes defined there: {', '.join(defined) or 'none'}")
        target = getattr(target, part)
    return target


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""


def _describe(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{ep.name} = {ep.value} (group {ep.group}{f', distribution {dist.name}' if dist is not None else ''})"


def _protocol_methods(protocol: type) -> list[str]:
    """The public methods a Protocol declares (its data members may be set per instance)."""
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass not in (typing.Protocol, typing.Generic, object) and getattr(klass, "_is_protocol", False):
            names |= {n for n, v in vars(klass).items() if not n.startswith("_") and callable(v)}
    return sorted(names)


def _mismatch(target: Any, base: Any) -> str | None:
    """None when ``target`` fits ``base``, else why not (a suffix for the error message)."""
    if base is collections.abc.Callable or base is typing.Callable:
        return None if callable(target) else ": it is not callable"
    if getattr(base, "_is_protocol", False):
        if not isinstance(target, type) and callable(target):
            return None  # a factory: what it builds is used through the protocol
        lacking = [m for m in _protocol_methods(base) if not callable(getattr(target, m, None))]
        return f": it lacks {', '.join(lacking)}" if lacking else None
    if isinstance(target, type):
        return None if issubclass(target, base) else ""
    return None if isinstance(target, base) else ""


# The registries. Built-ins register by decorator when their package is imported; listing a
# registry imports those packages, whose modules keep heavy imports inside functions.
MODELS: Registry = Registry("model", "zsbench.adapters", base="zsbench.adapters.base:AudioTextModel",
                            builtins="zsbench.adapters", import_paths=True)
TASKS: Registry = Registry("task", "zsbench.tasks", base=collections.abc.Callable, builtins="zsbench.tasks")
PROMPTS: Registry = Registry("prompt strategy", "zsbench.prompt_strategies",
                             base="zsbench.prompt_strategies.base:PromptStrategy", builtins="zsbench.prompt_strategies")
METRICS: Registry = Registry("metric", None, base=collections.abc.Callable, builtins="zsbench.evaluation.metrics")


def import_modules(package: str, path: list[str], helpers: tuple[str, ...] = ()) -> list[str]:
    """Import every module of a plug-in package (``pkgutil``, no hand-kept list), so a new module
    registers itself by being there. Names starting with ``_`` and ``helpers`` are skipped."""
    import importlib
    import pkgutil

    names = sorted(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_") and m.name not in helpers)
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names
