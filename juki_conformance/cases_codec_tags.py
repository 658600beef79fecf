"""Tag forms in codec mode (X.690 section 8.1.2; spec/README.md R-DER-02, R-DER-05,
R-DER-08, R-DER-10, R-DER-19): the high-tag-number form, for every message type.

The golden vectors carry one unknown extension addition per type, tagged [29]: a tag
that fits the identifier octet. A decoder that mishandles tag numbers of 31 and above
(one continuation octet, or several) passes them all. Here each type's valid message
gets, at the end of its outermost SEQUENCE (the extension position of every type), an
extension element

- tagged [31] (one continuation octet), [133] (two), [16384] (three), [2097152] or
  [268435455] (four, the most R-DER-19 allows), primitive or constructed: an unknown
  addition, skipped; the value decodes as without it (R-DER-08);
- tagged [268435456], whose number takes five continuation octets: 1010 (R-DER-19);
- tagged [29] in the high-tag-number form, or [133] with a leading zero septet: a tag
  that is not DER, 1011 (R-DER-02);
- whose tag's continuation octets run past the end of the SEQUENCE: 1010 (R-DER-05),
  and as the whole input, an identifier that stops after its first octet, or a SEQUENCE
  whose content is an identifier without a length: 1010;
- and the message with its outer length in the indefinite form (80, then end-of-contents
  octets): 1011 (R-DER-02), also where 128 content octets follow, which a decoder that
  reads 80 as a short length would take as a length of 128.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from juki_conformance.cases_codec import CLAUSES, expect_error
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec, der
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import Profile

#: The message types with an extensible outermost SEQUENCE (every registered type).
TYPES = ("MoveInNotice", "WideAreaIssuanceRequest", "WideAreaIssuanceResponse",
         "SpecialMoveInNotice", "MoveOutCertificate", "IdentityInfoUpdate",
         "IdentityInfoRelay", "ProvisionRequest", "ProvisionResponse", "Acknowledgement",
         "ErrorReport", "FamilyRegisterNotice", "CodeDesignationRequest", "CodeDesignation",
         "CardApplication", "CardIssueNotice", "CardStatusNotice", "CardStatusQuery",
         "CardStatusAnswer")


def identifier(number: int, *, constructed: bool = False, leading_zero: bool = False,
               force_high: bool = False) -> bytes:
    """The identifier octets of context tag ``number`` (X.690 section 8.1.2): the low
    form below 31 unless ``force_high``; ``leading_zero`` adds a redundant 0x80 septet."""
    first = 0x80 | (0x20 if constructed else 0)
    if number < 31 and not force_high:
        return bytes([first | number])
    septets = []
    n = number
    while True:
        septets.append(n & 0x7F)
        n >>= 7
        if not n:
            break
    septets.reverse()
    if leading_zero:
        septets.insert(0, 0)
    body = [0x80 | s for s in septets[:-1]] + [septets[-1]]
    return bytes([first | 0x1F, *body])


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def appended(data: bytes, extra: bytes) -> bytes:
    """``data`` (one TLV) with ``extra`` added at the end of its content, its length
    recomputed."""
    top = der.parse(data)
    content = data[top.content_start:top.end] + extra
    return data[:top.start + _identifier_size(data)] + _length(len(content)) + content


def _identifier_size(data: bytes) -> int:
    if data[0] & 0x1F != 0x1F:
        return 1
    i = 1
    while data[i] & 0x80:
        i += 1
    return i + 1


def _element(number: int, constructed: bool, **kw: Any) -> bytes:
    content = b"\x04\x01\x00" if constructed else b"\x00"
    return identifier(number, constructed=constructed, **kw) + _length(len(content)) + content


def _accepts(type_name: str, extra: bytes) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        msg = example(type_name, "conformance:tags", Profile.CURRENT)
        value = codec.to_json(msg)
        data = appended(codec.encode(msg), extra)
        answer = sut.request("decode", type=type_name, der=data.hex())
        expected = f"decoded, the unknown element {extra.hex()} skipped"
        if not answer.get("ok"):
            err = answer.get("error") or {}
            return Outcome(Verdict.FAIL, expected,
                           f"rejected with {err.get('code')} {err.get('name')}")
        if answer.get("value") != value:
            return Outcome(Verdict.FAIL, expected, "decoded to another value")
        return Outcome(Verdict.PASS, expected, "decoded, element skipped")
    return run


def _refuses(type_name: str, build: Callable[[bytes], bytes],
             code: ErrorCode) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        data = build(codec.encode(example(type_name, "conformance:tags", Profile.CURRENT)))
        return expect_error(sut.request("decode", type=type_name, der=data.hex()), int(code))
    return run


def _indefinite(data: bytes) -> bytes:
    """``data`` (one TLV) with its length in the indefinite form (BER only), its content
    followed by the end-of-contents octets."""
    top = der.parse(data)
    return (data[:top.start + _identifier_size(data)] + b"\x80"
            + data[top.content_start:top.end] + b"\x00\x00")


def _past_end(data: bytes) -> bytes:
    """The SEQUENCE's content ends inside a high-form identifier: its last octet
    announces a continuation octet that lies outside the SEQUENCE (a trailing 00)."""
    return appended(data, b"\x9f\x81") + b"\x00"


#: The tag numbers of the bounds of each count of continuation octets: 31 and 133
#: (one and two), 16384 (three), 2097152 and 268435455 (four, the first and the last
#: number that R-DER-19 allows).
ACCEPT = (("tag-31-primitive", 31, False), ("tag-31-constructed", 31, True),
          ("tag-133-primitive", 133, False), ("tag-133-constructed", 133, True),
          ("tag-16384-primitive", 16384, False), ("tag-2097152-primitive", 2097152, False),
          ("tag-268435455-constructed", 2**28 - 1, True))
#: (slug, the change of the DER, the code, the requirements).
REFUSE: tuple[tuple[str, Callable[[bytes], bytes], ErrorCode, tuple[str, ...]], ...] = (
    ("tag-29-in-high-form", lambda d: appended(d, _element(29, False, force_high=True)),
     ErrorCode.DER_NON_CANONICAL, ("R-DER-02",)),
    ("tag-30-in-high-form", lambda d: appended(d, _element(30, True, force_high=True)),
     ErrorCode.DER_NON_CANONICAL, ("R-DER-02",)),
    ("tag-31-leading-zero-septet",
     lambda d: appended(d, _element(31, False, leading_zero=True)),
     ErrorCode.DER_NON_CANONICAL, ("R-DER-02",)),
    ("tag-133-leading-zero-septet",
     lambda d: appended(d, _element(133, True, leading_zero=True)),
     ErrorCode.DER_NON_CANONICAL, ("R-DER-02",)),
    # Most types' messages hold 128 octets or more: a length octet 80 then reads as an
    # indefinite length, never as the length 128 (X.690 8.1.3.6).
    ("outer-length-indefinite", _indefinite, ErrorCode.DER_NON_CANONICAL, ("R-DER-02",)),
    ("tag-runs-past-its-container", _past_end, ErrorCode.DER_MALFORMED,
     ("R-DER-05", "R-DER-10")),
    # 2**28 is the first tag number that needs five continuation octets (R-DER-19).
    ("tag-268435456-five-octets", lambda d: appended(d, _element(2**28, False)),
     ErrorCode.DER_MALFORMED, ("R-DER-19", "R-DER-05")),
)
SKIP_FIX = ("Read identifiers in the high-tag-number form (X.690 8.1.2.4): base-128 "
            "continuation octets, bit 8 set on all but the last; an element with a tag no "
            "component has, after the last known one, is an extension addition: skip it.")
FORM_FIX = ("Refuse a tag number below 31 written in the high-tag-number form and a "
            "first continuation octet 0x80 (a leading zero septet) with 1011; a tag whose "
            "octets run past the end of the data or of its container, or whose number takes "
            "more than 4 continuation octets, with 1010.")


def tag_cases() -> list[Case]:
    """The cases of this module, in a stable order."""
    cases: list[Case] = []
    for type_name in TYPES:
        slug = "".join("-" + c.lower() if c.isupper() else c for c in type_name).strip("-")
        for name, number, constructed in ACCEPT:
            cases.append(Case(
                id=f"der/codec/{slug}/extension-{name}-skipped",
                title=f"{type_name} with an unknown extension element [{number}] "
                      f"({'constructed' if constructed else 'primitive'}) decodes",
                clause=CLAUSES[type_name], requirements=("R-DER-08",), level="MUST",
                remediation=SKIP_FIX, mode="codec", ops=("decode",),
                message_type=type_name,
                run=_accepts(type_name, _element(number, constructed))))
        for name, build, code, reqs in REFUSE:
            cases.append(Case(
                id=f"der/codec/{slug}/{name}", title=f"{type_name}: {name.replace('-', ' ')}"
                f" is refused {int(code)}", clause=CLAUSES[type_name], requirements=reqs,
                level="MUST", remediation=FORM_FIX, mode="codec", ops=("decode",),
                message_type=type_name, run=_refuses(type_name, build, code)))
    # The last two: a SEQUENCE whose content is one identifier octet and no length, the
    # last octet of the input (at the first and at the second level).
    for name, data in (("identifier-cut-after-first-octet", b"\x1f"),
                       ("application-identifier-cut", b"\x7f\x81"),
                       ("context-identifier-cut", b"\xbf\x1f"),
                       ("identifier-without-length-at-the-end", b"\x74\x01\x80"),
                       ("nested-identifier-without-length", b"\x74\x03\x30\x01\x80")):
        cases.append(Case(
            id=f"der/codec/acknowledgement/{name}", title=f"the input {data.hex()} is "
            "refused 1010", clause="pdu", requirements=("R-DER-05", "R-DER-10"),
            level="MUST", remediation=FORM_FIX, mode="codec", ops=("decode",),
            message_type="Acknowledgement",
            run=lambda sut, d=data: expect_error(  # type: ignore[misc]  # a lambda binding a loop value
                sut.request("decode", type="Acknowledgement", der=d.hex()),
                int(ErrorCode.DER_MALFORMED))))
    return cases


__all__ = ["appended", "identifier", "tag_cases"]
