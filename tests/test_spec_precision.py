"""Issue 17 (spec precision): the cases that pin one reading fail the other.

Each adapter below is the reference adapter with one rejected reading put back, run as a
real process through the adapter protocol; the reference passes every case here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from juki_conformance.cases_codec import adapter_cases, all_cases, header_time_cases, rule_cases
from juki_conformance.cli import all_node_cases
from juki_conformance.model import Case, Verdict, strongest_level
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.tools.vectors.vector_cases import find_path, replace_at

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
REFERENCE = [sys.executable, "-m", "juki_protocol.tools.adapter"]

#: Rejected readings of R-CONF-16 and R-CONF-17: every line, blank or quit, is answered
#: and the adapter keeps reading after quit.
ANSWERS_EVERY_LINE = """
import json, sys
from juki_protocol.tools import adapter
for line in sys.stdin:
    print(json.dumps(adapter.handle_line(line)), flush=True)
"""

#: Rejected reading of R-CONF-18: the profile name "2002" accepted beside "p2002".
ACCEPTS_2002 = """
import sys
from juki_protocol.tools import adapter
from juki_protocol.messages import Profile
adapter._profile = lambda req: Profile.parse(req["profile"]) if "profile" in req else None
adapter.serve(sys.stdin, sys.stdout)
"""


def _case(cases: list[Case], cid: str) -> Case:
    return next(c for c in cases if c.id == cid)


def _verdict(command: list[str], case: Case) -> Verdict:
    sut = AdapterSut(command)
    sut.start()
    try:
        return case.run(sut).verdict
    finally:
        sut.stop()


@pytest.mark.parametrize(("cid", "variant"), [
    ("conformance/codec/adapter/blank-and-unparseable-lines", ANSWERS_EVERY_LINE),
    ("conformance/codec/adapter/quit-not-answered", ANSWERS_EVERY_LINE),
    ("conformance/codec/adapter/profile-name-2002-refused", ACCEPTS_2002),
])
def test_adapter_edge_cases_fail_the_rejected_reading(cid: str, variant: str) -> None:
    # Checks R-CONF-16, R-CONF-17, R-CONF-18.
    case = _case(adapter_cases(), cid)
    assert _verdict(REFERENCE, case) is Verdict.PASS
    assert _verdict([sys.executable, "-c", variant], case) is Verdict.FAIL


def test_reference_passes_the_new_rule_and_time_cases() -> None:
    cases = [c for c in rule_cases(VECTORS) + header_time_cases(VECTORS)
             if set(c.requirements) & {"R-PDU-35", "R-24-2-4-04", "R-12-2-1-03",
                                       "R-30-7-3-24", "R-CONF-19"}]
    assert len(cases) == 13
    sut = AdapterSut(REFERENCE)
    sut.start()
    try:
        failed = [c.id for c in cases if c.run(sut).verdict is not Verdict.PASS]
    finally:
        sut.stop()
    assert failed == []


def _time_code(text: bytes) -> int:
    doc = json.loads((VECTORS / "codec_juki_pdu.json").read_text(encoding="utf-8"))
    der = next(bytes.fromhex(t["der"]) for t in doc["testGroups"][0]["tests"]
               if "Minimal" in t["flags"])
    mutated = replace_at(der, find_path(der, 0x86), lambda old: bytes([0x86, len(text)]) + text)
    with pytest.raises(JukiError) as info:
        codec.decode(mutated, "JukiPdu")
    return int(info.value.error_code)


@pytest.mark.parametrize(("text", "code"), [
    (b"20260401250000Z", ErrorCode.INVALID_DATE),       # no hour 25 in any form
    (b"20260230090000Z", ErrorCode.INVALID_DATE),       # no 30 February
    (b"20260401250000+0900", ErrorCode.INVALID_DATE),
    (b"202604010900Z", ErrorCode.DER_NON_CANONICAL),    # seconds left out: BER only
    (b"20260401090000,5Z", ErrorCode.DER_NON_CANONICAL),  # a comma: BER only
])
def test_header_time_codes(text: bytes, code: ErrorCode) -> None:
    # Checks R-PDU-35.
    assert _time_code(text) == code


def test_case_level_is_that_of_its_strongest_requirement() -> None:
    """A case that cites only a SHOULD reports SHOULD (issue 17, point 15)."""
    wrong = [(c.id, c.level) for c in all_cases(VECTORS) + all_node_cases()
             if c.level != strongest_level(c.requirements)]
    assert wrong == []
    unregistered = _case(all_cases(VECTORS),
                         "pdu/codec/error-report/any/error-code-1999-in-range-not-registered")
    # The MAY that lets a decoder accept or refuse it (the fifth clean-room run's point).
    assert unregistered.requirements == ("R-PDU-47",) and unregistered.level == "MAY"


#: Rejected readings of the second clean-room run's guesses (spec/README.md section 7.1).
NO_VERSION_CHECK = """
import sys
from juki_protocol.tools import adapter
from juki_protocol.codec import codec
codec.PROTOCOL_VERSIONS = None
adapter.serve(sys.stdin, sys.stdout)
"""
PRIMITIVE_IS_1013 = """
import sys
from juki_protocol.tools import adapter
from juki_protocol.codec import schema
schema._differs_in_form_only = lambda a, b: False
adapter.serve(sys.stdin, sys.stdout)
"""
WRITES_UPPERCASE = """
import sys
from juki_protocol.tools import adapter
encode = adapter.OPS["encode"]
adapter.OPS["encode"] = lambda req: {"der": encode(req)["der"].upper()}
adapter.serve(sys.stdin, sys.stdout)
"""
NO_STRUCTURE_CHECK = """
import sys
from juki_protocol.tools import adapter
from juki_protocol.codec import schema
schema.check_structure = lambda *args: None
adapter.serve(sys.stdin, sys.stdout)
"""
ANY_KANA = """
import re, sys
from juki_protocol.tools import adapter
from juki_protocol.messages import common
common._KANA = re.compile(".*")
adapter.serve(sys.stdin, sys.stdout)
"""
ANY_CONTROL = """
import re, sys
from juki_protocol.tools import adapter
from juki_protocol.messages import base
base._CONTROL = re.compile("(?!)")
adapter.serve(sys.stdin, sys.stdout)
"""
NO_EARLIEST_DATE = """
import datetime, sys
from juki_protocol.tools import adapter
from juki_protocol.messages import common
common.EARLIEST_DATE = datetime.date(1, 1, 1)
adapter.serve(sys.stdin, sys.stdout)
"""


def test_reference_passes_the_precision_cases() -> None:
    from juki_conformance.cases_codec_precision import precision_cases

    cases = precision_cases(VECTORS)
    assert len(cases) == 57
    sut = AdapterSut(REFERENCE)
    sut.start()
    try:
        verdicts = {c.id: c.run(sut).verdict for c in cases}
    finally:
        sut.stop()
    assert {cid for cid, v in verdicts.items() if v is not Verdict.PASS} == {
        "der/codec/wide-area-issuance-request/two-field-rules"}
    assert verdicts["der/codec/wide-area-issuance-request/two-field-rules"] \
        is Verdict.ACCEPTABLE


@pytest.mark.parametrize(("cid", "variant"), [
    ("pdu/codec/juki-pdu/version-2-refused", NO_VERSION_CHECK),
    ("der/codec/juki-pdu/outer-tag-primitive", PRIMITIVE_IS_1013),
    ("der/codec/acknowledgement/hex-uppercase-value-encoded-lowercase", WRITES_UPPERCASE),
    ("der/codec/juki-pdu/node-id-extra-element", NO_STRUCTURE_CHECK),
    ("der/codec/acknowledgement/component-twice", NO_STRUCTURE_CHECK),
    ("der/codec/juki-pdu/body-tag-two-elements", NO_STRUCTURE_CHECK),
    ("der/codec/juki-pdu/empty-integer", NO_STRUCTURE_CHECK),
    ("der/codec/acknowledgement/empty-enumerated", NO_STRUCTURE_CHECK),
    ("identifiers/codec/person-name/kana-hiragana", ANY_KANA),
    ("identifiers/codec/text/tab-in-address", ANY_CONTROL),
    ("identifiers/codec/date/before-meiji", NO_EARLIEST_DATE),
])
def test_precision_cases_fail_the_rejected_reading(cid: str, variant: str) -> None:
    # Checks R-PDU-45, R-DER-11, R-JSON-11, R-DER-15, R-DER-16, R-ID-07, R-ID-08, R-ID-09.
    from juki_conformance.cases_codec_precision import precision_cases

    case = _case(precision_cases(VECTORS), cid)
    assert _verdict(REFERENCE, case) is Verdict.PASS
    assert _verdict([sys.executable, "-c", variant], case) is Verdict.FAIL
