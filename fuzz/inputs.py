"""Inputs for the envelope opener: vector seeds, crafted envelopes, and fuzz cases.

Three sources feed :func:`juki_protocol.envelope.envelope.open_envelope` (issue 16 item 1):

* **Vector seeds** (``vectors/envelope.json``): the envelopes of each test group with
  the group's recipient credentials, trust anchors and CRLs, and the inner
  ContentInfo(SignedData) decrypted from each envelope that decrypts.
* **Crafted envelopes** (:data:`CRAFTED`): a SignedData that names and includes a
  certificate made unreadable in one precise way (an unknown key algorithm, a broken
  SubjectPublicKeyInfo, X.509 version 4, a malformed issuer Name, ...), or no
  SignedData at all, always behind a valid encryption layer for the recipient, so the
  opener's checks after decryption are reached.
* **Fuzz cases** (:func:`fuzz_case`): one of three kinds of mutation, chosen by a seeded
  random generator: the whole envelope of a vector (the encryption layer); the inner
  SignedData of a vector, re-encrypted to the vector's recipient; or a SignedData of
  the synthetic :class:`World` whose signer certificate and signed attributes are
  mutated and then *re-signed* (the certificate by the world's CA, the attributes by the
  signer), so that mutated certificates reach key loading, path building, validity,
  revocation, key usage and the node profile with valid signatures.

Every key and time of the synthetic world is fixed; the encryption layer draws fresh
randomness, which changes no decision of the opener.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fuzz import der_tree
from juki_protocol.codec.schema import APPLICATION_TAGS
from juki_protocol.envelope import cms, pki
from juki_protocol.envelope import envelope as env
from juki_protocol.envelope.ca import (
    CertificateAuthority,
    RevokedCertificate,
    build_crl,
    create_root_ca,
    issue_node_certificate,
)
from juki_protocol.errors import JukiError
from juki_protocol.messages.pdu import MessageType

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "envelope.json"
NOW = dt.datetime(2025, 4, 1, 9, 0, 0, tzinfo=dt.UTC)
MESSAGE = bytes(range(48))


@dataclass(frozen=True, slots=True)
class Recipient:
    """What opening needs on the receiving side."""

    credentials: tuple[pki.Credential, ...]
    trust: pki.TrustStore
    now: dt.datetime

    @property
    def certificate(self) -> x509.Certificate:
        """The certificate envelopes are encrypted to."""
        return self.credentials[0].certificate


def open_or_refuse(envelope: bytes, recipient: Recipient) -> int | None:
    """Open ``envelope``: None if it opened, the error code if it was refused. Any
    exception other than a JukiError propagates: that is the failure the fuzz looks for.
    """
    try:
        env.open_envelope(envelope, recipient.credentials, recipient.trust, recipient.now)
    except JukiError as exc:
        return int(exc.error_code)
    return None


# Vector seeds ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class VectorSeeds:
    """One vector group: its recipient, its envelopes and the inner SignedData of
    those that decrypt."""

    recipient: Recipient
    envelopes: tuple[bytes, ...]
    inner: tuple[bytes, ...]


@lru_cache(maxsize=1)
def vector_seeds(path: Path = VECTORS) -> tuple[VectorSeeds, ...]:
    """The seeds of every group of the envelope vectors."""
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for group in doc["testGroups"]:
        recipient = Recipient(
            credentials=tuple(pki.Credential(pki.load_private_key(c["privateKey"].encode()),
                                             pki.load_certificate(c["certificate"].encode()))
                              for c in group["recipientCredentials"]),
            trust=pki.TrustStore(
                anchors=tuple(pki.load_certificate(p.encode())
                              for p in group["trustAnchors"]),
                crls=tuple(pki.load_crl(p.encode()) for p in group["crls"])),
            now=dt.datetime.fromisoformat(group["tests"][0]["now"]))
        envelopes = tuple(bytes.fromhex(t["envelope"]) for t in group["tests"])
        inner = []
        for e in envelopes:
            try:
                inner.append(env.decrypt_content(e, recipient.credentials))
            except JukiError:
                continue
        out.append(VectorSeeds(recipient, envelopes, tuple(dict.fromkeys(inner))))
    return tuple(out)


# The synthetic world --------------------------------------------------------------------

def _key(label: str) -> ec.EllipticCurvePrivateKey:
    d = int.from_bytes(hashlib.sha256(f"juki fuzz {label}".encode()).digest(), "big")
    return ec.derive_private_key(d % (2**255) + 1, ec.SECP256R1())


@dataclass(frozen=True, slots=True)
class World:
    """A CA, a signer (municipality 271004) and a recipient (prefecture 270008)."""

    ca: CertificateAuthority
    signer: pki.Credential
    recipient: Recipient


@lru_cache(maxsize=1)
def world() -> World:
    """The synthetic world (fixed keys, serials and times)."""
    day = dt.timedelta(days=1)
    ca = create_root_ca(_key("ca"), common_name="Fuzz Root", not_before=NOW - 90 * day,
                        not_after=NOW + 900 * day, serial=1, deterministic=True)

    def cred(label: str, role: str, code: str, serial: int) -> pki.Credential:
        key = _key(label)
        return pki.Credential(key, issue_node_certificate(
            ca, key.public_key(), pki.node_id(role, code), not_before=NOW - 30 * day,
            not_after=NOW + 300 * day, serial=serial, deterministic=True))

    crl = build_crl(ca, [RevokedCertificate(0x99, NOW - day)],
                    this_update=NOW - 2 * day, next_update=NOW + 30 * day, number=1,
                    deterministic=True)
    return World(ca=ca, signer=cred("signer", "municipality", "271004", 0x10),
                 recipient=Recipient((cred("recipient", "prefecture", "270008", 0x11),),
                                     pki.TrustStore(anchors=(ca.certificate,), crls=(crl,)),
                                     NOW))


def der_of(cert: x509.Certificate) -> bytes:
    """The DER of a certificate."""
    return cert.public_bytes(serialization.Encoding.DER)


def resign_certificate(tbs: bytes, ca: CertificateAuthority) -> bytes:
    """A certificate of any TBSCertificate octets, signed by ``ca`` (ECDSA SHA-256)."""
    signature = ca.key.sign(tbs, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return cms.der_seq(tbs, cms.alg_id(cms.ECDSA_WITH_SHA256), cms.der_bits(signature))


def _sid_of(cert_der: bytes) -> bytes:
    """IssuerAndSerialNumber of a certificate, read structurally (works for
    certificates the X.509 libraries refuse); a made-up one if it has no such shape."""
    root = der_tree.parse(cert_der)
    kids = (root.kids[0].kids or []) if root.kids else []
    first = 1 if kids and kids[0].tag == b"\xa0" else 0
    if len(kids) < first + 3:
        return cms.issuer_and_serial(cms.der_seq(), 1)
    return cms.der_seq(der_tree.encode(kids[first + 2]), der_tree.encode(kids[first]))


def signed_attributes(message: bytes, bound: env.BoundHeader | None = None) -> list[bytes]:
    """contentType, signingTime and messageDigest of ``message`` (RFC 5652 section 11),
    and the header binding attributes of ``bound`` if given."""
    attrs = [cms.attribute(cms.ID_CONTENT_TYPE, cms.der_oid(cms.ID_DATA)),
             cms.attribute(cms.ID_SIGNING_TIME, cms.der_time(NOW)),
             cms.attribute(cms.ID_MESSAGE_DIGEST,
                           cms.der_octets(hashlib.sha256(message).digest()))]
    if bound is not None:
        attrs += [cms.attribute(env.ID_JUKI_MESSAGE_ID, cms.der_octets(bound.message_id)),
                  cms.attribute(env.ID_JUKI_MESSAGE_TYPE, cms.der_enum(
                      APPLICATION_TAGS[bound.message_type.type_name])),
                  cms.attribute(env.ID_JUKI_SENDER, cms.der_utf8(str(bound.sender))),
                  cms.attribute(env.ID_JUKI_RECIPIENT, cms.der_utf8(str(bound.recipient))),
                  cms.attribute(env.ID_JUKI_TIME, cms.der_generalized_time(bound.time))]
    return attrs


def signed_data(cert_der: bytes, key: ec.EllipticCurvePrivateKey, message: bytes, *,
                attributes: list[bytes] | None = None, extra: tuple[bytes, ...] = (),
                sign_set: Callable[[bytes], bytes] | None = None) -> bytes:
    """ContentInfo(SignedData) over ``message`` signed by ``key``, naming and including
    ``cert_der`` whatever it holds (the layout of :func:`juki_protocol.envelope.cms.
    build_signed_data`). ``sign_set`` may change the DER of the signed SET OF
    attributes before it is signed and stored: a mutated set, still correctly signed."""
    signed_set = cms.der_set(*(signed_attributes(message) if attributes is None
                               else attributes))
    if sign_set is not None:
        signed_set = sign_set(signed_set) or signed_set
    signature = key.sign(signed_set, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    signer_info = cms.der_seq(cms.der_int(1), _sid_of(cert_der), cms.alg_id(cms.ID_SHA256),
                              b"\xa0" + signed_set[1:], cms.alg_id(cms.ECDSA_WITH_SHA256),
                              cms.der_octets(signature))
    return cms.der_seq(cms.der_oid(cms.ID_SIGNED_DATA), cms.der_explicit(0, cms.der_seq(
        cms.der_int(1), cms.der_set(cms.alg_id(cms.ID_SHA256)),
        cms.der_seq(cms.der_oid(cms.ID_DATA), cms.der_explicit(0, cms.der_octets(message))),
        cms.tlv(0xA0, b"".join(sorted((cert_der, *extra)))), cms.der_set(signer_info))))


# Crafted certificates -------------------------------------------------------------------

_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")
_P256 = bytes.fromhex("06082a8648ce3d030107")
_VERSION_3 = bytes.fromhex("a003020102")
_POINT = bytes.fromhex("03420004")


def _replace(data: bytes, old: bytes, new: bytes) -> bytes:
    if data.count(old) != 1:
        raise ValueError(f"expected {old.hex()} exactly once")
    return data.replace(old, new)


def _with_issuer_value(cert_der: bytes, value: bytes) -> bytes:
    """``cert_der`` with the last attribute value of its issuer Name replaced by the
    TLV ``value`` (every enclosing length recomputed; the signature no longer matches,
    which no check reached by a crafted certificate looks at first)."""
    root = der_tree.parse(cert_der)
    assert root.kids and root.kids[0].kids
    tbs = root.kids[0].kids
    issuer = tbs[(1 if tbs[0].tag == b"\xa0" else 0) + 2]
    assert issuer.kids and issuer.kids[-1].kids and issuer.kids[-1].kids[-1].kids
    issuer.kids[-1].kids[-1].kids[1] = der_tree.parse(value)
    return der_tree.encode(root)


def _zero_point(cert_der: bytes) -> bytes:
    """``cert_der`` with its P-256 public point (BIT STRING 03 42 00 04 ...) all zero."""
    at = cert_der.index(_POINT) + len(_POINT)
    return cert_der[:at] + bytes(64) + cert_der[at + 64:]


#: Each crafted certificate: a description and the surgery on a valid node certificate.
CRAFTED_CERTIFICATES: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "unknown-key-algorithm": (
        "SubjectPublicKeyInfo algorithm 1.2.840.10045.2.127 (not id-ecPublicKey)",
        lambda d: _replace(d, _EC_PUBLIC_KEY, bytes.fromhex("06072a8648ce3d027f"))),
    "unknown-curve": (
        "an id-ecPublicKey on the unknown curve 1.2.840.10045.3.1.127",
        lambda d: _replace(d, _P256, bytes.fromhex("06082a8648ce3d03017f"))),
    "broken-public-key": (
        "a SubjectPublicKeyInfo whose point is not on the curve (all zero)",
        lambda d: _zero_point(d)),
    "version-4": (
        "X.509 version 4 (INTEGER 3), which cryptography refuses to load",
        lambda d: _replace(d, _VERSION_3, bytes.fromhex("a003020103"))),
    "version-garbage": (
        "X.509 version INTEGER -1",
        lambda d: _replace(d, _VERSION_3, bytes.fromhex("a0030201ff"))),
    "issuer-integer": (
        "an issuer Name whose last value is an INTEGER (cryptography: KeyError)",
        lambda d: _with_issuer_value(d, bytes.fromhex("020152"))),
    "issuer-bad-utf8": (
        "an issuer Name whose last value is a UTF8String of invalid UTF-8",
        lambda d: _with_issuer_value(d, bytes.fromhex("0c01ff"))),
    "issuer-odd-bmpstring": (
        "an issuer Name whose last value is a BMPString of one octet",
        lambda d: _with_issuer_value(d, bytes.fromhex("1e0152"))),
}

#: Envelopes whose inner content is not a usable SignedData.
CRAFTED_INNER: dict[str, str] = {
    "inner-truncated": "a valid SignedData cut in half",
    "inner-garbage": "64 octets of garbage",
    "inner-data": "a ContentInfo of id-data, not SignedData",
}

CRAFTED = (*CRAFTED_CERTIFICATES, *CRAFTED_INNER)


def crafted_signed_data(kind: str, signer: pki.Credential, message: bytes = MESSAGE,
                        bound: env.BoundHeader | None = None) -> bytes:
    """The inner content of crafted envelope ``kind`` (see :data:`CRAFTED`), signed by
    ``signer``'s key where it is a SignedData."""
    valid = signed_data(der_of(signer.certificate), signer.key, message,
                        attributes=signed_attributes(message, bound))
    if kind == "inner-truncated":
        return valid[:len(valid) // 2]
    if kind == "inner-garbage":
        return random.Random(kind).randbytes(64)
    if kind == "inner-data":
        return cms.der_seq(cms.der_oid(cms.ID_DATA), cms.der_explicit(0, cms.der_octets(
            message)))
    cert = CRAFTED_CERTIFICATES[kind][1](der_of(signer.certificate))
    return signed_data(cert, signer.key, message,
                       attributes=signed_attributes(message, bound))


def crafted_envelope(kind: str, signer: pki.Credential, recipient: x509.Certificate,
                     message: bytes = MESSAGE, bound: env.BoundHeader | None = None) -> bytes:
    """Crafted envelope ``kind`` behind a valid encryption layer to ``recipient``."""
    return env.encrypt_content(crafted_signed_data(kind, signer, message, bound), recipient)


# Fuzz cases -----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def splice_pools() -> tuple[list[der_tree.Tlv], list[der_tree.Tlv]]:
    """Nodes to splice from: of the vectors' envelopes, and of SignedData and
    certificates (the vectors' inner contents and the crafted ones)."""
    w = world()
    outer = [n for s in vector_seeds() for e in s.envelopes
             for n, _ in der_tree.nodes_of(der_tree.parse(e))]
    inner_seeds = [*(i for s in vector_seeds() for i in s.inner),
                   *(crafted_signed_data(k, w.signer) for k in CRAFTED_CERTIFICATES)]
    inner = [n for i in inner_seeds for n, _ in der_tree.nodes_of(der_tree.parse(i))]
    return outer[:4000], inner[:8000]


def _tbs(cert_der: bytes) -> bytes:
    root = der_tree.parse(cert_der)
    return der_tree.encode(root.kids[0]) if root.kids else cert_der


def fuzz_case(rng: random.Random) -> tuple[bytes, Recipient, str]:
    """One fuzz input: (envelope, recipient to open it with, kind of mutation)."""
    outer_pool, inner_pool = splice_pools()
    roll = rng.random()
    if roll < 0.2:
        seeds = rng.choice(vector_seeds())
        data = der_tree.mutate(rng.choice(seeds.envelopes), rng, outer_pool)
        return data, seeds.recipient, "envelope"
    if roll < 0.45:
        seeds = rng.choice([s for s in vector_seeds() if s.inner])
        inner = der_tree.mutate(rng.choice(seeds.inner), rng, inner_pool)
        return env.encrypt_content(inner, seeds.recipient.certificate), seeds.recipient, \
            "inner"
    w = world()
    kind = "valid" if rng.random() < 0.6 else rng.choice(tuple(CRAFTED_CERTIFICATES))
    base = der_of(w.signer.certificate) if kind == "valid" \
        else CRAFTED_CERTIFICATES[kind][1](der_of(w.signer.certificate))
    cert = base
    if rng.random() < 0.7:
        tbs = der_tree.mutate(_tbs(base), rng, inner_pool)
        cert = resign_certificate(tbs, w.ca)
    bound = env.BoundHeader(message_id=rng.randbytes(16),
                            message_type=MessageType.IDENTITY_INFO_UPDATE,
                            sender=pki.node_id("municipality", "271004"),
                            recipient=pki.node_id("prefecture", "270008"),
                            time=NOW) if rng.random() < 0.5 else None
    attrs = signed_attributes(MESSAGE, bound)
    mutate_set = rng.random() < 0.3
    inner = signed_data(cert, w.signer.key, MESSAGE, attributes=attrs,
                        extra=(der_of(w.ca.certificate),) if rng.random() < 0.2 else (),
                        sign_set=(lambda s: der_tree.mutate(s, rng, inner_pool))
                        if mutate_set else None)
    if rng.random() < 0.1:
        inner = der_tree.mutate(inner, rng, inner_pool)
    return env.encrypt_content(inner, w.recipient.certificate), w.recipient, "resigned"
