"""Special move (転入転出の特例), Arts. 24-2 and 9 (``spec/asn1/special_move.asn``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import (
    validate_individual_number,
    validate_municipality_code,
    validate_resident_code,
)
from juki_protocol.messages.base import message, require, require_text, require_unique
from juki_protocol.messages.common import (
    Address,
    ForeignResident,
    PersonName,
    PersonRef,
    Sex,
    require_date,
)


def _municipalities(new: str, former: str) -> None:
    validate_municipality_code(new, "new_municipality")
    validate_municipality_code(former, "former_municipality")
    require(new != former, "new_municipality",
            "must differ from former_municipality (a move within one municipality is "
            "not a special move)")


@message
class SpecialMoveInNotice:
    """Art. 24-2(3): new municipality -> former municipality.

    movers: the card holder and the household members moving with them (1 to 20).
    moved_date: the day they moved (転入をした年月日); move_in_filed_date: the day the
    move-in was filed with the card. new_address: in the new municipality.
    """

    new_municipality: str
    former_municipality: str
    movers: tuple[PersonRef, ...]
    moved_date: dt.date
    move_in_filed_date: dt.date
    new_address: Address

    def __post_init__(self) -> None:
        _municipalities(self.new_municipality, self.former_municipality)
        require(1 <= len(self.movers) <= 20, "movers", "must list 1 to 20 persons")
        require_unique((m.resident_code for m in self.movers), "movers")
        require_date(self.moved_date, "moved_date")
        require_date(self.move_in_filed_date, "move_in_filed_date")
        require(self.moved_date <= self.move_in_filed_date, "move_in_filed_date",
                "must not precede moved_date", ErrorCode.INVALID_DATE)
        require(self.new_address.local_gov_code == self.new_municipality,
                "new_address.local_gov_code", "must be the new municipality")


@message
class FamilyRegister:
    """戸籍の表示: permanent domicile (本籍) and head of the register (筆頭者)."""

    permanent_domicile: str
    head_name: str

    def __post_init__(self) -> None:
        require_text(self.permanent_domicile, "permanent_domicile", max_len=200)
        require_text(self.head_name, "head_name", max_len=100)


@message
class InsuranceStatus:
    """国民健康保険 / 介護保険の被保険者である旨: insured, and since when."""

    insured: bool
    qualified_since: dt.date | None = None

    def __post_init__(self) -> None:
        if self.qualified_since is not None:
            require(self.insured, "qualified_since", "only when insured is true")
            require_date(self.qualified_since, "qualified_since")


class PensionCategory(StrEnum):
    """国民年金の被保険者種別."""

    NONE = "none"
    CATEGORY1 = "category1"
    CATEGORY2 = "category2"
    CATEGORY3 = "category3"


@message
class PensionStatus:
    """国民年金の被保険者種別等."""

    category: PensionCategory


@message
class MoveOutCertificateEntry:
    """One person's move-out certificate items (Art. 24-2(4), the seeds' list).

    family_register: 戸籍の表示 (Art. 7(5)); None for a foreign resident, who has none.
    foreign_resident: the items of Art. 30-45, exactly when family_register is None.
    """

    name: PersonName
    birth_date: dt.date
    sex: Sex
    relationship: str
    family_register: FamilyRegister | None = None
    address: Address
    destination: Address
    planned_move_date: dt.date
    resident_code: str
    national_health_insurance: InsuranceStatus
    long_term_care_insurance: InsuranceStatus
    national_pension: PensionStatus
    child_allowance: bool
    individual_number: str | None = None
    foreign_resident: ForeignResident | None = None

    def __post_init__(self) -> None:
        require_date(self.birth_date, "birth_date")
        require_text(self.relationship, "relationship", max_len=32)
        # R-30-45-0-01: a Japanese national's entry carries the family register, a
        # foreign resident's the items of Art. 30-45; never both, never neither.
        require((self.family_register is None) is not (self.foreign_resident is None),
                "foreign_resident",
                "exactly one of family_register and foreign_resident must be given")
        if self.foreign_resident is not None:
            require(self.foreign_resident.foreign_resident_since >= self.birth_date,
                    "foreign_resident.foreign_resident_since",
                    "must not precede birth_date", ErrorCode.INVALID_DATE)
        require_date(self.planned_move_date, "planned_move_date")
        validate_resident_code(self.resident_code)
        if self.individual_number is not None:
            validate_individual_number(self.individual_number)


@message
class MoveOutCertificate:
    """Art. 24-2(4): former municipality -> new municipality, one entry per mover."""

    former_municipality: str
    new_municipality: str
    entries: tuple[MoveOutCertificateEntry, ...]

    def __post_init__(self) -> None:
        _municipalities(self.new_municipality, self.former_municipality)
        require(1 <= len(self.entries) <= 20, "entries", "must hold 1 to 20 entries")
        require_unique((e.resident_code for e in self.entries), "entries")
        for i, e in enumerate(self.entries):
            require(e.address.local_gov_code == self.former_municipality,
                    f"entries[{i}].address.local_gov_code",
                    "must be the former municipality")
            require(e.destination.local_gov_code == self.new_municipality,
                    f"entries[{i}].destination.local_gov_code",
                    "must be the new municipality")


@message
class MoveInNotice:
    """Art. 9(1): new municipality -> former municipality, after recording residents."""

    new_municipality: str
    former_municipality: str
    residents: tuple[PersonRef, ...]
    moved_date: dt.date
    recorded_date: dt.date
    new_address: Address

    def __post_init__(self) -> None:
        _municipalities(self.new_municipality, self.former_municipality)
        require(1 <= len(self.residents) <= 20, "residents", "must list 1 to 20 persons")
        require_unique((r.resident_code for r in self.residents), "residents")
        require_date(self.moved_date, "moved_date")
        require_date(self.recorded_date, "recorded_date")
        require(self.moved_date <= self.recorded_date, "recorded_date",
                "must not precede moved_date", ErrorCode.INVALID_DATE)
        require(self.new_address.local_gov_code == self.new_municipality,
                "new_address.local_gov_code", "must be the new municipality")
