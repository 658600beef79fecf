"""The envelope cases of a signed content in BER (juki_conformance/cases_envelope_ber.py,
R-PDU-52): the reference adapter opens the indefinite-length form and refuses the
definite one with 2007 (acceptable); an opener that opens to other octets, or refuses
with another code, fails."""

from __future__ import annotations

import sys
from typing import Any

from juki_conformance.cases_envelope_ber import envelope_ber_cases
from juki_conformance.model import Verdict
from juki_conformance.sut import AdapterSut

REFERENCE = [sys.executable, "-m", "juki_protocol.tools.adapter"]


class Canned:
    """An adapter that answers every ``open`` with ``answer``."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        assert op == "open" and fields["envelope"]
        return self.answer


def test_the_reference_opens_or_refuses_with_2007() -> None:
    sut = AdapterSut(REFERENCE)
    try:
        verdicts = {c.id: c.run(sut).verdict for c in envelope_ber_cases()}
    finally:
        sut.stop()
    assert verdicts == {
        "pdu/envelope/open/ber-econtent-in-segments-indefinite-length": Verdict.PASS,
        "pdu/envelope/open/ber-econtent-in-segments-definite-length": Verdict.ACCEPTABLE}


def test_other_octets_or_another_code_fail() -> None:
    for answer, verdict in (
            ({"ok": True, "message": "30"}, Verdict.FAIL),
            ({"ok": False, "error": {"code": 2003, "name": "SIGNATURE_INVALID"}},
             Verdict.FAIL),
            ({"ok": False, "error": {"code": 2007, "name": "ENVELOPE_MALFORMED"}},
             Verdict.ACCEPTABLE)):
        for case in envelope_ber_cases():
            assert case.run(Canned(answer)).verdict is verdict, (case.id, answer)  # type: ignore[arg-type]
