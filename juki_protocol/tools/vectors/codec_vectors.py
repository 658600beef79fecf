"""Golden codec vectors: generation from a seed, and verification of this codec.

One Wycheproof-style file per message type (``vectors/codec_<type>.json``), described
by ``vectors/vectors.schema.json``, plus ``vectors/index.json`` with each file's
SHA-256 and provenance. Valid cases hold the JSON value and its exact DER; invalid
cases hold DER (made by mutating a valid encoding, or by encoding a bad value with
asn1tools directly, past our own validation) and the error code a conforming decoder
must report. ``acceptable`` cases may be accepted or rejected with the named code.

The independent checker in ``tools/check_vectors.py`` re-checks the files without this
package's codec.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from juki_protocol import __version__
from juki_protocol.codec import codec, der
from juki_protocol.codec.schema import APPLICATION_TAGS
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.samples import (
    FOREIGN_TYPES,
    PROFILED_TYPES,
    VARIATION_TYPES,
    Sample,
    edge_cases,
    family_register_notices,
    foreign_samples,
    samples,
    variation_samples,
)
from juki_protocol.messages import MESSAGE_TYPES, Profile
from juki_protocol.messages.base import to_form
from juki_protocol.messages.family_register import FamilyRegisterNotice
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRefusal,
    ProvisionResponse,
    RequestingBody,
)
from juki_protocol.tools.vectors.card_vectors import CARD_RULES
from juki_protocol.tools.vectors.vector_cases import (
    MUNICIPALITY_FIELDS,
    find_path,
    identifier_octets,
    length_octets,
    prefecture_as_municipality,
    replace_at,
)
from juki_protocol.tools.vectors.vector_cases import VectorCase as _Case
from juki_protocol.tools.vectors.vector_cases import invalid_case as _invalid
from juki_protocol.tools.vectors.vector_cases import raw_encode as _raw_encode
from juki_protocol.tools.vectors.vector_cases import valid_case as _valid
from juki_protocol.tools.vectors.vector_schema import VECTOR_SCHEMA

DEFAULT_SEED = "juki-vectors-v1"
SCHEMA_FILE = "vectors.schema.json"

NOTES: dict[str, dict[str, str]] = {
    "Minimal": {"bugType": "BASIC", "description": "Only the required fields."},
    "Maximal": {"bugType": "BASIC",
                "description": "Every optional field present, lists with several items."},
    "Profile2002": {"bugType": "FUNCTIONALITY",
                    "description": "Profile 2002: no individual number anywhere."},
    "NonAscii": {"bugType": "EDGE_CASE",
                 "description": "Names outside the BMP, variant kanji, alphabet names, "
                                "the longest and shortest names."},
    "UnknownExtension": {"bugType": "FUNCTIONALITY",
                         "description": "An extension addition from a later version, "
                                        "which a decoder must skip."},
    "BadCheckDigit": {"bugType": "WRONG_PRIMITIVE",
                      "description": "An identifier whose check digit is wrong."},
    "ConstraintViolation": {"bugType": "CAN_OF_WORMS",
                            "description": "A value breaks a size constraint of the schema."},
    "InvalidDate": {"bugType": "EDGE_CASE", "description": "A date that does not exist."},
    "Truncated": {"bugType": "MALFORMED", "description": "The last octet is missing."},
    "OverlongLength": {"bugType": "MALFORMED",
                       "description": "The outer length claims one octet more than given."},
    "TrailingData": {"bugType": "MALFORMED",
                     "description": "An octet follows the end of the value."},
    "LongFormLength": {"bugType": "BER_ENCODING",
                       "description": "A length in a longer form than DER allows."},
    "IndefiniteLength": {"bugType": "BER_ENCODING",
                         "description": "Indefinite length (BER, not DER)."},
    "NonMinimalInteger": {"bugType": "BER_ENCODING",
                          "description": "An INTEGER with a redundant leading octet."},
    "NonCanonicalBoolean": {"bugType": "BER_ENCODING",
                            "description": "A BOOLEAN TRUE encoded as 01, not FF."},
    "WrongTag": {"bugType": "MALFORMED",
                 "description": "The outer tag of another type, or a universal SEQUENCE."},
    "ProfileViolation": {"bugType": "FUNCTIONALITY",
                         "description": "Individual number present in 2002 or absent in "
                                        "current."},
    "RuleViolation": {"bugType": "FUNCTIONALITY",
                      "description": "A rule of the message's clause is broken."},
    "UnknownEnum": {"bugType": "FUNCTIONALITY",
                    "description": "An ENUMERATED value unknown to this version."},
    "ForeignResident": {"bugType": "FUNCTIONALITY",
                        "description": "Foreign residents (Art. 30-45): no family register, "
                                       "nationality and the items of their category "
                                       "instead (spec/foreign_residents.md)."},
    "VariationSequence": {"bugType": "EDGE_CASE",
                          "description": "Names with ideographic variation sequences and a "
                                         "compatibility ideograph: carried code point for "
                                         "code point, never normalised (spec/names.md)."},
    "FamilyRegisterEvent": {"bugType": "FUNCTIONALITY",
                            "description": "A family register notice (Art. 9(2)) of each "
                                           "event with the items the event carries "
                                           "(spec/family_register.md)."},
    "PrefectureAsMunicipality": {"bugType": "EDGE_CASE",
                                 "description": "A field that names a municipality holding "
                                                "a prefecture's own code (PP000C): 1024 "
                                                "by R-ID-10, the code itself being valid."},
    "Delegation": {"bugType": "FUNCTIONALITY",
                   "description": "The centre on a prefecture's delegation (Art. 30-10(1)): "
                                  "a delegated legal basis with the delegating prefecture, "
                                  "extension additions (spec/provision.md section 6)."},
    "Suspension": {"bugType": "FUNCTIONALITY",
                   "description": "The refusal suspended (3030), an extension addition "
                                  "(spec/suspension.md)."},
    "UnregisteredCode": {"bugType": "FUNCTIONALITY",
                         "description": "An error code in range but not registered: a "
                                        "receiver may accept it or reject it."},
}


def file_name(type_name: str) -> str:
    snake = "".join("_" + ch.lower() if ch.isupper() else ch for ch in type_name)
    return f"codec{snake}.json"


def _walk_dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk_dicts(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _walk_dicts(v)


def _first_key(value: Any, key: str) -> dict[str, Any] | None:
    return next((d for d in _walk_dicts(value) if key in d and isinstance(d[key], str)), None)


def _flip_last_digit(s: str) -> str:
    return s[:-1] + str((int(s[-1]) + 1) % 10)


def _value_mutations(type_name: str, base: Sample) -> Iterator[_Case]:
    """Invalid cases made by encoding a bad asn1 value directly with asn1tools."""
    value = to_form(base.message, json=False)
    for key, code, what in (("residentCode", ErrorCode.INVALID_RESIDENT_CODE, "resident code"),
                            ("localGovCode", ErrorCode.INVALID_LOCAL_GOV_CODE,
                             "local government code"),
                            ("individualNumber", ErrorCode.INVALID_INDIVIDUAL_NUMBER,
                             "individual number")):
        v = copy.deepcopy(value)
        holder = _first_key(v, key)
        if holder is not None:
            holder[key] = _flip_last_digit(holder[key])
            yield _invalid(f"{what} with a wrong check digit", "BadCheckDigit",
                           _raw_encode(type_name, v), code)
    v = copy.deepcopy(value)
    holder = _first_key(v, "residentCode")
    if holder is not None:
        holder["residentCode"] = holder["residentCode"][:10]
        yield _invalid("resident code of 10 digits (SIZE (11))", "ConstraintViolation",
                       _raw_encode(type_name, v), ErrorCode.CONSTRAINT_VIOLATION)
    v = copy.deepcopy(value)
    holder = _first_key(v, "kanji")
    if holder is not None:
        holder["kanji"] = "長" * 101
        yield _invalid("name of 101 characters (SIZE (1..100))", "ConstraintViolation",
                       _raw_encode(type_name, v), ErrorCode.CONSTRAINT_VIOLATION)
    for key in ("birthDate", "changeDate", "movedDate", "notificationDate"):
        v = copy.deepcopy(value)
        holder = _first_key(v, key)
        if holder is not None:
            holder[key] = "20260230"
            yield _invalid(f"{key} 2026-02-30 does not exist", "InvalidDate",
                           _raw_encode(type_name, v), ErrorCode.INVALID_DATE)
            break


def _der_mutations(data: bytes, type_name: str) -> Iterator[_Case]:
    """Invalid cases made by changing the octets of a valid encoding."""
    yield _invalid("last octet missing", "Truncated", data[:-1], ErrorCode.DER_MALFORMED)
    root = der.parse(data)
    ident = identifier_octets(data, root)
    content = data[root.content_start:root.end]
    yield _invalid("outer length one more than the octets given", "OverlongLength",
                   ident + length_octets(len(content) + 1) + content,
                   ErrorCode.DER_MALFORMED)
    yield _invalid("one octet after the value", "TrailingData", data + b"\x00",
                   ErrorCode.DER_TRAILING_DATA)
    n = len(content)
    raw = n.to_bytes((n.bit_length() + 7) // 8 or 1, "big")
    yield _invalid("outer length in long form with a leading zero octet", "LongFormLength",
                   ident + bytes([0x80 | (len(raw) + 1), 0]) + raw + content,
                   ErrorCode.DER_NON_CANONICAL)
    yield _invalid("outer value with indefinite length", "IndefiniteLength",
                   ident + b"\x80" + content + b"\x00\x00", ErrorCode.DER_NON_CANONICAL)
    other = "MoveInNotice" if type_name != "MoveInNotice" else "ErrorReport"
    tag = APPLICATION_TAGS[other]
    new_ident = bytes([0x7F, tag]) if tag >= 31 else bytes([0x60 | tag])
    yield _invalid(f"outer tag of {other}", "WrongTag",
                   new_ident + data[len(ident):], ErrorCode.DER_UNEXPECTED_TAG)
    yield _invalid("universal SEQUENCE tag instead of the APPLICATION tag", "WrongTag",
                   b"\x30" + data[len(ident):], ErrorCode.UNKNOWN_MESSAGE_TYPE)


def _canonical_mutations(data: bytes) -> Iterator[_Case]:
    """BOOLEAN 01 and non-minimal INTEGER, where the type has one."""
    for tag in range(0x80, 0x8F):
        try:
            p = find_path(data, tag, 1)
        except LookupError:
            continue
        node = der.parse(data)
        for i in p:
            node = node.children[i]
        if data[node.content_start] == 0xFF:
            yield _invalid("BOOLEAN TRUE encoded as 01", "NonCanonicalBoolean",
                           replace_at(data, p, lambda old: old[:2] + b"\x01"),
                           ErrorCode.DER_NON_CANONICAL)
            break


def _integer_mutation(data: bytes, type_name: str) -> Iterator[_Case]:
    if type_name in ("IdentityInfoUpdate", "IdentityInfoRelay"):
        p = [1]   # updateSequence / relaySequence: the second field
        node = der.parse(data).children[1]
        if data[node.content_start] < 0x80:
            # A leading 00 before an octet below 80 is redundant (X.690 8.3.2).
            yield _invalid("INTEGER with a redundant leading zero octet", "NonMinimalInteger",
                           replace_at(data, p, lambda old: bytes([old[0], old[1] + 1, 0])
                                      + old[2:]),
                           ErrorCode.DER_NON_CANONICAL)


def _extension_case(sample: Sample) -> _Case:
    data = codec.encode(sample.message, sample.profile)
    root = der.parse(data)
    ident = identifier_octets(data, root)
    # [29] IMPLICIT UTF8String: a field added by a later version of the schema.
    extra = b"\x9d\x05later"
    content = data[root.content_start:root.end] + extra
    return _Case("extension addition [29] from a later version, skipped",
                 ["UnknownExtension"], ident + length_octets(len(content)) + content,
                 "valid", codec.to_json(sample.message))


def _profile_case(type_name: str, sample: Sample) -> _Case | None:
    value = to_form(sample.message, json=False)
    if sample.profile is Profile.CURRENT:
        holder = _first_key(value, "individualNumber")
        if holder is None:
            return None
        del holder["individualNumber"]
        comment = "individual number absent in profile current"
    else:
        target = next((d for d in _walk_dicts(value)
                       if "residentCode" in d and "sex" in d), None)
        if target is None:
            return None
        target["individualNumber"] = "123456789018"
        comment = "individual number present in profile 2002"
    return _invalid(comment, "ProfileViolation", _raw_encode(type_name, value),
                    ErrorCode.PROFILE_VIOLATION)


def _rule_cases(type_name: str, sample: Sample) -> Iterator[_Case]:
    """One broken rule of the clause per type, encoded past our validation."""
    v = to_form(sample.message, json=False)
    if type_name == "WideAreaIssuanceRequest":
        v["issuingMunicipality"] = v["residenceMunicipality"]
        yield _invalid("Art. 12-2(1): issuing municipality equals residence municipality",
                       "RuleViolation", _raw_encode(type_name, v), ErrorCode.INVALID_FIELD)
    elif type_name == "IdentityInfoUpdate":
        v["operation"] = "erase"
        yield _invalid("Art. 30-5: an erase with a record reason", "RuleViolation",
                       _raw_encode(type_name, v), ErrorCode.INVALID_FIELD)
    elif type_name == "IdentityInfoRelay":
        v["prefecture"] = "130001"
        yield _invalid("Art. 30-11: relayed by a prefecture other than the municipality's",
                       "RuleViolation", _raw_encode(type_name, v), ErrorCode.INVALID_FIELD)
    elif type_name == "ProvisionRequest":
        v["legalBasis"] = "prefToOtherPrefecture"
        yield _invalid("legal basis Art. 30-7(5) for an agency", "RuleViolation",
                       _raw_encode(type_name, v), ErrorCode.LEGAL_BASIS_MISMATCH)
    elif type_name in ("MoveInNotice", "SpecialMoveInNotice", "MoveOutCertificate"):
        v["newMunicipality"] = v["formerMunicipality"]
        yield _invalid("new municipality equals former municipality", "RuleViolation",
                       _raw_encode(type_name, v), ErrorCode.INVALID_FIELD)
    elif type_name == "FamilyRegisterNotice":
        v["residenceMunicipality"] = v["registerMunicipality"]
        yield _invalid("Art. 9(2): residence municipality equals register municipality",
                       "RuleViolation", _raw_encode(type_name, v), ErrorCode.INVALID_FIELD)
    elif type_name == "CodeDesignationRequest":
        v["municipality"] = "270008"
        yield _invalid("Art. 30-7(1): a request naming a prefecture's own code",
                       "RuleViolation", _raw_encode(type_name, v), ErrorCode.INVALID_FIELD)
    elif type_name == "CodeDesignation":
        yield from _designation_cases(v)
    elif type_name in CARD_RULES:
        yield from CARD_RULES[type_name](v)
    elif type_name == "ErrorReport":
        v["errorCode"] = 1999
        yield _Case("error code 1999: in range, not registered", ["UnregisteredCode"],
                    _raw_encode(type_name, v), "acceptable", codec.to_json(
                        codec.decode(_raw_encode(type_name, v))), ErrorCode.INVALID_FIELD)
    elif type_name == "JukiPdu":
        header = v["header"]
        header["messageType"] = "errorReport"
        yield _invalid(f"header type errorReport with a {v['body'][0]} body",
                       "RuleViolation", _raw_encode(type_name, v), ErrorCode.INVALID_FIELD)


def _designation_cases(v: dict[str, Any]) -> Iterator[_Case]:
    """Art. 30-7(1)(2): a code with a wrong check digit, a code of another prefecture's
    allotment, a code listed twice (spec/designation.md, R-30-7-2-01)."""
    codes = list(v["codes"])
    for comment, flag, edited, code in (
            ("a designated code with a wrong check digit", "BadCheckDigit",
             [_flip_last_digit(codes[0]), *codes[1:]], ErrorCode.INVALID_RESIDENT_CODE),
            ("Art. 30-7(2): a code of another prefecture's allotment (44, not 27)",
             "RuleViolation", [*codes[:-1], "12345678903"], ErrorCode.INVALID_FIELD),
            ("Art. 30-7(2): a code listed twice", "RuleViolation",
             [*codes, codes[0]], ErrorCode.INVALID_FIELD),
            ("no code (SIZE (1..1000))", "ConstraintViolation", [],
             ErrorCode.CONSTRAINT_VIOLATION)):
        yield _invalid(comment, flag, _raw_encode("CodeDesignation", {**v, "codes": edited}),
                       code)
    yield _invalid("R-ID-10: a prefecture's own code as the municipality", "RuleViolation",
                   _raw_encode("CodeDesignation", {**v, "municipality": "270008"}),
                   ErrorCode.INVALID_FIELD)


def _enum_case(type_name: str, data: bytes) -> Iterator[_Case]:
    if type_name == "Acknowledgement":
        yield _invalid("status 9, unknown to this version", "UnknownEnum",
                       replace_at(data, [1], lambda old: old[:2] + b"\x09"),
                       ErrorCode.INVALID_FIELD)


def _foreign_cases(type_name: str, seed: str) -> list[_Case]:
    """Foreign residents' messages (R-30-45-0-01 to R-30-45-0-03): valid ones, and one
    broken rule each, encoded past our validation. They form a group of their own after
    the type's other groups, so that no earlier tcId moves."""
    found = foreign_samples(type_name, seed)
    # The first uses every optional field: the group's Maximal case.
    cases = [_valid(s, ["Maximal", "ForeignResident"] if i == 0 else ["ForeignResident"])
             for i, s in enumerate(found)]
    base = to_form(found[0].message, json=False)
    flags = "RuleViolation"

    def broken(comment: str, edit: Callable[[dict[str, Any]], None]) -> _Case:
        v = copy.deepcopy(base)
        edit(v)
        case = _invalid(comment, flags, _raw_encode(type_name, v), ErrorCode.INVALID_FIELD)
        case.flags.append("ForeignResident")
        return case

    if type_name == "MoveOutCertificate":
        def both(v: dict[str, Any]) -> None:
            v["entries"][0]["familyRegister"] = {
                "permanentDomicile": "大阪府大阪市北区中之島一丁目3番",
                "headName": v["entries"][0]["name"]["kanji"]}

        def neither(v: dict[str, Any]) -> None:
            del v["entries"][0]["foreignResident"]

        def special_with_status(v: dict[str, Any]) -> None:
            items = v["entries"][0]["foreignResident"]
            items["category"] = "specialPermanentResident"
            items["residenceStatus"] = "永住者"

        def card_format(v: dict[str, Any]) -> None:
            v["entries"][0]["foreignResident"]["cardNumber"] = "123456789012"

        cases += [
            broken("Art. 30-45: an entry with both a family register and a foreign "
                   "resident's items", both),
            broken("Art. 30-45: an entry with neither a family register nor a foreign "
                   "resident's items", neither),
            broken("Art. 30-45: a special permanent resident with a residence status",
                   special_with_status),
            broken("Art. 30-45: a residence card number of twelve digits", card_format),
        ]
    else:
        def card_on_copy(v: dict[str, Any]) -> None:
            v["outcome"][1][0]["foreignResident"]["cardNumber"] = "AB12345678CD"

        def other_since(v: dict[str, Any]) -> None:
            copy0 = v["outcome"][1][0]     # the CHOICE outcome: ("copies", [...])
            copy0["foreignResident"]["foreignResidentSince"] = copy0["birthDate"]

        cases += [
            broken("Art. 30-45: a wide-area copy carrying the residence card number",
                   card_on_copy),
            broken("Art. 30-45: a wide-area copy whose foreign resident date is not "
                   "residentSince", other_since),
        ]
    return cases


