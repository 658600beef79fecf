"""Codec-mode test cases: the golden vectors, identifiers, JSON rules, hostile input.

Every case talks to the SUT only through the adapter protocol (``spec/conformance.md``);
the cases of that protocol itself are in :mod:`juki_conformance.cases_codec_adapter`,
the checks the codec cases share in :mod:`juki_conformance.codec_checks`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juki_conformance.cases_codec_adapter import adapter_cases
from juki_conformance.codec_checks import (
    code_name,
    error_of,
    expect_error,
    hex_diff,
    id_slug,
    json_diff,
    kebab_case,
)
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.sut import AdapterSut
from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import resident_code_check_digit

#: The clause (article/paragraph, or spec section) each message type belongs to.
CLAUSES = {
    "MoveInNotice": "9/1", "WideAreaIssuanceRequest": "12-2/1",
    "WideAreaIssuanceResponse": "12-2/3", "SpecialMoveInNotice": "24-2/3",
    "MoveOutCertificate": "24-2/4", "IdentityInfoUpdate": "30-5",
    "IdentityInfoRelay": "30-11", "ProvisionRequest": "30-7/3",
    "ProvisionResponse": "30-7/3", "Acknowledgement": "pdu", "ErrorReport": "pdu",
    "JukiPdu": "pdu", "FamilyRegisterNotice": "9/2", "CodeDesignationRequest": "30-7/1",
    "CodeDesignation": "30-7/1", "CardApplication": "30-44", "CardIssueNotice": "30-44",
    "CardStatusNotice": "30-44", "CardStatusQuery": "30-44", "CardStatusAnswer": "30-44",
}

#: The requirement a type's own rules (RuleViolation vectors) check.
RULE_REQUIREMENT = {
    "MoveInNotice": "R-9-1-02", "WideAreaIssuanceRequest": "R-12-2-1-02",
    "SpecialMoveInNotice": "R-24-2-3-02", "MoveOutCertificate": "R-24-2-4-02",
    "IdentityInfoUpdate": "R-30-5-0-03", "IdentityInfoRelay": "R-30-11-0-01",
    "ProvisionRequest": "R-30-7-3-03", "ErrorReport": "R-PDU-28", "JukiPdu": "R-PDU-19",
    "WideAreaIssuanceResponse": "R-30-45-0-03", "FamilyRegisterNotice": "R-9-2-02",
    "CodeDesignationRequest": "R-30-7-1-02", "CodeDesignation": "R-30-7-2-01",
    "CardApplication": "R-CARDREG-01", "CardIssueNotice": "R-CARDREG-03",
    "CardStatusNotice": "R-CARDREG-01", "CardStatusQuery": "R-CARDREG-01",
    "CardStatusAnswer": "R-CARDREG-06",
}

#: Vectors whose rule a later requirement states more precisely than the type's own
#: (tcIds 28 to 31 and 20, 21: the foreign residents' group, spec/foreign_residents.md).
VECTOR_REQUIREMENT = {
    ("MoveOutCertificate", 19): "R-24-2-4-04",
    ("MoveOutCertificate", 28): "R-30-45-0-01", ("MoveOutCertificate", 29): "R-30-45-0-01",
    ("MoveOutCertificate", 30): "R-30-45-0-02", ("MoveOutCertificate", 31): "R-30-45-0-02",
    # A municipality field holding a prefecture's own code: R-ID-10 decides it from the
    # message alone (R-30-7-1-02 is the prefecture's check against the header).
    ("CodeDesignationRequest", 11): "R-ID-10", ("CodeDesignation", 15): "R-ID-10",
    # The delegation's own rule (spec/provision.md section 6), not the legal basis's.
    **{("ProvisionRequest", tc): "R-30-10-1-01" for tc in (16, 17, 18)},
    ("ErrorReport", 11): "R-PDU-47",     # the MAY that makes both verdicts conform
}

FLAG_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "Minimal": ("R-DER-01", "R-JSON-09", "R-JSON-01"),
    "Maximal": ("R-DER-01", "R-JSON-09", "R-JSON-01"),
    "NonAscii": ("R-DER-01", "R-JSON-09", "R-JSON-01"), "Profile2002": ("R-PDU-03", "R-JSON-09"),
    "UnknownExtension": ("R-DER-08", "R-CONF-19"), "ConstraintViolation": ("R-DER-07",),
    "Truncated": ("R-DER-05",), "OverlongLength": ("R-DER-05",),
    "TrailingData": ("R-DER-03",), "LongFormLength": ("R-DER-02",),
    "IndefiniteLength": ("R-DER-02",), "NonMinimalInteger": ("R-DER-02",),
    "NonCanonicalBoolean": ("R-DER-02",), "WrongTag": ("R-DER-06",),
    "ProfileViolation": ("R-PDU-02", "R-PDU-03"), "InvalidDate": ("R-JSON-03",),
    "UnknownEnum": ("R-DER-09",), "VariationSequence": ("R-NAME-02",),
    # The additions of spec/provision.md section 6 and spec/suspension.md.
    "Delegation": ("R-30-10-1-01",), "Suspension": ("R-SUSP-01",),
}
CODE_REQUIREMENT = {1020: "R-ID-01", 1021: "R-ID-04", 1022: "R-ID-05"}

REMEDIATION = {
    "Minimal": "Encode and decode every required field exactly as spec/asn1 defines it; "
               "compare your DER byte for byte with the vector's.",
    "Maximal": "Support every optional field; DER orders fields by tag and omits absent "
               "OPTIONAL fields.",
    "NonAscii": "Names are UTF8String: keep characters outside the BMP (4-byte UTF-8) and "
                "count SIZE in characters, not bytes.",
    "Profile2002": "In profile 2002 no individual number is present; decode such "
                   "messages without requiring it.",
    "UnknownExtension": "Skip extension additions you do not know (X.680 extensibility); "
                        "do not reject the message.",
    "BadCheckDigit": "Validate check digits as spec/identifiers.md gives them and reject "
                     "with the identifier's own code (1020, 1021 or 1022).",
    "ConstraintViolation": "Decode with constraint checks on; reject with 1015.",
    "InvalidDate": "Validate every Date as a real calendar date; reject with 1023.",
    "Truncated": "Check that every length fits inside its container before reading.",
    "OverlongLength": "Check that every length fits inside its container before reading.",
    "TrailingData": "After the outermost value, require the end of input (1012).",
    "LongFormLength": "Accept only minimal definite lengths (DER, X.690 10.1).",
    "IndefiniteLength": "Reject indefinite lengths: DER requires the definite form.",
    "NonMinimalInteger": "Reject INTEGERs with a redundant leading octet (X.690 8.3.2).",
    "NonCanonicalBoolean": "Reject BOOLEAN TRUE encoded as anything but FF (X.690 11.1).",
    "WrongTag": "Check the outer APPLICATION tag: 1031 for an unregistered tag, 1013 for "
                "another registered type.",
    "ProfileViolation": "Apply the profile: individual number required in current, "
                        "forbidden in 2002 (1025).",
    "RuleViolation": "Apply the rules of the message's clause after decoding "
                     "(see the requirement text).",
    "UnknownEnum": "Reject ENUMERATED values your version does not define.",
    "UnregisteredCode": "Either accept an unregistered code in range or reject it with "
                        "the code named; both are allowed.",
}


def _vector_run(type_name: str, profile: str | None,
                t: dict[str, Any]) -> Callable[[AdapterSut], Outcome]:
    fields: dict[str, Any] = {"type": type_name, "der": t["der"]}
    if profile:
        fields["profile"] = profile

    def run(sut: AdapterSut) -> Outcome:
        answer = sut.request("decode", **fields)
        if t["result"] == "invalid":
            return expect_error(answer, t["errorCode"])
        if t["result"] == "acceptable":
            if answer.get("ok"):
                return Outcome(Verdict.ACCEPTABLE, "accepted or rejected with "
                               f"{code_name(t['errorCode'])}", "accepted")
            got, text = error_of(answer)
            verdict = Verdict.ACCEPTABLE if got == t["errorCode"] else Verdict.FAIL
            return Outcome(verdict, f"accepted or rejected with {code_name(t['errorCode'])}",
                           f"rejected with {text}")
        expected = "decoded to the vector's value and re-encoded to the same DER"
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"rejected with {error_of(answer)[1]}")
        if answer.get("value") != t["value"]:
            return Outcome(Verdict.FAIL, expected, "decoded to a different value",
                           json_diff(t["value"], answer.get("value")))
        enc = sut.request("encode", type=type_name, value=t["value"],
                          profile=profile or "current")
        if not enc.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"encode rejected: {error_of(enc)[1]}")
        if "UnknownExtension" in t["flags"]:
            # The JSON value cannot hold the unknown addition: its DER is the vector's
            # without it, which must decode to the same value (R-CONF-20).
            again = sut.request("decode", type=type_name, der=str(enc.get("der")))
            if again.get("ok") and again.get("value") == t["value"]:
                return Outcome(Verdict.PASS, expected, "decoded with the extension skipped; "
                               "re-encoded without it to DER of the same value")
            return Outcome(Verdict.FAIL, expected, "the re-encoded DER does not decode to "
                           "the vector's value")
        if enc.get("der") != t["der"]:
            return Outcome(Verdict.FAIL, expected, "encoded to different DER",
                           hex_diff(t["der"], str(enc.get("der"))))
        return Outcome(Verdict.PASS, expected, "decoded and re-encoded exactly")

    return run


def vector_cases(directory: Path) -> list[Case]:
    """One case per codec vector."""
    cases: list[Case] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("codec_*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for group in doc["testGroups"]:
            type_name, profile = group["messageType"], group["profile"]
            for t in group["tests"]:
                flags = t["flags"]
                reqs: list[str] = []
                for f in flags:
                    reqs += FLAG_REQUIREMENTS.get(f, ())
                if "BadCheckDigit" in flags:
                    reqs.append(CODE_REQUIREMENT[t["errorCode"]])
                if "RuleViolation" in flags or "UnregisteredCode" in flags:
                    reqs.append(VECTOR_REQUIREMENT.get((type_name, t["tcId"]), "R-ID-10"
                                                       if "PrefectureAsMunicipality" in flags
                                                       else RULE_REQUIREMENT[type_name]))
                # The adapter contract: decode applies the message's rules (an invalid
                # vector); encode gives the unique DER (a valid vector it re-encodes).
                if t["result"] == "invalid":
                    reqs.append("R-CONF-19")
                elif t["result"] == "valid":
                    reqs.append("R-CONF-20")
                main = next((f for f in flags if f in REMEDIATION), "Minimal")
                base = (f"{CLAUSES[type_name]}/codec/{kebab_case(type_name)}/"
                        f"{profile or 'any'}/{id_slug(t['comment'])}")
                cid, n = base, 2
                while cid in seen:
                    cid, n = f"{base}-{n}", n + 1
                seen.add(cid)
                cases.append(Case(
                    id=cid, clause=CLAUSES[type_name],
                    title=t["comment"] if t["comment"].startswith(type_name)
                    else f"{type_name}: {t['comment']}",
                    requirements=tuple(dict.fromkeys(reqs)),
                    level=strongest_level(reqs),
                    remediation=REMEDIATION[main], mode="codec", message_type=type_name,
                    profile=profile, ops=("decode", "encode"),
                    run=_vector_run(type_name, profile, t),
                    data={"vector": path.name, "tcId": t["tcId"], "flags": flags}))
    return cases


# Identifiers -------------------------------------------------------------------------

def _mod11(body: str) -> int:
    total = sum(int(ch) * (n + 1 if n <= 6 else n - 5)
                for n, ch in enumerate(reversed(body), start=1))
    r = total % 11
    return 0 if r <= 1 else 11 - r


def _blind_spot_code() -> str:
    """A valid resident code reached from another valid one by one digit change."""
    rng = random.Random("blind-spot")
    while True:
        body = "".join(rng.choice("0123456789") for _ in range(10))
        total = sum(int(ch) * (n + 1 if n <= 6 else n - 5)
                    for n, ch in enumerate(reversed(body), start=1))
        if total % 11 == 1:
            return body + str(_mod11(body))


def _code_case(cid: str, title: str, kind: str, code: str, valid: bool, req: str,
               error: int) -> Case:
    def run(sut: AdapterSut) -> Outcome:
        answer = sut.request("check_code", kind=kind, code=code)
        if valid:
            if answer.get("ok"):
                return Outcome(Verdict.PASS, "valid", "valid")
            return Outcome(Verdict.FAIL, "valid", f"rejected with {error_of(answer)[1]}")
        return expect_error(answer, error)

    return Case(id=cid, title=title, clause="identifiers", requirements=(req,), level="MUST",
                remediation="Implement the check digit exactly as spec/identifiers.md gives "
                            "it; compare with the worked examples.",
                mode="codec", ops=("check_code",), run=run)


def _sweep_case() -> Case:
    rng = random.Random("sweep")
    codes = []
    for _ in range(200):
        body = "".join(rng.choice("0123456789") for _ in range(10))
        good = body + str(_mod11(body))
        bad = body + str((_mod11(body) + rng.randint(1, 9)) % 10)
        codes += [(good, True), (bad, False)]

    def run(sut: AdapterSut) -> Outcome:
        for code, valid in codes:
            ok = bool(sut.request("check_code", kind="resident", code=code).get("ok"))
            if ok != valid:
                return Outcome(Verdict.FAIL, "200 valid codes accepted, 200 wrong ones refused",
                               f"code {code[:2]}********* judged {'valid' if ok else 'invalid'}")
        return Outcome(Verdict.PASS, "200 valid codes accepted, 200 wrong ones refused",
                       "all 400 judged correctly")

    return Case(id="identifiers/codec/resident-code/sweep-400", title="400 resident codes",
                clause="identifiers", requirements=("R-ID-01",), level="MUST",
                remediation="Implement the mod-11 rule with the weights 5,4,3,2,7,6,5,4,3,2.",
                mode="codec", ops=("check_code",), run=run)


def identifier_cases() -> list[Case]:
    spot = _blind_spot_code()
    out = [
        _code_case("identifiers/codec/resident-code/example-12345678903",
                   "published example 12345678903", "resident", "12345678903", True,
                   "R-ID-01", 0),
        _code_case("identifiers/codec/resident-code/example-24727059608",
                   "published example 24727059608", "resident", "24727059608", True,
                   "R-ID-01", 0),
        _code_case("identifiers/codec/resident-code/remainder-1-gives-0",
                   "remainder 1 gives check digit 0 (not 10)", "resident", spot, True,
                   "R-ID-01", 0),
        _code_case("identifiers/codec/resident-code/wrong-check-digit",
                   "12345678904 has a wrong check digit", "resident", "12345678904", False,
                   "R-ID-01", 1020),
        _code_case("identifiers/codec/resident-code/fullwidth-digits",
                   "full-width digits are not ASCII digits", "resident", "１２３４５６７８９０３",
                   False, "R-ID-01", 1020),
        _code_case("identifiers/codec/resident-code/ten-digits", "10 digits", "resident",
                   "1234567890", False, "R-ID-01", 1020),
        _code_case("identifiers/codec/individual-number/wrong-check-digit",
                   "individual number with a wrong check digit", "individual",
                   "123456789019", False, "R-ID-05", 1022),
        _code_case("identifiers/codec/individual-number/valid", "a valid individual number",
                   "individual", "123456789018", True, "R-ID-05", 0),
        _sweep_case(),
    ]
    for code in ("271004", "131016", "130001", "010006"):
        out.append(_code_case(f"identifiers/codec/local-gov-code/example-{code}",
                              f"published example {code}", "local-gov", code, True,
                              "R-ID-04", 0))
    out.append(_code_case("identifiers/codec/local-gov-code/wrong-check-digit",
                          "271005 has a wrong check digit", "local-gov", "271005", False,
                          "R-ID-04", 1021))
    return out


# JSON rules and hostile input --------------------------------------------------------

def _request_case(cid: str, title: str, clause: str, req: str, op: str,
                  fields: dict[str, Any], error: int, remediation: str,
                  message_type: str | None = None) -> Case:
    def run(sut: AdapterSut) -> Outcome:
        return expect_error(sut.request(op, **fields), error)

    return Case(id=cid, title=title, clause=clause, requirements=(req,), level="MUST",
                remediation=remediation, mode="codec", ops=(op,), run=run,
                message_type=message_type)


def json_cases(directory: Path) -> list[Case]:
    doc = json.loads((directory / "codec_acknowledgement.json").read_text(encoding="utf-8"))
    ack = doc["testGroups"][0]["tests"][0]["value"]
    upd_doc = json.loads((directory / "codec_identity_info_update.json").read_text("utf-8"))
    upd = upd_doc["testGroups"][0]["tests"][0]["value"]
    resp_doc = json.loads((directory / "codec_provision_response.json").read_text("utf-8"))
    resp = next(t["value"] for t in resp_doc["testGroups"][0]["tests"]
                if t["result"] == "valid" and "provided" in t["value"])
    bad_date = json.loads(json.dumps(upd))
    bad_date["identity_info"]["birth_date"] = bad_date["identity_info"]["birth_date"].replace(
        "-", "/")
    bad_enum = json.loads(json.dumps(upd))
    bad_enum["identity_info"]["sex"] = "unknown"
    both = {**resp, "refusal": "throttled"}
    wide_doc = json.loads((directory / "codec_wide_area_issuance_request.json")
                          .read_text("utf-8"))
    wide = next(t["value"] for t in wide_doc["testGroups"][0]["tests"]
                if "Minimal" in t["flags"])
    no_bool = {k: v for k, v in wide.items() if k != "include_relationship"}
    fix = "Follow spec/json.md: reject what it does not allow, naming the key."
    return [
        # Issue 17, point 12: the ASN.1 has no DEFAULT, so a required BOOLEAN's key is
        # required (the rejected reading defaults it to false).
        _request_case("json/codec/wide-area-issuance-request/required-boolean-missing",
                      "a required BOOLEAN without its key rejected", "json", "R-JSON-02",
                      "encode", {"type": "WideAreaIssuanceRequest", "value": no_bool}, 1030,
                      fix, "WideAreaIssuanceRequest"),
        _request_case("json/codec/acknowledgement/unknown-key", "unknown key rejected",
                      "json", "R-JSON-02", "encode",
                      {"type": "Acknowledgement", "value": {**ack, "extra": 1}}, 1030, fix,
                      "Acknowledgement"),
        _request_case("json/codec/identity-info-update/date-with-slashes",
                      "date 'YYYY/MM/DD' rejected", "json", "R-JSON-03", "encode",
                      {"type": "IdentityInfoUpdate", "value": bad_date}, 1023, fix,
                      "IdentityInfoUpdate"),
        _request_case("json/codec/identity-info-update/unknown-enum",
                      "enumerated value not in the type rejected", "json", "R-JSON-06",
                      "encode", {"type": "IdentityInfoUpdate", "value": bad_enum}, 1030, fix,
                      "IdentityInfoUpdate"),
        _request_case("json/codec/provision-response/two-choice-alternatives",
                      "a CHOICE with two alternatives rejected", "json", "R-JSON-07",
                      "encode", {"type": "ProvisionResponse", "value": both}, 1024, fix,
                      "ProvisionResponse"),
        _request_case("json/codec/unknown-type", "unknown type name rejected", "json",
                      "R-JSON-08", "encode", {"type": "NoSuchMessage", "value": {}}, 1031,
                      fix),
    ]


def _valid_value(directory: Path, type_name: str, which: str = "Maximal",
                 profile: str | None = "current") -> dict[str, Any]:
    """A valid JSON value from the type's vector file (flag ``which``)."""
    doc = json.loads((directory / f"codec{_snake(type_name)}.json").read_text("utf-8"))
    for group in doc["testGroups"]:
        if group["profile"] not in (profile, None):
            continue
        for t in group["tests"]:
            if t["result"] == "valid" and which in t["flags"]:
                value: dict[str, Any] = json.loads(json.dumps(t["value"]))
                return value
    raise LookupError(f"no {which} vector for {type_name}")


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", name).lower()


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set ``a.b[0].c`` in a JSON value (a copy)."""
    out: dict[str, Any] = json.loads(json.dumps(obj))
    node: Any = out
    parts = re.findall(r"[a-z_]+|\[\d+\]", path)
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value
    return out


#: (requirement, type, which vector, mutation path (or paths), new value or a function of
#:  the value (or one per path), expected code (None: accepted), slug)
_RULES: list[tuple[str, str, str, str | tuple[str, ...], Any, int | None, str]] = [
    ("R-12-2-1-02", "WideAreaIssuanceRequest", "Maximal", "requester.address.local_gov_code",
     "131016", 1024, "requester-not-in-residence-municipality"),
    ("R-12-2-3-05", "WideAreaIssuanceResponse", "Maximal", "copies[0].resident_since",
     "1900-01-01", 1023, "resident-since-before-birth"),
    ("R-12-2-3-05", "WideAreaIssuanceResponse", "Maximal", "copies[0].address.local_gov_code",
     "131016", 1024, "copy-not-of-the-residence-municipality"),
    ("R-24-2-3-02", "SpecialMoveInNotice", "Maximal", "move_in_filed_date", "2000-01-01",
     1023, "filed-before-moving"),
    ("R-24-2-4-02", "MoveOutCertificate", "Maximal",
     "entries[0].long_term_care_insurance", {"insured": False, "qualified_since": "2020-01-01"},
     1024, "qualified-since-without-insurance"),
    ("R-30-5-0-02", "IdentityInfoUpdate", "Minimal", "identity_info.address.local_gov_code",
     "272035", 1024, "address-outside-the-sending-municipality"),
    ("R-30-5-0-04", "IdentityInfoUpdate", "Minimal", "previous_resident_code", "12345678903",
     1024, "previous-code-without-code-change"),
    ("R-30-7-3-08", "ProvisionRequest", "Minimal", "by_four_items",
     {"name": {"kanji": "山田　花子"}, "birth_date": "1980-01-01", "sex": "female",
      "address": {"local_gov_code": "271004", "text": "大阪市北区"}}, 1024,
     "both-query-alternatives"),
    # Found by the mutation run: nothing checked the codes a provision request asks
    # about (benchmarks/mutation/missing-cases.txt).
    ("R-ID-01", "ProvisionRequest", "Minimal", "by_resident_code",
     lambda v: [c[:-1] + str((int(c[-1]) + 1) % 10) for c in v["by_resident_code"]], 1020,
     "queried-resident-code-with-a-wrong-check-digit"),
    # A single target's response holds one copy (the lower SIZE bound, decoded alone).
    ("R-12-2-3-02", "WideAreaIssuanceResponse", "Maximal", "copies",
     lambda v: v["copies"][:1], None, "one-copy-for-one-target"),
    ("R-ID-06", "JukiPdu", "Minimal", "header.sender", {"role": "municipality",
                                                        "code": "270008"}, 1026,
     "municipality-with-a-prefecture-code"),
    # "DCX1" fits NodeId.code's SIZE (4..8) and breaks the DCnn form only; the earlier
    # "DC1" also broke the SIZE, which comes first (issue 17, point 1).
    ("R-ID-06", "JukiPdu", "Minimal", "header.recipient", {"role": "national", "code": "DCX1"},
     1026, "national-id-form"),
    # Two faults: the order of checks (spec/pdu.md section 8, R-CONF-15) decides the code.
    ("R-CONF-15", "JukiPdu", "Minimal", "header.recipient", {"role": "national", "code": "DC1"},
     1015, "order-size-before-node-id-form"),
    ("R-CONF-15", "WideAreaIssuanceRequest", "Maximal", "targets",
     lambda v: [v["targets"][0]] * 21, 1015, "order-list-size-before-same-person"),
    ("R-CONF-15", "IdentityInfoUpdate", "Maximal", "identity_info",
     lambda v: {**{k: x for k, x in v["identity_info"].items() if k != "individual_number"},
                "resident_code": "12345678904"}, 1025, "order-profile-before-check-digit"),
    ("R-CONF-15", "IdentityInfoUpdate", "Maximal", "identity_info",
     lambda v: {**{k: x for k, x in v["identity_info"].items() if k != "individual_number"},
                "name": {"kanji": "長" * 101}}, 1015, "order-size-before-profile"),
    ("R-JSON-04", "JukiPdu", "Minimal", "header.time", "2026-04-01T18:00:00+09:00", 1030,
     "time-with-an-offset"),
    # Issue 17, point 8: distinct resident codes among the entries.
    ("R-24-2-4-04", "MoveOutCertificate", "Maximal", "entries[1].resident_code",
     lambda v: v["entries"][0]["resident_code"], 1024, "entries-with-one-resident-code"),
    # Point 9: "same name" is the whole PersonName; kana that differ make two names.
    ("R-12-2-1-03", "WideAreaIssuanceRequest", "Maximal", "targets",
     lambda v: [{**v["targets"][0], "name": {**v["targets"][0]["name"], "kana": kana}}
                for kana in ("サノ\u3000イサム", "サノ\u3000イサミ")], None,
     "same-kanji-other-kana-accepted"),
    ("R-12-2-1-03", "WideAreaIssuanceRequest", "Maximal", "targets",
     lambda v: [v["targets"][0], {**v["targets"][0], "resident_code": "12345678903"}], 1024,
     "same-whole-name-and-birth-date"),
    # Point 10: RequestingBody.code is checked while decoding, by the body's kind.
    ("R-30-7-3-24", "ProvisionRequest", "Minimal", "requester",
     {"kind": "agency", "code": "AGX1"}, 1026, "agency-code-not-agnnnn"),
    ("R-30-7-3-24", "ProvisionRequest", "Minimal", "requester",
     {"kind": "agency", "code": "271004"}, 1026, "agency-with-a-local-government-code"),
    ("R-30-7-3-24", "ProvisionRequest", "Minimal", ("requester", "legal_basis"),
     ({"kind": "municipality", "code": "271005"}, "centerToMunicipality"), 1021,
     "municipality-code-with-a-wrong-check-digit"),
    ("R-30-7-3-24", "ProvisionRequest", "Minimal", ("requester", "legal_basis"),
     ({"kind": "municipality", "code": "270008"}, "centerToMunicipality"), 1026,
     "municipality-with-a-prefecture-code"),
    # Points 5 and 6: codec mode applies no business rule (5xxx): a notice filed 20 days
    # after the move is encoded; only the former municipality's node refuses it (5020).
    ("R-CONF-19", "SpecialMoveInNotice", "Maximal", "move_in_filed_date",
     lambda v: (dt.date.fromisoformat(v["moved_date"]) + dt.timedelta(days=20)).isoformat(),
     None, "filed-after-14-days-encoded-and-decoded"),
    ("R-JSON-05", "Acknowledgement", "Minimal", "acknowledged_id", "ab cd", 1030,
     "hex-with-a-space"),
    # Both sides of each "must not precede" rule between two dates of one message: the
    # same day is accepted, the day before refused 1023 (a strict comparison where the
    # rule allows equality, or the reverse, fails one of the two).
    ("R-24-2-3-02", "SpecialMoveInNotice", "Maximal", "move_in_filed_date",
     lambda v: v["moved_date"], None, "filed-on-the-day-of-moving"),
    ("R-24-2-3-02", "SpecialMoveInNotice", "Maximal", "move_in_filed_date",
     lambda v: _day_before(v["moved_date"]), 1023, "filed-the-day-before-moving"),
    ("R-9-1-02", "MoveInNotice", "Maximal", "recorded_date",
     lambda v: v["moved_date"], None, "recorded-on-the-day-of-moving"),
    ("R-9-1-02", "MoveInNotice", "Maximal", "recorded_date",
     lambda v: _day_before(v["moved_date"]), 1023, "recorded-the-day-before-moving"),
    ("R-9-2-02", "FamilyRegisterNotice", "Maximal", "entry_date",
     lambda v: v["event_date"], None, "entered-on-the-day-of-the-event"),
    ("R-9-2-02", "FamilyRegisterNotice", "Maximal", "entry_date",
     lambda v: _day_before(v["event_date"]), 1023, "entered-the-day-before-the-event"),
    ("R-12-2-3-05", "WideAreaIssuanceResponse", "Maximal", "copies[0].resident_since",
     lambda v: v["copies"][0]["birth_date"], None, "resident-since-the-day-of-birth"),
    ("R-12-2-3-05", "WideAreaIssuanceResponse", "Maximal", "copies[0].resident_since",
     lambda v: _day_before(v["copies"][0]["birth_date"]), 1023,
     "resident-since-the-day-before-birth"),
    # The most persons a notice lists (the rule's bound, inside the schema's SIZE).
    ("R-24-2-3-02", "SpecialMoveInNotice", "Maximal", "movers",
     lambda v: _twenty(v["movers"]), None, "twenty-movers-accepted"),
    ("R-9-1-02", "MoveInNotice", "Maximal", "residents",
     lambda v: _twenty(v["residents"]), None, "twenty-residents-accepted"),
]


def _twenty(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """20 persons (the most a notice lists): the first of ``people`` with 20 distinct
    resident codes, each with its check digit (R-ID-01)."""
    first = people[0]
    out = []
    for i in range(20):
        body = f"{int(first['resident_code'][:10]) + i:010d}"[-10:]
        out.append({**first, "resident_code": body + str(resident_code_check_digit(body))})
    return out


def _day_before(iso: str) -> str:
    """The ISO date one day before ``iso``."""
    return (dt.date.fromisoformat(iso) - dt.timedelta(days=1)).isoformat()


def _accept_case(cid: str, type_name: str, req: str, value: dict[str, Any]) -> Case:
    """A value that a rejected reading of the spec would refuse: ``encode`` must accept
    it, and ``decode`` must accept the DER it gave."""
    expected = "encoded, and its DER decoded to the same value"

    def run(sut: AdapterSut) -> Outcome:
        enc = sut.request("encode", type=type_name, value=value, profile="current")
        if not enc.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"encode rejected: {error_of(enc)[1]}")
        dec = sut.request("decode", type=type_name, der=str(enc.get("der")),
                          profile="current")
        if not dec.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"decode rejected: {error_of(dec)[1]}")
        if dec.get("value") != value:
            return Outcome(Verdict.FAIL, expected, "decoded to a different value",
                           json_diff(value, dec.get("value")))
        return Outcome(Verdict.PASS, expected, "encoded and decoded")

    return Case(id=cid, title=f"{type_name}: {cid.rsplit('/rule-', 1)[-1].replace('-', ' ')}",
                clause=CLAUSES[type_name], requirements=(req,), level="MUST",
                remediation="Apply exactly the rules the requirement states, and no "
                            "stricter reading of them.",
                mode="codec", ops=("encode", "decode"), run=run, message_type=type_name)


def rule_cases(directory: Path) -> list[Case]:
    """Rules of each clause, checked through ``encode`` of a mutated valid value."""
    out = []
    for req, type_name, which, path, value, code, slug in _RULES:
        try:
            base = _valid_value(directory, type_name, which)
        except (LookupError, OSError):
            continue
        paths, values = (path, value) if isinstance(path, tuple) else ((path,), (value,))
        mutated = base
        for one_path, one_value in zip(paths, values, strict=True):
            mutated = _set(mutated, one_path,
                           one_value(base) if callable(one_value) else one_value)
        if code is None:
            out.append(_accept_case(f"{CLAUSES[type_name]}/codec/{kebab_case(type_name)}/"
                                    f"rule-{slug}", type_name, req, mutated))
            continue
        out.append(_request_case(
            f"{CLAUSES[type_name]}/codec/{kebab_case(type_name)}/rule-{slug}",
            f"{type_name}: {slug.replace('-', ' ')}", CLAUSES[type_name], req, "encode",
            {"type": type_name, "value": mutated, "profile": "current"}, code,
            "Apply the rules of the clause (see the requirement text) before encoding, and "
            "report the registered code naming the field.", type_name))
    return out


#: (slug, header time octets, expected code): DER forbids an offset, a missing ``Z`` and a
#: trailing zero in a fraction (1011); ``.5Z`` is DER but not whole seconds (1023).
_HEADER_TIMES: list[tuple[str, bytes, int]] = [
    ("time-with-an-offset", b"20260401180000+0900", 1011),
    ("time-without-z", b"20260401090000", 1011),
    ("time-fraction-trailing-zero", b"20260401090000.50Z", 1011),
    ("time-with-a-fraction", b"20260401090000.5Z", 1023),
    ("time-hour-25", b"20260401250000Z", 1023),
]


def _time_tlv(text: bytes) -> Callable[[bytes], bytes]:
    """A replacement for the header time element: ``[6]`` with ``text`` as content."""
    return lambda old: bytes([0x86, len(text)]) + text


def header_time_cases(directory: Path) -> list[Case]:
    """The header time from DER (R-PDU-35, issue 17 point 11): the rejected readings
    give 1010 for all of them, or 1023 for all of them."""
    from juki_protocol.tools.vectors.vector_cases import find_path, replace_at

    doc = json.loads((directory / "codec_juki_pdu.json").read_text(encoding="utf-8"))
    der = next(bytes.fromhex(t["der"]) for g in doc["testGroups"] for t in g["tests"]
               if "Minimal" in t["flags"] and t["result"] == "valid")
    path = find_path(der, 0x86)         # PduHeader.time, [6] IMPLICIT GeneralizedTime
    out = []
    for slug, text, code in _HEADER_TIMES:
        data = replace_at(der, path, _time_tlv(text))
        out.append(_request_case(
            f"pdu/codec/juki-pdu/der-{slug}", f"JukiPdu: header {slug.replace('-', ' ')}",
            "pdu", "R-PDU-35", "decode", {"type": "JukiPdu", "der": data.hex()}, code,
            "Decode GeneralizedTime strictly: not DER (offset, no Z, trailing zero) is "
            "1011; a DER time with a fraction, or no real time, is 1023.", "JukiPdu"))
    return out


def _nested(levels: int) -> bytes:
    inner = b"\x05\x00"
    for _ in range(levels):
        n = len(inner)
        length = bytes([n]) if n < 128 else bytes([0x82, n >> 8, n & 0xFF])
        inner = b"\x30" + length + inner
    return inner


def robustness_cases() -> list[Case]:
    """Hostile DER: every input must get a registered 1xxx error, quickly."""
    rng = random.Random("robustness")
    inputs: list[tuple[str, bytes, int | None, str]] = [
        ("empty-input", b"", 1010, "R-DER-05"),
        ("one-octet", b"\x66", 1010, "R-DER-05"),
        ("length-claims-2-gib", b"\x66\x84\x7f\xff\xff\xff\x00", 1010, "R-DER-05"),
        ("five-length-octets", b"\x66\x85\x01\x00\x00\x00\x00", 1010, "R-DER-05"),
        ("nested-2000-deep", b"\x66\x82\x00\x00", None, "R-DER-04"),
        ("application-29-unregistered", b"\x7d\x00", 1031, "R-DER-06"),
    ]
    deep = _nested(2000)
    inputs[4] = ("nested-2000-deep", deep, 1014, "R-DER-04")
    # Each also needs an answer within the per-request timeout (R-CONF-04): a hang
    # fails the case.
    for i in range(10):
        inputs.append((f"random-{i}", rng.randbytes(rng.randint(1, 64)), None, "R-DER-05"))
    out: list[Case] = []
    for slug, data, code, req in inputs:
        fields = {"der": data.hex()}
        if slug != "application-29-unregistered" and slug != "nested-2000-deep":
            fields["type"] = "IdentityInfoUpdate"

        def run(sut: AdapterSut, fields: dict[str, Any] = fields,
                code: int | None = code) -> Outcome:
            answer = sut.request("decode", **fields)
            if code is not None:
                return expect_error(answer, code)
            expected = "rejected with a registered 1xxx code"
            if answer.get("ok"):
                return Outcome(Verdict.FAIL, expected, "accepted random bytes")
            got, text = error_of(answer)
            if got is not None and got in ErrorCode._value2member_map_ and got < 2000:
                return Outcome(Verdict.PASS, expected, f"rejected with {text}")
            return Outcome(Verdict.FAIL, expected, f"rejected with {text}")

        out.append(Case(id=f"der/codec/robustness/{slug}", title=f"hostile input: {slug}",
                        clause="der", requirements=(req, "R-CONF-04"), level="MUST",
                        remediation="Bound lengths and depth before decoding; map every "
                                    "failure to a registered code; never crash.",
                        mode="codec", ops=("decode",), run=run))
    return out


def all_cases(directory: Path) -> list[Case]:
    """Every codec-mode case, in a stable order."""
    from juki_conformance.cases_codec_foreign import foreign_cases
    from juki_conformance.cases_codec_precision import precision_cases
    from juki_conformance.cases_envelope import open_cases, seal_cases

    return [*adapter_cases(), *identifier_cases(), *json_cases(directory),
            *rule_cases(directory), *header_time_cases(directory), *robustness_cases(),
            *precision_cases(directory), *foreign_cases(directory),
            *open_cases(directory), *seal_cases(),
            *vector_cases(directory)]


#: ``expect_error`` and ``adapter_cases`` are re-exported: other modules and the tests
#: import them from here.
__all__ = ["CLAUSES", "adapter_cases", "all_cases", "expect_error", "header_time_cases",
           "identifier_cases", "json_cases", "robustness_cases", "rule_cases", "vector_cases"]
