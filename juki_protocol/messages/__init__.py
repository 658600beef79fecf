"""Message dataclasses, one module per family, and the registry of top-level types."""

from __future__ import annotations

from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatus,
    CardStatusAnswer,
    CardStatusChange,
    CardStatusNotice,
    CardStatusQuery,
)
from juki_protocol.messages.common import (
    Address,
    ChangeInfo,
    ChangeReason,
    ForeignResident,
    ForeignResidentCategory,
    IdentityInfo,
    NodeId,
    NodeRole,
    PersonName,
    PersonRef,
    Profile,
    Sex,
)
from juki_protocol.messages.designation import CodeDesignation, CodeDesignationRequest
from juki_protocol.messages.family_register import (
    FamilyRegisterEvent,
    FamilyRegisterItems,
    FamilyRegisterNotice,
)
from juki_protocol.messages.identity import IdentityInfoRelay, IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    ErrorReport,
    JukiPdu,
    MessageType,
    PduHeader,
)
from juki_protocol.messages.provision import (
    BodyKind,
    FourItems,
    LegalBasis,
    ProvidedIdentity,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)
from juki_protocol.messages.special_move import (
    FamilyRegister,
    InsuranceStatus,
    MoveInNotice,
    MoveOutCertificate,
    MoveOutCertificateEntry,
    PensionCategory,
    PensionStatus,
    SpecialMoveInNotice,
)
from juki_protocol.messages.wide_area import (
    AddressNotification,
    IdentityCheckMethod,
    Requester,
    ResidentRecordCopy,
    TargetPerson,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
    WideAreaRefusal,
)

#: Every top-level message type by its ASN.1 name, in APPLICATION tag order.
MESSAGE_TYPES: dict[str, type] = {
    "MoveInNotice": MoveInNotice,
    "WideAreaIssuanceRequest": WideAreaIssuanceRequest,
    "WideAreaIssuanceResponse": WideAreaIssuanceResponse,
    "SpecialMoveInNotice": SpecialMoveInNotice,
    "MoveOutCertificate": MoveOutCertificate,
    "IdentityInfoUpdate": IdentityInfoUpdate,
    "IdentityInfoRelay": IdentityInfoRelay,
    "ProvisionRequest": ProvisionRequest,
    "ProvisionResponse": ProvisionResponse,
    "FamilyRegisterNotice": FamilyRegisterNotice,
    "CodeDesignationRequest": CodeDesignationRequest,
    "CodeDesignation": CodeDesignation,
    "CardApplication": CardApplication,
    "CardIssueNotice": CardIssueNotice,
    "CardStatusNotice": CardStatusNotice,
    "CardStatusQuery": CardStatusQuery,
    "Acknowledgement": Acknowledgement,
    "ErrorReport": ErrorReport,
    "CardStatusAnswer": CardStatusAnswer,
    "JukiPdu": JukiPdu,
}

#: The card register's messages (spec/card_register.md): the card of Art. 30-44 in
#: profile 2002, the individual number card in profile current; the register itself
#: is this protocol's design.
_CARD = "Art. 30-44 (the card register: protocol design, spec/card_register.md)"

#: Where each type's rules come from, for `juki types` and the spec.
ARTICLES: dict[str, str] = {
    "MoveInNotice": "Art. 9(1)",
    "WideAreaIssuanceRequest": "Art. 12-2(1)(2)",
    "WideAreaIssuanceResponse": "Art. 12-2(3)",
    "SpecialMoveInNotice": "Art. 24-2(3)",
    "MoveOutCertificate": "Art. 24-2(4)",
    "IdentityInfoUpdate": "Art. 30-5",
    "IdentityInfoRelay": "Art. 30-11",
    "ProvisionRequest": "Arts. 30-7(3)-(6), 30-8, 30-10(1)(iii)-(vi)",
    "ProvisionResponse": "Arts. 30-7(3)-(6), 30-8, 30-10(1)(iii)-(vi)",
    "FamilyRegisterNotice": "Art. 9(2)",
    "CodeDesignationRequest": "Art. 30-7(1) (protocol design: the request)",
    "CodeDesignation": "Art. 30-7(1)(2)",
    "CardApplication": _CARD,
    "CardIssueNotice": _CARD,
    "CardStatusNotice": _CARD,
    "CardStatusQuery": _CARD,
    "CardStatusAnswer": _CARD,
    "Acknowledgement": "protocol (spec/pdu.md)",
    "ErrorReport": "protocol (spec/pdu.md)",
    "JukiPdu": "protocol (spec/pdu.md)",
}

__all__ = [
    "ARTICLES", "MESSAGE_TYPES", "AckStatus", "Acknowledgement", "Address",
    "AddressNotification", "BodyKind", "CardApplication", "CardIssueNotice", "CardStatus",
    "CardStatusAnswer", "CardStatusChange", "CardStatusNotice", "CardStatusQuery",
    "ChangeInfo", "ChangeReason", "CodeDesignation",
    "CodeDesignationRequest", "ErrorReport",
    "FamilyRegister", "FamilyRegisterEvent", "FamilyRegisterItems", "FamilyRegisterNotice",
    "ForeignResident", "ForeignResidentCategory", "FourItems",
    "IdentityCheckMethod", "IdentityInfo",
    "IdentityInfoRelay", "IdentityInfoUpdate", "InsuranceStatus", "JukiPdu",
    "LegalBasis", "MessageType", "MoveInNotice", "MoveOutCertificate",
    "MoveOutCertificateEntry", "NodeId", "NodeRole", "PduHeader", "PensionCategory",
    "PensionStatus", "PersonName", "PersonRef", "Profile", "ProvidedIdentity",
    "ProvisionRefusal", "ProvisionRequest", "ProvisionResponse", "Requester",
    "RequestingBody", "ResidentRecordCopy", "Sex", "SpecialMoveInNotice",
    "TargetPerson", "UpdateOperation", "WideAreaIssuanceRequest",
    "WideAreaIssuanceResponse", "WideAreaRefusal",
]
