"""The PDU, its clear header, acknowledgements and error reports (``spec/asn1/pdu.asn``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from juki_protocol.errors import ErrorCode
from juki_protocol.messages.base import (
    choice,
    message,
    require,
    require_exactly_one,
    require_text,
)
from juki_protocol.messages.common import NodeId, Profile

MAX_SEALED = 16 * 1024 * 1024


class MessageType(StrEnum):
    """The header's message type; its number is the message's APPLICATION tag."""

    MOVE_IN_NOTICE = "moveInNotice"
    WIDE_AREA_ISSUANCE_REQUEST = "wideAreaIssuanceRequest"
    WIDE_AREA_ISSUANCE_RESPONSE = "wideAreaIssuanceResponse"
    SPECIAL_MOVE_IN_NOTICE = "specialMoveInNotice"
    MOVE_OUT_CERTIFICATE = "moveOutCertificate"
    IDENTITY_INFO_UPDATE = "identityInfoUpdate"
    IDENTITY_INFO_RELAY = "identityInfoRelay"
    PROVISION_REQUEST = "provisionRequest"
    PROVISION_RESPONSE = "provisionResponse"
    ACKNOWLEDGEMENT = "acknowledgement"
    ERROR_REPORT = "errorReport"
    FAMILY_REGISTER_NOTICE = "familyRegisterNotice"   # an extension addition (12)
    CODE_DESIGNATION_REQUEST = "codeDesignationRequest"
    CODE_DESIGNATION = "codeDesignation"
    CARD_APPLICATION = "cardApplication"          # spec/card_register.md (16 to 19, 22)
    CARD_ISSUE_NOTICE = "cardIssueNotice"
    CARD_STATUS_NOTICE = "cardStatusNotice"
    CARD_STATUS_QUERY = "cardStatusQuery"
    CARD_STATUS_ANSWER = "cardStatusAnswer"

    @property
    def type_name(self) -> str:
        """The ASN.1 type name (``WideAreaIssuanceRequest``)."""
        return self.value[:1].upper() + self.value[1:]


def _message_id(value: bytes, field: str) -> None:
    require(isinstance(value, bytes) and len(value) == 16, field, "must be 16 octets")


@message
class PduHeader:
    """The clear header of every PDU; its fields are bound by the envelope's signed
    attributes (message id, type, sender, recipient, time)."""

    version: int
    message_id: bytes
    message_type: MessageType
    sender: NodeId
    recipient: NodeId
    time: dt.datetime
    sequence_number: int
    profile: Profile
    correlation_id: bytes | None = None

    def __post_init__(self) -> None:
        require(isinstance(self.version, int) and 1 <= self.version <= 255, "version",
                "must be 1 to 255", ErrorCode.UNSUPPORTED_VERSION)
        _message_id(self.message_id, "message_id")
        if self.correlation_id is not None:
            _message_id(self.correlation_id, "correlation_id")
        require(isinstance(self.time, dt.datetime) and self.time.tzinfo is not None
                and self.time.utcoffset() == dt.timedelta(0), "time",
                "must be a UTC time", ErrorCode.INVALID_DATE)
        require(self.time.microsecond == 0, "time", "must be whole seconds",
                ErrorCode.INVALID_DATE)
        require(isinstance(self.sequence_number, int)
                and 0 <= self.sequence_number < 2**63,
                "sequence_number", "must be 0 to 2**63-1")


class AckStatus(StrEnum):
    """accepted: stored now; duplicate: already stored earlier (idempotent retry)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"


@message
class Acknowledgement:
    """Sent only after the acknowledged message is durably stored."""

    acknowledged_id: bytes
    status: AckStatus

    def __post_init__(self) -> None:
        _message_id(self.acknowledged_id, "acknowledged_id")


@message
class ErrorReport:
    """A refusal with a registered code (spec/errors.md); detail never holds personal
    data."""

    error_code: int
    refers_to: bytes | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        require(isinstance(self.error_code, int) and 1000 <= self.error_code <= 9999,
                "error_code", "must be a registered code, 1000 to 9999")
        if self.refers_to is not None:
            _message_id(self.refers_to, "refers_to")
        if self.detail is not None:
            require_text(self.detail, "detail", max_len=256)


_BODY_TYPES = {
    "acknowledgement": MessageType.ACKNOWLEDGEMENT,
    "error_report": MessageType.ERROR_REPORT,
}


@message
class JukiPdu:
    """One frame's content: the header and exactly one body.

    sealed: the CMS envelope around the message named by ``header.message_type``;
    acknowledgement / error_report: sent in the clear, protected by mutual TLS.
    """

    header: PduHeader
    sealed: bytes | None = choice("body")
    acknowledgement: Acknowledgement | None = choice("body")
    error_report: ErrorReport | None = choice("body")

    def __post_init__(self) -> None:
        require_exactly_one(self, ("sealed", "acknowledgement", "error_report"), "body")
        mtype = self.header.message_type
        for name, expected in _BODY_TYPES.items():
            if getattr(self, name) is not None:
                require(mtype is expected, "header.message_type",
                        f"must be {expected.value} for a {name} body")
        if self.sealed is not None:
            require(mtype not in _BODY_TYPES.values(), "header.message_type",
                    "a sealed body carries a statutory message type")
            require(0 < len(self.sealed) <= MAX_SEALED, "sealed",
                    "must be 1 octet to 16 MiB")
