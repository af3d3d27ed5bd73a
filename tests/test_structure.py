"""The import graph of prepbase: no loops, imports at the top, nothing imports the factory.

`lint-imports` (make lint, contracts in pyproject.toml) checks the floors and that the
blueprint packages do not import each other. These checks add what its contracts do not
see: a loop between a package's `__init__` and its own modules, and an import hidden
inside a function. They read the source (grimp, the graph import-linter uses), so they
find a loop whatever order the modules happen to be imported in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parent.parent / "prepbase"


def import_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("prepbase", cache_dir=None, exclude_type_checking_imports=True)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def loops(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_loops_finds_a_loop_through_a_package_init():
    graph = {"p": {"p.views"}, "p.views": {"p", "q"}, "q": set()}
    assert loops(graph) == [{"p", "p.views"}]


def test_the_import_graph_has_no_loop():
    assert [sorted(loop) for loop in loops(import_graph())] == []


def test_no_module_imports_the_package_root():
    """`prepbase/__init__.py` (the app factory) imports the portal and everything under it
    at the top; a module importing `prepbase` itself would close a loop through it."""
    graph = import_graph()
    assert sorted(m for m, imported in graph.items() if "prepbase" in imported) == []


def imports_below_module_level(path: Path) -> list[str]:
    """Import statements inside a function or class (a `TYPE_CHECKING` block is fine)."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{inner.lineno}")
    return found


def test_every_import_is_at_the_top_of_its_module():
    found = [
        hit for path in sorted(PACKAGE.rglob("*.py")) for hit in imports_below_module_level(path)
    ]
    assert found == []
