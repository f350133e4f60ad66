"""Layers run one way (ARCHITECTURE.md): each top-level package imports only its own layer or lower
ones, and no two modules import each other, directly or through others. Read from the source (ast),
so function-level imports count as much as top-level ones."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Lower number = lower layer. A package may import packages of its own layer or below.
LAYERS = {
    "errors": 0,
    "dialects": 1,
    "hardware": 1,
    "kinds": 2,
    "analyses": 3,
    "frontends": 4,
    "passes": 4,
    "backends": 5,
    "driver": 6,
    "examples": 7,
}
# Imports still pointing up, and import cycles: none left, and none may come back.
KNOWN_UPWARD: set[tuple[str, str]] = set()
KNOWN_CYCLES: set[frozenset[str]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """dfcc module -> the dfcc modules it imports (anywhere in the file)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")
               if p.relative_to(ROOT).parts[0] in LAYERS and ".venv" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dfcc."):
                base = node.module.removeprefix("dfcc.")
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
            elif isinstance(node, ast.ImportFrom) and node.module == "dfcc":
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                targets.update(a.name.removeprefix("dfcc.") for a in node.names if a.name.startswith("dfcc."))
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def test_imports_point_down():
    graph = import_graph()
    upward = {(a, b) for a, targets in graph.items() for b in targets if _layer(b) > _layer(a)}
    assert upward <= KNOWN_UPWARD, f"imports from a lower layer to a higher one: {sorted(upward - KNOWN_UPWARD)}"
    assert upward == KNOWN_UPWARD, f"fixed, remove from KNOWN_UPWARD: {sorted(KNOWN_UPWARD - upward)}"


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), set()

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    cycles = _cycles(import_graph())
    assert cycles <= KNOWN_CYCLES, f"import cycles: {[sorted(c) for c in cycles - KNOWN_CYCLES]}"
    assert cycles == KNOWN_CYCLES, f"fixed, remove from KNOWN_CYCLES: {[sorted(c) for c in KNOWN_CYCLES - cycles]}"


def test_kinds_sit_above_the_dialect():
    graph = import_graph()
    assert not {t for t in graph["dialects.dataflow"] if _layer(t) > 1}
    assert "kinds" in graph["frontends.mlir"]
