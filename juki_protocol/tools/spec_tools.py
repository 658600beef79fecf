"""Tools for the specification: requirement extraction and generated files.

The prose in ``spec/*.md`` states each normative requirement as one markdown bullet::

    - **R-12-2-3-01** (MUST; Art. 12-2(3)) The residence municipality MUST ...

(see ``spec/README.md`` section 2). :func:`extract_requirements` parses those bullets,
rejecting a malformed one or a duplicate id with a :class:`ValueError` that names the
file and line. Three files in ``spec/`` are generated and must not be edited by hand:

* ``requirements.json``: every requirement, for the conformance coverage matrix;
* ``errors.md`` and ``errors.json``: the registry of wire error codes
  (:data:`juki_protocol.errors.REGISTRY`).

:func:`generate` writes them; :func:`check` reports drift between the files on disk and
what :func:`generate` would write. Both are also available as
``python -m juki_protocol.tools.spec_tools generate|check``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from juki_protocol.errors import REGISTRY, ErrorCode, band_of
from juki_protocol.resources import spec_dir as default_spec_dir

LEVELS: tuple[str, ...] = ("MUST NOT", "MUST", "SHOULD NOT", "SHOULD", "MAY")
"""The RFC 2119 levels a requirement may have (longest first, for matching)."""

FORMAT_VERSION = 1
"""Version of the layout of the generated JSON files."""

GENERATED: tuple[str, ...] = ("requirements.json", "errors.md", "errors.json")
"""The files of ``spec/`` that :func:`generate` writes."""

# A statutory id: article (with an optional branch number), paragraph (0 = whole
# article), two-digit serial. A protocol id: an upper-case area and a two-digit serial.
_STATUTORY_ID = re.compile(r"R-(?P<article>[0-9]+(?:-[0-9]+)?)-(?P<para>[0-9]+)-[0-9]{2}\Z")
_PROTOCOL_ID = re.compile(r"R-[A-Z]+-[0-9]{2}\Z")

# Any top-level or nested bullet that starts with a bold requirement id is a candidate;
# candidates that do not match the full form are errors, not silently skipped.
_CANDIDATE = re.compile(r"\s*[-*+]\s+\*\*R-")
_HEAD = re.compile(r"- \*\*(?P<id>R-[^*\s]+)\*\* \((?P<level>"
                   + "|".join(LEVELS) + r"); (?P<rest>.*)\Z")
_DEPRECATED = re.compile(r"- ~~(?P<id>R-[^~\s]+)~~ deprecated\b")
_CONTINUATION = re.compile(r"  +\S")
_SPEC_FILE = re.compile(r"spec/([A-Za-z0-9_.-]+\.md)")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One normative requirement of the specification.

    id: ``R-12-2-3-01`` or ``R-PDU-10``; level: MUST, MUST NOT, SHOULD, SHOULD NOT or
    MAY; citation: the article or spec file it rests on; text: the requirement itself;
    file: where it is stated, as ``spec/<name>.md``.
    """

    id: str
    level: str
    citation: str
    text: str
    file: str


def requirement_sort_key(req_id: str) -> tuple[tuple[int, int, str], ...]:
    """Natural order of ids: numbers compare as numbers, statutory ids first.

    ``R-9-1-01`` sorts before ``R-12-2-1-01``, and both before ``R-DER-01``.
    """
    parts = re.findall(r"[0-9]+|[A-Z]+", req_id[2:])
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _split_citation(rest: str) -> tuple[str, str] | None:
    """Split ``"Art. 12-2(3)) The text"`` at the parenthesis that closes the head."""
    depth = 1
    for i, ch in enumerate(rest):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                citation, text = rest[:i].strip(), rest[i + 1:]
                if not citation or not text.startswith(" ") or not text.strip():
                    return None
                return citation, text.strip()
    return None


def _level_in_text(level: str, text: str) -> bool:
    """True if ``text`` uses the key word of ``level`` (MUST not counting MUST NOT)."""
    if level in ("MUST", "SHOULD"):
        return re.search(rf"\b{level}\b(?! NOT)", text) is not None
    return re.search(rf"\b{level}\b", text) is not None


