"""Common types (``spec/asn1/common.asn``): names, addresses, identity info, node ids."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import (
    Role,
    validate_individual_number,
    validate_local_gov_code,
    validate_node_id,
    validate_resident_code,
)
from juki_protocol.messages.base import message, require, require_text

# Full-width katakana (ァ..ヺ), the prolonged sound mark, the middle dot and spaces, with
# at least one katakana letter.
_KANA = re.compile(r"(?=.*[\u30A1-\u30FA])[\u30A1-\u30FF\u3000 ]+\Z")
EARLIEST_DATE = dt.date(1868, 1, 1)   # Meiji 1: no living record predates it.


class Profile(StrEnum):
    """Message profile: ``p2002`` (no individual number) or ``current`` (with it)."""

    P2002 = "p2002"
    CURRENT = "current"

    @classmethod
    def parse(cls, text: str) -> Profile:
        """Accept ``2002``, ``p2002`` or ``current``."""
        return cls.P2002 if text in ("2002", "p2002") else cls(text)


class Sex(StrEnum):
    """性別."""

    MALE = "male"
    FEMALE = "female"


class ChangeReason(StrEnum):
    """異動事由 (change_reason) of identity info, Arts. 30-5 and 30-11."""

    BIRTH = "birth"
    MOVE_IN = "moveIn"
    RECORDED_EX_OFFICIO = "recordedExOfficio"
    RECORDED_OTHER = "recordedOther"
    MOVE_OUT = "moveOut"
    DEATH = "death"
    ERASED_EX_OFFICIO = "erasedExOfficio"
    ADDRESS_CHANGE_WITHIN = "addressChangeWithin"
    NAME_CHANGE = "nameChange"
    SEX_CHANGE = "sexChange"
    RESIDENT_CODE_CHANGE = "residentCodeChange"
    INDIVIDUAL_NUMBER_CHANGE = "individualNumberChange"
    CORRECTION = "correction"


def require_date(value: dt.date, field: str) -> None:
    """A plausible record date: a real date from 1868-01-01 up to 2199-12-31."""
    require(isinstance(value, dt.date) and not isinstance(value, dt.datetime), field,
            "must be a date", ErrorCode.INVALID_DATE)
    require(EARLIEST_DATE <= value <= dt.date(2199, 12, 31), field,
            "must be between 1868-01-01 and 2199-12-31", ErrorCode.INVALID_DATE)


@message
class PersonName:
    """氏名: ``kanji`` is the name as recorded; ``kana`` its katakana reading."""

    kanji: str
    kana: str | None = None

    def __post_init__(self) -> None:
        require_text(self.kanji, "kanji", max_len=100)
        if self.kana is not None:
            require_text(self.kana, "kana", max_len=200)
            require(bool(_KANA.match(self.kana)), "kana",
                    "must be full-width katakana (with ー, ・ and spaces)")


@message
class Address:
    """住所: ``local_gov_code`` keeps the record; ``text`` is the address as written."""

    local_gov_code: str
    text: str

    def __post_init__(self) -> None:
        validate_local_gov_code(self.local_gov_code)
        require_text(self.text, "text", max_len=200)


class ForeignResidentCategory(StrEnum):
    """The categories of the table of Art. 30-45 (外国人住民の区分)."""

    MID_TO_LONG_TERM_RESIDENT = "midToLongTermResident"        # 中長期在留者
    SPECIAL_PERMANENT_RESIDENT = "specialPermanentResident"    # 特別永住者
    TEMPORARY_REFUGE = "temporaryRefuge"                       # 一時庇護許可者
    PROVISIONAL_STAY = "provisionalStay"                       # 仮滞在許可者
    TRANSITIONAL_BY_BIRTH = "transitionalByBirth"              # 出生による経過滞在者
    TRANSITIONAL_BY_LOSS_OF_NATIONALITY = "transitionalByLossOfNationality"


#: A residence card (在留カード) or special permanent resident certificate (特別永住者証明書)
#: number: two letters, eight digits, two letters (R-30-45-0-02).
_CARD_NUMBER = re.compile(r"[A-Z]{2}[0-9]{8}[A-Z]{2}\Z")

#: Which optional items each category may carry (R-30-45-0-02): for residence status,
#: the period (period_of_stay and period_expiry together) and the card number, one of
#: "required", "allowed" or "absent". A permanent resident (在留資格 永住者), a
#: mid- to long-term resident, has no period of stay.
FOREIGN_ITEMS: dict[ForeignResidentCategory, tuple[str, str, str]] = {
    ForeignResidentCategory.MID_TO_LONG_TERM_RESIDENT: ("required", "allowed", "allowed"),
    ForeignResidentCategory.SPECIAL_PERMANENT_RESIDENT: ("absent", "absent", "allowed"),
    ForeignResidentCategory.TEMPORARY_REFUGE: ("absent", "required", "absent"),
    ForeignResidentCategory.PROVISIONAL_STAY: ("absent", "required", "absent"),
    ForeignResidentCategory.TRANSITIONAL_BY_BIRTH: ("absent", "absent", "absent"),
    ForeignResidentCategory.TRANSITIONAL_BY_LOSS_OF_NATIONALITY: ("absent", "absent", "absent"),
}


def _require_item(present: bool, rule: str, field: str, category: str) -> None:
    if rule == "required":
        require(present, field, f"required for {category}")
    elif rule == "absent":
        require(not present, field, f"not allowed for {category}")


@message
class ForeignResident:
    """A foreign resident's items (外国人住民, Art. 30-45) in place of 戸籍の表示.

    nationality: 国籍等, the country or region as the record writes it.
    foreign_resident_since: 外国人住民となった年月日 (Art. 30-45).
    category: the person's category of the table of Art. 30-45.
    residence_status: 在留資格 (mid- to long-term residents only).
    period_of_stay: 在留期間, or the 上陸期間 / 仮滞在期間 of a permit, as written.
    period_expiry: 在留期間の満了の日, or the last day of the permitted period.
    card_number: 在留カード or 特別永住者証明書 number (never on a wide-area copy).
    """

    nationality: str
    foreign_resident_since: dt.date
    category: ForeignResidentCategory
    residence_status: str | None = None
    period_of_stay: str | None = None
    period_expiry: dt.date | None = None
    card_number: str | None = None

    def __post_init__(self) -> None:
        require_text(self.nationality, "nationality", max_len=64)
        require_date(self.foreign_resident_since, "foreign_resident_since")
        status, period, card = FOREIGN_ITEMS[self.category]
        category = self.category.value
        # R-30-45-0-02: the items of the person's category, and no others.
        _require_item(self.residence_status is not None, status, "residence_status",
                      category)
        require((self.period_of_stay is None) is (self.period_expiry is None),
                "period_expiry", "must be given together with period_of_stay")
        _require_item(self.period_of_stay is not None, period, "period_of_stay", category)
        _require_item(self.card_number is not None, card, "card_number", category)
        if self.residence_status is not None:
            require_text(self.residence_status, "residence_status", max_len=64)
        if self.period_of_stay is not None:
            require_text(self.period_of_stay, "period_of_stay", max_len=32)
        if self.period_expiry is not None:
            require_date(self.period_expiry, "period_expiry")
            require(self.period_expiry >= self.foreign_resident_since, "period_expiry",
                    "must not precede foreign_resident_since", ErrorCode.INVALID_DATE)
        if self.card_number is not None:
            require(isinstance(self.card_number, str)
                    and bool(_CARD_NUMBER.match(self.card_number)), "card_number",
                    "must be two letters, eight digits and two letters")


@message
class ChangeInfo:
    """変更情報: the reason (異動事由) and date (異動年月日) of the last change."""

    change_reason: ChangeReason
    change_date: dt.date

    def __post_init__(self) -> None:
        require(isinstance(self.change_reason, ChangeReason), "change_reason",
                "must be a ChangeReason")
        require_date(self.change_date, "change_date")


@message
class IdentityInfo:
    """本人確認情報 (Art. 30-5): the five items, plus the individual number in the
    ``current`` profile. This is all a prefecture or national node may hold."""

    resident_code: str
    name: PersonName
    birth_date: dt.date
    sex: Sex
    address: Address
    individual_number: str | None = None

    def __post_init__(self) -> None:
        validate_resident_code(self.resident_code)
        require(isinstance(self.sex, Sex), "sex", "must be male or female")
        require_date(self.birth_date, "birth_date")
        if self.individual_number is not None:
            validate_individual_number(self.individual_number)


@message
class PersonRef:
    """A person named in a municipality-to-municipality notice (Arts. 9, 24-2)."""

    resident_code: str
    name: PersonName
    birth_date: dt.date

    def __post_init__(self) -> None:
        validate_resident_code(self.resident_code)
        require_date(self.birth_date, "birth_date")


class NodeRole(StrEnum):
    """The role of a node; the same names as :class:`~juki_protocol.identifiers.Role`."""

    MUNICIPALITY = "municipality"
    PREFECTURE = "prefecture"
    NATIONAL = "national"
    AGENCY = "agency"


@message
class NodeId:
    """A node of the network: its role and code (local gov code, DCnn or AGnnnn)."""

    role: NodeRole
    code: str

    def __post_init__(self) -> None:
        require(isinstance(self.role, NodeRole), "role", "must be a NodeRole")
        validate_node_id(Role(self.role.value), self.code, "node")

    def __str__(self) -> str:
        return f"{self.role.value}:{self.code}"
