"""Resident code designation, Art. 30-7(1)(2) (spec/designation.md): the messages and
their rules, the allotments, the errors, ``juki simulate code-designation``, and the
conformance cases against the reference nodes and against each faulty node of
``juki_conformance.selftest.faulty_designation``."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_designation import PEER, designation_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_layout import PEERS
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import run_cases
from juki_conformance.selftest.faulty_designation import EXPECTED, FAULT_ROLES, FAULTS, command
from juki_protocol.codec import codec
from juki_protocol.codec.schema import APPLICATION_TAGS
from juki_protocol.envelope import pki
from juki_protocol.errors import REGISTRY, ErrorCode, JukiError
from juki_protocol.fixtures.samples import HOME
from juki_protocol.identifiers import is_prefecture_code, resident_code_check_digit
from juki_protocol.messages import ARTICLES as TYPE_ARTICLES
from juki_protocol.messages import MESSAGE_TYPES, MessageType
from juki_protocol.messages.designation import (
    MAX_CODES,
    PREFECTURES,
    CodeDesignation,
    CodeDesignationRequest,
    allotment_of,
    in_allotment,
    new_designated_code,
)
from juki_protocol.resources import spec_dir
from juki_protocol.tools.cli_simulate import ARTICLES, SIMULATED, simulate
from juki_protocol.tools.spec_tools import extract_requirements


def _code(n: int) -> str:
    data = f"{n:010d}"
    return data + str(resident_code_check_digit(data))


# Messages ------------------------------------------------------------------------------

def test_the_types_are_registered_with_their_tags_and_routes() -> None:
    assert APPLICATION_TAGS["CodeDesignationRequest"] == 14
    assert APPLICATION_TAGS["CodeDesignation"] == 15
    assert MessageType("codeDesignation").type_name == "CodeDesignation"
    assert {"CodeDesignationRequest", "CodeDesignation"} <= set(MESSAGE_TYPES)
    assert "30-7(1)" in TYPE_ARTICLES["CodeDesignation"]
    route = pki.ROUTES[MessageType.CODE_DESIGNATION]
    assert {r.value for r in route.senders} == {"prefecture"}
    assert {r.value for r in route.recipients} == {"municipality"}
    route = pki.ROUTES[MessageType.CODE_DESIGNATION_REQUEST]
    assert {r.value for r in route.senders} == {"municipality"}
    assert {r.value for r in route.recipients} == {"prefecture"}


def test_the_allotments_partition_the_codes() -> None:
    """spec/designation.md section 3: n mod 47 = PP - 1; the spec's examples hold."""
    assert allotment_of("12345678733") == 27 and allotment_of("12345678903") == 44
    rng = random.Random(3)
    for pp in (1, 13, 27, 47):
        code = f"{pp:02d}0008"       # not a valid code: only the first two digits count
        drawn = [new_designated_code(rng, code) for _ in range(200)]
        assert {allotment_of(c) for c in drawn} == {pp}
        assert len(set(drawn)) == 200
    assert all(sum(1 for p in range(1, PREFECTURES + 1)
                   if in_allotment(_code(n), f"{p:02d}1004")) == 1 for n in range(0, 500, 7))


def test_a_designation_round_trips_and_its_rules_name_the_field() -> None:
    rng = random.Random(1)
    codes = tuple(new_designated_code(rng, HOME) for _ in range(3))
    message = CodeDesignation(municipality=HOME, codes=codes)
    assert codec.decode(codec.encode(message)) == message
    assert codec.from_json("CodeDesignation", codec.to_json(message)) == message
    for kwargs, code, field in (
            ({"municipality": "270008", "codes": codes}, ErrorCode.INVALID_FIELD,
             "municipality"),
            ({"municipality": HOME, "codes": (*codes, codes[0])}, ErrorCode.INVALID_FIELD,
             "codes"),
            ({"municipality": HOME, "codes": ("12345678903",)}, ErrorCode.INVALID_FIELD,
             "codes[0]"),
            ({"municipality": HOME, "codes": ("12345678904",)},
             ErrorCode.INVALID_RESIDENT_CODE, "codes[0]"),
            ({"municipality": HOME, "codes": ()}, ErrorCode.INVALID_FIELD, "codes")):
        with pytest.raises(JukiError) as exc:
            CodeDesignation(**kwargs)  # type: ignore[arg-type]
        assert exc.value.error_code is code and exc.value.field == field
        # The message names positions, never a code (R-PDU-27).
        assert not any(c in str(exc.value) for c in codes)


