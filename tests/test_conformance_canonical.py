"""The codec cases of canonical primitives at every position
(juki_conformance/cases_codec_canonical.py): the inputs they build keep the value and
break only the canonical form of one element, the reference refuses each with 1011, a
decoder that does not check that form fails the cases, and the cases kill mutants of
the reference's ENUMERATED check that the rest of the suite lets pass."""

from __future__ import annotations

import sys

import pytest

from juki_conformance import mutant_check
from juki_conformance.cases_codec_canonical import (
    KINDS,
    canonical_cases,
    more_canonical_cases,
    mutants,
    negative_mutants,
    whole_list_mutants,
)
from juki_conformance.cli import more_codec_cases
from juki_conformance.model import Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec, der
from juki_protocol.errors import DecodeError, ErrorCode
from juki_protocol.fixtures.samples import example

REFERENCE = [sys.executable, "-m", "juki_protocol.tools.adapter"]
LENIENT = [sys.executable, "-m", "juki_conformance.selftest.faulty_adapter",
           "--fault", "lenient-der"]


def _differing_octets(a: bytes, b: bytes) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_input_is_refused_1011_by_the_reference_decoder(kind: str) -> None:
    seen = 0
    for case in canonical_cases():
        if not case.id.endswith(f"non-canonical-{kind}-at-every-position"):
            continue
        assert case.message_type is not None
        for where, data in mutants(case.message_type, kind):
            der.parse(data)                   # still strict DER as TLVs
            with pytest.raises(DecodeError) as info:
                codec.decode_full(data, case.message_type)
            assert info.value.error_code == ErrorCode.DER_NON_CANONICAL, where
            seen += 1
    assert seen >= 1, kind


def test_the_cases_are_registered_and_cover_every_kind() -> None:
    ids = {c.id for c in more_codec_cases()}
    cases = canonical_cases()
    assert {c.id for c in cases} <= ids
    assert {k for k in KINDS if any(c.id.endswith(f"-{k}-at-every-position")
                                    for c in cases)} == set(KINDS)
    assert all(c.requirements == ("R-DER-02", "R-DER-17") and c.remediation for c in cases)


def test_an_input_changes_one_element_only() -> None:
    (where, data), *_ = mutants("WideAreaIssuanceResponse", "enumerated")
    original = codec.encode(example("WideAreaIssuanceResponse", "conformance:canonical"))
    # One octet more in the element, and in the length of each container above it.
    assert len(data) == len(original) + 1 and where.startswith("[")
    assert _differing_octets(original, data) >= 1


def _verdicts(command: list[str], ids: tuple[str, ...]) -> dict[str, Verdict]:
    sut = AdapterSut(command, timeout=10)
    sut.start()
    try:
        return {c.id: c.run(sut).verdict for c in canonical_cases() if c.id in ids}
    finally:
        sut.stop()


IDS = ("der/codec/wide-area-issuance-request/non-canonical-enumerated-at-every-position",
       "der/codec/move-out-certificate/non-canonical-boolean-at-every-position",
       "der/codec/identity-info-relay/non-canonical-integer-at-every-position",
       "der/codec/juki-pdu/non-canonical-time-at-every-position")


def test_the_reference_passes_and_a_lenient_decoder_fails() -> None:
    assert set(_verdicts(REFERENCE, IDS).values()) == {Verdict.PASS}
    lenient = _verdicts(LENIENT, IDS)
    assert lenient[IDS[0]] is Verdict.FAIL and lenient[IDS[2]] is Verdict.FAIL


#: Mutants of the ENUMERATED check of schema.is_canonical that every other case of
#: the suite lets pass (checked with the whole suite, these cases excluded).
KILLED = [("codec/schema.py:641:45:core/ReplaceComparisonOperator_Eq_GtE 18f00aa7cfaa",
           "der/codec/move-out-certificate/non-canonical-enumerated-at-every-position"),
          ("codec/schema.py:640:36:core/ReplaceAndWithOr 99655b6ca74e",
           "der/codec/wide-area-issuance-request/non-canonical-enumerated-at-every-position")]


@pytest.mark.slow
@pytest.mark.parametrize(("line", "case"), KILLED, ids=[m.split()[0] for m, _ in KILLED])
def test_the_enumerated_cases_kill_mutants_of_the_fast_path(line: str, case: str) -> None:
    mutant = mutant_check.find(*mutant_check.parse_line(line))
    outcome = mutant_check.check(mutant, ["der/codec/*/non-canonical-enumerated-*"],
                                 timeout=300)
    assert outcome.status == "killed", (outcome.status, outcome.note)
    assert case in [f["id"] for f in outcome.failing]


def test_every_whole_list_and_negative_input_is_refused_1011() -> None:
    seen = 0
    for case in more_canonical_cases():
        assert case.message_type is not None
        if "every-element" in case.id:
            kind = case.id.split("non-canonical-")[1].split("-in-")[0]
            inputs = whole_list_mutants(case.message_type, kind)
        else:
            inputs = negative_mutants(case.message_type)
        for where, data in inputs:
            der.parse(data)
            with pytest.raises(DecodeError) as info:
                codec.decode_full(data, case.message_type)
            assert info.value.error_code == ErrorCode.DER_NON_CANONICAL, where
            seen += 1
    assert seen >= 9


def test_a_whole_list_input_breaks_every_element_of_the_list() -> None:
    (where, data), = whole_list_mutants("MoveOutCertificate", "enumerated")
    original = codec.encode(example("MoveOutCertificate", "conformance:canonical"))
    entries = len(der.parse(original).children[2].children)
    # Each entry's ENUMERATED elements gain an octet: at least one per entry.
    assert len(data) - len(original) >= entries and where.startswith("[")


#: Mutants of the fast canonical check that only a list whose every element is
#: non-canonical, or a negative INTEGER with a redundant FF, tells from the reference.
KILLED_MORE = [
    ("codec/schema.py:616:19:core/AddNot ab93619fa608",
     "der/codec/move-out-certificate/non-canonical-enumerated-in-every-element-of-a-list"),
    ("codec/schema.py:638:45:core/ReplaceComparisonOperator_Eq_GtE 54f4130fb1a3",
     "der/codec/juki-pdu/integer-minus-one-with-leading-ff-at-every-position")]


@pytest.mark.slow
@pytest.mark.parametrize(("line", "case"), KILLED_MORE,
                         ids=[m.split()[0] for m, _ in KILLED_MORE])
def test_the_new_cases_kill_mutants_of_the_fast_path(line: str, case: str) -> None:
    mutant = mutant_check.find(*mutant_check.parse_line(line))
    outcome = mutant_check.check(mutant, ["der/codec/*/non-canonical-*-in-every-element-*",
                                          "der/codec/*/integer-minus-one-*"], timeout=300)
    assert outcome.status == "killed", (outcome.status, outcome.note)
    assert case in [f["id"] for f in outcome.failing]
