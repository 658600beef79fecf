"""The layering rules a newcomer relies on: no module of the project reaches into
another module's private (underscore) names, none is over 700 lines, and no two modules
import each other (directly or round a longer loop) when they are loaded."""

from __future__ import annotations

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("juki_protocol", "juki_conformance")
MAX_LINES = 700


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private(name: str) -> bool:
    """A private name: one leading underscore (not a dunder, nor an enum's _sunder_)."""
    return name.startswith("_") and not name.startswith("__") and not name.endswith("_")


def private_uses(path: Path, me: str | None = None) -> list[str]:
    """``module.name`` for each private name of another project module that ``path``
    (module ``me``) imports or reads as an attribute of an imported project module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = me or _dotted(path)
    found: list[str] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module \
                and node.module.split(".")[0] in PACKAGES and node.module != me:
            for name in node.names:
                if _private(name.name):
                    found.append(f"{node.module}.{name.name}")
                else:
                    aliases[name.asname or name.name] = f"{node.module}.{name.name}"
        elif isinstance(node, ast.Import):
            for name in node.names:
                if name.name.split(".")[0] in PACKAGES:
                    aliases[name.asname or name.name.split(".")[0]] = name.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in aliases and _private(node.attr):
            found.append(f"{aliases[node.value.id]}.{node.attr}")
    return found


#: What this rule met when it was introduced (tests/layering_backlog.json): the private
#: names each module still used, and the modules over the limit with their length. The
#: backlog may only shrink: a new use, a new long module or a longer one fails, and so
#: does an entry that no longer applies (remove it from the file).
BACKLOG = json.loads((ROOT / "tests" / "layering_backlog.json").read_text("utf-8"))


def test_no_module_uses_another_modules_private_names() -> None:
    uses = {str(p.relative_to(ROOT)): sorted(set(u)) for p in _modules()
            if (u := private_uses(p))}
    new = {m: [u for u in found if u not in BACKLOG["privateUses"].get(m, [])]
           for m, found in uses.items()}
    assert {m: u for m, u in new.items() if u} == {}
    gone = {m: [u for u in listed if u not in uses.get(m, [])]
            for m, listed in BACKLOG["privateUses"].items()}
    assert {m: u for m, u in gone.items() if u} == {}, "fixed: remove from the backlog"


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from juki_protocol.node.sql import _first_line, connect\n"
                      "from juki_protocol import codec\nx = codec._private\n"
                      "y = codec.public\n", encoding="utf-8")
    assert sorted(private_uses(sample, "juki_protocol.machines.sample")) == [
        "juki_protocol.codec.codec._private", "juki_protocol.node.sql._first_line"]


def test_no_module_is_over_the_limit() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    grown = {m: n for m, n in long.items() if n > BACKLOG["longModules"].get(m, MAX_LINES)}
    assert grown == {}
    fixed = sorted(set(BACKLOG["longModules"]) - set(long))
    assert fixed == [], "now within the limit: remove from the backlog"


def _runs_on_import(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The import statements a module runs when it is loaded: those of its body and of
    the ``if``, ``try`` and ``with`` blocks there, but not under ``if TYPE_CHECKING``
    and not inside functions (an import there runs later, when the cycle is closed)."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            test = node.test
            checking = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
                (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
            todo += node.orelse if checking else [*node.body, *node.orelse]
        elif isinstance(node, ast.Try):
            todo += [*node.body, *node.orelse, *node.finalbody,
                     *(s for h in node.handlers for s in h.body)]
        elif isinstance(node, ast.With):
            todo += node.body
    return found


def import_graph(paths: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``paths`` (dotted name -> file) it imports when loaded;
    ``from package import name`` counts as importing the submodule when ``name`` is one."""
    graph: dict[str, set[str]] = {}
    for me, path in paths.items():
        package = me if path.name == "__init__.py" else me.rpartition(".")[0]
        found: set[str] = set()
        for node in _runs_on_import(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name in paths}
                continue
            base = package.split(".")[:len(package.split(".")) - node.level + 1] \
                if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found |= {sub} if sub in paths else {module} if module in paths else set()
        graph[me] = found - {me}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative):
    each is a set of modules that import one another when loaded."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_import_cycle() -> None:
    """No module imports, when it is loaded, one that imports it back: such a pair
    works only in one import order (as cms and cms_fast did, the second imported at
    the end of the first); what both need belongs in a third module."""
    graph = import_graph({_dotted(p): p for p in _modules()})
    assert "juki_protocol.envelope.cms_values" in graph["juki_protocol.envelope.cms_fast"]
    assert import_cycles(graph) == []


def test_the_check_sees_an_import_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "juki_protocol"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "a.py").write_text("from juki_protocol import b\n", encoding="utf-8")
    (pkg / "b.py").write_text("import datetime\n\ndef f() -> None:\n    pass\n\n"
                              "from juki_protocol.c import g  # noqa: E402\n",
                              encoding="utf-8")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\n"
                              "from . import a\nif TYPE_CHECKING:\n    from . import d\n"
                              "def g() -> None:\n    from juki_protocol import d\n",
                              encoding="utf-8")
    (pkg / "d.py").write_text("from juki_protocol.c import g\n", encoding="utf-8")
    paths = {f"juki_protocol.{p.stem}" if p.stem != "__init__" else "juki_protocol": p
             for p in pkg.glob("*.py")}
    graph = import_graph(paths)
    assert graph["juki_protocol.c"] == {"juki_protocol.a"}
    assert import_cycles(graph) == [["juki_protocol.a", "juki_protocol.b", "juki_protocol.c"]]
    assert import_cycles({**graph, "juki_protocol.c": set()}) == []


#: What the sans-I/O layers (DESIGN.md section 2) may not import: I/O, clocks' owners,
#: database drivers, and the node around them.
_IO = ("asyncio", "socket", "ssl", "sqlite3", "psycopg", "selectors", "threading",
       "juki_protocol.node", "juki_conformance")


def io_imports(path: Path) -> list[str]:
    """The imports of ``path`` that a sans-I/O module may not have."""
    import ast
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        found += [n for n in names if any(n == p or n.startswith(p + ".") for p in _IO)]
    return found


def test_the_endpoint_and_the_machines_do_no_io() -> None:
    root = Path(__file__).resolve().parents[1] / "juki_protocol"
    offenders = {p.relative_to(root).as_posix(): io_imports(p)
                 for d in ("endpoint", "machines") for p in sorted((root / d).glob("*.py"))}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert any(k.startswith("endpoint/") for k in offenders)   # the check saw them


def test_the_io_check_sees_an_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom juki_protocol.node.sql import Database\n")
    assert io_imports(bad) == ["asyncio", "juki_protocol.node.sql"]
