"""Errors and the registry of wire error codes.

Every failure in the protocol raises a subclass of :class:`JukiError` that carries an
:class:`ErrorCode`. The codes are banded (see ``spec/errors.md``, generated from
:data:`REGISTRY` by ``juki spec generate``):

* 1xxx framing and decoding: the bytes or values are not a valid message;
* 2xxx security: envelope, certificate, signature, time and replay checks;
* 3xxx routing and authorisation: the message is valid but not for this node or body;
* 4xxx state: the message is valid but not in this state of the flow;
* 5xxx business: the statutory rules refuse the request;
* 9xxx internal: the node failed, not the peer.

A failed check raises; it never returns ``False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ErrorCode(IntEnum):
    """Registered wire error codes (``ErrorReport.errorCode``)."""

    # 1xxx framing and decoding
    FRAME_TOO_LARGE = 1001
    FRAME_TRUNCATED = 1002
    DER_MALFORMED = 1010
    DER_NON_CANONICAL = 1011
    DER_TRAILING_DATA = 1012
    DER_UNEXPECTED_TAG = 1013
    DER_TOO_DEEP = 1014
    CONSTRAINT_VIOLATION = 1015
    UNSUPPORTED_VERSION = 1016
    INVALID_RESIDENT_CODE = 1020
    INVALID_LOCAL_GOV_CODE = 1021
    INVALID_INDIVIDUAL_NUMBER = 1022
    INVALID_DATE = 1023
    INVALID_FIELD = 1024
    PROFILE_VIOLATION = 1025
    INVALID_NODE_ID = 1026
    INVALID_JSON = 1030
    UNKNOWN_MESSAGE_TYPE = 1031
    NOT_OFFERED = 1032

    # 2xxx security
    ENVELOPE_INVALID = 2001
    DECRYPTION_FAILED = 2002
    SIGNATURE_INVALID = 2003
    HEADER_BINDING_MISMATCH = 2004
    ALGORITHM_UNSUPPORTED = 2005
    NO_MATCHING_RECIPIENT = 2006
    ENVELOPE_MALFORMED = 2007
    CERT_UNTRUSTED = 2010
    CERT_EXPIRED = 2011
    CERT_REVOKED = 2012
    CERT_KEY_USAGE = 2013
    CERT_ROLE_NOT_ALLOWED = 2014
    CERT_SENDER_MISMATCH = 2015
    CERT_NOT_YET_VALID = 2016
    CERT_INVALID = 2017
    CRL_INVALID = 2018
    STALE_TIME = 2020
    REPLAY = 2021

    # 3xxx routing and authorisation
    UNKNOWN_RECIPIENT = 3001
    WRONG_RECIPIENT = 3002
    ROLE_NOT_ALLOWED = 3003
    UNKNOWN_BODY = 3010
    PURPOSE_NOT_ALLOWED = 3011
    LEGAL_BASIS_MISMATCH = 3012
    OPERATOR_UNAUTHENTICATED = 3020
    OPERATOR_THROTTLED = 3021
    OPERATOR_SESSION_REQUIRED = 3022
    OPERATOR_ROLE_NOT_ALLOWED = 3023
    OPERATOR_CREDENTIAL_REFUSED = 3024
    PROVISION_SUSPENDED = 3030

    # 4xxx state
    UNEXPECTED_MESSAGE = 4001
    UNKNOWN_CORRELATION = 4002
    DUPLICATE_MESSAGE = 4003
    OUT_OF_ORDER = 4004
    FLOW_TIMED_OUT = 4005
    FLOW_CANCELLED = 4006
    CARD_LOCKED = 4010
    CARD_SUSPENDED = 4011
    CARD_NOT_ACTIVE = 4012
    OPERATOR_LOCKED = 4013
    CARD_LOST = 4014

    # 5xxx business
    NO_SUCH_RESIDENT = 5001
    RECORD_MOVED_OUT = 5002
    RECORD_DECEASED = 5003
    NOT_SAME_HOUSEHOLD = 5004
    RECORD_RESTRICTED = 5005
    DATA_MINIMISATION = 5010
    RETENTION_EXPIRED = 5011
    DEADLINE_PASSED = 5020
    RESIDENT_CODE_RETIRED = 5021
    IDENTITY_CHECK_FAILED = 5022
    FOREIGN_RESIDENT_NO_FAMILY_REGISTER = 5025
    ALREADY_RECORDED = 5026
    RESIDENT_CODE_NOT_DESIGNATED = 5023
    CODE_POOL_EXHAUSTED = 5024
    CARD_ALREADY_ISSUED = 5027

    # 9xxx internal
    INTERNAL_ERROR = 9001
    OVERLOADED = 9002
    STORAGE_FAILURE = 9003


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What a registered code means and when a node sends it."""

    meaning: str
    sent_when: str


