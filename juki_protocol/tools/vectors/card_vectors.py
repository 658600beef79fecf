"""The rule vectors of the card register's messages (spec/card_register.md): one
broken rule of each type, encoded past our validation, with the code a decoder must
report. :mod:`juki_protocol.tools.vectors.codec_vectors` adds them to each type's group."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from juki_protocol.errors import ErrorCode
from juki_protocol.tools.vectors.vector_cases import VectorCase, invalid_case, raw_encode

_FIELD, _DATE = ErrorCode.INVALID_FIELD, ErrorCode.INVALID_DATE


def _broken(type_name: str, v: dict[str, Any],
            edits: tuple[tuple[str, dict[str, Any], ErrorCode], ...]) -> Iterator[VectorCase]:
    for comment, change, code in edits:
        yield invalid_case(comment, "RuleViolation", raw_encode(type_name, {**v, **change}),
                           code)


def _serials(type_name: str, v: dict[str, Any]) -> Iterator[VectorCase]:
    """A serial of another municipality than the sender's, and one not of the form."""
    yield from _broken(type_name, v, (
        ("R-CARDREG-01: cardSerial beginning with another municipality's code",
         {"cardSerial": "131016" + v["cardSerial"][6:]}, _FIELD),
        ("spec/card_register.md section 2: cardSerial without its hyphen",
         {"cardSerial": v["cardSerial"].replace("-", "0")}, _FIELD)))


def _issue(v: dict[str, Any]) -> Iterator[VectorCase]:
    yield from _serials("CardIssueNotice", v)
    yield from _broken("CardIssueNotice", v, (
        ("validUntil on issueDate", {"validUntil": v["issueDate"]}, _DATE),
        ("R-TIME-06: validUntil more than ten years after issueDate",
         {"validUntil": str(int(v["issueDate"][:4]) + 11) + v["issueDate"][4:]}, _DATE)))


def _query(v: dict[str, Any]) -> Iterator[VectorCase]:
    yield from _broken("CardStatusQuery", v, (
        ("R-ID-10: cardSerial beginning with a prefecture's own code",
         {"cardSerial": "270008" + v["cardSerial"][6:]}, _FIELD),))


def _answer(v: dict[str, Any]) -> Iterator[VectorCase]:
    if v["status"] == "unknown":
        yield from _broken("CardStatusAnswer", v, (
            ("R-CARDREG-06: status unknown with an issuing municipality",
             {"issuingMunicipality": "271004"}, _FIELD),))
    else:
        without = {k: x for k, x in v.items() if k != "validUntil"}
        yield invalid_case("R-CARDREG-06: a known card without validUntil",
                           "RuleViolation", raw_encode("CardStatusAnswer", without), _FIELD)
        yield from _broken("CardStatusAnswer", v, (
            ("R-CARDREG-06: issuingMunicipality not the serial's",
             {"issuingMunicipality": "131016"}, _FIELD),))


#: The rule cases of each card message type, from the ASN.1 value of its sample.
CARD_RULES: dict[str, Callable[[dict[str, Any]], Iterator[VectorCase]]] = {
    "CardApplication": lambda v: _serials("CardApplication", v),
    "CardIssueNotice": _issue,
    "CardStatusNotice": lambda v: _serials("CardStatusNotice", v),
    "CardStatusQuery": _query,
    "CardStatusAnswer": _answer,
}

__all__ = ["CARD_RULES"]
