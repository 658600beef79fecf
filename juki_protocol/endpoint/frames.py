"""Frames of the wire: headers with their numbering, answers and sealed messages.

Everything here is a pure function of its arguments (and of :class:`Numbering`'s
counters): no sockets, no clocks. The endpoint (:mod:`juki_protocol.endpoint.endpoint`)
builds every PDU it sends with these, and so can a lower tester or a capture tool
that needs PDUs as a node would write them.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from juki_protocol.codec import codec
from juki_protocol.codec.schema import decode_raw
from juki_protocol.envelope.envelope import seal
from juki_protocol.envelope.pki import Credential
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.common import random_ids
from juki_protocol.messages.common import NodeId, Profile
from juki_protocol.messages.pdu import (
    Acknowledgement,
    ErrorReport,
    JukiPdu,
    MessageType,
    PduHeader,
)

#: The protocol version this endpoint speaks (spec/pdu.md section 2).
PROTOCOL_VERSION = 1


def result_text(code: ErrorCode | int) -> str:
    """An error code as the audit log writes it: number and name."""
    try:
        return f"{int(code)} {ErrorCode(int(code)).name}"
    except ValueError:
        return str(int(code))


def message_type_of(message: object) -> MessageType:
    """The header's message type of a statutory message."""
    name = codec.type_name_of(message)
    return MessageType(name[:1].lower() + name[1:])


class Numbering:
    """The header numbers of one sending node: ``sequenceNumber`` counts, per
    recipient, every PDU sent to it, from 0 (spec/pdu.md section 3)."""

    def __init__(self, local: NodeId, profile: Profile) -> None:
        self.local = local
        self.profile = profile
        self._next: dict[str, int] = {}

    def header(self, mtype: MessageType, recipient: NodeId, now: dt.datetime,
               message_id: bytes, correlation_id: bytes | None = None) -> PduHeader:
        """The next header to ``recipient`` (its number taken now)."""
        seq = self._next.get(recipient.code, 0)
        self._next[recipient.code] = seq + 1
        return PduHeader(version=PROTOCOL_VERSION, message_id=message_id,
                         message_type=mtype, sender=self.local, recipient=recipient,
                         time=now.replace(microsecond=0), sequence_number=seq,
                         profile=self.profile, correlation_id=correlation_id)

    def answer(self, recipient: NodeId, answer: Acknowledgement | ErrorReport,
               now: dt.datetime, message_id: bytes | None = None) -> bytes:
        """The DER of a PDU carrying an acknowledgement or an error report."""
        if isinstance(answer, Acknowledgement):
            header = self.header(MessageType.ACKNOWLEDGEMENT, recipient, now,
                                 message_id or random_ids())
            pdu = JukiPdu(header=header, acknowledgement=answer)
        else:
            header = self.header(MessageType.ERROR_REPORT, recipient, now,
                                 message_id or random_ids())
            pdu = JukiPdu(header=header, error_report=answer)
        return codec.encode(pdu, profile=None)

    def sealed(self, message: object, recipient: NodeId, recipient_cert: x509.Certificate,
               credential: Credential, now: dt.datetime, message_id: bytes,
               correlation_id: bytes | None = None, der: bytes | None = None) -> bytes:
        """The DER of a PDU carrying ``message`` (encoded in this profile, unless its
        ``der`` is given) sealed for ``recipient_cert`` (spec/envelope.md), signed with
        ``credential``."""
        der = codec.encode(message, profile=self.profile) if der is None else der
        header = self.header(message_type_of(message), recipient, now, message_id,
                             correlation_id)
        sealed = seal(header, der, credential.key, credential.certificate,
                      recipient_cert, now)
        return codec.encode(JukiPdu(header=header, sealed=sealed), profile=None)


def peek(frame: bytes) -> tuple[bytes | None, str, str]:
    """(message id, message type, body kind) of a frame read only as far as the schema,
    without the checks of a full decode: for a PDU that failed one, or that is shed
    before any; the id is None and the others "" where they cannot be read."""
    try:
        value = decode_raw("JukiPdu", frame).value
        header = value["header"]
        mid = header["messageId"]
    except (JukiError, KeyError, TypeError):
        return None, "", ""
    body = value.get("body")
    kind = str(body[0]) if isinstance(body, tuple) and body else ""
    ok = isinstance(mid, (bytes, bytearray)) and len(mid) == 16
    return (bytes(mid) if ok else None), str(header.get("messageType", "")), kind


def peek_version(frame: bytes) -> int | None:
    """The header's version of a PDU that failed a later check, if it is readable."""
    try:
        version = decode_raw("JukiPdu", frame).value["header"]["version"]
    except (JukiError, KeyError, TypeError):
        return None
    return version if isinstance(version, int) else None


__all__ = ["PROTOCOL_VERSION", "Numbering", "message_type_of", "peek", "peek_version",
           "result_text"]