def _family_register_cases(seed: str) -> list[_Case]:
    """A notice of each event (spec/family_register.md), and one broken rule of R-9-2-02
    each, encoded past our validation: a group of its own after the type's others."""
    found = family_register_notices(seed)
    # The birth carries every item and the household: the group's Maximal case.
    cases = [_valid(s, ["Maximal", "FamilyRegisterEvent"] if i == 0
                    else ["FamilyRegisterEvent"]) for i, s in enumerate(found)]
    birth, death = (to_form(s.message, json=False) for s in found[:2])
    edits: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], None], ErrorCode]] = [
        ("a death that carries a name", death,
         lambda v: v["items"].update(name={"kanji": "山田　花子"}), ErrorCode.INVALID_FIELD),
        ("a birth without the household", birth, lambda v: v.pop("household"),
         ErrorCode.INVALID_FIELD),
        ("a birth that names a person", birth, lambda v: v.update(person={
            "residentCode": v["household"], "name": v["items"]["name"],
            "birthDate": v["items"]["birthDate"]}), ErrorCode.INVALID_FIELD),
        ("an entry date before the event date", death,
         lambda v: v.update(entryDate=v["eventDate"][:4] + "0101"), ErrorCode.INVALID_DATE),
        ("a birth whose birth date is not the event date", birth,
         lambda v: v["items"].update(birthDate=v["entryDate"]), ErrorCode.INVALID_DATE),
    ]
    for comment, base, edit, code in edits:
        v = copy.deepcopy(base)
        edit(v)
        case = _invalid(f"Art. 9(2): {comment}", "RuleViolation",
                        _raw_encode("FamilyRegisterNotice", v), code)
        case.flags.append("FamilyRegisterEvent")
        cases.append(case)
    data = codec.encode(found[1].message)          # event death (2) -> 11, unknown
    at = find_path(data, 0x82, 1)
    cases.append(_invalid("event 11, unknown to this version", "UnknownEnum",
                          replace_at(data, at, lambda old: old[:2] + b"\x0b"),
                          ErrorCode.INVALID_FIELD))
    return cases + _family_register_rows(found)


