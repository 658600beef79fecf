"""The specification: requirement bullets, generated files, error registry, tables."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from juki_protocol.errors import REGISTRY, ErrorCode, band_of
from juki_protocol.resources import spec_dir, table_path
from juki_protocol.tools.spec_tools import (
    GENERATED,
    LEVELS,
    Requirement,
    check,
    citation_problem,
    errors_json,
    errors_markdown,
    extract_requirements,
    generate,
    requirement_sort_key,
    requirements_json,
)

SPEC = spec_dir()
FLOW_FILES = ("wide_area.md", "special_move.md", "identity.md", "provision.md", "pdu.md")
ID_PATTERN = re.compile(r"R-(?:[0-9]+(?:-[0-9]+)?-[0-9]+|[A-Z]+)-[0-9]{2}\Z")
SEED_EXAMPLES = ("宅地建物取引主任者資格の登録", "建築士の免許", "恩給", "共済年金",
                 "児童扶養手当の支給")


@pytest.fixture(scope="module")
def reqs() -> list[Requirement]:
    return extract_requirements(SPEC)


def _spec_copy(tmp_path: Path) -> Path:
    """A copy of the markdown files of the spec, for tests that corrupt it."""
    root = tmp_path / "spec"
    root.mkdir()
    for md in SPEC.glob("*.md"):
        if md.name not in GENERATED:
            shutil.copy(md, root / md.name)
    return root


def _write(root: Path, text: str, name: str = "extra.md") -> Path:
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


# Generated files ------------------------------------------------------------------------

def test_generated_files_are_in_sync() -> None:
    problems = check(SPEC)
    assert problems == [], "\n".join(problems)


def test_check_reports_drift_and_generate_repairs_it(tmp_path: Path) -> None:
    root = _spec_copy(tmp_path)
    assert sorted(check(root)) == sorted(
        f"spec/{n} is missing; run `python -m juki_protocol.tools.spec_tools generate`"
        for n in GENERATED)
    written = generate(root)
    assert sorted(p.name for p in written) == sorted(GENERATED)
    assert check(root) == []
    (root / "errors.json").write_text("{}\n", encoding="utf-8")
    _write(root, "- **R-PDU-99** (MAY; spec/pdu.md) A node MAY do this.\n")
    problems = check(root)
    assert len(problems) == 2
    assert any(p.startswith("spec/errors.json is out of date") for p in problems)
    assert any(p.startswith("spec/requirements.json is out of date") for p in problems)


def test_generation_is_deterministic(tmp_path: Path) -> None:
    root = _spec_copy(tmp_path)
    first = [p.read_bytes() for p in generate(root)]
    second = [p.read_bytes() for p in generate(root)]
    assert first == second
    assert all(b.endswith(b"\n") and not b.endswith(b"\n\n") for b in first)


def test_requirements_json_layout(reqs: list[Requirement]) -> None:
    doc = json.loads((SPEC / "requirements.json").read_text(encoding="utf-8"))
    assert doc["version"] == 1
    ids = [r["id"] for r in doc["requirements"]]
    assert ids == sorted(ids, key=requirement_sort_key)
    assert ids == [r.id for r in reqs]
    assert set(doc["requirements"][0]) == {"id", "level", "citation", "text", "file"}
    # Natural order: article 9 before article 12-2, statutory ids before protocol ids.
    assert requirement_sort_key("R-9-1-01") < requirement_sort_key("R-12-2-1-01")
    assert requirement_sort_key("R-30-10-1-01") > requirement_sort_key("R-30-7-3-01")
    assert requirement_sort_key("R-30-11-0-01") < requirement_sort_key("R-DER-01")


# Requirement bullets ------------------------------------------------------------------

def test_requirement_ids_are_unique_and_well_formed(reqs: list[Requirement]) -> None:
    ids = [r.id for r in reqs]
    assert len(ids) == len(set(ids))
    bad = [i for i in ids if not ID_PATTERN.match(i)]
    assert bad == []
    assert all(r.level in LEVELS for r in reqs)
    assert len(reqs) >= 60


def test_every_requirement_cites_an_article_or_an_existing_spec_file(
        reqs: list[Requirement]) -> None:
    for r in reqs:
        files = re.findall(r"spec/([A-Za-z0-9_.-]+\.md)", r.citation)
        assert re.search(r"\bArts?\. [0-9]", r.citation) or files, r.id
        for name in files:
            assert (SPEC / name).is_file(), f"{r.id} cites missing spec/{name}"
        assert citation_problem(r.id, r.citation) is None, r.id


def test_every_requirement_uses_its_level_keyword(reqs: list[Requirement]) -> None:
    for r in reqs:
        assert r.level in r.text, r.id


@pytest.mark.parametrize("name", FLOW_FILES)
def test_each_flow_file_has_a_must(reqs: list[Requirement], name: str) -> None:
    assert any(r.file == f"spec/{name}" and r.level == "MUST" for r in reqs)


def test_requirement_ids_mentioned_in_prose_exist(reqs: list[Requirement]) -> None:
    known = {r.id for r in reqs}
    pattern = re.compile(r"R-(?:[0-9]+(?:-[0-9]+)?-[0-9]+|[A-Z]+)-[0-9]{2}\b")
    dangling = []
    for md in sorted(SPEC.glob("*.md")):
        for lineno, line in enumerate(md.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("- ~~R-"):   # the list of deprecated ids (README section 8)
                continue
            dangling += [f"{md.name}:{lineno} {m}" for m in pattern.findall(line)
                         if m not in known]
    assert dangling == []


def test_extraction_parses_the_documented_form(tmp_path: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    _write(root, "\n".join([
        "# Example",
        "```",
        "- **R-99-0-01** (MUST; Art. 99) inside a code block: not a requirement",
        "```",
        "- **R-12-2-3-01** (MUST NOT; Art. 12-2(3)) The response MUST NOT carry the",
        "  family register.",
        "- **R-PDU-77** (SHOULD; spec/extra.md, RFC 5652 (CMS)) A node SHOULD do it.",
        "- ~~R-PDU-05~~ deprecated in 0.2: merged into R-PDU-77.",
        "",
    ]))
    got = extract_requirements(root)
    assert got == [
        Requirement("R-12-2-3-01", "MUST NOT", "Art. 12-2(3)",
                    "The response MUST NOT carry the family register.", "spec/extra.md"),
        Requirement("R-PDU-77", "SHOULD", "spec/extra.md, RFC 5652 (CMS)",
                    "A node SHOULD do it.", "spec/extra.md"),
    ]
    text = requirements_json(got, ["R-PDU-05"])
    assert json.loads(text)["deprecated"] == ["R-PDU-05"]


@pytest.mark.parametrize("bullet", [
    "- **R-12-2-3-01** (MUSTN'T; Art. 12-2(3)) The response MUST NOT do it.",
    "- **R-12-2-3-01** (MUST, Art. 12-2(3)) The response MUST do it.",
    "- **R-12-2-3-01** (MUST; Art. 12-2(3) The response MUST do it.",
    "- **R-12-2-3-01** (MUST; Art. 12-2(3))",
    "- **R-12-2-3-1** (MUST; Art. 12-2(3)) The response MUST do it.",
    "- **R-12-2-3-01** (MUST; Art. 24-2(3)) The response MUST do it.",
    "- **R-12-2-0-01** (MUST; Art. 12-20) The response MUST do it.",
    "- **R-12-2-3-01** (MUST; spec/wide_area.md) The response MUST do it.",
    "- **R-PDU-01** (MUST; RFC 5652) A node MUST do it.",
    "- **R-PDU-01** (MUST; spec/pdu.md) A node SHOULD do it.",
    "- **R-PDU-01** (MUST; spec/pdu.md) A node MUST NOT do it.",
    "  - **R-PDU-01** (MUST; spec/pdu.md) A nested bullet MUST not be a requirement.",
    "* **R-PDU-01** (MUST; spec/pdu.md) A node MUST use the dash bullet.",
])
def test_malformed_bullet_is_rejected_naming_file_and_line(tmp_path: Path,
                                                          bullet: str) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    _write(root, f"# Title\n\nSome prose.\n{bullet}\n", "bad.md")
    with pytest.raises(ValueError, match=r"spec/bad\.md:4: "):
        extract_requirements(root)


def test_duplicate_id_is_rejected_naming_both_places(tmp_path: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    _write(root, "- **R-PDU-01** (MUST; spec/a.md) A node MUST do it.\n", "a.md")
    _write(root, "x\n- **R-PDU-01** (MAY; spec/b.md) A node MAY do it.\n", "b.md")
    with pytest.raises(ValueError, match=r"spec/b\.md:2: duplicate requirement id R-PDU-01 "
                                         r"\(first at spec/a\.md:1\)"):
        extract_requirements(root)


def test_deprecated_id_cannot_be_reused(tmp_path: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    _write(root, "- ~~R-PDU-01~~ deprecated in 0.2: replaced.\n"
                 "- **R-PDU-01** (MUST; spec/a.md) A node MUST do it.\n", "a.md")
    with pytest.raises(ValueError, match=r"spec/a\.md:2: .*R-PDU-01 is deprecated"):
        extract_requirements(root)


# Error registry -------------------------------------------------------------------------

def test_every_error_code_has_a_registry_entry_and_vice_versa() -> None:
    assert set(REGISTRY) == set(ErrorCode)
    for code, info in REGISTRY.items():
        assert isinstance(code, ErrorCode)
        assert info.meaning.strip() and info.sent_when.strip(), code.name
        assert band_of(code)


def test_generated_error_files_list_every_code() -> None:
    doc = json.loads(errors_json())
    assert doc["version"] == 1
    assert [e["code"] for e in doc["errors"]] == sorted(int(c) for c in ErrorCode)
    by_code = {e["code"]: e for e in doc["errors"]}
    for code in ErrorCode:
        entry = by_code[int(code)]
        assert entry["name"] == code.name
        assert entry["band"] == band_of(code)
        assert entry["meaning"] == REGISTRY[code].meaning
        assert entry["sent_when"] == REGISTRY[code].sent_when
    md = errors_markdown()
    for code in ErrorCode:
        assert f"| {int(code)} | `{code.name}` |" in md


def test_error_codes_cited_by_the_spec_are_registered(reqs: list[Requirement]) -> None:
    names = {c.name: int(c) for c in ErrorCode}
    for r in reqs:
        for number, name in re.findall(r"\b([1-9][0-9]{3}) ([A-Z][A-Z0-9_]+)\b", r.text):
            assert names.get(name) == int(number), f"{r.id}: {number} {name}"


# Tables ---------------------------------------------------------------------------------

def test_seed_examples_are_in_schedule_1() -> None:
    doc = json.loads(table_path("schedule_1.json").read_text(encoding="utf-8"))
    affairs = [p["affair_ja"] for p in doc["purposes"]]
    for example in SEED_EXAMPLES:
        assert any(example in a for a in affairs), example
    # Entries whose row is not checked say so in their note.
    for p in doc["purposes"]:
        if p["row"] is None:
            assert p.get("note"), p["code"]
