"""The card register at the designated centre (``spec/asn1/card.asn``,
``spec/card_register.md``).

A municipality issues a card (profile ``2002``: the resident card, 住民基本台帳カード, of
Art. 30-44 in the seeds' numbering, issued until December 2015; profile ``current``:
the individual number card, 個人番号カード, issued since January 2016) and tells the
designated centre (the ``national`` role) of its application, its handover and every
change of its state; a municipality where a card is presented asks the centre whether
it may be used. The register holds per card only its serial, the holder's resident
code, the issuing municipality, its state and the end of its validity: the centre holds
identity info only (DESIGN.md section 3), and these messages carry nothing else.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import (
    is_prefecture_code,
    local_gov_code_check_digit,
    validate_municipality_code,
    validate_resident_code,
)
from juki_protocol.messages.base import message, require
from juki_protocol.messages.common import require_date

#: The form of a card serial: the issuing municipality's code, a hyphen, 6 to 13 digits.
SERIAL = re.compile(r"(?P<municipality>[0-9]{6})-[0-9]{6,13}\Z")
#: R-TIME-06 (spec/deadlines.md): the longest validity of a card, ten years and the
#: days of the leap years in between.
MAX_VALIDITY = dt.timedelta(days=3653)


class CardStatusChange(StrEnum):
    """A change of a card's state that the issuing municipality reports."""

    SUSPENDED = "suspended"    # 一時停止: reported lost or stolen; may be resumed
    RESUMED = "resumed"        # 一時停止の解除: the card was found
    LOST = "lost"              # 紛失届: final; the card is never used again
    REVOKED = "revoked"        # 廃止, 返納: the municipality ended the card


class CardStatus(StrEnum):
    """A card's state in the centre's register, as the centre answers a query."""

    VALID = "valid"
    SUSPENDED = "suspended"
    LOST = "lost"
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"        # no card handed over under that serial for that code


def serial_municipality(serial: str) -> str | None:
    """The issuing municipality a serial names, or None if it is not of the form."""
    found = SERIAL.match(serial) if isinstance(serial, str) else None
    return None if found is None else found.group("municipality")


def validate_serial(serial: object, field: str = "card_serial",
                    municipality: str | None = None) -> str:
    """Raise 1024 INVALID_FIELD unless ``serial`` has the form of :data:`SERIAL`, names a
    municipality (R-ID-10) and, when ``municipality`` is given, that one."""
    prefix = serial_municipality(serial) if isinstance(serial, str) else None
    require(prefix is not None, field,
            "must be the issuing municipality's code, a hyphen and 6 to 13 digits")
    assert prefix is not None and isinstance(serial, str)
    # The prefix must be a municipality's valid code (R-ID-10): 1024 for any other.
    require(local_gov_code_check_digit(prefix[:5]) == int(prefix[5])
            and 1 <= int(prefix[:2]) <= 47 and not is_prefecture_code(prefix), field,
            "must begin with a municipality's local government code")
    if municipality is not None:
        require(prefix == municipality, field, "must begin with the issuing "
                "municipality's code (spec/card_register.md section 2)")
    return serial


def _date(value: dt.date, field: str) -> None:
    require_date(value, field)


@message
class CardApplication:
    """An application for a card, registered with the centre before the card is issued
    (this protocol's design, spec/card_register.md R-CARDREG-01).

    municipality: the issuing municipality, the header sender; card_serial: the serial
    it gives the card (its own code first); resident_code: the applicant's;
    application_date: the day the application was filed.
    """

    municipality: str
    card_serial: str
    resident_code: str
    application_date: dt.date

    def __post_init__(self) -> None:
        validate_municipality_code(self.municipality, "municipality")
        validate_serial(self.card_serial, "card_serial", self.municipality)
        validate_resident_code(self.resident_code, "resident_code")
        _date(self.application_date, "application_date")


@message
class CardIssueNotice:
    """The card was handed over to its holder (Art. 30-44 in profile ``2002``; the
    individual number card in profile ``current``).

    municipality: the issuing municipality, the header sender; card_serial,
    resident_code: as applied for; issue_date: the day of handover; valid_until: the
    last day of validity, after issue_date and at most ten years on (R-TIME-06).
    """

    municipality: str
    card_serial: str
    resident_code: str
    issue_date: dt.date
    valid_until: dt.date

    def __post_init__(self) -> None:
        validate_municipality_code(self.municipality, "municipality")
        validate_serial(self.card_serial, "card_serial", self.municipality)
        validate_resident_code(self.resident_code, "resident_code")
        _date(self.issue_date, "issue_date")
        _date(self.valid_until, "valid_until")
        require(self.issue_date < self.valid_until <= self.issue_date + MAX_VALIDITY,
                "valid_until", "must be after issue_date and at most ten years on "
                "(R-TIME-06)", ErrorCode.INVALID_DATE)


@message
class CardStatusNotice:
    """A change of a card's state, told by the issuing municipality to the centre.

    municipality: the issuing municipality, the header sender; card_serial,
    resident_code: the card and its holder; change: what happened; change_date: when.
    """

    municipality: str
    card_serial: str
    resident_code: str
    change: CardStatusChange
    change_date: dt.date

    def __post_init__(self) -> None:
        validate_municipality_code(self.municipality, "municipality")
        validate_serial(self.card_serial, "card_serial", self.municipality)
        validate_resident_code(self.resident_code, "resident_code")
        require(isinstance(self.change, CardStatusChange), "change",
                "must be a CardStatusChange")
        _date(self.change_date, "change_date")


@message
class CardStatusQuery:
    """A municipality where a card is presented asks the centre whether it may be used.

    municipality: the asking municipality, the header sender (any municipality, the
    issuing one included); card_serial: read from the card; resident_code: the code
    the card holds (read after the holder's PIN).
    """

    municipality: str
    card_serial: str
    resident_code: str

    def __post_init__(self) -> None:
        validate_municipality_code(self.municipality, "municipality")
        validate_serial(self.card_serial, "card_serial")
        validate_resident_code(self.resident_code, "resident_code")


@message
class CardStatusAnswer:
    """The centre's answer to a :class:`CardStatusQuery` (correlationId: the query).

    card_serial: as asked; status: the card's state in the register;
    issuing_municipality and valid_until: the register's, absent exactly when the
    status is ``unknown`` (the centre tells nothing of a card it does not hold).
    """

    card_serial: str
    status: CardStatus
    issuing_municipality: str | None = None
    valid_until: dt.date | None = None

    def __post_init__(self) -> None:
        validate_serial(self.card_serial, "card_serial")
        require(isinstance(self.status, CardStatus), "status", "must be a CardStatus")
        unknown = self.status is CardStatus.UNKNOWN
        require((self.issuing_municipality is None) is unknown, "issuing_municipality",
                "must be absent exactly when the status is unknown")
        require((self.valid_until is None) is unknown, "valid_until",
                "must be absent exactly when the status is unknown")
        if self.issuing_municipality is not None:
            validate_serial(self.card_serial, "card_serial", self.issuing_municipality)
        if self.valid_until is not None:
            _date(self.valid_until, "valid_until")


#: The message types of this module (for the registries and the vectors).
CARD_TYPES = ("CardApplication", "CardIssueNotice", "CardStatusNotice",
              "CardStatusQuery", "CardStatusAnswer")

__all__ = ["CARD_TYPES", "MAX_VALIDITY", "SERIAL", "CardApplication", "CardIssueNotice",
           "CardStatus", "CardStatusAnswer", "CardStatusChange", "CardStatusNotice",
           "CardStatusQuery", "serial_municipality", "validate_serial"]
