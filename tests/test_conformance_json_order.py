"""The codec cases of the order of checks at depth (juki_conformance/cases_codec_json_order.py)
and of the private key and the JSON header of seal and open
(juki_conformance/cases_envelope_backlog.py): the reference passes them, and an adapter
with the fault each family targets fails them."""

from __future__ import annotations

import sys

from juki_conformance.cases_codec_json_order import json_order_cases
from juki_conformance.cases_envelope_backlog import envelope_backlog_cases
from juki_conformance.model import Case, Verdict
from juki_conformance.suite import more_codec_cases
from juki_conformance.sut import AdapterSut

REFERENCE = [sys.executable, "-m", "juki_protocol.tools.adapter"]

#: An adapter whose ``encode`` builds the message first (its dataclasses run the rules
#: of each object as it is built) and checks the profile before the schema constraints.
BUILD_FIRST = [sys.executable, "-c", """
import sys
from juki_protocol.codec import codec
from juki_protocol.messages import Profile
from juki_protocol.tools import adapter
def encode(req):
    msg = codec.from_json(req["type"], req["value"])
    return {"der": codec.encode(msg, Profile(req.get("profile") or "current")).hex()}
adapter.serve(sys.stdin, sys.stdout, {**adapter.OPS, "encode": encode})
"""]

#: An adapter that lets the key library's TypeError (an encrypted key, no passphrase)
#: through as an internal error.
KEY_LEAK = [sys.executable, "-c", """
import sys
from cryptography.hazmat.primitives import serialization
from juki_protocol.envelope import pki
from juki_protocol.tools import adapter
pki.load_private_key = lambda pem: serialization.load_pem_private_key(pem, password=None)
adapter.serve(sys.stdin, sys.stdout)
"""]


#: An adapter that reads the header of seal and open leniently: unknown keys dropped.
LENIENT_HEADER = [sys.executable, "-c", """
import sys
from juki_protocol.messages import PduHeader
from juki_protocol.messages.base import from_form
from juki_protocol.tools import adapter
known = set(PduHeader.__dataclass_fields__)
adapter._header = lambda obj: None if obj is None else from_form(
    PduHeader, {k: v for k, v in obj.items() if k in known}, json=True)
adapter.serve(sys.stdin, sys.stdout)
"""]


def _verdicts(command: list[str], cases: list[Case]) -> dict[str, Verdict]:
    sut = AdapterSut(command, timeout=30)
    sut.start()
    try:
        return {c.id: c.run(sut).verdict for c in cases}
    finally:
        sut.stop()


def test_the_cases_are_registered_and_cite_the_order() -> None:
    ids = {c.id for c in more_codec_cases()}
    cases = json_order_cases()
    assert len(cases) >= 40 and {c.id for c in cases} <= ids
    assert all("R-CONF-15" in c.requirements and c.remediation for c in cases)


def test_the_reference_passes_and_an_adapter_that_builds_first_fails() -> None:
    cases = json_order_cases()
    assert set(_verdicts(REFERENCE, cases).values()) == {Verdict.PASS}
    faulty = _verdicts(BUILD_FIRST, cases)
    failed = {cid for cid, v in faulty.items() if v is Verdict.FAIL}
    assert "json/codec/identity-info-update/current/order-key-missing-at-top-before-" \
           "rule-in-identity-info" in failed
    assert "24-2/4/codec/move-out-certificate/current/order-profile-before-rule-across-" \
           "entries" in failed
    assert "24-2/4/codec/move-out-certificate/current/order-constraint-before-profile-" \
           "across-entries" in failed


def test_the_key_cases_pass_on_the_reference_and_fail_a_leaking_adapter() -> None:
    cases = [c for c in envelope_backlog_cases() if c.id.endswith("-private-key-refused")]
    assert len(cases) == 6
    assert set(_verdicts(REFERENCE, cases).values()) == {Verdict.PASS}
    leaking = _verdicts(KEY_LEAK, cases)
    assert leaking["pdu/envelope/seal/encrypted-private-key-refused"] is Verdict.FAIL
    assert leaking["pdu/envelope/open/encrypted-private-key-refused"] is Verdict.FAIL


def test_the_header_cases_pass_on_the_reference_and_fail_a_lenient_reader() -> None:
    cases = [c for c in envelope_backlog_cases() if "/header-" in c.id]
    assert len(cases) == 8 and all(c.requirements == ("R-JSON-02",) for c in cases)
    assert set(_verdicts(REFERENCE, cases).values()) == {Verdict.PASS}
    lenient = _verdicts(LENIENT_HEADER, cases)
    assert lenient["pdu/envelope/seal/header-unknown-key-refused"] is Verdict.FAIL
    assert lenient["pdu/envelope/open/header-unknown-key-refused"] is Verdict.FAIL
    assert lenient["pdu/envelope/seal/header-time-missing-refused"] is Verdict.PASS