def _family_register_rows(found: list[Sample]) -> list[_Case]:
    """More rows of R-9-2-02's table, after the group's earlier cases (their tcIds
    stay): a required item missing, a correction with no item, and a correction whose
    event date precedes the person's birth date, which the rule exempts."""
    by_event = {s.message.event.value: s for s in found
                if isinstance(s.message, FamilyRegisterNotice)}
    birth, sex_change, correction = (to_form(by_event[e].message, json=False)
                                     for e in ("birth", "sexChange", "correction"))
    cases = []
    rows: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], None]]] = [
        ("a sex change without the sex", sex_change, lambda v: v["items"].pop("sex")),
        ("a birth without the sex", birth, lambda v: v["items"].pop("sex")),
        ("a correction with no item", correction, lambda v: v.update(items={}))]
    for comment, base, edit in rows:
        v = copy.deepcopy(base)
        edit(v)
        case = _invalid(f"Art. 9(2): {comment}", "RuleViolation",
                        _raw_encode("FamilyRegisterNotice", v), ErrorCode.INVALID_FIELD)
        case.flags.append("FamilyRegisterEvent")
        cases.append(case)
    notice = by_event["correction"].message
    assert isinstance(notice, FamilyRegisterNotice) and notice.person is not None
    early = dataclasses.replace(notice, event_date=notice.person.birth_date
                                - dt.timedelta(days=1))
    cases.append(_valid(Sample("a correction whose event date precedes the person's "
                               "birth date (exempt from R-9-2-02's date rule)", early,
                               Profile.CURRENT), ["FamilyRegisterEvent"]))
    return cases


