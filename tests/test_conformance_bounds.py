"""The codec cases of every schema constraint at its bounds
(juki_conformance/cases_codec_bounds.py): the bounds come from the compiled schema, an
input one step outside a bound is refused 1015 by the reference and one at the bound is
not, the reference passes every case, an adapter that reads an INTEGER range as half-open
fails them, and they kill a mutant of the PDU header's version check that the rest of the
suite lets pass."""

from __future__ import annotations

import sys

import pytest

from juki_conformance import mutant_check
from juki_conformance.cases_codec_bounds import TYPES, bounds_cases, edges, sites
from juki_conformance.cli import more_codec_cases
from juki_conformance.model import Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec, schema
from juki_protocol.errors import DecodeError, ErrorCode, JukiError

REFERENCE = [sys.executable, "-m", "juki_protocol.tools.adapter"]
HALF_OPEN = [sys.executable, "-m", "juki_conformance.selftest.faulty_adapter",
             "--fault", "integer-range-exclusive-upper"]


def _der(type_name: str, raw: object) -> bytes:
    return bytes(schema.compiled().encode(type_name, raw, check_constraints=False))


@pytest.mark.parametrize("type_name", TYPES)
def test_outside_a_bound_is_1015_and_at_a_bound_is_not(type_name: str) -> None:
    for edge in edges(type_name):
        data = _der(type_name, edge.raw)
        try:
            codec.decode_full(data, type_name)
            code = None
        except DecodeError as exc:
            code = exc.error_code
        except JukiError as exc:          # a rule of the message, after the schema
            code = exc.error_code
        if edge.inside:
            assert code != ErrorCode.CONSTRAINT_VIOLATION, (edge.where, edge.what)
        else:
            assert code == ErrorCode.CONSTRAINT_VIOLATION, (edge.where, edge.what, code)


def test_the_bounds_are_read_from_the_schema() -> None:
    request = [e for e in edges("CodeDesignationRequest") if e.where == "count"]
    assert {e.what for e in request} == {"range 1..1000 at 1", "range 1..1000 at 0",
                                         "range 1..1000 at 1000", "range 1..1000 at 1001"}
    version = {e.what for e in edges("JukiPdu") if e.where == "header.version"}
    assert version == {"range 1..255 at 1", "range 1..255 at 0", "range 1..255 at 255",
                       "range 1..255 at 256"}
    # A SEQUENCE OF's first element stands for all: one path per element.
    checker = schema.compiled().types["CodeDesignation"].constraints_checker._type
    raw = {"municipality": "271004", "codes": ["10000000017", "10000000025"]}
    paths = [p for p, _, _ in sites(checker, raw)]
    assert ("codes",) in paths and ("codes", 0) in paths and ("codes", 1) not in paths


def test_the_cases_are_registered_one_per_constrained_type() -> None:
    cases = bounds_cases()
    assert {c.id for c in cases} <= {c.id for c in more_codec_cases()}
    assert {c.message_type for c in cases} == {t for t in TYPES if edges(t)}
    assert len(cases) >= 20


def _verdicts(command: list[str]) -> dict[str, Verdict]:
    sut = AdapterSut(command, timeout=10)
    sut.start()
    try:
        return {c.id: c.run(sut).verdict for c in bounds_cases()}
    finally:
        sut.stop()


def test_the_reference_passes_and_a_half_open_range_fails() -> None:
    assert set(_verdicts(REFERENCE).values()) == {Verdict.PASS}
    faulty = _verdicts(HALF_OPEN)
    for case_id in ("der/codec/juki-pdu/constraint-bounds",
                    "der/codec/code-designation-request/constraint-bounds",
                    "der/codec/error-report/constraint-bounds"):
        assert faulty[case_id] is Verdict.FAIL, case_id
    # Types without an INTEGER range are unaffected by that fault.
    assert faulty["der/codec/card-status-query/constraint-bounds"] is Verdict.PASS


@pytest.mark.slow
def test_the_cases_kill_a_mutant_of_the_version_bound() -> None:
    mutant = mutant_check.find(*mutant_check.parse_line(
        "messages/pdu.py:70:68:core/ReplaceComparisonOperator_LtE_Lt 16c4e410eb5a"))
    outcome = mutant_check.check(mutant, ["der/codec/juki-pdu/constraint-bounds"],
                                 timeout=300)
    assert outcome.status == "killed", (outcome.status, outcome.note)
