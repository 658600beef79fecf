"""Golden envelope vectors (Wycheproof style): generation and verification.

:func:`generate_envelope_vectors` returns one document (written as
``vectors/envelope.json`` by :mod:`juki_protocol.tools.vectors.vector_set`), described by the JSON
Schema :data:`ENVELOPE_VECTORS_SCHEMA`. Each test group fixes a recipient node: its
key/certificate pairs (two while it rotates keys), the trust anchors and CRLs it uses,
and the time window. Each test gives the time ``now`` of opening, the PDU header (JSON
form of :class:`~juki_protocol.messages.pdu.PduHeader`, or null to open without
one), the envelope DER, the message DER, the expected ``result`` and, for ``invalid``
and ``acceptable`` cases, the exact error code. ``preceding`` envelopes are opened
first with the same replay cache (replay and duplicate cases).

Byte-identical generation: there is no randomness at all.

* every private key is derived from a label: d = SHA-256(SEED/key/label) mod (n - 1) + 1;
* certificates, the CRL and every SignedData are signed with RFC 6979 deterministic
  ECDSA (``cryptography``'s ``ecdsa_deterministic`` / ``deterministic_signing``);
* each envelope's ephemeral key, content key and nonce are derived from its label and
  passed to :func:`juki_protocol.envelope.envelope_parts.seal_from_parts`'s building blocks;
* serial numbers and times are constants, and dict order is fixed by the code.

:func:`verify_envelope_vectors` checks a document against this implementation's
:func:`~juki_protocol.envelope.envelope.open_envelope` and returns the failures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from juki_protocol.codec import codec
from juki_protocol.envelope import cms, pki
from juki_protocol.envelope import envelope as env
from juki_protocol.envelope import envelope_parts as parts
from juki_protocol.envelope.ca import (
    CertificateAuthority,
    RevokedCertificate,
    build_crl,
    create_intermediate_ca,
    create_root_ca,
    issue_node_certificate,
)
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.messages.base import from_form
from juki_protocol.messages.common import NodeId, Profile
from juki_protocol.messages.pdu import MessageType, PduHeader

GENERATOR_VERSION = "1"
SEED = b"juki-envelope-vectors-v1"
NOW = dt.datetime(2025, 4, 1, 9, 0, 0, tzinfo=dt.UTC)
WINDOW_SECONDS = 300
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

NOTES: dict[str, dict[str, str]] = {
    "Valid": {"bugType": "BASIC", "description": "A correct envelope between the right "
              "roles, opened with its header."},
    "KeyRotation": {"bugType": "FUNCTIONALITY", "description": "Sealed to the recipient's "
                    "previous certificate; the opener holds both pairs and must try each."},
    "Intermediate": {"bugType": "FUNCTIONALITY", "description": "The signer's certificate "
                     "is issued by an intermediate CA included in the SignedData."},
    "TimeWindowEdge": {"bugType": "EDGE_CASE", "description": "The header time is exactly "
                       "timeWindowSeconds before now (still accepted)."},
    "NoBinding": {"bugType": "FUNCTIONALITY", "description": "Made without the header "
                  "binding attributes, as `openssl cms` makes it; opened without a header."},
    "Sha1Kdf": {"bugType": "LEGACY", "description": "dhSinglePass-stdDH-sha1kdf-scheme, "
                "`openssl cms -encrypt`'s default KDF: may be opened or refused with "
                "ALGORITHM_UNSUPPORTED."},
    "WrongRecipient": {"bugType": "MISSING_STEP", "description": "Encrypted to another "
                       "node: no RecipientInfo names one of the opener's certificates."},
    "MisaddressedRecipient": {"bugType": "AUTH_BYPASS", "description": "Encrypted to the "
                              "opener but signed for another recipient node."},
    "TamperedCiphertext": {"bugType": "MODIFIED_CIPHERTEXT", "description": "One bit of "
                           "the encrypted content is flipped."},
    "TamperedTag": {"bugType": "MODIFIED_CIPHERTEXT", "description": "One bit of the GCM "
                    "tag (AuthEnvelopedData.mac) is flipped."},
    "TamperedKey": {"bugType": "MODIFIED_CIPHERTEXT", "description": "One bit of the "
                    "wrapped content key is flipped."},
    "TamperedSignedAttribute": {"bugType": "AUTH_BYPASS", "description": "A signed "
                                "attribute (the message id) was changed after signing."},
    "TamperedContent": {"bugType": "AUTH_BYPASS", "description": "The signed content was "
                        "changed after signing (messageDigest mismatch)."},
    "HeaderMismatch": {"bugType": "AUTH_BYPASS", "description": "The clear header differs "
                       "from the signed binding attributes."},
    "MissingBinding": {"bugType": "AUTH_BYPASS", "description": "A header is given but the "
                       "envelope carries no binding attributes."},
    "SenderMismatch": {"bugType": "AUTH_BYPASS", "description": "The header's sender is not "
                       "the node named by the signer's certificate."},
    "RoleNotAllowed": {"bugType": "AUTH_BYPASS", "description": "The signer's role may not "
                       "send this message type to this recipient role."},
    "Expired": {"bugType": "EDGE_CASE", "description": "The signer's certificate expired "
                "before now."},
    "NotYetValid": {"bugType": "EDGE_CASE", "description": "The signer's certificate is not "
                    "valid yet at now."},
    "Revoked": {"bugType": "MISSING_STEP", "description": "The signer's certificate is on "
                "the CA's revocation list."},
    "UntrustedCa": {"bugType": "AUTH_BYPASS", "description": "The signer's certificate is "
                    "issued by a CA that is not a trust anchor."},
    "KeyUsage": {"bugType": "MISSING_STEP", "description": "The signer's certificate lacks "
                 "digitalSignature in keyUsage."},
    "Replay": {"bugType": "KNOWN_ATTACK", "description": "A preceding envelope used the same "
               "message id with other content."},
    "Duplicate": {"bugType": "FUNCTIONALITY", "description": "The very same envelope "
                  "again: an idempotent retry, reported as DUPLICATE_MESSAGE."},
    "StaleTime": {"bugType": "KNOWN_ATTACK", "description": "The header time is outside "
                  "the window around now (past or future)."},
    "WrongAlgorithm": {"bugType": "WRONG_PRIMITIVE", "description": "An algorithm outside "
                       "the profile (AES-128-GCM, ECDSA with SHA-384)."},
    "Truncated": {"bugType": "MALFORMED", "description": "The envelope's last octet is "
                  "missing."},
}

HEADER_LINES = [
    "Juki protocol end-to-end envelopes: CMS SignedData (ECDSA P-256, SHA-256) inside",
    "AuthEnvelopedData (AES-256-GCM, ECDH P-256 dhSinglePass-stdDH-sha256kdf-scheme,",
    "id-aes256-wrap). Open each envelope with the group's credentials and trust at the",
    "test's `now`, with the test's header (null: without one) and a fresh replay cache",
    "into which the `preceding` envelopes are opened first. Generated deterministically by",
    "juki_protocol.tools.vectors.envelope_vectors (RFC 6979 signatures, derived keys and",
    "nonces).",
]


# Deterministic material -----------------------------------------------------------------

def _derive(label: str, size: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(SEED + b"/" + label.encode() + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:size]


def _key(label: str) -> ec.EllipticCurvePrivateKey:
    scalar = int.from_bytes(_derive(f"key/{label}", 32), "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class _World:
    ca: CertificateAuthority
    creds: dict[str, pki.Credential]
    crl: x509.CertificateRevocationList
    intermediate: x509.Certificate


def _world() -> _World:
    ca = create_root_ca(_key("root-ca"), common_name="Juki Network Root CA (vectors)",
                        not_before=_t("2025-01-01"), not_after=_t("2035-01-01"),
                        serial=0x01, deterministic=True)
    other = create_root_ca(_key("other-ca"), common_name="Untrusted CA (vectors)",
                           not_before=_t("2025-01-01"), not_after=_t("2035-01-01"),
                           serial=0x01, deterministic=True)
    inter = create_intermediate_ca(ca, _key("issuing-ca"),
                                   common_name="Juki Network Issuing CA 1 (vectors)",
                                   not_before=_t("2025-01-01"),
                                   not_after=_t("2030-01-01"), serial=0x02,
                                   deterministic=True)
    spec = [  # name, issuer, role, code, serial, not_before, not_after, digitalSignature
        ("m271004", ca, "municipality", "271004", 0x1001, "2025-01-01", "2027-01-01", True),
        ("m131016", ca, "municipality", "131016", 0x1002, "2025-01-01", "2027-01-01", True),
        ("p270008", ca, "prefecture", "270008", 0x1003, "2025-03-01", "2027-03-01", True),
        ("p270008-previous", ca, "prefecture", "270008", 0x1004, "2024-03-01",
         "2025-06-01", True),
        ("ag0001", ca, "agency", "AG0001", 0x1005, "2025-01-01", "2027-01-01", True),
        ("m271004-expired", ca, "municipality", "271004", 0x1006, "2023-01-01",
         "2025-01-01", True),
        ("m271004-future", ca, "municipality", "271004", 0x1007, "2025-06-01",
         "2027-06-01", True),
        ("m271004-revoked", ca, "municipality", "271004", 0x1008, "2025-01-01",
         "2027-01-01", True),
        ("m271004-untrusted", other, "municipality", "271004", 0x1009, "2025-01-01",
         "2027-01-01", True),
        ("m271004-nosign", ca, "municipality", "271004", 0x100A, "2025-01-01",
         "2027-01-01", False),
        ("m271004-intermediate", inter, "municipality", "271004", 0x100B, "2025-01-01",
         "2027-01-01", True),
    ]
    creds = {}
    for name, issuer, role, code, serial, nb, na, sign in spec:
        key = _key(name)
        cert = issue_node_certificate(issuer, key.public_key(), pki.node_id(role, code),
                                      not_before=_t(nb), not_after=_t(na), serial=serial,
                                      digital_signature=sign, deterministic=True)
        creds[name] = pki.Credential(key, cert)
    crl = build_crl(ca, [RevokedCertificate(0x1008, _t("2025-03-15"),
                                            x509.ReasonFlags.key_compromise)],
                    this_update=_t("2025-03-20"), next_update=_t("2025-06-20"), number=1,
                    deterministic=True)
    return _World(ca=ca, creds=creds, crl=crl, intermediate=inter.certificate)


_PERSON = {"resident_code": "12345678903",
           "name": {"kanji": "試験 太郎", "kana": "シケン タロウ"},
           "birth_date": "1980-01-02", "sex": "male",
           "address": {"local_gov_code": "271004", "text": "大阪市北区中之島一丁目3番20号"}}


def _update(sequence: int) -> bytes:
    msg = codec.from_json("IdentityInfoUpdate", {
        "municipality": "271004", "update_sequence": sequence, "operation": "record",
        "identity_info": _PERSON,
        "change_info": {"change_reason": "moveIn", "change_date": "2025-03-31"}})
    return codec.encode(msg, profile=Profile.P2002)


def _move_in() -> bytes:
    msg = codec.from_json("MoveInNotice", {
        "new_municipality": "271004", "former_municipality": "131016",
        "residents": [{"resident_code": "24727059608",
                       "name": {"kanji": "見本 花子", "kana": "ミホン ハナコ"},
                       "birth_date": "1990-05-06"}],
        "moved_date": "2025-03-25", "recorded_date": "2025-03-31",
        "new_address": {"local_gov_code": "271004", "text": "大阪市北区中之島一丁目3番20号"}})
    return codec.encode(msg, profile=Profile.P2002)


def _header(label: str, mtype: MessageType, sender: str, recipient: str, *,
            time: dt.datetime = NOW, sequence: int = 1,
            message_id: bytes | None = None) -> PduHeader:
    def node(text: str) -> dict[str, str]:
        role, _, code = text.partition(":")
        return {"role": role, "code": code}
    mid = message_id if message_id is not None else _derive(f"message-id/{label}", 16)
    return from_form(PduHeader, {
        "version": 1, "message_id": mid.hex(), "message_type": mtype.value,
        "sender": node(sender), "recipient": node(recipient),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "sequence_number": sequence,
        "profile": Profile.P2002.value}, json=True)


def _seal(label: str, header: PduHeader, message: bytes, sender: pki.Credential,
          recipient: x509.Certificate, *, bind: bool = True,
          chain: tuple[x509.Certificate, ...] = (), kdf_oid: str = cms.DH_STD_SHA256KDF,
          cek_size: int = env.CEK_SIZE, digest: str = "sha256",
          tamper: Callable[[bytes], bytes] | None = None) -> bytes:
    inner = parts.sign_message(header if bind else None, message, sender.key,
                               sender.certificate, header.time, chain=chain,
                               deterministic=True, digest=digest)
    if tamper is not None:
        inner = tamper(inner)
    return parts.encrypt_from_parts(inner, recipient,
                                    ephemeral_key=_key(f"ephemeral/{label}"),
                                    cek=_derive(f"cek/{label}", cek_size),
                                    iv=_derive(f"iv/{label}", env.NONCE_SIZE),
                                    kdf_oid=kdf_oid)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1:]


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    if data.count(old) != 1:
        raise AssertionError("the octets to tamper with are not unique")
    return data.replace(old, new)


# Generation -----------------------------------------------------------------------------

class _Group:
    def __init__(self, recipient: NodeId, creds: list[tuple[str, pki.Credential]],
                 world: _World, first_id: int) -> None:
        self.recipient = recipient
        self.creds = creds
        self.world = world
        self.tests: list[dict[str, Any]] = []
        self.next_id = first_id

    def add(self, comment: str, flags: list[str], header: PduHeader | None, envelope: bytes,
            message: bytes, result: str, code: ErrorCode | None = None, *,
            preceding: Sequence[tuple[PduHeader | None, bytes]] = ()) -> None:
        self.tests.append({
            "tcId": self.next_id, "comment": comment, "flags": flags,
            "now": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "header": None if header is None else codec.to_json(header),
            "preceding": [{"header": None if h is None else codec.to_json(h),
                           "envelope": e.hex()} for h, e in preceding],
            "envelope": envelope.hex(), "message": message.hex(), "result": result,
            "errorCode": None if code is None else int(code),
            "errorName": None if code is None else code.name})
        self.next_id += 1

    def document(self) -> dict[str, Any]:
        return {
            "type": "EnvelopeTest", "recipient": str(self.recipient),
            "recipientCredentials": [
                {"comment": comment, "certificate": pki.cert_pem(c.certificate).decode(),
                 "privateKey": pki.key_pem(c.key).decode()} for comment, c in self.creds],
            "trustAnchors": [pki.cert_pem(self.world.ca.certificate).decode()],
            "crls": [pki.crl_pem(self.world.crl).decode()],
            "timeWindowSeconds": WINDOW_SECONDS,
            "tests": self.tests}


def _prefecture_group(w: _World) -> _Group:
    c = w.creds
    us = c["p270008"].certificate
    g = _Group(pki.node_of_certificate(us),
               [("current", c["p270008"]), ("previous (key rotation)",
                                            c["p270008-previous"])], w, 1)
    upd, upd2 = _update(1), _update(2)
    mt = MessageType.IDENTITY_INFO_UPDATE
    m, p = "municipality:271004", "prefecture:270008"

    def std(label: str, sender: str = m, **kw: Any) -> PduHeader:
        return _header(label, mt, sender, p, **kw)

    h = std("valid")
    g.add("identity info update, municipality to its prefecture", ["Valid"], h,
          _seal("valid", h, upd, c["m271004"], us), upd, "valid")
    h = std("rotation")
    g.add("sealed to the recipient's previous certificate", ["KeyRotation"], h,
          _seal("rotation", h, upd, c["m271004"], c["p270008-previous"].certificate),
          upd, "valid")
    h = std("intermediate")
    g.add("signer certified by an issuing intermediate CA", ["Intermediate"], h,
          _seal("intermediate", h, upd, c["m271004-intermediate"], us,
                chain=(w.intermediate,)), upd, "valid")
    h = std("edge", time=NOW - dt.timedelta(seconds=WINDOW_SECONDS))
    g.add("header time exactly at the edge of the window", ["TimeWindowEdge"], h,
          _seal("edge", h, upd, c["m271004"], us), upd, "valid")
    h = std("nobinding")
    g.add("no binding attributes, opened without a header", ["NoBinding"], None,
          _seal("nobinding", h, upd, c["m271004"], us, bind=False), upd, "valid")
    h = std("sha1kdf")
    g.add("X9.63 KDF with SHA-1 (openssl's default)", ["Sha1Kdf"], h,
          _seal("sha1kdf", h, upd, c["m271004"], us, kdf_oid=cms.DH_STD_SHA1KDF), upd,
          "acceptable", ErrorCode.ALGORITHM_UNSUPPORTED)
    h = _header("wrong-recipient", MessageType.MOVE_IN_NOTICE, m, "municipality:131016")
    mi = _move_in()
    g.add("encrypted to another node", ["WrongRecipient"], h,
          _seal("wrong-recipient", h, mi, c["m271004"], c["m131016"].certificate), mi,
          "invalid", ErrorCode.NO_MATCHING_RECIPIENT)
    h = _header("misaddressed", mt, m, "prefecture:130001")
    g.add("encrypted to us, signed for the Tokyo prefecture", ["MisaddressedRecipient"],
          h, _seal("misaddressed", h, upd, c["m271004"], us), upd, "invalid",
          ErrorCode.HEADER_BINDING_MISMATCH)
    h = std("tampered-ciphertext")
    sealed = _seal("tampered-ciphertext", h, upd, c["m271004"], us)
    g.add("a bit of the ciphertext flipped", ["TamperedCiphertext"], h,
          _flip(sealed, len(sealed) - 18 - 40), upd, "invalid", ErrorCode.DECRYPTION_FAILED)
    h = std("tampered-tag")
    sealed = _seal("tampered-tag", h, upd, c["m271004"], us)
    g.add("a bit of the GCM tag flipped", ["TamperedTag"], h, _flip(sealed, len(sealed) - 1),
          upd, "invalid", ErrorCode.DECRYPTION_FAILED)
    h = std("tampered-key")
    sealed = _seal("tampered-key", h, upd, c["m271004"], us)
    wrapped = cms.parse_auth_enveloped(sealed).key_agree[0].keys[0][1]
    g.add("a bit of the wrapped content key flipped", ["TamperedKey"], h,
          _replace_once(sealed, wrapped, _flip(wrapped, 7)), upd, "invalid",
          ErrorCode.DECRYPTION_FAILED)
    h = std("tampered-attribute")
    h2 = std("tampered-attribute-2")
    g.add("the signed message id replaced after signing", ["TamperedSignedAttribute"], h2,
          _seal("tampered-attribute", h, upd, c["m271004"], us,
                tamper=lambda inner: _replace_once(inner, h.message_id, h2.message_id)),
          upd, "invalid", ErrorCode.SIGNATURE_INVALID)
    h = std("tampered-content")
    g.add("the signed content changed after signing", ["TamperedContent"], h,
          _seal("tampered-content", h, upd, c["m271004"], us,
                tamper=lambda inner: _replace_once(inner, upd, _flip(upd, len(upd) - 1))),
          _flip(upd, len(upd) - 1), "invalid", ErrorCode.SIGNATURE_INVALID)
    h = std("header-mismatch")
    h2 = std("header-mismatch", time=NOW + dt.timedelta(seconds=1))
    g.add("the clear header's time differs from the signed one by 1 s", ["HeaderMismatch"],
          h2, _seal("header-mismatch", h, upd, c["m271004"], us), upd, "invalid",
          ErrorCode.HEADER_BINDING_MISMATCH)
    h = std("missing-binding")
    g.add("a header is given, the envelope has no binding", ["MissingBinding"], h,
          _seal("missing-binding", h, upd, c["m271004"], us, bind=False), upd, "invalid",
          ErrorCode.HEADER_BINDING_MISMATCH)
    h = std("sender-mismatch", sender="municipality:131016")
    g.add("signed by 271004 for a header naming 131016 as sender", ["SenderMismatch"], h,
          _seal("sender-mismatch", h, upd, c["m271004"], us), upd, "invalid",
          ErrorCode.CERT_SENDER_MISMATCH)
    h = std("agency", sender="agency:AG0001")
    g.add("an agency may not send an identity info update", ["RoleNotAllowed"], h,
          _seal("agency", h, upd, c["ag0001"], us), upd, "invalid",
          ErrorCode.CERT_ROLE_NOT_ALLOWED)
    for flag, name, code in (("Expired", "m271004-expired", ErrorCode.CERT_EXPIRED),
                             ("NotYetValid", "m271004-future", ErrorCode.CERT_NOT_YET_VALID),
                             ("Revoked", "m271004-revoked", ErrorCode.CERT_REVOKED),
                             ("UntrustedCa", "m271004-untrusted", ErrorCode.CERT_UNTRUSTED),
                             ("KeyUsage", "m271004-nosign", ErrorCode.CERT_KEY_USAGE)):
        h = std(name)
        g.add(f"signer certificate {name}", [flag], h, _seal(name, h, upd, c[name], us), upd,
              "invalid", code)
    h = std("replay")
    first = _seal("replay-first", h, upd, c["m271004"], us)
    h2 = std("replay", sequence=2)
    g.add("the message id of a preceding envelope, other content", ["Replay"], h2,
          _seal("replay", h2, upd2, c["m271004"], us), upd2, "invalid", ErrorCode.REPLAY,
          preceding=[(h, first)])
    h = std("duplicate")
    sealed = _seal("duplicate", h, upd, c["m271004"], us)
    g.add("the same envelope twice", ["Duplicate"], h, sealed, upd, "invalid",
          ErrorCode.DUPLICATE_MESSAGE, preceding=[(h, sealed)])
    for label, delta in (("stale-past", -1), ("stale-future", 1)):
        h = std(label, time=NOW + delta * dt.timedelta(seconds=WINDOW_SECONDS + 1))
        g.add(f"header time {delta * (WINDOW_SECONDS + 1):+d} s from now", ["StaleTime"], h,
              _seal(label, h, upd, c["m271004"], us), upd, "invalid", ErrorCode.STALE_TIME)
    h = std("aes128")
    g.add("content encrypted with AES-128-GCM", ["WrongAlgorithm"], h,
          _seal("aes128", h, upd, c["m271004"], us, cek_size=16), upd, "invalid",
          ErrorCode.ALGORITHM_UNSUPPORTED)
    h = std("sha384")
    g.add("signed with ECDSA and SHA-384", ["WrongAlgorithm"], h,
          _seal("sha384", h, upd, c["m271004"], us, digest="sha384"), upd, "invalid",
          ErrorCode.ALGORITHM_UNSUPPORTED)
    h = std("truncated")
    g.add("the last octet missing", ["Truncated"], h,
          _seal("truncated", h, upd, c["m271004"], us)[:-1], upd, "invalid",
          ErrorCode.ENVELOPE_MALFORMED)
    return g


def _municipality_group(w: _World, first_id: int) -> _Group:
    c = w.creds
    us = c["m131016"].certificate
    g = _Group(pki.node_of_certificate(us), [("current", c["m131016"])], w, first_id)
    mi = _move_in()
    mt = MessageType.MOVE_IN_NOTICE
    h = _header("move-in", mt, "municipality:271004", "municipality:131016")
    g.add("move-in notice, new municipality to former municipality", ["Valid"], h,
          _seal("move-in", h, mi, c["m271004"], us), mi, "valid")
    h = _header("move-in-prefecture", mt, "prefecture:270008", "municipality:131016")
    g.add("a prefecture may not send a move-in notice (Art. 9(1))", ["RoleNotAllowed"], h,
          _seal("move-in-prefecture", h, mi, c["p270008"], us), mi, "invalid",
          ErrorCode.CERT_ROLE_NOT_ALLOWED)
    return g


def generate_envelope_vectors() -> dict[str, Any]:
    """The envelope vector document; byte-identical JSON on every run (module docstring)."""
    world = _world()
    groups = [_prefecture_group(world)]
    groups.append(_municipality_group(world, groups[-1].next_id))
    used = sorted({f for g in groups for t in g.tests for f in t["flags"]})
    return {
        "algorithm": "JukiEnvelope", "generatorVersion": GENERATOR_VERSION,
        "numberOfTests": sum(len(g.tests) for g in groups),
        "header": HEADER_LINES,
        "notes": {flag: NOTES[flag] for flag in used},
        "schema": "envelope.schema.json",
        "testGroups": [g.document() for g in groups],
    }


# Verification ---------------------------------------------------------------------------

def _open(item: dict[str, Any], creds: list[pki.Credential], trust: pki.TrustStore,
          now: dt.datetime, cache: env.ReplayCache,
          window: dt.timedelta) -> env.OpenedEnvelope:
    header = None if item["header"] is None else from_form(PduHeader, item["header"],
                                                           json=True)
    return env.open_envelope(bytes.fromhex(item["envelope"]), creds, trust, now,
                             header=header, replay_cache=cache, time_window=window)


def _verify_test(t: dict[str, Any], creds: list[pki.Credential], trust: pki.TrustStore,
                 window: dt.timedelta) -> str | None:
    where = f"tcId {t['tcId']} ({t['comment']})"
    now = dt.datetime.fromisoformat(t["now"])
    cache = env.ReplayCache(window)
    for item in t["preceding"]:
        try:
            _open(item, creds, trust, now, cache, window)
        except JukiError as exc:
            return f"{where}: a preceding envelope was rejected: {exc}"
    try:
        opened = _open(t, creds, trust, now, cache, window)
    except JukiError as exc:
        got = f"{exc.error_code.name} ({int(exc.error_code)})"
        if t["result"] == "valid":
            return f"{where}: expected valid, got {got}: {exc}"
        if int(exc.error_code) != t["errorCode"]:
            return f"{where}: expected {t['errorName']} ({t['errorCode']}), got {got}"
        return None
    if t["result"] == "invalid":
        return f"{where}: expected {t['errorName']} ({t['errorCode']}), but it opened"
    if opened.message_der.hex() != t["message"]:
        return f"{where}: the opened message differs from the expected one"
    return None


def verify_envelope_vectors(doc: dict[str, Any]) -> list[str]:
    """Check ``doc`` against the schema and this implementation; return the failures
    (an empty list means every test passed)."""
    try:
        jsonschema.validate(doc, ENVELOPE_VECTORS_SCHEMA)
    except jsonschema.ValidationError as exc:
        return [f"does not follow the schema at {list(exc.absolute_path)}: {exc.message}"]
    failures: list[str] = []
    ids = [t["tcId"] for g in doc["testGroups"] for t in g["tests"]]
    if len(ids) != len(set(ids)) or len(ids) != doc["numberOfTests"]:
        failures.append("tcIds are not unique or numberOfTests is wrong")
    for t in (t for g in doc["testGroups"] for t in g["tests"]):
        unknown = [f for f in t["flags"] if f not in doc["notes"]]
        if unknown:
            failures.append(f"tcId {t['tcId']}: flags without a note: {unknown}")
    for group in doc["testGroups"]:
        try:
            trust = pki.TrustStore(
                anchors=tuple(pki.load_certificate(p.encode()) for p in group["trustAnchors"]),
                crls=tuple(pki.load_crl(p.encode()) for p in group["crls"]))
            creds = [pki.Credential(pki.load_private_key(c["privateKey"].encode()),
                                    pki.load_certificate(c["certificate"].encode()))
                     for c in group["recipientCredentials"]]
        except JukiError as exc:
            failures.append(f"group {group['recipient']}: unreadable key material: {exc}")
            continue
        window = dt.timedelta(seconds=group["timeWindowSeconds"])
        for t in group["tests"]:
            failure = _verify_test(t, creds, trust, window)
            if failure is not None:
                failures.append(failure)
    return failures


_HEX = {"type": "string", "pattern": "^([0-9a-f]{2})*$"}
_PEM = {"type": "string", "pattern": "^-----BEGIN "}
_TIME = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"}
_HEADER = {"type": ["object", "null"],
           "description": "JSON form of PduHeader (spec/json.md), or null to open without "
                          "a header."}

#: JSON Schema (draft 2020-12) of the envelope vector document.
ENVELOPE_VECTORS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Juki envelope test vectors",
    "type": "object",
    "required": ["algorithm", "generatorVersion", "numberOfTests", "header", "notes",
                 "testGroups"],
    "properties": {
        "algorithm": {"const": "JukiEnvelope"},
        "generatorVersion": {"type": "string"},
        "numberOfTests": {"type": "integer", "minimum": 0},
        "header": {"type": "array", "items": {"type": "string"}},
        "schema": {"type": "string"},
        "notes": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["bugType", "description"],
            "properties": {"bugType": {"type": "string"},
                           "description": {"type": "string"}}}},
        "testGroups": {"type": "array", "items": {
            "type": "object",
            "required": ["type", "recipient", "recipientCredentials", "trustAnchors", "crls",
                         "timeWindowSeconds", "tests"],
            "properties": {
                "type": {"const": "EnvelopeTest"},
                "recipient": {"type": "string", "pattern": "^[a-z]+:[0-9A-Z]+$"},
                "recipientCredentials": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["certificate", "privateKey"],
                    "properties": {"comment": {"type": "string"}, "certificate": _PEM,
                                   "privateKey": _PEM}}},
                "trustAnchors": {"type": "array", "minItems": 1, "items": _PEM},
                "crls": {"type": "array", "items": _PEM},
                "timeWindowSeconds": {"type": "integer", "minimum": 0},
                "tests": {"type": "array", "items": {
                    "type": "object",
                    "required": ["tcId", "comment", "flags", "now", "header", "preceding",
                                 "envelope", "message", "result", "errorCode", "errorName"],
                    "additionalProperties": False,
                    "properties": {
                        "tcId": {"type": "integer", "minimum": 1},
                        "comment": {"type": "string"},
                        "flags": {"type": "array", "items": {"type": "string"}},
                        "now": _TIME,
                        "header": _HEADER,
                        "preceding": {"type": "array", "items": {
                            "type": "object", "required": ["header", "envelope"],
                            "additionalProperties": False,
                            "properties": {"header": _HEADER, "envelope": _HEX}}},
                        "envelope": _HEX,
                        "message": _HEX,
                        "result": {"enum": ["valid", "invalid", "acceptable"]},
                        "errorCode": {"type": ["integer", "null"], "minimum": 1000,
                                      "maximum": 9999},
                        "errorName": {"type": ["string", "null"]},
                    },
                    "allOf": [
                        {"if": {"properties": {"result": {"const": "valid"}}},
                         "then": {"properties": {"errorCode": {"type": "null"},
                                                 "errorName": {"type": "null"}}},
                         "else": {"properties": {"errorCode": {"type": "integer"},
                                                 "errorName": {"type": "string"}}}},
                    ]}},
            }}},
    },
}
