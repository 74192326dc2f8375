"""The layout's promises: recipe/ (the render) never imports stack/ (the host side), and no
module imports itself back through another, function-level imports included."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("recipe", "stack", "smoke", "conformance")


def imports_of(path: Path, package: str) -> set[str]:
    """Every module of ours that the file imports, anywhere in it (top level or in a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from .x import y / from . import y
                base = package
                names = [f"{base}.{node.module}"] if node.module else [f"{base}.{a.name}" for a in node.names]
            else:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found |= set(names)
    return {m for m in found if m.split(".")[0] in PACKAGES}


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = {f"{pkg}.{p.stem}": p for pkg in PACKAGES for p in (root / pkg).glob("*.py")}
    return {name: {m for m in imports_of(path, name.split(".")[0]) if m in modules and m != name}
            for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_the_render_never_imports_the_host_side():
    offenders = {m: sorted(i for i in deps if i.startswith("stack")) for m, deps in graph().items()
                 if m.startswith("recipe.")}
    assert {m: d for m, d in offenders.items() if d} == {}


def test_the_sidecar_shares_no_code():
    assert {m: sorted(d) for m, d in graph().items()
            if m.startswith("smoke.") and any(not i.startswith("smoke") for i in d)} == {}


def test_no_import_loop():
    assert cycles(graph()) == []


def test_the_loop_finder_sees_a_loop(tmp_path):
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
    (tmp_path / "stack" / "a.py").write_text("def f():\n    from stack.b import g\n")
    (tmp_path / "stack" / "b.py").write_text("from stack import a\n")
    assert cycles(graph(tmp_path)) == [["stack.a", "stack.b", "stack.a"]]
