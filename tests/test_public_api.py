"""No private name of another package anywhere in streamchat/, and every dependency bounded.

A private name (a leading underscore) is not part of a package's API: the next release may move it and
break streamchat silently. Checked on the source's syntax tree:

- imports: ``import pkg._x``, ``from pkg._x import y``, ``from pkg import _x`` of any package but ours;
- attribute access ``obj._x`` (or ``getattr(obj, "_x")``) where ``_x`` is no name streamchat defines
  itself: it can only be reaching into something else's internals;
- strings naming a private module of a dependency (``sys.modules["httpx._main"]``).
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = sorted((ROOT / "streamchat").rglob("*.py"))
DEPENDENCIES = (
    "httpx",
    "httpcore",
    "h11",
    "typer",
    "click",
    "starlette",
    "uvicorn",
    "websockets",
    "socketio",
    "engineio",
    "pydantic",
    "orjson",
    "PIL",
    "certifi",
    "ray",
    "matplotlib",
    "anyio",
    "httptools",
)


# The named tuple API is underscored so as not to clash with field names; it is documented and public.
NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__")) and name not in NAMEDTUPLE_API


def our_private_names() -> set[str]:
    """Every underscore attribute streamchat's own objects have: methods and class attributes, attributes
    it assigns (``self._x = ...``) and ``__slots__`` entries. (Module-level functions are not counted: a
    ``_receive`` of ours must not excuse ``websocket._receive``.)"""
    names: set[str] = set()
    for path in SOURCE:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        names.add(item.name)
                    elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                        targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                        names.update(t.id for t in targets if isinstance(t, ast.Name))
                        if any(getattr(t, "id", None) == "__slots__" for t in targets) and item.value is not None:
                            names.update(c.value for c in ast.walk(item.value) if isinstance(c, ast.Constant) and isinstance(c.value, str))
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {name for name in names if private(name)}


def violations() -> list[str]:
    ours = our_private_names()
    found = []
    for path in SOURCE:
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            line = f"{where}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                found += [f"{line}: import {a.name}" for a in node.names if any(private(part) for part in a.name.split("."))]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and not (node.module or "").startswith("streamchat"):
                module = node.module or ""
                if any(private(part) for part in module.split(".")) or any(private(a.name) for a in node.names):
                    found.append(f"{line}: from {module} import {', '.join(a.name for a in node.names)}")
            elif isinstance(node, ast.Attribute) and private(node.attr) and node.attr not in ours:
                found.append(f"{line}: .{node.attr}")
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "setattr", "hasattr") and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str) and private(name.value) and name.value not in ours:
                    found.append(f"{line}: {node.func.id}(..., {name.value!r})")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.search(rf"\b({'|'.join(DEPENDENCIES)})\._[a-z]", node.value):
                    found.append(f"{line}: {node.value!r}")
    return found


def test_no_private_name_of_another_package():
    assert violations() == []


def test_the_check_catches_what_it_should(tmp_path, monkeypatch):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typer._click import exceptions\nimport httpx._models\nfrom httpcore import _sync\n"
        "def f(websocket):\n    return websocket._receive, getattr(websocket, '_private_state')\n"
        "import sys\nsys.modules.setdefault('httpx._main', None)\n"
    )
    monkeypatch.setitem(globals(), "SOURCE", [*SOURCE, bad])
    found = [v for v in violations() if "bad.py" in v]
    assert len(found) == 6, found


def test_every_dependency_has_an_upper_bound():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    unbounded = [r for r in requirements if "<" not in r.split(";")[0] and "==" not in r]
    assert unbounded == []