def citation_problem(req_id: str, citation: str) -> str | None:
    """Why ``citation`` does not fit ``req_id``, or None if it does.

    A statutory id must cite its own article and, unless its paragraph is 0, that
    paragraph (``R-12-2-3-01`` cites ``12-2(3)``); a protocol id must cite a spec file.
    """
    m = _STATUTORY_ID.match(req_id)
    if m:
        article, para = m.group("article"), m.group("para")
        if not re.search(r"\bArts?\.", citation):
            return f"{req_id} must cite an article of the Act (Art. ...)"
        needle = re.escape(article) + (rf"\({para}\)" if para != "0" else r"(?![0-9-])")
        if not re.search(r"(?<![0-9-])" + needle, citation):
            want = f"{article}({para})" if para != "0" else article
            return f"{req_id} must cite Art. {want}, got {citation!r}"
        return None
    if _PROTOCOL_ID.match(req_id):
        if not _SPEC_FILE.search(citation):
            return f"{req_id} must cite a spec file (spec/<name>.md), got {citation!r}"
        return None
    return (f"{req_id} is not a requirement id (R-<article>-<paragraph>-<nn> or "
            f"R-<AREA>-<nn>)")


def _parse_file(path: Path) -> tuple[list[tuple[Requirement, int]], list[tuple[str, int]]]:
    """Requirements (with line numbers) and deprecated ids (with line numbers) of a file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    name = f"spec/{path.name}"
    reqs: list[tuple[Requirement, int]] = []
    deprecated: list[tuple[str, int]] = []
    in_code = False
    i = 0
    while i < len(lines):
        line, lineno = lines[i], i + 1
        i += 1
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        dm = _DEPRECATED.match(line)
        if dm:
            deprecated.append((dm.group("id"), lineno))
            continue
        if not _CANDIDATE.match(line):
            continue
        where = f"{name}:{lineno}"
        m = _HEAD.match(line)
        if not m:
            raise ValueError(f"{where}: malformed requirement bullet; expected "
                             f"'- **R-...** (LEVEL; citation) text' with LEVEL one of "
                             f"{', '.join(LEVELS)}")
        # Continuation lines: indented, non-blank, not a new bullet.
        full = m.group("rest")
        while i < len(lines) and _CONTINUATION.match(lines[i]) \
                and not _CANDIDATE.match(lines[i]):
            full += " " + lines[i].strip()
            i += 1
        split = _split_citation(full)
        if split is None:
            raise ValueError(f"{where}: malformed requirement bullet; the citation must be "
                             f"closed by ')' and followed by the requirement text")
        citation, text = split
        req_id, level = m.group("id"), m.group("level")
        problem = citation_problem(req_id, citation)
        if problem:
            raise ValueError(f"{where}: {problem}")
        if not _level_in_text(level, text):
            raise ValueError(f"{where}: {req_id} has level {level} but its text does not "
                             f"use the key word {level}")
        reqs.append((Requirement(req_id, level, citation, text, name), lineno))
    if in_code:
        raise ValueError(f"{name}: unterminated code block")
    return reqs, deprecated


def _spec_files(spec_dir: Path) -> list[Path]:
    return sorted(p for p in spec_dir.glob("*.md") if p.is_file())


def extract_requirements(spec_dir: Path | None = None) -> list[Requirement]:
    """Every requirement of ``spec_dir/*.md``, sorted by id (natural order).

    Raises :class:`ValueError` naming the file and line of a malformed requirement
    bullet, of a duplicate id, or of a requirement that reuses a deprecated id.
    """
    root = Path(spec_dir) if spec_dir is not None else default_spec_dir()
    seen: dict[str, str] = {}
    retired: dict[str, str] = {}
    out: list[Requirement] = []
    for path in _spec_files(root):
        reqs, deprecated = _parse_file(path)
        for dep_id, lineno in deprecated:
            retired.setdefault(dep_id, f"spec/{path.name}:{lineno}")
        for req, lineno in reqs:
            where = f"{req.file}:{lineno}"
            if req.id in seen:
                raise ValueError(f"{where}: duplicate requirement id {req.id} (first at "
                                 f"{seen[req.id]})")
            seen[req.id] = where
            out.append(req)
    for req in out:
        if req.id in retired:
            raise ValueError(f"{seen[req.id]}: requirement id {req.id} is deprecated "
                             f"({retired[req.id]}) and must not be reused")
    return sorted(out, key=lambda r: requirement_sort_key(r.id))


def deprecated_ids(spec_dir: Path | None = None) -> list[str]:
    """The ids listed as deprecated (``- ~~R-...~~ deprecated ...``), sorted."""
    root = Path(spec_dir) if spec_dir is not None else default_spec_dir()
    ids = {dep for p in _spec_files(root) for dep, _ in _parse_file(p)[1]}
    return sorted(ids, key=requirement_sort_key)


def _dump(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def requirements_json(reqs: Iterable[Requirement],
                      deprecated: Iterable[str] = ()) -> str:
    """The text of ``spec/requirements.json``: deterministic, sorted by id."""
    ordered = sorted(reqs, key=lambda r: requirement_sort_key(r.id))
    return _dump({
        "version": FORMAT_VERSION,
        "requirements": [asdict(r) for r in ordered],
        "deprecated": sorted(set(deprecated), key=requirement_sort_key),
    })


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def errors_markdown() -> str:
    """The text of ``spec/errors.md``, rendered from the error code registry."""
    out = [
        "# Error codes",
        "",
        "<!-- Generated from juki_protocol.errors.REGISTRY by "
        "`python -m juki_protocol.tools.spec_tools generate`. Do not edit. -->",
        "",
        "These are the registered values of `ErrorReport.errorCode`. The thousands digit",
        "is the band. A peer sees only 2001 ENVELOPE_INVALID for any failure to open or",
        "verify a sealed body; the other envelope codes are for local logs",
        "([pdu.md](pdu.md) section 7). The same list is in `errors.json`.",
    ]
    current_band: str | None = None
    for code in sorted(ErrorCode):
        band = band_of(code)
        if band != current_band:
            current_band = band
            out += ["", f"## {int(code) // 1000}xxx {band}", "",
                    "| code | name | meaning | sent when |", "|---:|---|---|---|"]
        info = REGISTRY[code]
        out.append(f"| {int(code)} | `{code.name}` | {_md_cell(info.meaning)} | "
                   f"{_md_cell(info.sent_when)} |")
    return "\n".join(out) + "\n"


def errors_json() -> str:
    """The text of ``spec/errors.json``, rendered from the error code registry."""
    return _dump({
        "version": FORMAT_VERSION,
        "errors": [
            {"code": int(code), "name": code.name, "band": band_of(code),
             "meaning": REGISTRY[code].meaning, "sent_when": REGISTRY[code].sent_when}
            for code in sorted(ErrorCode)
        ],
    })


def _expected(spec_dir: Path) -> dict[str, str]:
    return {
        "requirements.json": requirements_json(extract_requirements(spec_dir),
                                               deprecated_ids(spec_dir)),
        "errors.md": errors_markdown(),
        "errors.json": errors_json(),
    }


def generate(spec_dir: Path | None = None) -> list[Path]:
    """Write the generated files of ``spec_dir`` and return their paths."""
    root = Path(spec_dir) if spec_dir is not None else default_spec_dir()
    written: list[Path] = []
    for name, text in _expected(root).items():
        path = root / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def check(spec_dir: Path | None = None) -> list[str]:
    """Drift between the generated files on disk and what :func:`generate` would write.

    Returns one message per problem; an empty list means the files are in sync.
    """
    root = Path(spec_dir) if spec_dir is not None else default_spec_dir()
    try:
        expected = _expected(root)
    except ValueError as exc:
        return [f"cannot extract requirements: {exc}"]
    problems: list[str] = []
    for name, text in expected.items():
        path = root / name
        if not path.is_file():
            problems.append(f"spec/{name} is missing; run "
                            f"`python -m juki_protocol.tools.spec_tools generate`")
            continue
        actual = path.read_text(encoding="utf-8")
        if actual != text:
            problems.append(f"spec/{name} is out of date ({_first_difference(actual, text)}); "
                            f"run `python -m juki_protocol.tools.spec_tools generate`")
    return problems


def _first_difference(actual: str, expected: str) -> str:
    a, e = actual.splitlines(), expected.splitlines()
    for n, (x, y) in enumerate(zip(a, e, strict=False), start=1):
        if x != y:
            return f"first difference at line {n}"
    return f"{len(a)} lines on disk, {len(e)} expected"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m juki_protocol.tools.spec_tools generate|check [SPEC_DIR]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("generate", "check") or len(args) > 2:
        print("usage: python -m juki_protocol.tools.spec_tools generate|check [SPEC_DIR]",
              file=sys.stderr)
        return 2
    root = Path(args[1]) if len(args) == 2 else None
    if args[0] == "generate":
        for path in generate(root):
            print(f"wrote {path}")
        return 0
    problems = check(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
