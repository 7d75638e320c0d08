"""The floor plan holds: no import circle inside the core, no arrow from the core up into a
plugin or the contract suite, no oversized module, and `memory.py` stays a facade.

Imports are read from the source (ast), every one counted: function-level imports (a lazy
import is still an arrow) and `if TYPE_CHECKING:` imports (an arrow for the type checker and
for the reader) alike.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

# ARCH_CORE points the checks at another checkout's core (to see them fail on an old tree).
CORE = Path(os.environ.get("ARCH_CORE")
            or Path(__file__).resolve().parents[1] / "core" / "memstack")


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, modules: set[str], here: str) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                pkg = here.split(".")[: len(here.split(".")) - node.level + (
                    1 if (CORE.parent / Path(*here.split("."))).is_dir() else 0)]
                base = ".".join([*pkg, node.module])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names
                         if f"{base}.{a.name}" in modules)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in CORE.rglob("*.py")}
    modules = set(files)
    return {name: _imports(ast.parse(path.read_text()), modules, name) for name, path in
            files.items()}


def test_no_import_circle_in_the_core() -> None:
    graph = _graph()
    edges = {m: {t for t in targets if t in graph and t != m and t != "memstack"}
             for m, targets in graph.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            walk(module)
    assert cycles == [], "import circles: " + "; ".join(" → ".join(c) for c in cycles)


def test_the_core_imports_no_plugin_and_not_the_contract_suite() -> None:
    offenders = {m: sorted(t for t in targets if t.split(".")[0].startswith("memstack_"))
                 for m, targets in _graph().items()}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_modules_stay_small_and_memory_is_a_facade() -> None:
    sizes = {p.relative_to(CORE).as_posix(): len(p.read_text().splitlines())
             for p in CORE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 400} == {}
    assert sizes["memory.py"] <= 300
