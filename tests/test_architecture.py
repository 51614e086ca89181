"""The import rules of docs/architecture.md, checked over the source's syntax trees (no imports run).

A newcomer should be able to trust the picture: each layer imports only the layers below it, no
package reaches into another's private names, and an import hidden inside a function says why it is
there (start-up time or an optional heavy dependency), so it never hides a circle.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kiosk", "devices", "local_api", "screens")

PRIMITIVES = ("kiosk.settings", "kiosk.endpoints", "kiosk.privacy", "kiosk.validators", "kiosk.qrcodes",
              "kiosk.fonts", "kiosk.logs", "kiosk.watchdog", "kiosk.crypto", "kiosk.money", "kiosk.opening_hours")

GATEWAY_BASE = ("local_api.timestamps", "local_api.files", "local_api.strict_json", "local_api.client")

# Who may import whom, by layer (a module's layer is its longest matching prefix below). Everything a
# layer may import is listed: its own layer and the ones beneath it.
LAYERS: dict[str, tuple[str, ...]] = {
    # kiosk: primitives at the bottom, then the pure core, then the runtime, then the CLI on top.
    **{p: PRIMITIVES for p in PRIMITIVES},
    "kiosk.catalog": (*PRIMITIVES, "kiosk.catalog"),
    "kiosk.flow": (*PRIMITIVES, "kiosk.catalog", "kiosk.flow"),
    # devices: drivers, simulators and the endpoint registry; they know no kiosk beyond primitives.
    "devices": (*PRIMITIVES, "devices"),
    # the gateway, bottom up: small shared modules and the app's client; the platform link; the outbox and
    # ops side by side (neither imports the other); the web layer and the simulator; the server on top.
    **{m: PRIMITIVES for m in ("local_api.timestamps", "local_api.files", "local_api.strict_json",
                                "local_api.client")},
    "local_api.link": (*PRIMITIVES, *GATEWAY_BASE, "local_api.link"),
    "local_api.outbox": (*PRIMITIVES, *GATEWAY_BASE, "local_api.outbox", "local_api.link"),
    "local_api.ops": (*PRIMITIVES, *GATEWAY_BASE, "local_api.ops", "devices.discovery"),
    "local_api.sim": (*PRIMITIVES, *GATEWAY_BASE, "kiosk.catalog", "local_api.sim", "local_api.link",
                      "devices.id_card.identity"),
    "local_api.web": (*PRIMITIVES, *GATEWAY_BASE, "local_api.web", "local_api.ops", "local_api.outbox",
                      "local_api.link", "devices.discovery"),
    "local_api.server": (*PRIMITIVES, "kiosk.catalog", "local_api"),
    # the terminal's runtime: builds devices and talks to the gateway through its client.
    "kiosk.terminal": (*PRIMITIVES, "kiosk.catalog", "kiosk.flow", "kiosk.terminal", "devices",
                       *GATEWAY_BASE, "local_api.ops"),
    # the screens draw the flow and hold the loop; the terminal wires the rest.
    "screens": (*PRIMITIVES, "kiosk.catalog", "kiosk.flow", "kiosk.terminal", "local_api.client", "screens"),
    # on top: the CLI, the supervisor and the demo may use everything.
    "screens.demo": PACKAGES,
    "screens.demo_journeys": PACKAGES,
    "kiosk.cli": PACKAGES,
    "kiosk.commands": PACKAGES,
    "kiosk.supervisor": PACKAGES,
    "kiosk.__main__": PACKAGES,
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (for ``from x import y``: x.y when that is a module, else x)
    names: tuple[str, ...]
    line: int
    local: bool  # inside a function body
    typing_only: bool  # under ``if TYPE_CHECKING:``: never executed


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports(path: Path) -> list[Import]:
    module = module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    local_ids = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))}
    typing_ids = {id(node) for block in ast.walk(tree)
                  if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
                  for node in ast.walk(block) if isinstance(node, (ast.Import, ast.ImportFrom))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    found.append(Import(module, alias.name, (), node.lineno, id(node) in local_ids,
                                        id(node) in typing_ids))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            if base.split(".")[0] not in PACKAGES:
                continue
            names = tuple(a.name for a in node.names)
            targets = [f"{base}.{n}" if is_module(f"{base}.{n}") else base for n in names]
            for target in dict.fromkeys(targets):
                found.append(Import(module, target, names, node.lineno, id(node) in local_ids,
                                    id(node) in typing_ids))
    return found


def layer_of(module: str) -> str:
    matches = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    if not matches:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in {Path(__file__).name}")
    return max(matches, key=len)


def allowed(target: str, layer: str) -> bool:
    return any(target == ok or target.startswith(ok + ".") for ok in LAYERS[layer])


ALL = [i for path in sources() for i in imports(path)]


def test_the_rules_see_every_package() -> None:
    """The checks below would pass vacuously if the parsing found nothing."""
    assert len(sources()) > 150
    assert {i.module.split(".")[0] for i in ALL} == set(PACKAGES)
    assert any(i.target == "kiosk.terminal.terminal" and i.module == "screens.app" for i in ALL)


@pytest.mark.parametrize("package", PACKAGES)
def test_each_layer_imports_only_the_layers_beneath_it(package: str) -> None:
    wrong = [f"{i.module}:{i.line} imports {i.target} (layer {layer_of(i.module)} may import: "
             f"{', '.join(LAYERS[layer_of(i.module)])})"
             for i in ALL if i.module.split(".")[0] == package and not allowed(i.target, layer_of(i.module))]
    assert not wrong, "\n".join(wrong)


def test_devices_and_the_gateway_never_import_the_terminal_or_the_cli() -> None:
    top = ("kiosk.terminal", "kiosk.cli", "kiosk.commands", "kiosk.supervisor", "screens")
    wrong = [f"{i.module}:{i.line} imports {i.target}" for i in ALL
             if i.module.startswith(("devices", "local_api")) and i.target.startswith(top)]
    assert not wrong, "\n".join(wrong)


def package_of(module: str) -> str:
    """A module's package for the circle check (``local_api.outbox.store`` → ``local_api.outbox``)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else module


