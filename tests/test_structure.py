"""The package's shape, read from its syntax trees: no function over 12 parameters, no module over 700 lines,
no import cycle (module-level or inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "glw_sim"
MAX_PARAMS = 12
MAX_LINES = 700

def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules ``name`` imports anywhere in its file (``from glw_sim import x`` counts as x)."""
    tree = ast.parse(path.read_text())
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            while t and t != "glw_sim":  # importing a.b.c imports the package a.b (its __init__) too
                if t != name and not name.startswith(t + "."):
                    out.add(t)
                t = t.rpartition(".")[0]
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def long_functions() -> list[str]:
    out = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                a = node.args
                n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
                if a.args and a.args[0].arg in ("self", "cls"):
                    n -= 1
                if n > MAX_PARAMS:
                    out.append(f"{name}.{getattr(node, 'name', 'lambda')}")
    return out


def test_no_function_over_twelve_parameters():
    assert long_functions() == []


def test_no_module_over_700_lines():
    assert {n: k for n, p in modules().items() if (k := len(p.read_text().splitlines())) > MAX_LINES} == {}


def test_no_import_cycle():
    mods = modules()
    assert cycles({n: imports(n, p, set(mods)) for n, p in mods.items()}) == []


def test_the_checks_see_what_they_check(tmp_path):
    """The checks themselves find a cycle, a relative import and a long signature when there is one."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    (tmp_path / "x.py").write_text("from .y import f\ndef g():\n    from glw_sim.z import h\n")
    assert imports("glw_sim.p.x", tmp_path / "x.py", {"glw_sim.p.y", "glw_sim.z"}) == {"glw_sim.p.y", "glw_sim.z"}