def test_a_request_asks_for_1_to_1000_codes_of_a_municipality() -> None:
    ok = CodeDesignationRequest(municipality=HOME, count=MAX_CODES)
    assert codec.decode(codec.encode(ok)) == ok
    for kwargs in ({"municipality": HOME, "count": 0},
                   {"municipality": HOME, "count": MAX_CODES + 1},
                   {"municipality": HOME, "count": True},
                   {"municipality": "270008", "count": 1}):
        with pytest.raises(JukiError) as exc:
            CodeDesignationRequest(**kwargs)  # type: ignore[arg-type]
        assert exc.value.error_code is ErrorCode.INVALID_FIELD


def test_the_errors_are_registered_and_cited() -> None:
    assert ErrorCode.RESIDENT_CODE_NOT_DESIGNATED == 5023
    assert ErrorCode.CODE_POOL_EXHAUSTED == 5024
    for code in (ErrorCode.RESIDENT_CODE_NOT_DESIGNATED, ErrorCode.CODE_POOL_EXHAUSTED):
        assert "designation.md" in REGISTRY[code].sent_when
    reqs = {r.id: r for r in extract_requirements(spec_dir())}
    ours = {rid for rid in reqs if rid.startswith(("R-30-7-1-", "R-30-7-2-"))}
    assert ours == {*(f"R-30-7-1-0{i}" for i in range(1, 8)),
                    *(f"R-30-7-2-0{i}" for i in range(1, 5))}
    assert all(reqs[r].file == "spec/designation.md" for r in ours)
    assert "5023" in reqs["R-30-7-1-05"].text and "5024" in reqs["R-30-7-1-03"].text
    readme = (spec_dir() / "README.md").read_text(encoding="utf-8")
    assert "(designation.md)" in readme and "| 15 | `CodeDesignation`" in readme


# juki simulate -------------------------------------------------------------------------

def test_simulate_lists_and_runs_the_flow_masked() -> None:
    listed = CliRunner().invoke(simulate, ["--list"]).output
    assert "code-designation" in SIMULATED and "30-7(1)(2)" in ARTICLES["code-designation"]
    assert any(line.startswith("code-designation") and "30-7(1)(2)" in line
               for line in listed.splitlines())
    result = CliRunner().invoke(simulate, ["code-designation", "--seed", "3"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "CodeDesignationRequest(271004, count=3)" in out
    assert "CodeDesignation(271004, codes=[" in out and "ErrorReport(5023)" in out
    assert "3 codes designated, 2 free" in out
    # Codes are masked: no 11-digit run in the output.
    assert not any(len(tok.strip("[](),")) == 11 and tok.strip("[](),").isdigit()
                   for tok in out.split())


# Conformance ---------------------------------------------------------------------------

def _ics(role: str) -> ics_mod.Ics:
    return ics_mod.parse({
        "implementation": {"name": "reference node", "version": "0.1.0"}, "role": role,
        "profiles": ["current"], "modes": ["node"], "limits": REFERENCE_LIMITS,
        "localPurposes": REFERENCE_LOCAL_PURPOSES,
        "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"},
                 "faultInjection": {"method": "upperTester"}}})


def test_the_designation_peer_is_played_by_the_runner() -> None:
    assert ("municipality", PEER) in PEERS and not is_prefecture_code(PEER)


@pytest.mark.parametrize("role", ["prefecture", "municipality"])
def test_the_reference_passes_every_designation_case(role: str) -> None:
    cases = designation_cases()
    result = run_cases(cases, NodeSut(timeout=5, role=role), _ics(role))
    assert result.harness_error is None
    mine = {r.case.id: r.outcome for r in result.results if getattr(r.case, "role", "") == role}
    assert len(mine) >= 5
    assert {o.verdict for o in mine.values()} == {Verdict.PASS}, mine
    for case in cases:
        assert case.requirements and all(r.startswith("R-") for r in case.requirements)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_faulty_node_fails_exactly_its_cases(fault: str) -> None:
    role = FAULT_ROLES[fault]
    result = run_cases(designation_cases(), NodeSut(command(fault), timeout=5, role=role),
                       _ics(role))
    assert result.harness_error is None
    failed = {r.case.id for r in result.results if r.outcome.verdict is Verdict.FAIL}
    assert failed == set(EXPECTED[fault]), {r.case.id: r.outcome for r in result.results}
    assert all(r.outcome.verdict in (Verdict.PASS, Verdict.FAIL, Verdict.NOT_APPLICABLE)
               for r in result.results)
