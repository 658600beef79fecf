"""Designation of resident codes, Art. 30-7(1)(2) (``spec/asn1/designation.asn``).

Art. 30-7(1) (the seeds' numbering): the prefectural governor designates, for each
municipality of the prefecture, the resident codes that municipality may write into
resident records, and notifies it. Art. 30-7(2): the governor consults the other
governors beforehand so that no code designated overlaps one designated before, by it
or another governor, or one another governor is about to designate. How the
consultation is done is left to a ministerial ordinance; this protocol fixes it in
advance (spec/designation.md section 3, our design): each prefecture designates only
codes of its own *allotment*, the codes whose ten data digits, read as a number n,
leave the remainder ``PP - 1`` when divided by 47 (PP: the prefecture number, 01 to
47). Allotments never overlap, so no two prefectures can designate the same code.
"""

from __future__ import annotations

import random

from juki_protocol.identifiers import (
    is_prefecture_code,
    resident_code_check_digit,
    validate_local_gov_code,
    validate_resident_code,
)
from juki_protocol.messages.base import message, require, require_unique

#: The most codes one request asks for, and one designation carries.
MAX_CODES = 1000
#: The number of allotments: one per prefecture (01 Hokkaido to 47 Okinawa).
PREFECTURES = 47


def allotment_of(resident_code: str) -> int:
    """The prefecture number (1 to 47) whose allotment holds ``resident_code``
    (spec/designation.md section 3): its ten data digits modulo 47, plus one."""
    return int(resident_code[:10]) % PREFECTURES + 1


def prefecture_number(local_gov_code: str) -> int:
    """The prefecture number (1 to 47) of a local government code."""
    return int(local_gov_code[:2])


def in_allotment(resident_code: str, local_gov_code: str) -> bool:
    """Whether ``resident_code`` lies in the allotment of the prefecture of
    ``local_gov_code`` (a prefecture's own code or one of its municipalities')."""
    return allotment_of(resident_code) == prefecture_number(local_gov_code)


def new_designated_code(rng: random.Random, local_gov_code: str) -> str:
    """A random resident code of the allotment of ``local_gov_code``'s prefecture: ten
    data digits drawn from ``rng`` (R-ID-02), moved down to the allotment's remainder,
    and the check digit."""
    target = prefecture_number(local_gov_code) - 1
    while True:
        n = rng.randrange(10 ** 10)
        n += target - n % PREFECTURES
        if 0 <= n < 10 ** 10:
            data = f"{n:010d}"
            return data + str(resident_code_check_digit(data))


def _municipality(code: str) -> None:
    validate_local_gov_code(code, "municipality")
    require(not is_prefecture_code(code), "municipality",
            "must be a municipality, not a prefecture's own code")


@message
class CodeDesignationRequest:
    """A municipality asks its own prefecture for more resident codes (our protocol
    design: the Act does not say how a municipality asks, spec/designation.md).

    municipality: the asking municipality, the header sender.
    count: how many codes it asks for, 1 to 1000.
    """

    municipality: str
    count: int

    def __post_init__(self) -> None:
        _municipality(self.municipality)
        require(isinstance(self.count, int) and not isinstance(self.count, bool)
                and 1 <= self.count <= MAX_CODES, "count", f"must be 1 to {MAX_CODES}")


@message
class CodeDesignation:
    """Art. 30-7(1): the codes a prefecture designates to one of its municipalities.

    municipality: the municipality the codes are designated to, the header recipient.
    codes: 1 to 1000 distinct resident codes, each in the allotment of the
    municipality's prefecture (Art. 30-7(2), spec/designation.md section 3).
    """

    municipality: str
    codes: tuple[str, ...]

    def __post_init__(self) -> None:
        _municipality(self.municipality)
        require(isinstance(self.codes, tuple) and 1 <= len(self.codes) <= MAX_CODES,
                "codes", f"must list 1 to {MAX_CODES} codes")
        for i, code in enumerate(self.codes):
            validate_resident_code(code, f"codes[{i}]")
            # The code itself is not named: it may become a resident's (R-PDU-27).
            require(in_allotment(code, self.municipality), f"codes[{i}]",
                    f"is not in the allotment of prefecture "
                    f"{prefecture_number(self.municipality):02d} (spec/designation.md "
                    f"section 3)")
        require_unique(self.codes, "codes")


__all__ = ["MAX_CODES", "PREFECTURES", "CodeDesignation", "CodeDesignationRequest",
           "allotment_of", "in_allotment", "new_designated_code", "prefecture_number"]