def _provision_control_cases(type_name: str, seed: str) -> list[_Case]:
    """The additions of issue 13 to provision, in a group of their own after the others
    (no earlier tcId moves): a request on a prefecture's delegation, valid and broken
    (R-30-10-1-01), and the refusal ``suspended`` (R-SUSP-01)."""
    if type_name == "ProvisionResponse":
        sample = Sample("refusal suspended (3030, spec/suspension.md)",
                        ProvisionResponse(refusal=ProvisionRefusal.SUSPENDED), Profile.CURRENT)
        return [_valid(sample, ["Minimal", "Suspension"])]
    base = samples(type_name, seed, Profile.CURRENT)[0].message
    delegated = dataclasses.replace(base, legal_basis=LegalBasis.DELEGATED_TO_AGENCY,
                                    delegating_prefecture="270008")
    cases = [_valid(Sample("delegatedToAgency on the delegation of 270008 (Art. 30-10(1))",
                           delegated, Profile.CURRENT), ["Maximal", "Delegation"])]
    value = to_form(delegated, json=False)

    def broken(comment: str, flag: str, edit: Callable[[dict[str, Any]], None],
               error: ErrorCode) -> _Case:
        v = copy.deepcopy(value)
        edit(v)
        case = _invalid(comment, flag, _raw_encode(type_name, v), error)
        case.flags.append("Delegation")
        return case
    cases += [
        broken("Art. 30-10(1): a delegated basis without delegatingPrefecture",
               "RuleViolation", lambda v: v.pop("delegatingPrefecture"),
               ErrorCode.INVALID_FIELD),
        broken("Art. 30-10(1): delegatingPrefecture with the centre's own basis",
               "RuleViolation", lambda v: v.update(legalBasis="centerToAgency"),
               ErrorCode.INVALID_FIELD),
        broken("Art. 30-10(1): delegatingPrefecture a municipality's code",
               "RuleViolation", lambda v: v.update(delegatingPrefecture="271004"),
               ErrorCode.INVALID_FIELD),
        broken("delegatingPrefecture with a wrong check digit", "BadCheckDigit",
               lambda v: v.update(delegatingPrefecture="270009"),
               ErrorCode.INVALID_LOCAL_GOV_CODE),
    ]
    # Each other delegated basis from a body of its kind (R-30-10-1-01, section 1's
    # table), and one from a body of another kind (3012 while decoding, R-CONF-19).
    for basis, body in ((LegalBasis.DELEGATED_TO_OWN_MUNICIPALITY, "271004"),
                        (LegalBasis.DELEGATED_TO_OTHER_MUNICIPALITY, "131016"),
                        (LegalBasis.DELEGATED_TO_OTHER_PREFECTURE, "130001")):
        kind = BodyKind.PREFECTURE if basis is LegalBasis.DELEGATED_TO_OTHER_PREFECTURE \
            else BodyKind.MUNICIPALITY
        request = dataclasses.replace(delegated, legal_basis=basis,
                                      requester=RequestingBody(kind=kind, code=body))
        cases.append(_valid(Sample(f"{basis.value} from {body} on the delegation of 270008",
                                   request, Profile.CURRENT), ["Delegation"]))
    cases.append(broken("delegatedToOwnMunicipality from an agency", "RuleViolation",
                        lambda v: v.update(legalBasis="delegatedToOwnMunicipality"),
                        ErrorCode.LEGAL_BASIS_MISMATCH))
    return cases


