"""Envelope cases in codec mode on the form of the signing time a sender seals
(spec/pdu.md section 7, R-PDU-29): the signing time is the header time, written as RFC
5652 section 11.3 requires, a UTCTime for the years 1950 to 2049 and a GeneralizedTime
for any other year; juki-time is a GeneralizedTime whatever the year.

The runner asks the SUT's adapter to ``seal`` a valid message under headers whose time
lies on either side of both bounds (the last second of 1949, the first of 1950, the last
of 2049, the first of 2050), decrypts the envelope with the recipient's key, and reads the
two time attributes of the SignerInfo. A sender that always writes UTCTime breaks on
2050 (its two-digit year reads back as 1950), one that always writes GeneralizedTime
is refused by openers that follow RFC 5652, and one with an off-by-one bound fails at the
bound it misses. The certificates are checked at the seal's ``now``, a day inside their
validity, so the header time alone varies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from juki_conformance.cases_envelope_profile import (
    NOW,
    RECIPIENT,
    SENDER,
    message_of_length,
    sample_header,
    world,
)
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.envelope import cms, pki
from juki_protocol.envelope import envelope as env

#: (slug, header time) on both sides of 1950-01-01 and 2050-01-01.
TIMES = (("last-second-of-1949", dt.datetime(1949, 12, 31, 23, 59, 59, tzinfo=dt.UTC)),
         ("first-second-of-1950", dt.datetime(1950, 1, 1, 0, 0, 0, tzinfo=dt.UTC)),
         ("last-second-of-2049", dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.UTC)),
         ("first-second-of-2050", dt.datetime(2050, 1, 1, 0, 0, 0, tzinfo=dt.UTC)))
REMEDIATION = ("Write signingTime as RFC 5652 section 11.3 requires: UTCTime "
               "(YYMMDDHHMMSSZ) for 1950 to 2049, GeneralizedTime (YYYYMMDDHHMMSSZ) for any "
               "other year, both in UTC with whole seconds; juki-time is always a "
               "GeneralizedTime (spec/pdu.md section 7).")


def expected_signing_time(t: dt.datetime) -> bytes:
    """The DER of the signing time attribute's value for header time ``t``."""
    if 1950 <= t.year <= 2049:
        return cms.tlv(0x17, t.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return cms.tlv(0x18, t.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def _seal_at(time: dt.datetime) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        nodes = world()["nodes"]
        s, r = nodes[SENDER], nodes[RECIPIENT]
        header = dataclasses.replace(sample_header(), time=time)
        want = expected_signing_time(time)
        juki_time = cms.tlv(0x18, time.strftime("%Y%m%d%H%M%SZ").encode("ascii"))
        expected = f"signingTime {want.hex()} and juki-time {juki_time.hex()}"
        answer = sut.request("seal", header=codec.to_json(header),
                             message=message_of_length(200).hex(),
                             senderKey=pki.key_pem(s.key).decode(),
                             senderCert=pki.cert_pem(s.cert).decode(),
                             recipientCert=pki.cert_pem(r.cert).decode(),
                             now=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
        if not answer.get("ok"):
            err = answer.get("error") or {}
            return Outcome(Verdict.FAIL, expected,
                           f"seal refused: {err.get('code')} {err.get('name')}")
        try:
            inner = env.decrypt_content(bytes.fromhex(str(answer.get("envelope"))),
                                        [pki.Credential(r.key, r.cert)])
            signers = cms.parse_signed_data(inner).signers
        except Exception as exc:  # the reference cannot read it: the SUT's fault
            return Outcome(Verdict.FAIL, expected,
                           f"the reference cannot decrypt and parse it: {exc}")
        if len(signers) != 1:
            return Outcome(Verdict.FAIL, expected, f"{len(signers)} SignerInfos")
        values = {a.oid: a.values for a in signers[0].attributes}
        got = values.get(cms.ID_SIGNING_TIME)
        if got != (want,):
            shown = "absent" if got is None else " ".join(v.hex() for v in got)
            return Outcome(Verdict.FAIL, expected, f"signingTime {shown}")
        got = values.get(env.ID_JUKI_TIME)
        if got != (juki_time,):
            shown = "absent" if got is None else " ".join(v.hex() for v in got)
            return Outcome(Verdict.FAIL, expected, f"juki-time {shown}")
        return Outcome(Verdict.PASS, expected, "both as expected")
    return run


def signing_time_cases() -> list[Case]:
    """The cases of this module, in a stable order."""
    return [Case(id=f"pdu/envelope/seal/signing-time-{slug}",
                 title=f"a header time at the {slug.replace('-', ' ')} is sealed as "
                       f"{'UTCTime' if 1950 <= t.year <= 2049 else 'GeneralizedTime'} "
                       "signingTime",
                 clause="pdu", requirements=("R-PDU-29",), level="MUST",
                 remediation=REMEDIATION, mode="codec", ops=("seal",),
                 message_type="IdentityInfoUpdate", run=_seal_at(t))
            for slug, t in TIMES]


__all__ = ["expected_signing_time", "signing_time_cases"]
