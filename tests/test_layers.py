"""Imports run one way: udfs <- core <- messaging/flink/featurestore/synthetic <- models <- jobs <- cli, and never in a cycle.

Every import counts, at module level or inside a function: a lazy import that runs
back up is still a dependency the day it runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("udfs", "skewless", "models", "jobs", "cli", "feature_repo")
LAYERS = {
    "udfs": 0,
    "skewless": 1,  # the core: config, errors, logs, record schemas, validation, time units
    "skewless.messaging": 2, "skewless.flink": 2, "skewless.featurestore": 2, "skewless.synthetic": 2, "feature_repo": 2,
    "models": 3,
    "jobs": 4,
    "cli": 5,
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _layer_of(module: str) -> int:
    """The layer of the longest declared prefix."""
    prefix = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[prefix]


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports (a `from package import name` names a module when it is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                     for alias in node.names]
        else:
            continue
        found |= {name for name in names if name.split(".")[0] in PACKAGES and name in modules}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {module: _imports(path, modules) - {module} for module, path in modules.items()}


def test_no_module_imports_one_above_it():
    upward = sorted(f"{module} (layer {_layer_of(module)}) imports {target} (layer {_layer_of(target)})"
                    for module, targets in _graph().items() for target in targets if _layer_of(target) > _layer_of(module))
    assert upward == []


def test_no_import_cycle():
    graph, index, low, stack, on_stack, cycles = _graph(), {}, {}, [], set(), []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_rule_sees_an_upward_import(tmp_path):
    """The check itself: a core module importing a job is caught."""
    core = tmp_path / "core.py"
    core.write_text("from jobs.stream import start_stream\n")
    modules = _modules() | {"skewless.core_probe": core}
    assert {t for t in _imports(core, modules) if _layer_of(t) > _layer_of("skewless.core_probe")} == {"jobs.stream"}
