"""The register's domain types: a resident record (住民票, :class:`ResidentRecord`) of a
municipality and a household (世帯), validated in their constructors, with the
relationships (続柄) and record states they may carry. A municipality's register, its
machines and its storage hold these; the synthetic-resident generator
(:mod:`juki_protocol.fixtures.synth`) makes them for fixtures and re-exports every name here
(``SyntheticResident`` is its older name for :class:`ResidentRecord`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Final

from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import validate_individual_number, validate_resident_code
from juki_protocol.messages.base import require, require_text, to_form
from juki_protocol.messages.common import (
    Address,
    ForeignResident,
    IdentityInfo,
    PersonName,
    PersonRef,
    Profile,
    Sex,
)
from juki_protocol.messages.special_move import FamilyRegister
from juki_protocol.messages.wide_area import AddressNotification, ResidentRecordCopy

# Relationships (続柄) as written on a resident record; children are all 子 since 1995.
HEAD: Final = "世帯主"
WIFE: Final = "妻"
HUSBAND: Final = "夫"
CHILD: Final = "子"
CHILDS_WIFE: Final = "子の妻"
CHILDS_HUSBAND: Final = "子の夫"
GRANDCHILD: Final = "孫"
FATHER: Final = "父"
MOTHER: Final = "母"
LODGER: Final = "同居人"
RELATIONSHIPS: Final[tuple[str, ...]] = (
    HEAD, WIFE, HUSBAND, CHILD, CHILDS_WIFE, CHILDS_HUSBAND, GRANDCHILD, FATHER, MOTHER,
    LODGER,
)

STATUSES: Final[tuple[str, ...]] = ("current", "moved_out", "deceased")
"""Record states a :class:`ResidentRecord` may carry; the generator makes only
``current`` (tests derive the others with :func:`dataclasses.replace`)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResidentRecord:
    """One resident record (住民票) of a municipality: the items of Art. 7 that the
    flows carry, and its state."""

    resident_code: str
    """住民票コード (Art. 7(13)), unique in the batch."""
    individual_number: str
    """個人番号 (Art. 7(8-2)), unique in the batch; only in the ``current`` profile."""
    name: PersonName
    """氏名 with its katakana reading, family and given name split by U+3000."""
    birth_date: dt.date
    """生年月日."""
    sex: Sex
    """性別."""
    address: Address
    """住所, shared by the whole household (Art. 7(7))."""
    household_id: str
    """The household (世帯) in this batch: ``<local_gov_code>-<serial>``."""
    relationship: str
    """続柄 to the head of household, e.g. 世帯主, 妻, 子 (Art. 7(4))."""
    resident_since: dt.date
    """住民となった年月日 (Art. 7(6)): birth, or the day the person moved in."""
    address_notification_date: dt.date
    """住所を定めた旨の届出の年月日 (Art. 7(8)): on or after resident_since."""
    previous_address: Address | None
    """従前の住所 (Art. 7(8)), in another municipality; None if resident since birth."""
    family_register: FamilyRegister | None
    """戸籍の表示 (Art. 7(5)): 本籍 and 筆頭者; never leaves municipality flows. None
    for a foreign resident."""
    status: str = "current"
    """Record state, one of :data:`STATUSES`."""
    foreign_resident: ForeignResident | None = None
    """A foreign resident's items (Art. 30-45), exactly when family_register is None;
    its ``foreign_resident_since`` is resident_since."""

    def __post_init__(self) -> None:
        validate_resident_code(self.resident_code)
        validate_individual_number(self.individual_number)
        require_text(self.relationship, "relationship", max_len=32)
        require(self.resident_since >= self.birth_date, "resident_since",
                "must not precede birth_date", ErrorCode.INVALID_DATE)
        require(self.address_notification_date >= self.resident_since,
                "address_notification_date", "must not precede resident_since",
                ErrorCode.INVALID_DATE)
        if self.previous_address is not None:
            require(self.previous_address.local_gov_code != self.address.local_gov_code,
                    "previous_address.local_gov_code",
                    "must be another municipality than address")
        require(self.status in STATUSES, "status", f"must be one of {', '.join(STATUSES)}")
        require((self.family_register is None) is not (self.foreign_resident is None),
                "foreign_resident",
                "exactly one of family_register and foreign_resident must be given")
        if self.foreign_resident is not None:
            require(self.foreign_resident.foreign_resident_since == self.resident_since,
                    "foreign_resident.foreign_resident_since", "must equal resident_since")

    def identity_info(self, profile: Profile) -> IdentityInfo:
        """本人確認情報 (Art. 30-5); the individual number only in ``current``."""
        current = Profile.parse(profile) is Profile.CURRENT
        return IdentityInfo(resident_code=self.resident_code, name=self.name,
                            birth_date=self.birth_date, sex=self.sex, address=self.address,
                            individual_number=self.individual_number if current else None)

    def person_ref(self) -> PersonRef:
        """The person as named in an Art. 9 or 24-2 notice."""
        return PersonRef(resident_code=self.resident_code, name=self.name,
                         birth_date=self.birth_date)

    def record_copy(self, *, include_relationship: bool = False,
                    include_resident_code: bool = False) -> ResidentRecordCopy:
        """The items of Art. 12-2(3) for a wide-area issuance response."""
        return ResidentRecordCopy(
            name=self.name, birth_date=self.birth_date, sex=self.sex,
            resident_since=self.resident_since, address=self.address,
            address_notification=AddressNotification(
                notification_date=self.address_notification_date,
                previous_address=self.previous_address),
            relationship=self.relationship if include_relationship else None,
            resident_code=self.resident_code if include_resident_code else None,
            foreign_resident=None if self.foreign_resident is None
            else dataclasses.replace(self.foreign_resident, card_number=None))

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict: snake_case keys, ISO dates, ``previous_address`` null if none;
        a foreign resident's ``family_register`` is null and ``foreign_resident`` set (the
        key is left out for others)."""
        prev = self.previous_address
        reg = self.family_register
        out = {
            "resident_code": self.resident_code,
            "individual_number": self.individual_number,
            "name": to_form(self.name, json=True),
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex.value,
            "address": to_form(self.address, json=True),
            "household_id": self.household_id,
            "relationship": self.relationship,
            "resident_since": self.resident_since.isoformat(),
            "address_notification_date": self.address_notification_date.isoformat(),
            "previous_address": None if prev is None else to_form(prev, json=True),
            "family_register": None if reg is None else to_form(reg, json=True),
            "status": self.status,
        }
        if self.foreign_resident is not None:
            out["foreign_resident"] = to_form(self.foreign_resident, json=True)
        return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Household:
    """A household (世帯): its id and members, the head (世帯主) first."""

    household_id: str
    """Shared by every member's ``household_id``."""
    members: tuple[ResidentRecord, ...]
    """1 to 6 residents; ``members[0]`` is the only one with relationship 世帯主."""

    def __post_init__(self) -> None:
        require(len(self.members) >= 1, "members", "must hold at least the head")
        require(self.members[0].relationship == HEAD, "members[0].relationship",
                f"must be {HEAD}")
        require(sum(m.relationship == HEAD for m in self.members) == 1, "members",
                f"must have exactly one {HEAD}")
        require(all(m.household_id == self.household_id for m in self.members),
                "members", "must all carry the household_id")

    @property
    def head(self) -> ResidentRecord:
        """The head of household (世帯主)."""
        return self.members[0]

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict of the household and its members."""
        return {"household_id": self.household_id,
                "members": [m.to_json() for m in self.members]}


#: The generator's name for a record, kept for fixtures and existing code.
SyntheticResident = ResidentRecord


__all__ = [
    "CHILD", "CHILDS_HUSBAND", "CHILDS_WIFE", "FATHER", "GRANDCHILD", "HEAD", "HUSBAND",
    "LODGER", "MOTHER", "RELATIONSHIPS", "STATUSES", "WIFE", "Household", "ResidentRecord",
    "SyntheticResident",
]
