"""Notice of family register entries (戸籍の記載等の通知), Art. 9(2)
(``spec/asn1/family_register.asn``, ``spec/family_register.md``).

The municipality that keeps a person's family register (本籍地) tells the municipality
of their address (住所地) what to record, erase or change in the person's resident
record after an entry in the family register. Which items each event carries is this
protocol's design (:data:`EVENT_ITEMS`, R-9-2-02), not the Act's text.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import validate_municipality_code, validate_resident_code
from juki_protocol.messages.base import message, require, require_text
from juki_protocol.messages.common import PersonName, PersonRef, Sex, require_date
from juki_protocol.messages.special_move import FamilyRegister


class FamilyRegisterEvent(StrEnum):
    """The entry in the family register that the notice reports (戸籍の記載の事由)."""

    BIRTH = "birth"                                # 出生
    DEATH = "death"                                # 死亡
    MARRIAGE = "marriage"                          # 婚姻
    DIVORCE = "divorce"                            # 離婚
    ADOPTION = "adoption"                          # 養子縁組
    ADOPTION_DISSOLUTION = "adoptionDissolution"   # 離縁
    NAME_CHANGE = "nameChange"                     # 氏の変更, 名の変更
    SEX_CHANGE = "sexChange"                       # 性別の取扱いの変更
    DOMICILE_CHANGE = "domicileChange"             # 転籍
    CORRECTION = "correction"                      # 戸籍訂正


#: The items of :class:`FamilyRegisterItems`, in their order.
ITEMS = ("name", "birth_date", "sex", "relationship", "family_register")

_R, _A, _X = "required", "allowed", "absent"
_FAMILY = (_A, _X, _X, _A, _A)
#: R-9-2-02: which items each event carries ("required", "allowed" or "absent", in the
#: order of :data:`ITEMS`), and whether it must carry at least one.
EVENT_ITEMS: dict[FamilyRegisterEvent, tuple[tuple[str, ...], bool]] = {
    FamilyRegisterEvent.BIRTH: ((_R, _R, _R, _R, _R), True),
    FamilyRegisterEvent.DEATH: ((_X, _X, _X, _X, _X), False),
    FamilyRegisterEvent.MARRIAGE: (_FAMILY, True),
    FamilyRegisterEvent.DIVORCE: (_FAMILY, True),
    FamilyRegisterEvent.ADOPTION: (_FAMILY, True),
    FamilyRegisterEvent.ADOPTION_DISSOLUTION: (_FAMILY, True),
    FamilyRegisterEvent.NAME_CHANGE: ((_R, _X, _X, _X, _A), True),
    FamilyRegisterEvent.SEX_CHANGE: ((_A, _X, _R, _A, _A), True),
    FamilyRegisterEvent.DOMICILE_CHANGE: ((_X, _X, _X, _X, _R), True),
    FamilyRegisterEvent.CORRECTION: ((_A, _A, _A, _A, _A), True),
}


@message
class FamilyRegisterItems:
    """The items of the resident record that derive from the family register, as they
    are after the entry (Art. 7(1) to (5)); an absent item is not changed.

    name: 氏名 (Art. 7(1)); birth_date: 出生の年月日 (7(2)); sex: 男女の別 (7(3));
    relationship: 世帯主との続柄 (7(4)); family_register: 戸籍の表示, 本籍 and 筆頭者 (7(5)).
    """

    name: PersonName | None = None
    birth_date: dt.date | None = None
    sex: Sex | None = None
    relationship: str | None = None
    family_register: FamilyRegister | None = None

    def __post_init__(self) -> None:
        if self.birth_date is not None:
            require_date(self.birth_date, "birth_date")
        if self.sex is not None:
            require(isinstance(self.sex, Sex), "sex", "must be male or female")
        if self.relationship is not None:
            require_text(self.relationship, "relationship", max_len=32)

    def given(self) -> tuple[str, ...]:
        """The names of the items present, in the order of :data:`ITEMS`."""
        return tuple(n for n in ITEMS if getattr(self, n) is not None)


@message
class FamilyRegisterNotice:
    """Art. 9(2): register municipality (本籍地) -> residence municipality (住所地).

    register_municipality: the municipality of the family register, the header sender;
    residence_municipality: the person's, the header recipient (R-PDU-21).
    event: the entry made; event_date: the day it took effect (the change date of the
    resident record, 異動年月日); entry_date: the day the notification was accepted or
    the entry made ex officio, not before event_date.
    person: the resident as the residence municipality records them (absent for a
    birth); household: for a birth, the resident code of a member of the household the
    child joins. items: the record's items after the entry (:data:`EVENT_ITEMS`).
    """

    register_municipality: str
    residence_municipality: str
    event: FamilyRegisterEvent
    event_date: dt.date
    entry_date: dt.date
    person: PersonRef | None = None
    household: str | None = None
    items: FamilyRegisterItems

    def __post_init__(self) -> None:
        validate_municipality_code(self.register_municipality, "register_municipality")
        validate_municipality_code(self.residence_municipality, "residence_municipality")
        require(self.register_municipality != self.residence_municipality,
                "residence_municipality", "must differ from register_municipality (a "
                "municipality records its own residents' entries itself)")
        require(isinstance(self.event, FamilyRegisterEvent), "event",
                "must be a FamilyRegisterEvent")
        require_date(self.event_date, "event_date")
        require_date(self.entry_date, "entry_date")
        require(self.event_date <= self.entry_date, "entry_date",
                "must not precede event_date", ErrorCode.INVALID_DATE)
        birth = self.event is FamilyRegisterEvent.BIRTH
        # R-9-2-02: a birth names the household and no person; every other event the
        # person and no household.
        require((self.person is None) is birth, "person",
                "must be absent for a birth and given for any other event")
        require((self.household is None) is not birth, "household",
                "must be given for a birth and absent for any other event")
        if self.household is not None:
            validate_resident_code(self.household, "household")
        rules, at_least_one = EVENT_ITEMS[self.event]
        given = self.items.given()
        for name, rule in zip(ITEMS, rules, strict=True):
            present = name in given
            if rule == _R:
                require(present, f"items.{name}", f"required for {self.event.value}")
            elif rule == _X:
                require(not present, f"items.{name}", f"not allowed for {self.event.value}")
        require(bool(given) or not at_least_one, "items",
                f"must carry at least one item for {self.event.value}")
        items = self.items
        if birth:
            require(items.birth_date == self.event_date, "items.birth_date",
                    "must be event_date for a birth", ErrorCode.INVALID_DATE)
        elif items.birth_date is not None:
            require(items.birth_date <= self.entry_date, "items.birth_date",
                    "must not be after entry_date", ErrorCode.INVALID_DATE)
        if self.person is not None and self.event is not FamilyRegisterEvent.CORRECTION:
            require(self.person.birth_date <= self.event_date, "event_date",
                    "must not precede person.birth_date", ErrorCode.INVALID_DATE)


__all__ = ["EVENT_ITEMS", "ITEMS", "FamilyRegisterEvent", "FamilyRegisterItems",
           "FamilyRegisterNotice"]