def cases_for(type_name: str, seed: str) -> list[tuple[str | None, list[_Case]]]:
    """Every group (profile, cases) for ``type_name``."""
    profiles = [Profile.CURRENT, Profile.P2002] if type_name in PROFILED_TYPES \
        else [Profile.CURRENT]
    groups: list[tuple[str | None, list[_Case]]] = []
    for profile in profiles:
        cases: list[_Case] = []
        minimal, maximal = samples(type_name, seed, profile)
        pflag = ["Profile2002"] if profile is Profile.P2002 else []
        cases.append(_valid(minimal, ["Minimal", *pflag]))
        cases.append(_valid(maximal, ["Maximal", *pflag]))
        if type_name in ("IdentityInfoUpdate", "MoveInNotice"):
            kind = type_name
            cases += [_valid(s, ["NonAscii", *pflag])
                      for s in edge_cases(seed, profile) if s.label.startswith(kind + " ")]
        cases.append(_extension_case(maximal))
        if profile is Profile.CURRENT or type_name in PROFILED_TYPES:
            pc = _profile_case(type_name, maximal)
            if pc is not None:
                cases.append(pc)
        if profile is Profile.CURRENT:
            data = codec.encode(maximal.message, profile)
            cases += list(_value_mutations(type_name, maximal))
            cases += list(_der_mutations(data, type_name))
            cases += list(_canonical_mutations(data))
            cases += list(_integer_mutation(data, type_name))
            cases += list(_rule_cases(type_name, maximal))
            cases += list(_enum_case(type_name, data))
        groups.append((profile.value if type_name in PROFILED_TYPES else None, cases))
    current = Profile.CURRENT.value if type_name in PROFILED_TYPES else None
    if type_name in FOREIGN_TYPES:
        groups.append((current, _foreign_cases(type_name, seed)))
    if type_name == "FamilyRegisterNotice":
        groups.append((None, _family_register_cases(seed)))
    if type_name in VARIATION_TYPES:
        # Their own group after the others, so that no earlier tcId moves (R-NAME-02).
        groups.append((current, [_valid(s, ["Maximal", "NonAscii", "VariationSequence"])
                                 for s in variation_samples(type_name, seed)]))
    if type_name in ("ProvisionRequest", "ProvisionResponse"):
        groups.append((current, _provision_control_cases(type_name, seed)))
    if type_name in MUNICIPALITY_FIELDS:       # R-ID-10, a group of its own after the others
        groups.append((current, prefecture_as_municipality(
            type_name, samples(type_name, seed, Profile.CURRENT)[1].message)))
    return groups


