"""Codec cases for foreign residents (外国人住民, Art. 30-45; spec/foreign_residents.md).

A foreign resident's record has no family register (戸籍の表示) but a nationality or
region and the items of the person's category. The move-out certificate and the
wide-area copy carry them in the extension addition ``foreignResident``. Each case here
takes one vector of the group flagged ``ForeignResident`` in
``vectors/codec_move_out_certificate.json`` or
``vectors/codec_wide_area_issuance_response.json`` and cites the requirement of
spec/foreign_residents.md that it checks: a valid vector must decode to its value and
encode back to its DER, an invalid one must be refused with its code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juki_conformance.cases_codec import expect_error
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.sut import AdapterSut

#: (vector file, the start of a vector's comment, case id suffix, requirements).
_SELECTION: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("codec_move_out_certificate.json", "foreign residents (midToLongTermResident",
     "move-out-certificate/foreign-household", ("R-30-45-0-01", "R-30-45-0-02")),
    ("codec_move_out_certificate.json", "foreign residents (specialPermanentResident",
     "move-out-certificate/special-permanent-residents", ("R-30-45-0-01", "R-30-45-0-02")),
    ("codec_move_out_certificate.json", "a Japanese national and a foreign resident",
     "move-out-certificate/japanese-and-foreign-entries", ("R-30-45-0-01",)),
    ("codec_move_out_certificate.json", "Art. 30-45: an entry with both",
     "move-out-certificate/register-and-items-refused", ("R-30-45-0-01",)),
    ("codec_move_out_certificate.json", "Art. 30-45: an entry with neither",
     "move-out-certificate/neither-register-nor-items-refused", ("R-30-45-0-01",)),
    ("codec_move_out_certificate.json", "Art. 30-45: a special permanent resident with",
     "move-out-certificate/category-items-refused", ("R-30-45-0-02",)),
    ("codec_move_out_certificate.json", "Art. 30-45: a residence card number",
     "move-out-certificate/card-number-format-refused", ("R-30-45-0-02",)),
    ("codec_wide_area_issuance_response.json", "foreign residents (midToLongTermResident",
     "wide-area-issuance-response/foreign-household", ("R-30-45-0-03",)),
    ("codec_wide_area_issuance_response.json", "a Japanese national and a foreign resident",
     "wide-area-issuance-response/japanese-and-foreign-copies", ("R-30-45-0-03",)),
    ("codec_wide_area_issuance_response.json", "Art. 30-45: a wide-area copy carrying",
     "wide-area-issuance-response/card-number-refused", ("R-30-45-0-03",)),
    ("codec_wide_area_issuance_response.json", "Art. 30-45: a wide-area copy whose",
     "wide-area-issuance-response/date-other-than-resident-since-refused",
     ("R-30-45-0-03",)),
)

_REMEDIATION = ("Decode and encode `foreignResident` (spec/asn1/common.asn `ForeignResident`) "
                "as the extension addition of `MoveOutCertificateEntry` and "
                "`ResidentRecordCopy`; accept an entry without `familyRegister` when it "
                "carries it; apply the rules of spec/foreign_residents.md (exactly one of "
                "the two, the items of the category, no card number on a copy) with 1024.")


def _run(type_name: str, profile: str | None, t: dict[str, Any]
         ) -> Callable[[AdapterSut], Outcome]:
    fields: dict[str, Any] = {"type": type_name, "der": t["der"]}
    if profile:
        fields["profile"] = profile

    def run(sut: AdapterSut) -> Outcome:
        answer = sut.request("decode", **fields)
        if t["result"] == "invalid":
            return expect_error(answer, t["errorCode"])
        expected = "decoded to the vector's value and re-encoded to the same DER"
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, "rejected a foreign resident's message")
        if answer.get("value") != t["value"]:
            return Outcome(Verdict.FAIL, expected, "decoded to a different value")
        enc = sut.request("encode", type=type_name, value=t["value"],
                          profile=profile or "current")
        if not enc.get("ok"):
            return Outcome(Verdict.FAIL, expected, "encode rejected the vector's value")
        if enc.get("der") != t["der"]:
            return Outcome(Verdict.FAIL, expected, "encoded to different DER")
        return Outcome(Verdict.PASS, expected, "decoded and re-encoded exactly")

    return run


def foreign_cases(directory: Path) -> list[Case]:
    """One case per selected foreign-resident vector, in a stable order."""
    docs: dict[str, dict[str, Any]] = {}
    cases: list[Case] = []
    for file, start, suffix, reqs in _SELECTION:
        doc = docs.get(file)
        if doc is None:
            doc = docs[file] = json.loads((directory / file).read_text(encoding="utf-8"))
        group, t = next((g, t) for g in doc["testGroups"] for t in g["tests"]
                        if "ForeignResident" in t["flags"] and t["comment"].startswith(start))
        type_name = group["messageType"]
        contract = "R-CONF-19" if t["result"] == "invalid" else "R-CONF-20"
        requirements = (*reqs, contract)
        cases.append(Case(
            id=f"30-45/codec/{suffix}", title=f"{type_name}: {t['comment']}",
            clause="30-45", requirements=requirements, level=strongest_level(requirements),
            remediation=_REMEDIATION, mode="codec", message_type=type_name,
            profile=group["profile"], ops=("decode", "encode"),
            run=_run(type_name, group["profile"], t),
            data={"vector": file, "tcId": t["tcId"], "flags": t["flags"]}))
    return cases