_C = CodeInfo
REGISTRY: dict[ErrorCode, CodeInfo] = {
    ErrorCode.FRAME_TOO_LARGE: _C(
        "The frame's length prefix exceeds the maximum frame size.",
        "Before reading the frame body; the connection is then closed."),
    ErrorCode.FRAME_TRUNCATED: _C(
        "The connection ended, or stalled, inside a frame.",
        "When a begun frame does not complete within the frame timeout; the connection "
        "is then closed (spec/node.md R-NODE-15). A connection that ends inside a frame "
        "is logged locally; there is no peer left to tell."),
    ErrorCode.DER_MALFORMED: _C(
        "The bytes are not a well-formed DER encoding of the expected type.",
        "On any decode failure that no more specific 1xxx code describes."),
    ErrorCode.DER_NON_CANONICAL: _C(
        "The encoding is valid BER but not DER (long-form or indefinite length, "
        "non-minimal integer, BOOLEAN other than 00/FF).",
        "When a received encoding is not the unique DER encoding."),
    ErrorCode.DER_TRAILING_DATA: _C(
        "Bytes follow the end of the outermost value.",
        "When a PDU or message has data after its last octet."),
    ErrorCode.DER_UNEXPECTED_TAG: _C(
        "A tag is not the one the schema expects at that position.",
        "On a wrong outer APPLICATION tag or a wrong field tag."),
    ErrorCode.DER_TOO_DEEP: _C(
        "Constructed values are nested deeper than the decoder allows (32).",
        "Before decoding, to bound recursion on hostile input."),
    ErrorCode.CONSTRAINT_VIOLATION: _C(
        "A value breaks a size, range or alphabet constraint of the ASN.1 schema.",
        "On decode with constraint checks, and on encode of a bad value."),
    ErrorCode.UNSUPPORTED_VERSION: _C(
        "The PDU header's protocol version is not one this node speaks.",
        "On receipt of a PDU with an unknown major version."),
    ErrorCode.INVALID_RESIDENT_CODE: _C(
        "A resident code is not 11 digits or its check digit is wrong "
        "(Enforcement Regulation Art. 1).",
        "When any resident code field fails validation."),
    ErrorCode.INVALID_LOCAL_GOV_CODE: _C(
        "A local government code is not 6 digits or its check digit is wrong.",
        "When any local government code field fails validation."),
    ErrorCode.INVALID_INDIVIDUAL_NUMBER: _C(
        "An individual number is not 12 digits or its check digit is wrong.",
        "When an individual number field fails validation."),
    ErrorCode.INVALID_DATE: _C(
        "A date is not a real calendar date in YYYYMMDD form, or is out of order; or a "
        "time that is valid DER is not in whole seconds (spec/pdu.md R-PDU-35).",
        "When a date or time field fails validation."),
    ErrorCode.INVALID_FIELD: _C(
        "A field value breaks a rule of the message (see the message's clause).",
        "When a field fails a validation rule no more specific code covers."),
    ErrorCode.PROFILE_VIOLATION: _C(
        "A field is present or absent against the rules of the active profile "
        "(individual number is required in `current` and forbidden in `p2002`).",
        "On encode or decode under a profile."),
    ErrorCode.INVALID_NODE_ID: _C(
        "A node id does not match the format of its role.",
        "When a header's sender or recipient fails validation."),
    ErrorCode.INVALID_JSON: _C(
        "The JSON form of a message is not valid for its type.",
        "By tools that read messages as JSON (CLI, codec adapter)."),
    ErrorCode.UNKNOWN_MESSAGE_TYPE: _C(
        "The message type or APPLICATION tag is not a registered message type.",
        "On decode of an unknown type or a request for an unknown type name."),
    ErrorCode.NOT_OFFERED: _C(
        "The node knows the upper tester operation but does not offer it (its IXIT "
        "declares it absent, or the node was not started with it: a test clock, fault "
        "injection, an in-process restart).",
        "By a node's upper tester (spec/node.md section 4), to the conformance runner."),
    ErrorCode.ENVELOPE_INVALID: _C(
        "The sealed envelope could not be opened. This is the only envelope code "
        "a peer sees; the precise reason is logged locally.",
        "On any envelope failure, to the peer."),
    ErrorCode.DECRYPTION_FAILED: _C(
        "The AuthEnvelopedData could not be decrypted or its tag did not verify.",
        "Locally only; the peer receives ENVELOPE_INVALID."),
    ErrorCode.SIGNATURE_INVALID: _C(
        "The SignedData signature does not verify.",
        "Locally only; the peer receives ENVELOPE_INVALID."),
    ErrorCode.HEADER_BINDING_MISMATCH: _C(
        "The signed attributes do not match the clear PDU header.",
        "Locally only; the peer receives ENVELOPE_INVALID."),
    ErrorCode.ALGORITHM_UNSUPPORTED: _C(
        "The envelope uses an algorithm outside the profile (AES-256-GCM, ECDH P-256 "
        "with an X9.63 KDF and AES-256 key wrap, ECDSA P-256 with SHA-256).",
        "Locally only; the peer receives ENVELOPE_INVALID."),
    ErrorCode.NO_MATCHING_RECIPIENT: _C(
        "No RecipientInfo of the envelope names one of this node's certificates.",
        "Locally only; the peer receives ENVELOPE_INVALID."),
    ErrorCode.ENVELOPE_MALFORMED: _C(
        "The envelope is not a well-formed CMS AuthEnvelopedData holding a SignedData "
        "as the profile requires (structure, content types, versions, certificates).",
        "Locally only; the peer receives ENVELOPE_INVALID."),
    ErrorCode.CERT_UNTRUSTED: _C(
        "The certificate does not chain to a configured trust anchor.",
        "Locally only for an envelope (the peer receives 2001 ENVELOPE_INVALID); at the "
        "TLS handshake the connection is refused."),
    ErrorCode.CERT_EXPIRED: _C(
        "The certificate is outside its validity period at the message time.",
        "Locally only for an envelope (the peer receives 2001 ENVELOPE_INVALID); at the "
        "TLS handshake the connection is refused."),
    ErrorCode.CERT_REVOKED: _C(
        "The certificate is on the network CA's revocation list.",
        "Locally only for an envelope (the peer receives 2001 ENVELOPE_INVALID); at the "
        "TLS handshake the connection is refused."),
    ErrorCode.CERT_KEY_USAGE: _C(
        "The certificate's key usage does not permit the operation.",
        "Locally only for an envelope (the peer receives 2001 ENVELOPE_INVALID); at the "
        "TLS handshake the connection is refused."),
    ErrorCode.CERT_ROLE_NOT_ALLOWED: _C(
        "The certificate's role may not send this message type.",
        "Locally only for an envelope (the peer receives 2001 ENVELOPE_INVALID); at the "
        "TLS handshake the connection is refused."),
    ErrorCode.CERT_SENDER_MISMATCH: _C(
        "The certificate's node id differs from the PDU header's sender.",
        "To the peer when a PDU's sender is not its TLS peer (R-PDU-11); locally only "
        "for an envelope signer (the peer receives 2001 ENVELOPE_INVALID)."),
    ErrorCode.CERT_NOT_YET_VALID: _C(
        "The certificate's validity period has not begun at the message time.",
        "Locally only for an envelope (the peer receives 2001 ENVELOPE_INVALID); at the "
        "TLS handshake the connection is refused."),
    ErrorCode.CERT_INVALID: _C(
        "The certificate is malformed for the network profile: it does not name "
        "exactly one node (role and id) or its key is not ECDSA P-256.",
        "Locally only for an envelope (the peer receives 2001 ENVELOPE_INVALID); at the "
        "TLS handshake the connection is refused."),
    ErrorCode.CRL_INVALID: _C(
        "A revocation list is not signed by its issuer, is outside its update period, "
        "or is required and missing.",
        "Locally only for an envelope (the peer receives 2001 ENVELOPE_INVALID); at the "
        "TLS handshake the connection is refused."),
    ErrorCode.STALE_TIME: _C(
        "The message time is outside the accepted window around the receiver's clock.",
        "On receipt; the window is published in the spec."),
    ErrorCode.REPLAY: _C(
        "A message id already seen within the time window was received again with "
        "different content.",
        "On receipt of a replayed PDU."),
    ErrorCode.UNKNOWN_RECIPIENT: _C(
        "The recipient node is not known to the network.",
        "By a node asked to route to an unknown node."),
    ErrorCode.WRONG_RECIPIENT: _C(
        "The PDU is addressed to another node.",
        "On receipt of a PDU whose recipient is not this node."),
    ErrorCode.ROLE_NOT_ALLOWED: _C(
        "The sender's role may not send this message type to this role "
        "(for example 12-2 data to a prefecture).",
        "On receipt, before any data is stored."),
    ErrorCode.UNKNOWN_BODY: _C(
        "The requesting body is not listed in the statutory schedules.",
        "On a provision request (Arts. 30-7, 30-10)."),
    ErrorCode.PURPOSE_NOT_ALLOWED: _C(
        "The stated purpose is not a schedule purpose of the requesting body.",
        "On a provision request (Arts. 30-7, 30-10)."),
    ErrorCode.LEGAL_BASIS_MISMATCH: _C(
        "The cited article does not match the requesting body's kind or the provider.",
        "On a provision request (Arts. 30-7, 30-10)."),
    ErrorCode.OPERATOR_UNAUTHENTICATED: _C(
        "A query at a prefecture or national node carries no authenticated operator.",
        "On a provision request without a valid operator."),
    ErrorCode.OPERATOR_THROTTLED: _C(
        "The operator or body exceeded its query volume or breadth limits.",
        "By the anomaly guard; later requests are refused until the window passes."),
    ErrorCode.OPERATOR_SESSION_REQUIRED: _C(
        "A local action was asked of a node without a valid operator session (none, "
        "unknown, ended or expired).",
        "By a node's upper tester, before the action does anything (spec/node.md "
        "R-NODE-80)."),
    ErrorCode.OPERATOR_ROLE_NOT_ALLOWED: _C(
        "The authenticated operator's roles do not allow the local action.",
        "By a node's upper tester, before the action does anything (spec/node.md "
        "R-NODE-81)."),
    ErrorCode.OPERATOR_CREDENTIAL_REFUSED: _C(
        "An operator login failed: unknown operator, wrong PIN (the message gives the "
        "tries left) or a credential the node did not issue or that is not valid now.",
        "By a node's upper tester at operator_login (spec/node.md R-NODE-82)."),
    ErrorCode.PROVISION_SUSPENDED: _C(
        "The provider has suspended provision to the requesting body (for example "
        "after its audit found misuse); nothing is provided until the suspension is "
        "lifted.",
        "On a provision request of a suspended body, in a ProvisionResponse refusing "
        "with suspended (spec/suspension.md R-SUSP-01)."),
    ErrorCode.UNEXPECTED_MESSAGE: _C(
        "The message is not valid in the current state of its flow.",
        "By a state machine for any (state, input) pair not in its table."),
    ErrorCode.UNKNOWN_CORRELATION: _C(
        "The correlation id refers to no open flow.",
        "On a response or notice for a flow this node does not know."),
    ErrorCode.DUPLICATE_MESSAGE: _C(
        "The message id was already processed; the original outcome stands.",
        "In an acknowledgement or error for an idempotent retry."),
    ErrorCode.OUT_OF_ORDER: _C(
        "A sequence number is not the next expected one.",
        "On identity info updates and relays received out of sequence."),
    ErrorCode.FLOW_TIMED_OUT: _C(
        "The flow's deadline passed before it completed.",
        "When a timer armed by a state machine fires."),
    ErrorCode.FLOW_CANCELLED: _C(
        "The flow was cancelled by one of its parties.",
        "On messages for a cancelled flow."),
    ErrorCode.CARD_LOCKED: _C(
        "The resident card is locked after 3 consecutive wrong PINs.",
        "At the counter; only the municipality may unlock."),
    ErrorCode.CARD_SUSPENDED: _C(
        "The resident card is suspended (reported lost or stolen).",
        "At the counter or on an identity check."),
    ErrorCode.CARD_NOT_ACTIVE: _C(
        "The resident card is not issued and activated (or is revoked or expired).",
        "At the counter or on an identity check."),
    ErrorCode.OPERATOR_LOCKED: _C(
        "The operator credential is locked after 3 consecutive wrong PINs.",
        "At operator_login, also at the wrong PIN that locks it; only an operator whose "
        "role allows operator_admin unlocks it (spec/node.md R-NODE-82)."),
    ErrorCode.CARD_LOST: _C(
        "The card was reported lost for good (紛失届): it is never used again.",
        "At the counter, on the centre's answer that the card is lost, also at a "
        "municipality other than the issuing one (spec/card_register.md R-CARDREG-07); "
        "by the centre to a status notice for a lost card."),
    ErrorCode.NO_SUCH_RESIDENT: _C(
        "No record matches the resident code or the four items.",
        "On a wide-area issuance, special move or provision request."),
    ErrorCode.RECORD_MOVED_OUT: _C(
        "The record was erased because the resident moved out.",
        "On a wide-area issuance request (Art. 12-2(3))."),
    ErrorCode.RECORD_DECEASED: _C(
        "The record was erased because the resident died.",
        "On a wide-area issuance request (Art. 12-2(3))."),
    ErrorCode.NOT_SAME_HOUSEHOLD: _C(
        "The requester is neither the target person nor in the same household.",
        "On a wide-area issuance request (Art. 12-2(1))."),
    ErrorCode.RECORD_RESTRICTED: _C(
        "The record is under a protective restriction; the request is refused.",
        "On a wide-area issuance request."),
    ErrorCode.DATA_MINIMISATION: _C(
        "The message would make a prefecture or national node hold data other than "
        "identity info.",
        "By prefecture and national nodes; nothing is stored."),
    ErrorCode.RETENTION_EXPIRED: _C(
        "The requested identity info is past its retention period.",
        "Locally only (logs and audit): on the wire such data is simply not provided, "
        "so a peer cannot learn that it once existed."),
    ErrorCode.DEADLINE_PASSED: _C(
        "A statutory deadline passed (move-in later than 14 days after moving).",
        "On a special move-in notice."),
    ErrorCode.RESIDENT_CODE_RETIRED: _C(
        "The resident code was changed and retired; it is never reused.",
        "When a retired code is used or would be issued again."),
    ErrorCode.IDENTITY_CHECK_FAILED: _C(
        "The applicant's identity could not be confirmed at the counter.",
        "Before a wide-area issuance request or special move-in is sent."),
    ErrorCode.FOREIGN_RESIDENT_NO_FAMILY_REGISTER: _C(
        "The person is a foreign resident (Art. 30-45), whose record has no family "
        "register, so no family register entry applies to it.",
        "On a family register notice (Art. 9(2)) for a foreign resident's record; "
        "nothing is changed (spec/family_register.md R-9-2-05)."),
    ErrorCode.ALREADY_RECORDED: _C(
        "The register already holds the record the message would make.",
        "On a family register notice of a birth (Art. 9(2)) whose child the household "
        "already holds, recorded from a notification filed at the residence "
        "municipality; nothing is changed (spec/family_register.md R-9-2-04)."),
    ErrorCode.RESIDENT_CODE_NOT_DESIGNATED: _C(
        "A new resident code is not one designated to the municipality (Art. 30-7(1)).",
        "By a prefecture on an identity info update of a municipality it has designated "
        "codes to, whose birth or resident code change carries a code it did not "
        "designate to that municipality, or one already recorded; by a municipality "
        "with designated codes asked to record such a code (spec/designation.md)."),
    ErrorCode.CODE_POOL_EXHAUSTED: _C(
        "No designated resident code is left to give.",
        "By a municipality whose designated codes are all recorded, when a new code is "
        "needed; by a prefecture whose allotment cannot cover a code designation "
        "request (spec/designation.md)."),
    ErrorCode.CARD_ALREADY_ISSUED: _C(
        "A card that may still be used is registered for the resident code.",
        "By the designated centre to a card application or an issue notice for a "
        "resident who holds a card not suspended, lost, revoked or expired, whichever "
        "municipality issued it; nothing is registered (spec/card_register.md "
        "R-CARDREG-02)."),
    ErrorCode.INTERNAL_ERROR: _C(
        "The node failed to process a valid message.",
        "On an unexpected local failure; nothing is stored."),
    ErrorCode.OVERLOADED: _C(
        "The node is shedding load; retry later.",
        "Without refersTo to a connection beyond the node's connection limits, which is "
        "then closed; referring to a sealed PDU read beyond the bound on PDUs in hand, "
        "which is not processed (spec/node.md R-NODE-12, R-NODE-13)."),
    ErrorCode.STORAGE_FAILURE: _C(
        "The node could not commit the message durably; it was not acknowledged.",
        "When the database commit fails."),
}


