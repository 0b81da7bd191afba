"""The import graph of speechbench has no cycles, between modules or between its packages, and
experts (upstream/downstream folders) need nothing from the training machinery."""
from __future__ import annotations

import ast
import os

from testutil import REPO

ROOT = os.path.join(REPO, "speechbench")


def _modules() -> dict[str, str]:
    """Dotted module name -> file, for every module of speechbench."""
    found = {}
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path[:-3], REPO).replace(os.sep, ".").removesuffix(".__init__")
                found[dotted] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the speechbench modules it imports, at the top or inside a function."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("speechbench"):
                targets = [resolve(f"{node.module}.{alias.name}") for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [resolve(alias.name) for alias in node.names if alias.name.startswith("speechbench")]
            else:
                continue
            graph[module].update(t for t in targets if t and t != module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
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


def package_of(module: str) -> str:
    """``speechbench.data.audio`` -> ``speechbench.data`` (top-level modules are their own package)."""
    return ".".join(module.split(".")[:2])


def test_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_import_cycles():
    assert cycles(import_graph()) == []


def test_no_package_import_cycles():
    packages: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        packages.setdefault(package_of(module), set()).update(package_of(t) for t in targets)
    for package, targets in packages.items():
        targets.discard(package)
    assert cycles(packages) == []


def test_experts_do_not_import_the_training_machinery():
    offending = {m: sorted(t for t in targets if t.startswith(("speechbench.train", "speechbench.runner")))
                 for m, targets in import_graph().items()
                 if m.startswith(("speechbench.upstream", "speechbench.downstream"))}
    assert {m: t for m, t in offending.items() if t} == {}
