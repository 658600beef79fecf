"""The layering rules a newcomer relies on: no module of the project reaches into
another module's private (underscore) names, and none is over 700 lines."""

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
        "juki_protocol.codec._private", "juki_protocol.node.sql._first_line"]


def test_no_module_is_over_the_limit() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    grown = {m: n for m, n in long.items() if n > BACKLOG["longModules"].get(m, MAX_LINES)}
    assert grown == {}
    fixed = sorted(set(BACKLOG["longModules"]) - set(long))
    assert fixed == [], "now within the limit: remove from the backlog"


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