@pytest.mark.parametrize("root", ["kiosk", "local_api", "devices"])
def test_no_circles_between_packages(root: str) -> None:
    """Circles of imports that run (an import only for type hints, under ``TYPE_CHECKING``, runs never:
    the endpoint registry names the simulators' port types that way, while the simulators import it)."""
    graph: dict[str, set[str]] = {}
    for i in ALL:
        if i.module.startswith(root + ".") and i.target.startswith(root + ".") and not i.typing_only:
            a, b = package_of(i.module), package_of(i.target)
            if a != b:
                graph.setdefault(a, set()).add(b)
    seen: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, trail: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                raise AssertionError("circle: " + " -> ".join([*trail[trail.index(nxt):], nxt]))
            if nxt not in seen:
                visit(nxt, [*trail, nxt])
        seen[node] = 2

    for start in sorted(graph):
        if start not in seen:
            visit(start, [start])
    assert graph, f"no imports between {root}'s packages were found"


def test_no_module_imports_another_modules_private_names() -> None:
    wrong = [f"{i.module}:{i.line} imports {n} from {i.target}" for i in ALL for n in i.names
             if n.startswith("_") and not n.startswith("__") and i.target != i.module]
    assert not wrong, "\n".join(wrong)


def unexplained_local_imports(path: Path) -> list[int]:
    """Lines of the imports in function bodies of ``path`` (ours, third-party or the standard
    library's) that do not say why they wait: ``# lazy: reason`` on the import's line, or in the comment
    just above it or above the run of imports it belongs to."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    local = sorted((node for fn in ast.walk(ast.parse(text))
                    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                    for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))),
                   key=lambda node: node.lineno)
    explained: set[int] = set()
    for n, node in enumerate(local):
        previous = local[n - 1] if n else None
        run_goes_on = previous is not None and previous.end_lineno == node.lineno - 1
        k, above = node.lineno - 2, ""  # the comment block right above the import
        while k >= 0 and lines[k].strip().startswith("#"):
            above, k = lines[k] + above, k - 1
        own = any("# lazy:" in lines[k - 1] for k in range(node.lineno, (node.end_lineno or node.lineno) + 1))
        if own or "# lazy:" in above or (run_goes_on and previous.lineno in explained):
            explained.add(node.lineno)
    return [node.lineno for node in local if node.lineno not in explained]


def test_function_local_imports_say_why() -> None:
    """Any import in a function body (ours, third-party or the standard library's)."""
    wrong = [f"{module_name(path)}:{line} imports in a function without a '# lazy: reason'"
             for path in sources() for line in unexplained_local_imports(path)]
    assert not wrong, f"{len(wrong)} unexplained:\n" + "\n".join(wrong)


# Cryptographic primitives live in one module (issue 27): a change of suite, algorithm or library is made
# there only, and an assessor reads one file to see every algorithm the terminal uses.
CRYPTO_MODULE = "kiosk.crypto"
CRYPTO_LIBRARIES = ("cryptography", "gmalg", "hmac", "hashlib", "nacl", "Crypto", "Cryptodome", "gmssl")


def crypto_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
        found += [f"{module_name(path)}:{node.lineno} imports {n}" for n in names
                  if n.split(".")[0] in CRYPTO_LIBRARIES]
    return found


def test_only_kiosk_crypto_imports_cryptographic_primitives() -> None:
    wrong = [line for path in sources() if module_name(path) != CRYPTO_MODULE for line in crypto_imports(path)]
    assert not wrong, ("use kiosk.crypto (the suite's AEAD, MAC, hash, signature) instead:\n" + "\n".join(wrong))
    assert crypto_imports(ROOT / "kiosk" / "crypto.py"), "the rule would pass vacuously"
