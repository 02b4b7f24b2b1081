"""The import graph: no loops, and every layer imports only the layers below it.

The graph is read from the source with :mod:`ast` (every ``import`` that runs, inside
functions too; ``if TYPE_CHECKING:`` blocks are only for type checkers and are left out), so
an import hidden in a function to dodge a loop shows up as the loop it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kpiforge
import kpiforge.engine
import kpiforge.goals
import kpiforge.report
import kpiforge.results
import kpiforge.simulations
from kpiforge import lazy

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"kpiforge": ROOT / "core", "kpiforge.plugins": ROOT / "plugins",
            "kpiforge.simulations": ROOT / "simulations"}


def _modules() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


MODULES = _modules()


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that execute: everything outside ``if TYPE_CHECKING:``."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The kpiforge modules a statement imports, with the packages that load on the way."""
    if isinstance(node, ast.Import):
        targets = {alias.name for alias in node.names}
    else:
        base = node.module or ""
        if node.level:
            package = module.rsplit(".", node.level)[0] if MODULES[module].name != \
                "__init__.py" else module
            base = f"{package}.{base}".rstrip(".")
        targets = {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                   for a in node.names}
    loaded = set()
    for target in targets:
        parts = target.split(".")
        loaded |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return {name for name in loaded if name in MODULES and name != module}


def _graph() -> dict[str, set[str]]:
    return {module: set().union(*(_imported(module, node) for node in
                                  _runtime_imports(ast.parse(path.read_text()))))
            for module, path in MODULES.items()}


GRAPH = _graph()


def _reaches(start: str, goal: str) -> list[str] | None:
    """An import path from ``start`` to ``goal``, or None."""
    stack, seen = [[start]], {start}
    while stack:
        path = stack.pop()
        for nxt in sorted(GRAPH[path[-1]]):
            if nxt == goal:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append([*path, nxt])
    return None


def test_the_graph_is_read_from_every_module():
    assert {"kpiforge.engine.passes", "kpiforge.io.sources", "kpiforge.cli.compute",
            "kpiforge.simulations.model", "kpiforge.plugins.support"} <= MODULES.keys()
    assert "kpiforge.io.tables" in GRAPH["kpiforge.io.sources"]
    assert "kpiforge.engine" in GRAPH["kpiforge.engine.passes"]  # parents load on the way


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_loops(module):
    loop = _reaches(module, module)
    assert loop is None, " -> ".join(loop)


#: Each layer of the core and what it must never import (directly or not).
FORBIDDEN = {
    "kpiforge.io": ("kpiforge.engine", "kpiforge.definitions", "kpiforge.registry",
                    "kpiforge.expressions", "kpiforge.plugin_manager", "kpiforge.cli",
                    "kpiforge.simulations"),
    "kpiforge.definitions": ("kpiforge.engine", "kpiforge.registry", "kpiforge.cli"),
    "kpiforge.engine": ("kpiforge.cli", "kpiforge.simulations"),
    "kpiforge.engine.passes": ("kpiforge.engine.plan", "kpiforge.engine.modes",
                               "kpiforge.engine.api"),
    "kpiforge.engine.plan": ("kpiforge.engine.evaluate", "kpiforge.engine.modes",
                             "kpiforge.engine.api"),
    "kpiforge.engine.modes": ("kpiforge.engine.api",),
    "kpiforge.results": ("kpiforge.engine",),
    "kpiforge.goals.rules": ("kpiforge.registry", "kpiforge.plugin_manager", "kpiforge.engine",
                             "kpiforge.goals.tree", "kpiforge.goals.targets",
                             "kpiforge.goals.linting"),
    "kpiforge.goals.tree": ("kpiforge.engine", "kpiforge.goals.targets", "kpiforge.goals.linting"),
    "kpiforge.goals": ("kpiforge.cli", "kpiforge.simulations"),
    "kpiforge.plugin_manager": ("kpiforge.goals.tree", "kpiforge.goals.targets",
                                "kpiforge.goals.linting"),
    "kpiforge.plugins.lint": ("kpiforge.engine", "kpiforge.goals.targets",
                              "kpiforge.goals.linting"),
    "kpiforge.simulations.erlang": ("kpiforge.simulations.runner", "kpiforge.engine"),
    "kpiforge.formatting": ("kpiforge.engine", "kpiforge.registry", "kpiforge.goals",
                            "kpiforge.cli", "kpiforge.report"),
    "kpiforge.report": ("kpiforge.cli",),
}


@pytest.mark.parametrize(("layer", "below"), [
    (layer, forbidden) for layer, forbidden in FORBIDDEN.items()
])
def test_layers_import_only_downwards(layer, below):
    for module in [m for m in MODULES if m == layer or m.startswith(layer + ".")]:
        for upper in below:
            path = _reaches(module, upper)
            assert path is None, f"{layer} must not import {upper}: {' -> '.join(path)}"


@pytest.mark.parametrize("package", [kpiforge, kpiforge.simulations, kpiforge.engine,
                                     kpiforge.goals, kpiforge.report])
def test_lazy_public_names_resolve(package):
    names = [n for n in package.__all__ if n != "__version__"]
    assert sorted(names) == sorted(package._PUBLIC)
    for name in names:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = package.nothing_here


def test_lazy_exports_keep_what_they_load():
    getattr_, _ = lazy.lazy_exports("kpiforge", {"Result": "kpiforge.results"})
    assert getattr_("Result") is kpiforge.results.Result
