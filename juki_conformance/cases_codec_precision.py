"""Codec cases that pin one reading where a clean-room implementer had to guess.

The second clean-room run of issue 17 (spec/README.md section 7.1) listed places where
the spec allowed two readings. Each case here fails the reading the spec rejected: the
order of trailing data against inner faults (R-DER-10), the codes of a SEQUENCE's
structure against the schema (R-DER-11), an unknown CHOICE alternative (R-DER-12),
UTF8String SIZE in characters (R-DER-13), NumericString's alphabet before the identifier
rules (R-DER-14), the header checks of a ``JukiPdu`` decode in codec mode (R-PDU-45),
two field rules at once (R-CONF-21) and hex digits in either case (R-JSON-11).

The third run's points follow (:func:`third_run_cases`): elements where the schema allows
none (R-DER-15), empty INTEGER contents (R-DER-16), the structure before the canonical
form (R-DER-17), string octets (R-DER-18), tag and length octets in order (R-DER-19), the
depth count (R-DER-20), kana, control characters, the date range and "lies in"
(R-ID-07 to R-ID-10), dates and times while reading JSON (R-JSON-12) and ``check_code``
(R-CONF-22).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.sut import AdapterSut


def _vector(directory: Path, type_name_file: str, flag: str) -> tuple[bytes, dict[str, Any]]:
    doc = json.loads((directory / f"codec_{type_name_file}.json").read_text(encoding="utf-8"))
    t = next(t for g in doc["testGroups"] for t in g["tests"]
             if flag in t["flags"] and (g["profile"] in (None, "current")))
    return bytes.fromhex(t["der"]), t["value"]


def _tlv(ident: bytes, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return ident + bytes([n]) + content
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return ident + bytes([0x80 | len(raw)]) + raw + content


def _children(data: bytes) -> tuple[bytes, list[bytes]]:
    """The identifier octets of ``data``'s outer TLV and its children's encodings."""
    from juki_protocol.codec import der

    root = der.parse(data)
    return data[:root.content_start - _length_size(data, root.start)], \
        [data[c.start:c.end] for c in root.children]


def _length_size(data: bytes, start: int) -> int:
    i = start + 1
    if data[start] & 0x1F == 0x1F:
        while data[i] & 0x80:
            i += 1
        i += 1
    first = data[i]
    return 1 if first < 0x80 else 1 + (first & 0x7F)


def _at(data: bytes, path: list[int], fn: Callable[[bytes], bytes]) -> bytes:
    from juki_protocol.tools.vectors.vector_cases import replace_at

    return replace_at(data, path, fn)


def _swap_first_two(data: bytes) -> bytes:
    ident, kids = _children(data)
    return _tlv(ident, kids[1] + kids[0] + b"".join(kids[2:]))


def _drop_last(data: bytes) -> bytes:
    ident, kids = _children(data)
    return _tlv(ident, b"".join(kids[:-1]))


def _decode_expect(data: bytes, type_name: str, code: int) -> Callable[[AdapterSut], Outcome]:
    from juki_conformance.cases_codec import expect_error

    def run(sut: AdapterSut) -> Outcome:
        return expect_error(sut.request("decode", type=type_name, der=data.hex()), code)

    return run


def _encode_expect(value: dict[str, Any], type_name: str,
                   code: int) -> Callable[[AdapterSut], Outcome]:
    from juki_conformance.cases_codec import expect_error

    def run(sut: AdapterSut) -> Outcome:
        return expect_error(sut.request("encode", type=type_name, value=value,
                                        profile="current"), code)

    return run


def _decode_accepts(data: bytes, type_name: str,
                    value: dict[str, Any] | None = None) -> Callable[[AdapterSut], Outcome]:
    from juki_conformance.codec_checks import error_of, json_diff

    expected = "decoded" + (" to the vector's value" if value is not None else "")

    def run(sut: AdapterSut) -> Outcome:
        answer = sut.request("decode", type=type_name, der=data.hex().upper()
                             if value is not None else data.hex())
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"rejected with {error_of(answer)[1]}")
        if value is not None and answer.get("value") != value:
            return Outcome(Verdict.FAIL, expected, "decoded to a different value",
                           json_diff(value, answer.get("value")))
        return Outcome(Verdict.PASS, expected, "decoded")

    return run


def _encode_decode_accepts(value: dict[str, Any],
                           type_name: str) -> Callable[[AdapterSut], Outcome]:
    from juki_conformance.codec_checks import error_of

    expected = "encoded, and its DER decoded to the same value"

    def run(sut: AdapterSut) -> Outcome:
        enc = sut.request("encode", type=type_name, value=value, profile="current")
        if not enc.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"encode rejected: {error_of(enc)[1]}")
        dec = sut.request("decode", type=type_name, der=str(enc.get("der")))
        if not dec.get("ok") or dec.get("value") != value:
            return Outcome(Verdict.FAIL, expected, "the DER did not decode to the value")
        return Outcome(Verdict.PASS, expected, "encoded and decoded")

    return run


def _encode_equals(value: dict[str, Any], type_name: str,
                   der_hex: str) -> Callable[[AdapterSut], Outcome]:
    from juki_conformance.codec_checks import error_of, hex_diff

    expected = "encoded to the vector's DER, written in lowercase hex"

    def run(sut: AdapterSut) -> Outcome:
        enc = sut.request("encode", type=type_name, value=value, profile="current")
        if not enc.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"encode rejected: {error_of(enc)[1]}")
        if enc.get("der") != der_hex:
            return Outcome(Verdict.FAIL, expected, "encoded to other hex",
                           hex_diff(der_hex, str(enc.get("der"))))
        return Outcome(Verdict.PASS, expected, "encoded exactly")

    return run


def _either(value: dict[str, Any], type_name: str,
            codes: tuple[int, int]) -> Callable[[AdapterSut], Outcome]:
    from juki_conformance.codec_checks import code_name, error_of

    expected = " or ".join(f"rejected with {code_name(c)}" for c in codes)

    def run(sut: AdapterSut) -> Outcome:
        answer = sut.request("encode", type=type_name, value=value, profile="current")
        if answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, "accepted")
        got, text = error_of(answer)
        verdict = Verdict.ACCEPTABLE if got in codes else Verdict.FAIL
        return Outcome(verdict, expected, f"rejected with {text}")

    return run


def _case(cid: str, title: str, reqs: tuple[str, ...], remediation: str, ops: tuple[str, ...],
          run: Callable[[AdapterSut], Outcome], message_type: str) -> Case:
    from juki_conformance.cases_codec import CLAUSES

    head = cid.split("/codec/", 1)[0]
    clause = head if head in ("der", "identifiers", "json", "conformance") \
        else CLAUSES[message_type]
    return Case(id=cid, title=title, clause=clause, requirements=reqs,
                level=strongest_level(list(reqs)), remediation=remediation, mode="codec",
                ops=ops, run=run, message_type=message_type)


def _non_canonical_too_long(directory: Path) -> bytes:
    """The vector of a 101-character name with its BOOLEAN TRUE written 01."""
    from juki_protocol.codec import der
    from juki_protocol.tools.vectors.vector_cases import find_path

    doc = json.loads((directory / "codec_wide_area_issuance_request.json")
                     .read_text(encoding="utf-8"))
    data = next(bytes.fromhex(t["der"]) for g in doc["testGroups"] for t in g["tests"]
                if "ConstraintViolation" in t["flags"] and "101" in t["comment"])
    for tag in range(0x80, 0x8F):
        try:
            path = find_path(data, tag, 1)
        except LookupError:
            continue
        node = der.parse(data)
        for i in path:
            node = node.children[i]
        if data[node.content_start] == 0xFF:
            return _at(data, path, lambda old: old[:2] + b"\x01")
    raise LookupError("no BOOLEAN TRUE in the vector")


def precision_cases(directory: Path) -> list[Case]:
    """The cases of the settled guesses, in a stable order."""
    ack, ack_value = _vector(directory, "acknowledgement", "Minimal")
    pdu, _ = _vector(directory, "juki_pdu", "Minimal")
    sealed, _ = _vector(directory, "juki_pdu", "Maximal")
    rule_pdu, _ = _vector(directory, "juki_pdu", "RuleViolation")
    wide, _ = _vector(directory, "wide_area_issuance_request", "NonCanonicalBoolean")
    wide_max, wide_value = _vector(directory, "wide_area_issuance_request", "Maximal")
    query, _ = _vector(directory, "provision_request", "Minimal")
    walk = ("Walk the whole input as TLVs first, in the order of its octets (depth, "
            "identifiers, lengths); trailing octets are found when the walk leaves the "
            "outermost value, before the outer tag is mapped or anything is decoded.")
    shape = ("Judge a SEQUENCE's elements against the schema: a mandatory component "
             "missing is 1010, known components out of order 1011, the expected tag in the "
             "wrong form (primitive/constructed) 1010, a tag no component has there 1013.")

    def version_2(data: bytes) -> bytes:
        return _at(data, [0, 0], lambda old: old[:2] + b"\x02")

    header_kids = _children(_children(sealed)[1][0])[1]
    recipient = next(i for i, k in enumerate(header_kids) if k[0] == 0xA5)
    to_national = _at(sealed, [0, recipient],
                      lambda old: _tlv(b"\xa5", b"\x80\x01\x03\x81\x04DC01"))
    alpha = copy.deepcopy(wide_value)
    alpha["requester"]["resident_code"] = "6914358015A"
    space = copy.deepcopy(wide_value)
    space["requester"]["resident_code"] = "6914358015 "
    astral = copy.deepcopy(wide_value)
    astral["requester"]["name"]["kanji"] = "\U00020BB7" * 100
    astral_101 = copy.deepcopy(astral)
    astral_101["requester"]["name"]["kanji"] += "\U00020BB7"
    two_rules = copy.deepcopy(wide_value)
    two_rules["issuing_municipality"] = "131017"              # check digit: 1021
    two_rules["requester"]["resident_code"] = "69143580157"   # check digit: 1020
    upper = dict(ack_value, acknowledged_id=ack_value["acknowledged_id"].upper())
    return [*third_run_cases(directory),
        _case("der/codec/order/non-canonical-before-constraint",
              "WideAreaIssuanceRequest with BOOLEAN 01 and a name of 101 characters",
              ("R-CONF-15", "R-DER-02"), "Every encoding fault (here a BOOLEAN TRUE as 01, "
              "1011) comes before every value fault (a SIZE, 1015).", ("decode",),
              _decode_expect(_non_canonical_too_long(directory), "WideAreaIssuanceRequest",
                             1011), "WideAreaIssuanceRequest"),
        _case("der/codec/order/trailing-data-before-the-outer-tag",
              "Acknowledgement with a universal SEQUENCE tag and an octet after it",
              ("R-DER-10",), walk, ("decode",),
              _decode_expect(b"\x30" + ack[1:] + b"\x00", "Acknowledgement", 1012),
              "Acknowledgement"),
        _case("der/codec/order/trailing-data-before-non-canonical-content",
              "WideAreaIssuanceRequest with BOOLEAN 01 and an octet after the value",
              ("R-DER-10",), walk, ("decode",),
              _decode_expect(wide + b"\x00", "WideAreaIssuanceRequest", 1012),
              "WideAreaIssuanceRequest"),
        _case("der/codec/order/inner-length-before-trailing-data",
              "Acknowledgement whose first element runs past its container, and an octet "
              "after the value", ("R-DER-10",), walk, ("decode",),
              _decode_expect(ack[:3] + b"\x7f" + ack[4:] + b"\x00", "Acknowledgement",
                             1010), "Acknowledgement"),
        _case("der/codec/acknowledgement/missing-mandatory-component",
              "Acknowledgement without its status", ("R-DER-11",), shape, ("decode",),
              _decode_expect(_drop_last(ack), "Acknowledgement", 1010), "Acknowledgement"),
        _case("der/codec/acknowledgement/components-swapped",
              "Acknowledgement with status before acknowledgedId", ("R-DER-11",), shape,
              ("decode",), _decode_expect(_swap_first_two(ack), "Acknowledgement", 1011),
              "Acknowledgement"),
        _case("der/codec/juki-pdu/outer-tag-primitive",
              "JukiPdu whose APPLICATION 30 tag has the primitive form", ("R-DER-11",),
              shape, ("decode",), _decode_expect(b"\x5e" + pdu[1:], "JukiPdu", 1010),
              "JukiPdu"),
        _case("der/codec/juki-pdu/header-primitive",
              "JukiPdu whose header [0] has the primitive form", ("R-DER-11",), shape,
              ("decode",),
              _decode_expect(_at(pdu, [0], lambda old: b"\x80" + old[1:]), "JukiPdu", 1010),
              "JukiPdu"),
        _case("der/codec/juki-pdu/unknown-element-before-a-known-one",
              "JukiPdu header with an unknown [29] between version and messageId",
              ("R-DER-11", "R-DER-08"), shape, ("decode",),
              _decode_expect(_at(pdu, [0], lambda old: _tlv(
                  b"\xa0", _children(old)[1][0] + b"\x9d\x01x"
                  + b"".join(_children(old)[1][1:]))), "JukiPdu", 1013), "JukiPdu"),
        _case("der/codec/juki-pdu/unknown-body-alternative",
              "JukiPdu whose body is an alternative [5] unknown to this version",
              ("R-DER-12",), "An unknown alternative of an extensible CHOICE cannot be "
              "skipped: reject it with 1024.", ("decode",),
              _decode_expect(_at(pdu, [1], lambda old: b"\xa1\x05\xa5\x03\x80\x01\x00"),
                             "JukiPdu", 1024), "JukiPdu"),
        _case("der/codec/provision-request/unknown-query-alternative",
              "ProvisionRequest whose query is an alternative [9] unknown to this version",
              ("R-DER-12",), "An unknown alternative of an extensible CHOICE cannot be "
              "skipped: reject it with 1024.", ("decode",),
              _decode_expect(_at(query, [len(_children(query)[1]) - 1],
                                 lambda old: b"\xa4\x03\x89\x01\x00"),
                             "ProvisionRequest", 1024), "ProvisionRequest"),
        _case("der/codec/wide-area-issuance-request/utf8-size-in-characters",
              "a name of 100 characters outside the BMP (400 octets) is within SIZE (1..100)",
              ("R-DER-13",), "Count a UTF8String's SIZE in characters (code points), not "
              "in octets or UTF-16 code units.", ("encode", "decode"),
              _encode_decode_accepts(astral, "WideAreaIssuanceRequest"),
              "WideAreaIssuanceRequest"),
        _case("der/codec/wide-area-issuance-request/utf8-size-101-characters",
              "a name of 101 characters outside the BMP breaks SIZE (1..100)",
              ("R-DER-13", "R-DER-07"), "Count a UTF8String's SIZE in characters.",
              ("encode",), _encode_expect(astral_101, "WideAreaIssuanceRequest", 1015),
              "WideAreaIssuanceRequest"),
        _case("der/codec/wide-area-issuance-request/resident-code-letter-is-alphabet",
              "a resident code holding a letter breaks NumericString's alphabet: 1015",
              ("R-DER-14",), "NumericString allows digits and space only; a letter is a "
              "schema constraint (1015), checked before the identifier rules.",
              ("decode",),
              _decode_expect(wide_max.replace(b"69143580156", b"6914358015A", 1),
                             "WideAreaIssuanceRequest", 1015), "WideAreaIssuanceRequest"),
        _case("der/codec/wide-area-issuance-request/resident-code-letter-encode",
              "encode: a resident code holding a letter gets 1015", ("R-DER-14",),
              "Check NumericString's alphabet as a schema constraint (1015).", ("encode",),
              _encode_expect(alpha, "WideAreaIssuanceRequest", 1015),
              "WideAreaIssuanceRequest"),
        _case("der/codec/wide-area-issuance-request/resident-code-space-is-identifier",
              "a resident code holding a space is valid NumericString; the identifier rule "
              "gives 1020", ("R-DER-14", "R-ID-01"), "A space is in NumericString's "
              "alphabet; the resident code rule (11 digits) refuses it with 1020.",
              ("encode",), _encode_expect(space, "WideAreaIssuanceRequest", 1020),
              "WideAreaIssuanceRequest"),
        _case("pdu/codec/juki-pdu/version-2-refused",
              "JukiPdu of version 2: decode refuses it with 1016", ("R-PDU-45", "R-PDU-14"),
              "Codec-mode decode of a JukiPdu applies the header checks of step 3 (version "
              "1016, node ids 1026, time 1023) and the body kind of step 7.", ("decode",),
              _decode_expect(version_2(pdu), "JukiPdu", 1016), "JukiPdu"),
        _case("pdu/codec/juki-pdu/order-version-before-body-kind",
              "JukiPdu of version 2 whose body does not fit its message type: 1016",
              ("R-PDU-45", "R-CONF-15"), "Check the header (step 3) before the body kind "
              "(step 7).", ("decode",),
              _decode_expect(version_2(rule_pdu), "JukiPdu", 1016), "JukiPdu"),
        _case("pdu/codec/juki-pdu/routing-not-checked-in-codec-mode",
              "JukiPdu of an identity info update from a municipality to the national "
              "centre (outside the routing table) decodes", ("R-PDU-45",),
              "Codec mode does not apply the delivery checks of steps 4 to 6 (recipient, "
              "TLS peer, time window, routing) or the envelope (step 8).", ("decode",),
              _decode_accepts(to_national, "JukiPdu"), "JukiPdu"),
        _case("der/codec/wide-area-issuance-request/two-field-rules",
              "two identifiers with wrong check digits: either code",
              ("R-CONF-21",), "Report one of the field rules that failed, with its code.",
              ("encode",), _either(two_rules, "WideAreaIssuanceRequest", (1020, 1021)),
              "WideAreaIssuanceRequest"),
        _case("der/codec/acknowledgement/hex-uppercase-read",
              "uppercase hex is read: decode of an uppercase der, encode of an uppercase "
              "OCTET STRING", ("R-JSON-11",), "Read hex digits in either case; write "
              "lowercase.", ("decode",), _decode_accepts(ack, "Acknowledgement", ack_value),
              "Acknowledgement"),
        _case("der/codec/acknowledgement/hex-uppercase-value-encoded-lowercase",
              "an OCTET STRING in uppercase hex encodes to the vector's DER, in lowercase",
              ("R-JSON-11",), "Read hex digits in either case; write lowercase.",
              ("encode",), _encode_equals(upper, "Acknowledgement", ack.hex()),
              "Acknowledgement"),
    ]


def _request_expect(expected: int, op: str,
                    **fields: Any) -> Callable[[AdapterSut], Outcome]:
    from juki_conformance.cases_codec import expect_error

    def run(sut: AdapterSut) -> Outcome:
        return expect_error(sut.request(op, **fields), expected)

    return run


def _changed(value: dict[str, Any], fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = copy.deepcopy(value)
    fn(out)
    return out


def _nested(depth: int) -> bytes:
    """An unknown extension element [29] whose innermost primitive is ``depth`` levels
    below it (the element itself counted)."""
    inner = b"\x80\x01\x00"
    for _ in range(depth - 1):
        inner = _tlv(b"\xbd", inner)
    return inner


def third_run_cases(directory: Path) -> list[Case]:
    """The cases of the third clean-room run's guesses (spec/README.md section 7.1)."""
    ack, _ = _vector(directory, "acknowledgement", "Minimal")
    pdu, _ = _vector(directory, "juki_pdu", "Minimal")
    wide, wide_value = _vector(directory, "wide_area_issuance_request", "Maximal")
    _, resp_value = _vector(directory, "wide_area_issuance_response", "Maximal")
    _, relay_value = _vector(directory, "identity_info_relay", "Minimal")
    _, update_value = _vector(directory, "identity_info_update", "Minimal")
    _, code_change = _vector(directory, "identity_info_update", "Maximal")
    _, query_value = _vector(directory, "provision_request", "Minimal")
    _, pdu_value = _vector(directory, "juki_pdu", "Minimal")
    _, card_value = _vector(directory, "card_application", "Minimal")
    ack_id, ack_kids = _children(ack)
    pdu_id, pdu_kids = _children(pdu)
    body = _children(pdu_kids[1])[1][0]
    wrong = ("Judge each element against the schema: an element where the schema allows "
             "none is 1013; a missing component of any type 1010.")
    empty = "X.690 8.3.1: an INTEGER or ENUMERATED has at least one contents octet: 1010."
    structure = ("Judge the structure against the schema (an unknown ENUMERATED value: "
                 "1024) before the canonical form of the primitives (1011).")
    strings = ("Contents that are no characters of the string type are malformed (1010); "
               "ASCII characters outside the alphabet are a constraint (1015).")
    octets = "Judge identifier and length octets in their order (R-DER-19)."
    depth = ("Count every TLV, primitive or constructed, as a level; the outermost value is "
             "level 1; judge the depth when the walk enters a value.")
    lies = ("An address lies in a municipality when its local government code is that "
            "municipality's; a municipality in a prefecture when its code begins with the "
            "prefecture's two digits; a break is 1024.")
    i = wide.find(b"131016")
    k = wide.find("\u4f50".encode())
    seqno = next(n for n, kid in enumerate(_children(pdu_kids[0])[1]) if kid[0] == 0x87)
    unknown_status = _at(_at(pdu, [0, seqno], lambda old: b"\x87\x02\x00\x00"), [1, 0],
                         lambda old: old[:-1] + b"\x09")
    long_length = ack_kids[0][:1] + b"\x81" + ack_kids[0][1:]
    too_deep_after = _tlv(ack_id[:1], long_length + ack_kids[1] + _nested(32))

    def with_time(text: str) -> bytes:
        return _at(pdu, [0, 5], lambda old: _tlv(b"\x86", text.encode("ascii")))

    def set_kana(v: dict[str, Any], kana: str) -> None:
        v["requester"]["name"]["kana"] = kana

    def code_twice(v: dict[str, Any]) -> None:
        v["previous_resident_code"] = v["identity_info"]["resident_code"]

    def muni_is_pref(v: dict[str, Any]) -> None:
        v["municipality"] = v["identity_info"]["address"]["local_gov_code"] = "270008"

    def card_of(municipality: str) -> dict[str, Any]:
        return {**card_value, "municipality": municipality,
                "card_serial": municipality + card_value["card_serial"][6:]}

    serial = ("A card serial begins with its municipality's local government code; the "
              "municipalities of every prefecture from 01 to 47 issue cards.")
    W, R = "WideAreaIssuanceRequest", "WideAreaIssuanceResponse"
    return [
        _case("der/codec/juki-pdu/node-id-extra-element",
              "JukiPdu whose sender NodeId (no extension marker) has a third element",
              ("R-DER-15",), wrong, ("decode",),
              _decode_expect(_at(pdu, [0, 3], lambda old: _tlv(b"\xa4", old[2:]
                                                                + b"\x82\x01\x00")),
                             "JukiPdu", 1013), "JukiPdu"),
        _case("der/codec/acknowledgement/component-twice",
              "Acknowledgement whose status comes twice, the second at the end",
              ("R-DER-15",), wrong, ("decode",),
              _decode_expect(_tlv(ack_id[:1], ack_kids[0] + ack_kids[1] + ack_kids[1]),
                             "Acknowledgement", 1013), "Acknowledgement"),
        _case("der/codec/juki-pdu/body-tag-two-elements",
              "JukiPdu whose explicit body tag [1] holds the acknowledgement and a second "
              "element", ("R-DER-15",), wrong, ("decode",),
              _decode_expect(_tlv(pdu_id[:1], pdu_kids[0] + _tlv(b"\xa1", body
                                                                 + b"\x80\x01\x00")),
                             "JukiPdu", 1013), "JukiPdu"),
        _case("der/codec/juki-pdu/body-missing",
              "JukiPdu without its body (a CHOICE component)", ("R-DER-15", "R-DER-11"),
              wrong, ("decode",),
              _decode_expect(_tlv(pdu_id[:1], pdu_kids[0]), "JukiPdu", 1010), "JukiPdu"),
        _case("der/codec/juki-pdu/body-tag-empty",
              "JukiPdu whose explicit body tag [1] is empty", ("R-DER-15",), wrong,
              ("decode",),
              _decode_expect(_tlv(pdu_id[:1], pdu_kids[0] + b"\xa1\x00"), "JukiPdu", 1010),
              "JukiPdu"),
        _case("der/codec/juki-pdu/empty-integer",
              "JukiPdu whose header version has no contents octet (not 0)", ("R-DER-16",),
              empty, ("decode",),
              _decode_expect(_at(pdu, [0, 0], lambda old: old[:1] + b"\x00"), "JukiPdu",
                             1010), "JukiPdu"),
        _case("der/codec/acknowledgement/empty-enumerated",
              "Acknowledgement whose status has no contents octet", ("R-DER-16",), empty,
              ("decode",),
              _decode_expect(_tlv(ack_id[:1], ack_kids[0] + b"\x81\x00"),
                             "Acknowledgement", 1010), "Acknowledgement"),
        _case("der/codec/order/unknown-enumerated-before-non-canonical-integer",
              "JukiPdu with sequenceNumber 00 00 and an acknowledgement of status 9",
              ("R-DER-17", "R-DER-09"), structure, ("decode",),
              _decode_expect(unknown_status, "JukiPdu", 1024), "JukiPdu"),
        _case("der/codec/juki-pdu/time-not-a-time",
              "JukiPdu whose header time has 13 digits", ("R-DER-17", "R-PDU-35"),
              "A GeneralizedTime that is no time at all is malformed (1010).", ("decode",),
              _decode_expect(with_time("2026040109000Z"), "JukiPdu", 1010), "JukiPdu"),
        _case("der/codec/juki-pdu/time-impossible-before-form",
              "JukiPdu whose header time is 31 April with an offset", ("R-PDU-35",),
              "A time that is no real instant is 1023 in any form, before its form (1011).",
              ("decode",),
              _decode_expect(with_time("20260431090000+0900"), "JukiPdu", 1023), "JukiPdu"),
        _case("der/codec/wide-area-issuance-request/numeric-string-octet-ff",
              "a NumericString holding the octet FF", ("R-DER-18",), strings, ("decode",),
              _decode_expect(wide[:i] + b"13101\xff" + wide[i + 6:], W, 1010), W),
        _case("der/codec/wide-area-issuance-request/utf8-not-well-formed",
              "a name whose first octet is FF (not UTF-8)", ("R-DER-18",), strings,
              ("decode",), _decode_expect(wide[:k] + b"\xff" + wide[k + 1:], W, 1010), W),
        _case("der/codec/acknowledgement/length-five-octets-leading-zero",
              "Acknowledgement whose length is 85 00 00 00 00 15", ("R-DER-19", "R-DER-05"),
              octets, ("decode",),
              _decode_expect(ack[:1] + b"\x85\x00\x00\x00\x00" + ack[1:2] + ack[2:],
                             "Acknowledgement", 1010), "Acknowledgement"),
        _case("der/codec/acknowledgement/primitive-at-level-33",
              "Acknowledgement with an extension whose primitive is at level 33",
              ("R-DER-20", "R-DER-04"), depth, ("decode",),
              _decode_expect(_tlv(ack_id[:1], ack_kids[0] + ack_kids[1] + _nested(32)),
                             "Acknowledgement", 1014), "Acknowledgement"),
        _case("der/codec/acknowledgement/primitive-at-level-32",
              "Acknowledgement with an extension whose primitive is at level 32 decodes",
              ("R-DER-20", "R-DER-08"), depth, ("decode",),
              _decode_accepts(_tlv(ack_id[:1], ack_kids[0] + ack_kids[1] + _nested(31)),
                              "Acknowledgement"), "Acknowledgement"),
        _case("der/codec/order/long-form-length-before-depth",
              "Acknowledgement with a long-form length of 16, then a value too deep",
              ("R-DER-20", "R-DER-10"), depth, ("decode",),
              _decode_expect(too_deep_after, "Acknowledgement", 1011), "Acknowledgement"),
        _case("identifiers/codec/person-name/kana-hiragana",
              "a kana reading in hiragana", ("R-ID-07",), "Kana is full-width katakana, "
              "with ー, ・ and spaces: 1024.", ("encode",),
              _encode_expect(_changed(wide_value, lambda v: set_kana(v, "\u3055\u306e")),
                             W, 1024), W),
        _case("identifiers/codec/person-name/kana-marks-and-spaces",
              "a kana reading with ー, ・, U+3000 and U+0020 is accepted", ("R-ID-07",),
              "Kana is full-width katakana, with ー, ・ and spaces.", ("encode", "decode"),
              _encode_decode_accepts(_changed(wide_value, lambda v: set_kana(
                  v, "\u30b5\u30ce\u30fc\u30fb\u3000\u30a4 \u30b5")), W), W),
        _case("identifiers/codec/text/tab-in-address",
              "an address holding a tab", ("R-ID-08",), "No C0 control or DEL in a "
              "UTF8String: 1024.", ("encode",),
              _encode_expect(_changed(wide_value, lambda v: v["requester"]["address"]
                                      .__setitem__("text", "\u5927\u962a\t\u5e02")),
                             W, 1024), W),
        _case("identifiers/codec/text/c1-control-accepted",
              "a name holding U+0085 (a C1 control) is not refused by the rule",
              ("R-ID-08",), "Only C0 controls and DEL are refused.", ("encode", "decode"),
              _encode_decode_accepts(_changed(wide_value, lambda v: v["requester"]["name"]
                                              .__setitem__("kanji", "\u4f50\x85\u91ce")),
                                     W), W),
        _case("identifiers/codec/date/before-meiji",
              "a birth date of 1867-12-31", ("R-ID-09",), "Dates run from 1868-01-01 to "
              "2199-12-31: 1023.", ("encode",),
              _encode_expect(_changed(wide_value, lambda v: v["requester"].__setitem__(
                  "birth_date", "1867-12-31")), W, 1023), W),
        _case("identifiers/codec/date/first-day-of-meiji",
              "a birth date of 1868-01-01 is accepted", ("R-ID-09",), "Dates run from "
              "1868-01-01 to 2199-12-31.", ("encode", "decode"),
              _encode_decode_accepts(_changed(wide_value, lambda v: v["requester"]
                                              .__setitem__("birth_date", "1868-01-01")),
                                     W), W),
        _case("identifiers/codec/lies-in/copy-address-other-municipality",
              "a copy whose address is in another municipality", ("R-ID-10", "R-12-2-3-05"),
              lies, ("encode",),
              _encode_expect(_changed(resp_value, lambda v: v["copies"][0]["address"]
                                      .__setitem__("local_gov_code", "131016")), R, 1024), R),
        _case("identifiers/codec/lies-in/relay-prefecture-is-municipality",
              "a relay whose prefecture is a municipality's code", ("R-ID-10",
                                                                     "R-30-11-0-01"),
              lies, ("encode",),
              _encode_expect(_changed(relay_value, lambda v: v.__setitem__(
                  "prefecture", "271004")), "IdentityInfoRelay", 1024),
              "IdentityInfoRelay"),
        _case("identifiers/codec/lies-in/relay-update-other-prefecture",
              "a relay by 130001 of an update of 271004", ("R-ID-10", "R-30-11-0-01"), lies,
              ("encode",),
              _encode_expect(_changed(relay_value, lambda v: v.__setitem__(
                  "prefecture", "130001")), "IdentityInfoRelay", 1024),
              "IdentityInfoRelay"),
        _case("identifiers/codec/lies-in/update-municipality-is-prefecture",
              "an update whose municipality is a prefecture's own code: 1024, not 1021",
              ("R-ID-10", "R-30-5-0-02"), lies, ("encode",),
              _encode_expect(_changed(update_value, muni_is_pref), "IdentityInfoUpdate",
                             1024), "IdentityInfoUpdate"),
        *(_case(f"identifiers/codec/card-serial/municipality-of-prefecture-{code[:2]}",
                f"a card application of {code}, its serial beginning {code}, is accepted",
                ("R-ID-04", "R-CARDREG-01"), serial, ("encode", "decode"),
                _encode_decode_accepts(card_of(code), "CardApplication"), "CardApplication")
          for code in ("011002", "472018")),
        _case("identifiers/codec/identity-info-update/previous-code-equal",
              "a residentCodeChange whose previous code equals the new one: 1020",
              ("R-30-5-0-04",), "Equal codes are 1020 (R-30-5-0-04).", ("encode",),
              _encode_expect(_changed(code_change, code_twice), "IdentityInfoUpdate", 1020),
              "IdentityInfoUpdate"),
        _case("identifiers/codec/requesting-body/municipality-prefecture-48",
              "a requesting municipality whose code begins 48 (check digit right): 1021",
              ("R-30-7-3-24", "R-ID-04"), "A local government code failing R-ID-04 is 1021; "
              "a valid one of the wrong kind 1026.", ("encode",),
              _encode_expect(_changed(query_value, lambda v: v.__setitem__(
                  "requester", {"kind": "municipality", "code": "481009"})),
                  "ProvisionRequest", 1021), "ProvisionRequest"),
        _case("identifiers/codec/requesting-body/prefecture-with-municipality-code",
              "a requesting prefecture whose code is a municipality's: 1026",
              ("R-30-7-3-24",), "A valid local government code of the wrong kind is 1026.",
              ("encode",),
              _encode_expect(_changed(query_value, lambda v: v.__setitem__(
                  "requester", {"kind": "prefecture", "code": "271004"})),
                  "ProvisionRequest", 1026), "ProvisionRequest"),
        _case("json/codec/juki-pdu/time-30-february",
              "a JSON header time of 30 February: 1030 while reading", ("R-JSON-12",),
              "A time that is not a real time is 1030 in the JSON form.", ("encode",),
              _encode_expect(_changed(pdu_value, lambda v: v["header"].__setitem__(
                  "time", "2026-02-30T09:00:00Z")), "JukiPdu", 1030), "JukiPdu"),
        _case("json/codec/wide-area-issuance-request/date-before-constraint",
              "a date of 30 February and a resident code with a letter: 1023 (read first)",
              ("R-JSON-12", "R-JSON-03"), "Dates are judged while reading the JSON form, "
              "before the schema constraints.", ("encode",),
              _encode_expect(_changed(wide_value, lambda v: v["requester"].update(
                  birth_date="1950-02-30", resident_code="6914358015A")), W, 1023), W),
        _case("conformance/codec/check-code/full-width-digits",
              "check_code of a resident code in full-width digits: 1020", ("R-CONF-22",),
              "Judge the string by R-ID-01: full-width digits are not ASCII digits.",
              ("check_code",),
              _request_expect(1020, "check_code", kind="resident",
                              code="\uff16\uff19\uff11\uff14\uff13\uff15\uff18"
                                   "\uff10\uff11\uff15\uff16"), "Acknowledgement"),
        _case("conformance/codec/check-code/unknown-kind",
              "check_code of an unknown kind: 1030", ("R-CONF-22",),
              "An unknown kind is a bad request: 1030.", ("check_code",),
              _request_expect(1030, "check_code", kind="postal", code="1000001"),
              "Acknowledgement"),
    ]
