"""Codec cases of the notice of family register entries, Art. 9(2)
(spec/family_register.md): each event with the items it carries, and the rules of
R-9-2-02 that say which.

Each case takes one vector of the group flagged ``FamilyRegisterEvent`` in
``vectors/codec_family_register_notice.json`` and cites the requirement it checks: a
valid vector must decode to its value and encode back to its DER, an invalid one must be
refused with its code. Then the same rules through ``encode``: a value that breaks one
must be refused before any DER is written, with the code the rule names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juki_conformance.cases_codec import expect_error
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.sut import AdapterSut
from juki_protocol.resources import vectors_dir

FILE = "codec_family_register_notice.json"
TYPE = "FamilyRegisterNotice"
_REMEDIATION = ("Decode and encode FamilyRegisterNotice (spec/asn1/family_register.asn) "
                "with every event and item, and apply the rules of R-9-2-02 after "
                "decoding and before encoding: which of person, household and the items "
                "each event carries (the table of spec/family_register.md section 2), two "
                "different municipalities, the dates in order (1024, or 1023 for dates).")

#: (the start of a vector's comment, case id suffix).
_SELECTION: tuple[tuple[str, str], ...] = (
    ("event birth", "birth-with-household-and-every-item"),
    ("event death", "death-without-items"),
    ("event marriage", "marriage-name-and-register"),
    ("event sexChange", "sex-change"),
    ("event domicileChange", "domicile-change-register-only"),
    ("event correction", "correction"),
    ("Art. 9(2): a death that carries a name", "death-with-an-item-refused"),
    ("Art. 9(2): a birth without the household", "birth-without-household-refused"),
    ("Art. 9(2): a birth that names a person", "birth-with-a-person-refused"),
    ("Art. 9(2): an entry date before", "entry-before-event-refused"),
    ("Art. 9(2): a birth whose birth date", "birth-date-not-event-date-refused"),
)

#: (slug, a change to the JSON value of the vector ``event <event>``, expected code).
_ENCODE: tuple[tuple[str, str, Callable[[dict[str, Any]], None], int], ...] = (
    ("name-change-without-a-name", "event nameChange",
     lambda v: v["items"].pop("name"), 1024),
    ("domicile-change-with-a-name", "event domicileChange",
     lambda v: v["items"].update(name={"kanji": "山田　花子"}), 1024),
    ("marriage-with-a-sex", "event marriage", lambda v: v["items"].update(sex="male"),
     1024),
    ("marriage-without-items", "event marriage", lambda v: v.update(items={}), 1024),
    ("death-with-a-household", "event death",
     lambda v: v.update(household=v["person"]["resident_code"]), 1024),
    ("same-municipality-twice", "event death",
     lambda v: v.update(residence_municipality=v["register_municipality"]), 1024),
    ("event-before-the-persons-birth", "event death",
     lambda v: v.update(event_date="1900-01-01"), 1023),
)


def _decode_run(t: dict[str, Any]) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        answer = sut.request("decode", type=TYPE, der=t["der"])
        if t["result"] == "invalid":
            return expect_error(answer, t["errorCode"])
        expected = "decoded to the vector's value and re-encoded to the same DER"
        if not answer.get("ok") or answer.get("value") != t["value"]:
            return Outcome(Verdict.FAIL, expected, "rejected, or decoded to another value")
        enc = sut.request("encode", type=TYPE, value=t["value"], profile="current")
        if not enc.get("ok") or enc.get("der") != t["der"]:
            return Outcome(Verdict.FAIL, expected, "encode rejected it, or wrote other DER")
        return Outcome(Verdict.PASS, expected, "decoded and re-encoded exactly")
    return run


def _encode_run(value: dict[str, Any], code: int) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        return expect_error(sut.request("encode", type=TYPE, value=value,
                                        profile="current"), code)
    return run


def family_register_codec_cases(directory: Path | None = None) -> list[Case]:
    """The Art. 9(2) codec cases, in a stable order."""
    doc = json.loads(((directory or vectors_dir()) / FILE).read_text(encoding="utf-8"))
    tests = [t for g in doc["testGroups"] for t in g["tests"]
             if "FamilyRegisterEvent" in t["flags"]]
    cases: list[Case] = []
    for start, suffix in _SELECTION:
        t = next(t for t in tests if t["comment"].startswith(start))
        reqs = ("R-9-2-02", "R-CONF-19" if t["result"] == "invalid" else "R-CONF-20")
        cases.append(Case(
            id=f"9/2/codec/family-register-notice/{suffix}", title=f"{TYPE}: {t['comment']}",
            clause="9/2", requirements=reqs, level=strongest_level(reqs),
            remediation=_REMEDIATION, mode="codec", message_type=TYPE, profile=None,
            ops=("decode", "encode"), run=_decode_run(t),
            data={"vector": FILE, "tcId": t["tcId"], "flags": t["flags"]}))
    for slug, start, change, code in _ENCODE:
        value = json.loads(json.dumps(next(t["value"] for t in tests
                                           if t["comment"] == start)))
        change(value)
        cases.append(Case(
            id=f"9/2/codec/family-register-notice/rule-{slug}",
            title=f"{TYPE}: {slug.replace('-', ' ')}", clause="9/2",
            requirements=("R-9-2-02",), level="MUST", remediation=_REMEDIATION,
            mode="codec", message_type=TYPE, ops=("encode",), run=_encode_run(value, code)))
    return cases


__all__ = ["family_register_codec_cases"]