class JukiError(Exception):
    """Base of every protocol error. ``error_code`` is the registered wire code."""

    error_code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, *, code: ErrorCode | None = None,
                 field: str | None = None, offset: int | None = None) -> None:
        if code is not None:
            self.error_code = code
        self.field = field
        self.offset = offset
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        where = []
        if self.field:
            where.append(f"field {self.field}")
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"[{int(self.error_code)} {self.error_code.name}] {text}{suffix}"


class ValidationError(JukiError):
    """A value breaks a rule: the field and the rule are named in the message."""

    error_code = ErrorCode.INVALID_FIELD


class DecodeError(JukiError):
    """Bytes are not a valid DER encoding of the expected type."""

    error_code = ErrorCode.DER_MALFORMED


class EncodeError(JukiError):
    """A value cannot be encoded (it breaks a schema constraint)."""

    error_code = ErrorCode.CONSTRAINT_VIOLATION


class ProtocolError(JukiError):
    """A valid message arrived where the protocol does not allow it."""

    error_code = ErrorCode.UNEXPECTED_MESSAGE


class SecurityError(JukiError):
    """An envelope, certificate, time or replay check failed."""

    error_code = ErrorCode.ENVELOPE_INVALID


class BusinessError(JukiError):
    """The statutory rules refuse the request."""

    error_code = ErrorCode.NO_SUCH_RESIDENT


def band_of(code: ErrorCode) -> str:
    """Return the band name of ``code`` (see the module docstring)."""
    bands = {1: "framing/decoding", 2: "security", 3: "routing/authorisation",
             4: "state", 5: "business", 9: "internal"}
    return bands[int(code) // 1000]
