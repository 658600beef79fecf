"""Which roles may send each sealed message type to which roles (DESIGN.md section 3).

A sealed message is accepted only from a sender whose certificate names the header's
sender, on a route of :data:`ROUTES` (CERT_SENDER_MISMATCH, CERT_ROLE_NOT_ALLOWED).
:mod:`juki_protocol.envelope.pki` validates the certificate and re-exports these names;
:mod:`juki_protocol.envelope.envelope` checks them when sealing and opening.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from juki_protocol.errors import ErrorCode, SecurityError
from juki_protocol.messages.common import NodeId, NodeRole
from juki_protocol.messages.pdu import MessageType

_M, _P, _N, _A = NodeRole.MUNICIPALITY, NodeRole.PREFECTURE, NodeRole.NATIONAL, NodeRole.AGENCY


@dataclass(frozen=True, slots=True)
class Route:
    """Which roles may send a message type to which roles, and the article."""

    senders: frozenset[NodeRole]
    recipients: frozenset[NodeRole]
    article: str


#: DESIGN.md section 3. Acknowledgements and error reports are never sealed.
ROUTES: Mapping[MessageType, Route] = {
    MessageType.MOVE_IN_NOTICE: Route(frozenset({_M}), frozenset({_M}), "Art. 9(1)"),
    MessageType.WIDE_AREA_ISSUANCE_REQUEST: Route(frozenset({_M}), frozenset({_M}),
                                                  "Art. 12-2(1)(2)"),
    MessageType.WIDE_AREA_ISSUANCE_RESPONSE: Route(frozenset({_M}), frozenset({_M}),
                                                   "Art. 12-2(3)"),
    MessageType.SPECIAL_MOVE_IN_NOTICE: Route(frozenset({_M}), frozenset({_M}),
                                              "Art. 24-2(3)"),
    MessageType.MOVE_OUT_CERTIFICATE: Route(frozenset({_M}), frozenset({_M}),
                                            "Art. 24-2(4)"),
    MessageType.FAMILY_REGISTER_NOTICE: Route(frozenset({_M}), frozenset({_M}), "Art. 9(2)"),
    MessageType.CODE_DESIGNATION_REQUEST: Route(frozenset({_M}), frozenset({_P}),
                                                "Art. 30-7(1)"),
    MessageType.CODE_DESIGNATION: Route(frozenset({_P}), frozenset({_M}), "Art. 30-7(1)"),
    # spec/card_register.md: municipality and centre directly, as provision goes; the
    # prefecture keeps no card register and relays none of it.
    MessageType.CARD_APPLICATION: Route(frozenset({_M}), frozenset({_N}), "Art. 30-44"),
    MessageType.CARD_ISSUE_NOTICE: Route(frozenset({_M}), frozenset({_N}), "Art. 30-44"),
    MessageType.CARD_STATUS_NOTICE: Route(frozenset({_M}), frozenset({_N}), "Art. 30-44"),
    MessageType.CARD_STATUS_QUERY: Route(frozenset({_M}), frozenset({_N}), "Art. 30-44"),
    MessageType.CARD_STATUS_ANSWER: Route(frozenset({_N}), frozenset({_M}), "Art. 30-44"),
    MessageType.IDENTITY_INFO_UPDATE: Route(frozenset({_M}), frozenset({_P}), "Art. 30-5"),
    MessageType.IDENTITY_INFO_RELAY: Route(frozenset({_P}), frozenset({_N}), "Art. 30-11"),
    MessageType.PROVISION_REQUEST: Route(frozenset({_A, _M, _P}), frozenset({_P, _N}),
                                         "Arts. 30-7(3)-(6), 30-10(1)(iii)-(vi)"),
    MessageType.PROVISION_RESPONSE: Route(frozenset({_P, _N}), frozenset({_A, _M, _P}),
                                          "Arts. 30-7(3)-(6), 30-10(1)(iii)-(vi)"),
}


def check_route(message_type: MessageType, sender: NodeId, recipient: NodeId) -> None:
    """Raise CERT_ROLE_NOT_ALLOWED unless ``sender``'s role may send ``message_type``
    to ``recipient``'s role (:data:`ROUTES`)."""
    route = ROUTES.get(message_type)
    if route is None:
        raise SecurityError(f"{message_type.value} is never sealed",
                            code=ErrorCode.CERT_ROLE_NOT_ALLOWED)
    if sender.role not in route.senders:
        raise SecurityError(f"{route.article}: role {sender.role.value} may not send "
                            f"{message_type.value}", code=ErrorCode.CERT_ROLE_NOT_ALLOWED)
    if recipient.role not in route.recipients:
        raise SecurityError(f"{route.article}: {message_type.value} may not be sent to role "
                            f"{recipient.role.value}", code=ErrorCode.CERT_ROLE_NOT_ALLOWED)


def check_sender(node: NodeId, *, sender: NodeId, recipient: NodeId,
                 message_type: MessageType) -> None:
    """Raise CERT_SENDER_MISMATCH unless the certificate's ``node`` is the claimed
    ``sender``, then CERT_ROLE_NOT_ALLOWED unless :func:`check_route` allows it."""
    if node != sender:
        raise SecurityError(f"the certificate names {node}, the sender is {sender}",
                            code=ErrorCode.CERT_SENDER_MISMATCH)
    check_route(message_type, node, recipient)


__all__ = ["ROUTES", "Route", "check_route", "check_sender"]
