"""The elements of a SEQUENCE OF in codec mode (X.690 section 8.10; spec/README.md
R-DER-15): an element whose tag is not the element type's is refused 1013, for every
list of every message type, at its first and at its last element.

A decoder that reads a list's elements without checking each one's tag takes another
type's element for one of its own, or (asn1tools' DER decoder, which the reference
guards) stops advancing and appends forever. The golden vectors never put a wrong tag
inside a list. Here each type's valid message, with every list it holds, gets the
identifier octet of its first element, then of its last, replaced by another universal
type's of the same form (a SET for a SEQUENCE, an OCTET STRING for a primitive), and by
the context-specific tag [0] of the same form. The lists are found in the DER itself:
with AUTOMATIC TAGS every component carries a context-specific tag, so a universal tag
inside a constructed element is a list's element.
"""

from __future__ import annotations

from collections.abc import Callable

from juki_conformance.cases_codec import CLAUSES, expect_error
from juki_conformance.model import Case, Outcome
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec, der
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import Profile

SEED = "conformance:list-elements"
FIX = ("Check the tag of every element of a SEQUENCE OF against the element type "
       "before decoding it, and refuse any other tag with 1013 DER_UNEXPECTED_TAG "
       "(R-DER-15); never skip or loop on it.")


def _lists(node: der.Tlv) -> list[der.Tlv]:
    """The constructed elements of ``node`` (itself included) that hold universal-tagged
    elements: the lists (SEQUENCE OF)."""
    found = [node] if node.constructed and any(
        c.tag_key[0] == 0 for c in node.children) else []
    for child in node.children if node.constructed else ():
        found += _lists(child)
    return found


def _other(octet: int) -> tuple[tuple[str, int], ...]:
    """The identifier octets that replace a list element's ``octet``: another universal
    type of the same form, and the context-specific tag [0] of the same form."""
    constructed = octet & 0x20
    if constructed:
        universal = 0x31 if octet == 0x30 else 0x30
    else:
        universal = 0x04 if octet != 0x04 else 0x0C
    return (("another-universal-tag", universal), ("context-tag", 0x80 | constructed))


def _message(type_name: str) -> bytes:
    return codec.encode(example(type_name, SEED, Profile.CURRENT))


def _retagged(type_name: str, at: int, octet: int) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        data = bytearray(_message(type_name))
        data[at] = octet
        return expect_error(sut.request("decode", type=type_name, der=bytes(data).hex()),
                            int(ErrorCode.DER_UNEXPECTED_TAG))
    return run


def list_element_cases() -> list[Case]:
    """The cases of this module, in a stable order."""
    cases: list[Case] = []
    for type_name in CLAUSES:
        slug = "".join("-" + c.lower() if c.isupper() else c for c in type_name).strip("-")
        try:
            data = _message(type_name)
        except (KeyError, ValueError):       # no example of this type (JukiPdu)
            continue
        for n, found in enumerate(_lists(der.parse(data)), 1):
            for place, element in (("first", found.children[0]),
                                   ("last", found.children[-1])):
                if place == "last" and len(found.children) == 1:
                    continue
                for name, octet in _other(data[element.start]):
                    cases.append(Case(
                        id=f"der/codec/{slug}/list-{n}-{place}-element-{name}-refused",
                        title=f"{type_name}: the {place} element of its list {n} with the "
                              f"identifier {octet:02x} instead of "
                              f"{data[element.start]:02x} is refused 1013",
                        clause=CLAUSES[type_name], requirements=("R-DER-15",),
                        level="MUST", remediation=FIX, mode="codec", ops=("decode",),
                        message_type=type_name,
                        run=_retagged(type_name, element.start, octet)))
    return cases


__all__ = ["list_element_cases"]
