"""No import cycle among the project's modules (issue 14): each module's top-level imports form a DAG.

The graph is read from the source with :mod:`ast`: the imports a module makes when it
is imported (at its top level, inside ``try``/``if`` blocks too), not those inside
functions (deliberately lazy). Imports under ``if TYPE_CHECKING:`` count: two modules
whose annotations need each other are still two modules that know each other's insides.
``from package import module`` imports that module (and the package only as its parent,
which every submodule's import does and which is no cycle); ``from package import name``
of a name the package defines imports the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("lappana", "spoold")


def _module_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


def _top_level_imports(tree: ast.Module):
    """The import statements of the module's body, descending into if/try/with."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            pending.extend(node.body)
            pending.extend(node.orelse)
        elif isinstance(node, (ast.Try, ast.With)):
            pending.extend(node.body)
            for handler in getattr(node, "handlers", []):
                pending.extend(handler.body)
            pending.extend(getattr(node, "orelse", []))
            pending.extend(getattr(node, "finalbody", []))


def _edges(name: str, path: Path, modules: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in _top_level_imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[:len(anchor) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
        targets |= submodules
        if len(submodules) < len(node.names):  # a name defined by the package itself
            targets.add(base)
    return {t for t in targets if t in modules and t != name}


def import_graph() -> dict[str, set[str]]:
    """Each project module and the project modules its import runs."""
    files = _module_files()
    return {name: _edges(name, path, set(files)) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_the_source():
    graph = import_graph()
    assert "lappana.dl3.summary" in graph["lappana.dl3.make"]
    assert "spoold.states" in graph["spoold.spool"]
    assert "lappana.simulate.model" in graph["lappana.simulate.events"]  # from lappana.simulate import model
    assert "lappana.simulate" not in graph["lappana.simulate.events"]


def test_a_cycle_would_be_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_among_the_projects_modules():
    found = cycles(import_graph())
    assert not found, "modules that import each other: " + "; ".join(" ↔ ".join(c) for c in found)
