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
