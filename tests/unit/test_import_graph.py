"""The shape of the code: no import cycle anywhere in src/, and a domain told by its folders."""

from __future__ import annotations

from pathlib import Path

import grimp

import domain

PACKAGES = ("domain", "adapters", "entrypoints")


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Groups of modules that import one another in a circle (Tarjan's strongly connected components)."""
    edges = {m: graph.find_modules_directly_imported_by(m) & graph.modules for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_in_src_imports_itself_through_others():
    assert cycles(grimp.build_graph(*PACKAGES)) == []


def test_the_domain_is_feature_packages_beside_a_small_shared_kernel():
    root = Path(domain.__file__).parent
    modules = sorted(p.stem for p in root.glob("*.py") if p.stem != "__init__")
    packages = sorted(p.name for p in root.iterdir() if (p / "__init__.py").exists())
    assert packages == ["passwords", "practitioners", "provisioning", "sso", "tenancy"]
    assert len(modules) <= 6, modules
