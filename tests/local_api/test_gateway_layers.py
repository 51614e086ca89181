"""The gateway's imports run downwards (issue 16): read from the source, not from a running app.

local_api's packages, bottom up: the small shared modules (``timestamps``, ``files``, the kiosk's
``client``); the platform ``link``; the ``outbox`` + forwarder and ``ops`` (side by side, neither
importing the other); the ``web`` layer and the ``sim``ulator (side by side); ``server``, which
wires them. A module imports its own package or packages below it, no module's imports come back
round to it, nobody imports another module's private names, and an import inside a function says
why it waits (``# lazy: reason``).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "local_api"
RANKS = {"timestamps": 0, "files": 0, "client": 0, "link": 1, "outbox": 2, "ops": 2, "web": 3, "sim": 3,
         "server": 4}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _unit(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _imports(path: Path) -> list[tuple[ast.ImportFrom | ast.Import, bool]]:
    """Every import of local_api in ``path``, and whether it sits inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inner.update(id(n) for n in ast.walk(node) if n is not node)
    found: list[tuple[ast.ImportFrom | ast.Import, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            found.append((node, id(node) in inner))
    return found


def _targets(node: ast.ImportFrom | ast.Import) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("local_api")]
    if node.module is None or not node.module.startswith("local_api"):
        return []
    # ``from local_api.web import services`` may name a module; count the deepest one that exists.
    named = [f"{node.module}.{a.name}" for a in node.names]
    return [name if name in MODULES else node.module for name in named]


@cache
def _graph() -> dict[str, set[str]]:
    return {name: {t for node, _ in _imports(path) for t in _targets(node)} - {name}
            for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "local_api"))
def test_each_module_imports_its_own_package_or_those_below(module: str) -> None:
    mine = _unit(module)
    for target in _graph()[module]:
        theirs = _unit(target)
        if not theirs or theirs == mine:
            continue
        assert RANKS[theirs] < RANKS[mine], f"{module} imports {target}: {theirs} is not below {mine}"


def test_no_module_imports_come_back_round_to_it() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            pytest.fail("import circle: " + " → ".join(path[path.index(module):] + [module]))
        if module in done or module not in graph:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_only_the_server_imports_the_app_factory() -> None:
    importers = sorted(m for m, targets in _graph().items() if "local_api.web.app" in targets)
    assert importers == ["local_api.server"]


def test_no_module_imports_another_modules_private_names() -> None:
    for name, path in MODULES.items():
        for node, _ in _imports(path):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("local_api"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{name} imports {', '.join(private)} from {node.module}"


def test_an_import_inside_a_function_says_why_it_waits() -> None:
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    above = lines[max(0, inner.lineno - 4):inner.lineno]
                    assert any("# lazy:" in line for line in above), \
                        f"{name}:{inner.lineno}: an import inside {node.name}() without '# lazy: reason'"