def generate_type(type_name: str, seed: str = DEFAULT_SEED) -> dict[str, Any]:
    """The vector document for one message type."""
    tc = 0
    groups = []
    used: set[str] = set()
    for profile, cases in cases_for(type_name, seed):
        tests = []
        for c in cases:
            tc += 1
            used.update(c.flags)
            tests.append({
                "tcId": tc, "comment": c.comment, "flags": c.flags,
                "value": c.value, "der": c.der.hex(), "result": c.result,
                "errorCode": int(c.error) if c.error is not None else None,
                "errorName": c.error.name if c.error is not None else None,
            })
        groups.append({"type": "CodecTest", "messageType": type_name, "profile": profile,
                       "tests": tests})
    return {
        "algorithm": "JukiCodec",
        "schema": SCHEMA_FILE,
        "generatorVersion": __version__,
        "seed": seed,
        "messageType": type_name,
        "numberOfTests": tc,
        "header": [f"Codec vectors for {type_name}, generated by "
                   f"`juki vectors generate --seed {seed}`.",
                   "Valid cases: exact DER and JSON value both ways. Invalid cases: the "
                   "registered error code a conforming decoder reports."],
        "notes": {k: NOTES[k] for k in sorted(used)},
        "testGroups": groups,
    }


def dumps(doc: dict[str, Any]) -> str:
    """The canonical text of a vector file (stable across runs)."""
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def generate(out: Path, seed: str = DEFAULT_SEED) -> list[Path]:
    """Write every codec vector file, the schema and the index into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for type_name in MESSAGE_TYPES:
        path = out / file_name(type_name)
        path.write_text(dumps(generate_type(type_name, seed)), encoding="utf-8")
        written.append(path)
    schema_path = out / SCHEMA_FILE
    schema_path.write_text(json.dumps(VECTOR_SCHEMA, indent=1) + "\n", encoding="utf-8")
    written.append(schema_path)
    return written


# Verification ------------------------------------------------------------------------

def verify_doc(doc: dict[str, Any]) -> list[str]:
    """Check this package's codec against one vector document; return the failures."""
    failures: list[str] = []
    for group in doc["testGroups"]:
        type_name = group["messageType"]
        profile = Profile(group["profile"]) if group["profile"] else None
        for t in group["tests"]:
            where = f"{type_name} tcId {t['tcId']} ({t['comment']})"
            data = bytes.fromhex(t["der"])
            try:
                msg = codec.decode(data, type_name, profile)
            except JukiError as exc:
                if t["result"] == "valid":
                    failures.append(f"{where}: valid vector rejected: {exc}")
                elif int(exc.error_code) != t["errorCode"]:
                    failures.append(f"{where}: expected {t['errorName']} ({t['errorCode']}),"
                                    f" got {exc.error_code.name} ({int(exc.error_code)}): "
                                    f"{exc}")
                continue
            except Exception as exc:  # a crash is always a failure
                failures.append(f"{where}: decoder crashed: {exc!r}")
                continue
            if t["result"] == "invalid":
                failures.append(f"{where}: invalid vector accepted")
                continue
            if codec.to_json(msg) != t["value"]:
                failures.append(f"{where}: decoded value differs from the vector's value")
            if "UnknownExtension" in t["flags"] or t["result"] == "acceptable":
                continue
            again = codec.encode(codec.from_json(type_name, t["value"]), profile)
            if again != data:
                failures.append(f"{where}: encoding differs: expected {t['der']}, "
                                f"got {again.hex()}")
    return failures


def index(directory: Path) -> dict[str, Any]:
    """The provenance index of a vector directory (file -> sha256, count, source)."""
    files = {}
    for path in sorted(directory.glob("*.json")):
        if path.name == "index.json":
            continue
        text = path.read_bytes()
        entry: dict[str, Any] = {"sha256": hashlib.sha256(text).hexdigest()}
        doc = json.loads(text)
        if "numberOfTests" in doc:
            entry["numberOfTests"] = doc["numberOfTests"]
            generator = ("codec_vectors" if doc.get("algorithm") == "JukiCodec"
                         else "envelope_vectors")
            entry["source"] = f"juki_protocol.tools.vectors.{generator}"
        else:
            entry["source"] = "JSON Schema of the vector files"
        files[path.name] = entry
    return {"generator": "juki vectors generate", "files": files}
