"""The reference server uses other packages (and its own modules) through public names only."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "streamchat" / "server"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str) -> list[str]:
    """``x._name`` on anything but ``self``/``cls``, and imports of underscored modules or names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            parts = (node.module or "").split(".")
            if any(_private(p) for p in parts) or any(_private(a.name) for a in node.names):
                found.append(f"line {node.lineno}: from {'.' * node.level}{node.module or ''} import ...")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if any(_private(p) for p in a.name.split("."))]
    return found


def test_the_checker_finds_what_it_looks_for():
    assert private_uses("websocket._receive.__self__") == ["line 1: ._receive"]
    assert private_uses("from uvicorn._types import X") == ["line 1: from uvicorn._types import ..."]
    assert private_uses("from .app import _check") == ["line 1: from .app import ..."]
    assert private_uses("self._x = 1\ncls._y\nobj.__class__") == []


# Calls between the server's own modules that are still to become public (the admission rewrite).
OWN_LEFTOVERS = ()


def test_no_private_names_in_the_server():
    offenders = {}
    for path in sorted(SERVER.rglob("*.py")):
        uses = [u for u in private_uses(path.read_text()) if not u.endswith(OWN_LEFTOVERS)]
        if uses:
            offenders[path.name] = uses
    assert offenders == {}


def _imports(path: Path) -> set[str]:
    """The server modules a module imports at module level (relative imports within the package)."""
    package = path.relative_to(SERVER).parent.parts
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[: len(package) - node.level + 1]) if node.level <= len(package) + 1 else []
            target = ".".join(base + ([node.module] if node.module else []))
            if node.level > len(package) + 1 or target.startswith(".."):
                continue
            names = [target] if node.module else [a.name for a in node.names]
            found.update(name for name in names if name and not name.startswith("."))
    return found


def test_no_import_cycle_between_server_modules():
    modules = {".".join(p.relative_to(SERVER).with_suffix("").parts).removesuffix(".__init__"): p for p in SERVER.rglob("*.py")}
    graph = {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, " -> ".join(trail + (name,))
        for nxt in graph[name]:
            visit(nxt, trail + (name,))

    for name in graph:
        visit(name, ())
    assert "formats" in graph["app"]
    assert {name for name, deps in graph.items() if "app" in deps} == {"embedded"}  # endpoint groups never reach back into the app
