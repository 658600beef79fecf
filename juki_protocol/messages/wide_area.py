"""Wide-area issuance (住民票の写しの広域交付), Art. 12-2 (``spec/asn1/wide_area.asn``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import validate_municipality_code, validate_resident_code
from juki_protocol.messages.base import (
    choice,
    message,
    require,
    require_exactly_one,
    require_text,
    require_unique,
)
from juki_protocol.messages.common import Address, ForeignResident, PersonName, Sex, require_date


class IdentityCheckMethod(StrEnum):
    """How the applicant was confirmed at the issuing municipality's counter."""

    RESIDENT_CARD_WITH_PIN = "residentCardWithPin"
    RESIDENT_CARD_WITH_PHOTO = "residentCardWithPhoto"
    INDIVIDUAL_NUMBER_CARD = "individualNumberCard"
    PHOTO_ID_DOCUMENT = "photoIdDocument"


@message
class Requester:
    """The applicant (Art. 12-2(1)): the person or a member of the same household."""

    name: PersonName
    birth_date: dt.date
    address: Address
    identity_check: IdentityCheckMethod
    resident_code: str | None = None

    def __post_init__(self) -> None:
        require_date(self.birth_date, "birth_date")
        if self.resident_code is not None:
            validate_resident_code(self.resident_code)


@message
class TargetPerson:
    """A person whose record copy is requested (self or same household)."""

    name: PersonName
    birth_date: dt.date
    resident_code: str | None = None

    def __post_init__(self) -> None:
        require_date(self.birth_date, "birth_date")
        if self.resident_code is not None:
            validate_resident_code(self.resident_code)


@message
class WideAreaIssuanceRequest:
    """Art. 12-2(1)(2): issuing municipality -> residence municipality.

    issuing_municipality: where the copy is applied for (交付地市町村).
    residence_municipality: where the applicant is recorded (住所地市町村), Art. 12-2(1).
    requester: the applicant and how the counter confirmed them.
    targets: the persons whose copies are requested (1 to 20).
    include_relationship / include_resident_code: the optional items of Art. 12-2(3).
    """

    issuing_municipality: str
    residence_municipality: str
    requester: Requester
    targets: tuple[TargetPerson, ...]
    include_relationship: bool = False
    include_resident_code: bool = False

    def __post_init__(self) -> None:
        validate_municipality_code(self.issuing_municipality, "issuing_municipality")
        validate_municipality_code(self.residence_municipality, "residence_municipality")
        require(self.issuing_municipality != self.residence_municipality,
                "issuing_municipality", "Art. 12-2(1): must differ from the residence "
                "municipality")
        require(self.requester.address.local_gov_code == self.residence_municipality,
                "requester.address.local_gov_code", "must be the residence municipality")
        require(1 <= len(self.targets) <= 20, "targets", "must list 1 to 20 persons")
        require_unique(((t.name, t.birth_date) for t in self.targets), "targets")


@message
class AddressNotification:
    """住所を定めた旨の届出の年月日及び従前の住所 (item 7 of Art. 12-2(3))."""

    notification_date: dt.date
    previous_address: Address | None = None

    def __post_init__(self) -> None:
        require_date(self.notification_date, "notification_date")


@message
class ResidentRecordCopy:
    """The at most 8 items of Art. 12-2(3); the family register has no field.

    relationship (続柄) and resident_code are present only when requested.
    foreign_resident: a foreign resident's items of Art. 30-45, without the card
    number; resident_since is then 外国人住民となった年月日 (R-30-45-0-03).
    """

    name: PersonName
    birth_date: dt.date
    sex: Sex
    resident_since: dt.date
    address: Address
    address_notification: AddressNotification
    relationship: str | None = None
    resident_code: str | None = None
    foreign_resident: ForeignResident | None = None

    def __post_init__(self) -> None:
        require_date(self.birth_date, "birth_date")
        require_date(self.resident_since, "resident_since")
        if self.foreign_resident is not None:
            # R-30-45-0-03: the copy's date is 外国人住民となった年月日, and the card
            # number never leaves the residence municipality on a copy.
            require(self.foreign_resident.foreign_resident_since == self.resident_since,
                    "foreign_resident.foreign_resident_since",
                    "must equal resident_since")
            require(self.foreign_resident.card_number is None,
                    "foreign_resident.card_number", "not allowed on a wide-area copy")
        require(self.resident_since >= self.birth_date, "resident_since",
                "must not precede birth_date", ErrorCode.INVALID_DATE)
        if self.relationship is not None:
            require_text(self.relationship, "relationship", max_len=32)
        if self.resident_code is not None:
            validate_resident_code(self.resident_code)


class WideAreaRefusal(StrEnum):
    """Why the residence municipality refuses (Art. 12-2(3))."""

    NO_SUCH_RECORD = "noSuchRecord"
    MOVED_OUT = "movedOut"
    DECEASED = "deceased"
    NOT_SAME_HOUSEHOLD = "notSameHousehold"
    RESTRICTED = "restricted"

    @property
    def error_code(self) -> ErrorCode:
        return {
            "noSuchRecord": ErrorCode.NO_SUCH_RESIDENT,
            "movedOut": ErrorCode.RECORD_MOVED_OUT,
            "deceased": ErrorCode.RECORD_DECEASED,
            "notSameHousehold": ErrorCode.NOT_SAME_HOUSEHOLD,
            "restricted": ErrorCode.RECORD_RESTRICTED,
        }[self.value]


@message
class WideAreaIssuanceResponse:
    """Art. 12-2(3): residence municipality -> issuing municipality.

    Exactly one of ``copies`` (one per target, in request order) or ``refusal``.
    """

    residence_municipality: str
    issuing_municipality: str
    copies: tuple[ResidentRecordCopy, ...] | None = choice("outcome")
    refusal: WideAreaRefusal | None = choice("outcome")

    def __post_init__(self) -> None:
        validate_municipality_code(self.residence_municipality, "residence_municipality")
        validate_municipality_code(self.issuing_municipality, "issuing_municipality")
        require_exactly_one(self, ("copies", "refusal"), "outcome")
        if self.copies is not None:
            require(1 <= len(self.copies) <= 20, "copies", "must hold 1 to 20 copies")
            for i, copy in enumerate(self.copies):
                # R-12-2-3-05: the copy is of a record kept by the residence municipality.
                require(copy.address.local_gov_code == self.residence_municipality,
                        f"copies[{i}].address.local_gov_code",
                        "must be the residence municipality")
