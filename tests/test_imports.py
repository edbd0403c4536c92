"""The import graph of the installed packages: no cycles, and no import from a lower layer to a
higher one (issue #17, "No cycles").

Every module of the packages below is parsed with :mod:`ast` (nothing is imported), and every
import statement counts: module level, inside functions, under ``if TYPE_CHECKING:``, in
``try`` blocks. Each is resolved to the module it names within these packages
(``from zsbench.adapters import demo`` -> ``zsbench.adapters.demo``; ``from zsbench.x import
name`` -> ``zsbench.x``); imports of anything else are ignored. Dynamic imports
(``importlib.import_module``, registries loading plug-ins by name) are not import statements
and are not counted.

A new module must be placed in a layer (``LAYERS``); a new import that goes upward or closes a
cycle fails here. Known upward imports are listed in ``EXCEPTIONS``, each with its reason; an
exception that is no longer needed fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
from pathlib import Path

import pytest

PACKAGES = ("zsbench", "zsbench.runtime", "zsbench.data", "zsbench.models", "zsbench.evaluation", "zsbench.cli",
            "zsbench.testing", "zsbench.adapters", "zsbench.tasks", "zsbench.prompt_strategies", "zsbench.leaderboard",
            "zsbench.training", "zsbench.synthworld")

# Lowest first. A module may import modules of its own layer and of the layers below it. A name
# listed exactly takes precedence over a wildcard (``zsbench.training.__main__`` is CLI, the rest
# of ``zsbench.training.*`` is the recipe). The core's layers are its folders.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("runtime", ("zsbench.registry", "zsbench.runtime", "zsbench.runtime.*")),
    ("data access and shared model definitions", (
        "zsbench.data", "zsbench.data.*",              # audio, dataset archives, Hub copies, checkpoints
        "zsbench.synthworld", "zsbench.synthworld.*",  # the procedural sound world (task and training corpus)
        "zsbench.models", "zsbench.models.*",          # the tiny CLAP: demo adapter and recipe both load it
    )),
    ("plug-ins: adapters, tasks, prompt strategies", (
        "zsbench.adapters", "zsbench.adapters.*",
        "zsbench.tasks", "zsbench.tasks.*",
        "zsbench.prompt_strategies", "zsbench.prompt_strategies.*",
        "zsbench.conformance",  # the adapter contract check, on adapters.base only
    )),
    ("evaluation", (
        "zsbench.config", "zsbench.evaluation", "zsbench.evaluation.*", "zsbench.api",
        "zsbench",  # the package itself: ``zsbench.evaluate`` (lazily ``zsbench.api``)
    )),
    ("leaderboard", ("zsbench.leaderboard", "zsbench.leaderboard.*")),
    ("training recipe", ("zsbench.training", "zsbench.training.*")),
    ("test and benchmark kits", ("zsbench.testing", "zsbench.testing.*")),
    ("command line", ("zsbench.cli", "zsbench.cli.*", "zsbench.training.__main__")),
]

# The core's top level holds only its entry points and contracts; everything else sits in the
# folder of its layer above.
TOP_LEVEL = {"zsbench", "zsbench.api", "zsbench.config", "zsbench.registry", "zsbench.conformance"}

# Imports that go upward (or close a cycle) today, each named with the reason it is still here.
# They are left out of both checks; remove an entry when its import goes.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    """Every module of PACKAGES, by dotted name, with its source file."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations, f"{package}: not an installed package"
        for folder in spec.submodule_search_locations:
            for path in sorted(Path(folder).glob("*.py")):
                found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def _imported(name: str, path: Path, known: set[str]) -> dict[str, int]:
    """The modules of ``known`` that ``name`` imports, each with the line of its first import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    out: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            candidates = [[alias.name] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package upward
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            # ``from a import b``: the submodule a.b where there is one, else a itself
            candidates = [[f"{base}.{alias.name}", base] for alias in node.names]
        else:
            continue
        for names in candidates:
            for candidate in names:
                target = candidate
                while target and target not in known:
                    target = target.rpartition(".")[0]  # longest known prefix: a.b.c -> a.b
                if target:
                    if target != name:
                        out.setdefault(target, node.lineno)
                    break
    return out


def import_graph() -> dict[str, dict[str, int]]:
    """importer -> {imported: line}, over every module of PACKAGES."""
    modules = _modules()
    known = set(modules)
    return {name: _imported(name, path, known) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]] | dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle of ``graph`` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def layer_of(module: str) -> int:
    exact = [i for i, (_, patterns) in enumerate(LAYERS) if module in patterns]
    if exact:
        assert len(exact) == 1, f"{module} is listed in more than one layer"
        return exact[0]
    matches = [i for i, (_, patterns) in enumerate(LAYERS) if any(fnmatch.fnmatchcase(module, p) for p in patterns)]
    assert len(matches) == 1, (f"{module}: in {len(matches)} layers; place it in exactly one of LAYERS in "
                               "tests/test_imports.py")
    return matches[0]


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    return import_graph()


def _checked(graph: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {m: {t: line for t, line in targets.items() if (m, t) not in EXCEPTIONS} for m, targets in graph.items()}


def test_the_graph_sees_every_package_and_every_kind_of_import(graph):
    for package in PACKAGES:
        assert package in graph and any(m.startswith(package + ".") for m in graph), package
    assert "zsbench.evaluation.predictions" in graph["zsbench.evaluation.runner"]        # inside a function
    assert "zsbench.tasks.base" in graph["zsbench.evaluation.predictions"]    # under if TYPE_CHECKING
    assert "zsbench.models.tinyclap" in graph["zsbench.adapters.demo"]     # lazy, inside methods
    assert "zsbench.adapters.laion" in graph["zsbench.adapters.reclap"]  # from package import submodule
    assert "zsbench" in graph["zsbench.training.arch_tiny"]         # import zsbench


def test_no_import_cycle(graph):
    cycle = find_cycle(_checked(graph))
    assert cycle is None, ("import cycle: " + " -> ".join(cycle) + "\n  lines: "
                           + ", ".join(f"{a} imports {b} at line {graph[a][b]}" for a, b in zip(cycle, cycle[1:])))


def test_no_import_goes_to_a_higher_layer(graph):
    upward = []
    for module, targets in _checked(graph).items():
        for target, line in sorted(targets.items()):
            if layer_of(target) > layer_of(module):
                upward.append(f"{module} (line {line}, {LAYERS[layer_of(module)][0]}) imports {target} "
                              f"({LAYERS[layer_of(target)][0]})")
    assert not upward, "imports from a lower layer to a higher one:\n  " + "\n  ".join(upward)


def test_adapters_never_import_the_training_recipe(graph):
    bad = [(m, t) for m, targets in graph.items() if m.startswith("zsbench.adapters")
           for t in targets if t == "zsbench.training" or t.startswith("zsbench.training.")]
    assert not bad, bad


def test_every_exception_is_still_needed(graph):
    stale = [pair for pair in EXCEPTIONS if pair[1] not in graph.get(pair[0], {})]
    assert not stale, f"no longer imported, remove from EXCEPTIONS: {stale}"


def test_the_checks_catch_a_cycle_and_an_upward_import():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert layer_of("zsbench.adapters.demo") < layer_of("zsbench.training.arch_tiny") < layer_of("zsbench.cli.main")


def test_the_core_folder_shows_its_layers():
    top = {name for name in _modules() if name.count(".") == 1 and name.split(".")[1] not in {
        p.split(".")[1] for p in PACKAGES if "." in p}} | {"zsbench"}
    assert top == TOP_LEVEL, f"put new core modules in the folder of their layer, not at zsbench/'s top: {top - TOP_LEVEL}"
