"""Envelope profile cases in codec mode (spec/pdu.md section 7): each rule of the CMS
profile, checked for every class of input that breaks it, not only for the one the
golden vectors hold.

The runner builds each envelope itself, valid in every respect but the one the case
varies, and asks the SUT's adapter to ``open`` it (spec/conformance.md): the answer must
be the precise local code (R-CONF-11) of that one rule. The families:

- the versions of SignedData and SignerInfo (RFC 5652 section 5.1: 1, or 3; others are
  malformed, 2007);
- the encapsulated content type: only ``id-data`` (2007), whatever the other identifier;
- the key agreement: key wraps and KDF schemes other than the profile's (2005);
- the content types of the outer and inner ContentInfo (2005 for EnvelopedData, 2007
  for anything else);
- authenticated attributes of an AuthEnvelopedData (RFC 5083 section 2.1): optional, so
  an envelope carrying them opens, its GCM tag computed over them;
- and, for ``seal``, that every layer the SUT writes is DER (R-DER-01), for messages
  whose lengths sit on the boundaries of the length forms (127/128, 255/256 octets).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Callable
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from juki_conformance.cases_codec import expect_error
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol import PROTOCOL_VERSION
from juki_protocol.codec import codec, der
from juki_protocol.codec.schema import APPLICATION_TAGS
from juki_protocol.envelope import cms, pki
from juki_protocol.envelope import envelope as env
from juki_protocol.envelope.ca import create_root_ca, issue_node_certificate
from juki_protocol.errors import DecodeError, ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import MessageType, NodeId, NodeRole, Profile
from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import PduHeader
from juki_protocol.node.network import node_serial

NOW = dt.datetime(2026, 4, 1, 9, 0, 0, tzinfo=dt.UTC)
SENDER, RECIPIENT = "271004", "270008"
ID_AES192_WRAP = "2.16.840.1.101.3.4.1.25"          # RFC 3565 section 4.3
ID_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"          # RFC 5652 section 8
ID_DIGESTED_DATA = "1.2.840.113549.1.7.5"           # RFC 5652 section 7
UNKNOWN_LOW, UNKNOWN_HIGH = "1.2.3", "2.999.1"
#: Key-wrap algorithm -> the KEK octets it takes (RFC 3394).
_WRAP_KEK = {cms.ID_AES256_WRAP: 32, ID_AES192_WRAP: 24, cms.ID_AES128_WRAP: 16}
_KDF_HASH: dict[str, type[hashes.HashAlgorithm]] = {
    cms.DH_STD_SHA256KDF: hashes.SHA256, cms.DH_STD_SHA1KDF: hashes.SHA1,
    cms.DH_STD_SHA224KDF: hashes.SHA224, cms.DH_STD_SHA384KDF: hashes.SHA384,
    cms.DH_STD_SHA512KDF: hashes.SHA512}

REMEDIATION = (
    "Open envelopes exactly as spec/pdu.md section 7 profiles CMS: ContentInfo "
    "AuthEnvelopedData (only; EnvelopedData is 2005, any other content type 2007), "
    "authAttrs allowed and covered by the GCM tag (RFC 5083 section 2.2); key agreement "
    "dhSinglePass-stdDH-sha256kdf-scheme (sha1kdf MAY be accepted) with id-aes256-wrap "
    "only (2005); inside, ContentInfo SignedData (any other 2007) of version 1 or 3 "
    "with a SignerInfo of version 1 or 3 (RFC 5652 section 5.1; others 2007), "
    "eContentType id-data only (2007). Report the precise local code (R-CONF-11).")


@dataclasses.dataclass(frozen=True)
class _Node:
    node: NodeId
    key: ec.EllipticCurvePrivateKey
    cert: Any


@cache
def world() -> dict[str, Any]:
    """A throw-away network CA, a municipality sender and a prefecture recipient."""
    ca = create_root_ca(pki.generate_key(), common_name="juki-conformance profile CA",
                        not_before=NOW - dt.timedelta(days=1),
                        not_after=NOW + dt.timedelta(days=3650), serial=1)
    nodes = {}
    # Serials as long as a real CA's, one needing DER's leading zero octet (node_serial).
    for i, (role, code) in enumerate((("municipality", SENDER), ("prefecture", RECIPIENT))):
        key = pki.generate_key()
        node = NodeId(role=NodeRole(role), code=code)
        cert = issue_node_certificate(ca, key.public_key(), node,
                                      not_before=NOW - dt.timedelta(days=1),
                                      not_after=NOW + dt.timedelta(days=365),
                                      serial=node_serial(i + 4))
        nodes[code] = _Node(node, key, cert)
    return {"ca": ca, "nodes": nodes}


def _cert_der(cert: Any) -> bytes:
    return bytes(cert.public_bytes(serialization.Encoding.DER))


def issuer_serial(cert: Any) -> bytes:
    """The IssuerAndSerialNumber of ``cert`` (RFC 5652 section 10.2.4)."""
    return cms.issuer_and_serial(cms.certificate_issuer_der(_cert_der(cert)),
                                 cert.serial_number)


def message_of_length(size: int) -> bytes:
    """The DER of a valid IdentityInfoUpdate (a birth record) of exactly ``size``
    octets, 125 at least: its address text and sequence number fill the length."""
    base = example("IdentityInfoUpdate", "conformance", Profile.CURRENT)
    info = base.identity_info
    for sequence in (1, 1 << 8, 1 << 16):      # INTEGERs of 1, 2 and 3 octets
        for n in range(1, 4 * size):
            msg = IdentityInfoUpdate(
                municipality=SENDER, update_sequence=sequence,
                operation=UpdateOperation.RECORD,
                identity_info=dataclasses.replace(info, address=dataclasses.replace(
                    info.address, local_gov_code=SENDER, text="1" * n)),
                change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                       change_date=info.birth_date))
            data = codec.encode(msg)
            if len(data) == size:
                return data
            if len(data) > size:
                break
    raise ValueError(f"no IdentityInfoUpdate of exactly {size} octets")


def sample_header() -> PduHeader:
    """A fresh header of an IdentityInfoUpdate from the sender to the recipient."""
    w = world()["nodes"]
    return PduHeader(version=PROTOCOL_VERSION, message_id=os.urandom(16),
                     correlation_id=None, message_type=MessageType.IDENTITY_INFO_UPDATE,
                     sender=w[SENDER].node, recipient=w[RECIPIENT].node, time=NOW,
                     sequence_number=0, profile=Profile.CURRENT)


def _binding(header: PduHeader, time_value: bytes | None) -> list[bytes]:
    """The five header-binding attributes of spec/pdu.md section 7; ``time_value``
    replaces the DER of juki-time's value."""
    def node(n: NodeId) -> bytes:
        return cms.der_utf8(f"{n.role.value}:{n.code}")
    return [cms.attribute(env.ID_JUKI_MESSAGE_ID, cms.der_octets(header.message_id)),
            cms.attribute(env.ID_JUKI_MESSAGE_TYPE,
                          cms.der_enum(APPLICATION_TAGS[header.message_type.type_name])),
            cms.attribute(env.ID_JUKI_SENDER, node(header.sender)),
            cms.attribute(env.ID_JUKI_RECIPIENT, node(header.recipient)),
            cms.attribute(env.ID_JUKI_TIME,
                          time_value or cms.der_generalized_time(header.time))]


def signed_data(message: bytes, header: PduHeader, *, version: int = 1,
                signer_version: int = 1, econtent_type: str = cms.ID_DATA,
                outer_type: str = cms.ID_SIGNED_DATA, time_value: bytes | None = None,
                signing_time: dt.datetime | None = None, signer_ski: bytes | None = None,
                signer: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None = None,
                econtent: bytes | None = None) -> bytes:
    """ContentInfo(SignedData) over ``message``, signed by the sender, valid but for
    the versions, eContentType (the contentType attribute follows it, as RFC 5652
    section 11.1 requires) and ContentInfo type given; ``time_value`` replaces the DER
    of juki-time's value, ``signing_time`` the header time as the signing time;
    ``signer_ski`` names the signer by a subjectKeyIdentifier sid (RFC 5652 section
    5.3; the versions are then the caller's to set to 3); ``signer`` replaces the
    sender's key and certificate; ``econtent`` replaces the eContent OCTET STRING (the
    digest stays the message's)."""
    sender = world()["nodes"][SENDER]
    key, cert = signer or (sender.key, sender.cert)
    attrs = [cms.attribute(cms.ID_CONTENT_TYPE, cms.der_oid(econtent_type)),
             cms.attribute(cms.ID_SIGNING_TIME, cms.der_time(signing_time or header.time)),
             cms.attribute(cms.ID_MESSAGE_DIGEST,
                           cms.der_octets(hashlib.sha256(message).digest())),
             *_binding(header, time_value)]
    signed_set = cms.der_set(*attrs)
    signature = key.sign(signed_set, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    sid = issuer_serial(cert) if signer_ski is None else cms.tlv(0x80, signer_ski)
    signer_info = cms.der_seq(cms.der_int(signer_version), sid, cms.alg_id(cms.ID_SHA256),
                              cms.retag(0xA0, signed_set),
                              cms.alg_id(cms.ECDSA_WITH_SHA256), cms.der_octets(signature))
    body = cms.der_seq(cms.der_int(version), cms.der_set(cms.alg_id(cms.ID_SHA256)),
                       cms.der_seq(cms.der_oid(econtent_type),
                                   cms.der_explicit(0, econtent or cms.der_octets(message))),
                       cms.tlv(0xA0, _cert_der(cert)), cms.der_set(signer_info))
    return cms.der_seq(cms.der_oid(outer_type), cms.der_explicit(0, body))


def auth_enveloped(inner: bytes, *, wrap_oid: str = cms.ID_AES256_WRAP,
                   kdf_oid: str = cms.DH_STD_SHA256KDF,
                   auth_attrs: tuple[bytes, ...] = (),
                   outer_type: str = cms.ID_AUTH_ENVELOPED_DATA,
                   to: x509.Certificate | None = None, rid: bytes | None = None,
                   recipient_infos: Callable[[bytes], bytes] | None = None,
                   kari_version: int = 3, originator_id: bytes | None = None) -> bytes:
    """ContentInfo(AuthEnvelopedData) around ``inner`` to the recipient (or the key of
    ``to``), keyed as RFC 5753 says for ``wrap_oid`` and ``kdf_oid`` (a KEK of the
    wrap's size), that key named by ``rid`` (by default the certificate's issuer and
    serial number), with ``auth_attrs`` (their DER as a SET OF is the GCM AAD, RFC 5083
    section 2.2). ``recipient_infos``, given the content key, makes the RecipientInfos
    SET instead of that one KeyAgreeRecipientInfo."""
    cert = to or world()["nodes"][RECIPIENT].cert
    cek, nonce = os.urandom(32), os.urandom(12)
    if recipient_infos is not None:
        infos = recipient_infos(cek)
    else:
        public = cert.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        eph = ec.generate_private_key(ec.SECP256R1())
        kek_len = _WRAP_KEK[wrap_oid]
        kek = X963KDF(algorithm=_KDF_HASH[kdf_oid](), length=kek_len,
                      sharedinfo=cms.ecc_cms_shared_info(cms.alg_id(wrap_oid), None,
                                                         kek_len * 8)).derive(
                          eph.exchange(ec.ECDH(), public))
        point = eph.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint)
        originator = cms.der_explicit(0, originator_id or cms.tlv(
            0xA1, cms.alg_id(cms.ID_EC_PUBLIC_KEY) + cms.der_bits(point)))
        keys = cms.der_seq(cms.der_seq(rid or issuer_serial(cert),
                                       cms.der_octets(aes_key_wrap(kek, cek))))
        infos = cms.der_set(cms.tlv(0xA1, cms.der_int(kari_version) + originator
                                    + cms.alg_id(kdf_oid, cms.alg_id(wrap_oid)) + keys))
    aad_set = cms.der_set(*auth_attrs) if auth_attrs else b""
    sealed = AESGCM(cek).encrypt(nonce, inner, aad_set or None)
    content = cms.der_seq(cms.der_oid(cms.ID_DATA),
                          cms.alg_id(cms.ID_AES256_GCM, cms.der_seq(cms.der_octets(nonce),
                                                                    cms.der_int(16))),
                          cms.tlv(0x80, sealed[:-16]))
    body = cms.der_seq(cms.der_int(0), infos, content,
                       cms.retag(0xA1, aad_set) if aad_set else b"",
                       cms.der_octets(sealed[-16:]))
    return cms.der_seq(cms.der_oid(outer_type), cms.der_explicit(0, body))


def _open_request(envelope: bytes, header: PduHeader) -> dict[str, Any]:
    w = world()
    r = w["nodes"][RECIPIENT]
    return {"envelope": envelope.hex(), "header": codec.to_json(header), "preceding": [],
            "credentials": [{"certificate": pki.cert_pem(r.cert).decode(),
                             "privateKey": pki.key_pem(r.key).decode()}],
            "trustAnchors": [pki.cert_pem(w["ca"].certificate).decode()], "crls": [],
            "now": (NOW + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timeWindowSeconds": 300}


Build = Callable[[bytes, PduHeader], bytes]


def _refused(build: Build, code: ErrorCode) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        header = sample_header()
        message = codec.encode(example("IdentityInfoUpdate", "conformance",
                                       Profile.CURRENT))
        return expect_error(sut.request("open", **_open_request(build(message, header),
                                                                header)), int(code))
    return run


def _opens(build: Build) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        header = sample_header()
        message = codec.encode(example("IdentityInfoUpdate", "conformance",
                                       Profile.CURRENT))
        answer = sut.request("open", **_open_request(build(message, header), header))
        return opened_to(answer, message, "opened, giving the sealed message")
    return run


def opened_to(answer: dict[str, Any], message: bytes, expected: str) -> Outcome:
    """PASS if the ``open`` answer gives ``message``; FAIL if it was refused or gives
    other octets."""
    if not answer.get("ok"):
        err = answer.get("error") or {}
        return Outcome(Verdict.FAIL, expected,
                       f"rejected with {err.get('code')} {err.get('name')}")
    if answer.get("message") != message.hex():
        return Outcome(Verdict.FAIL, expected, "opened to a different message")
    return Outcome(Verdict.PASS, expected, "opened")


def der_fault(data: bytes) -> str | None:
    """None if ``data`` is one DER value whose every TLV uses the minimal length form
    (X.690 section 10.1), else where it is not."""
    try:
        der.parse(data)
    except DecodeError as exc:
        return str(exc)
    return None


def _seal_der(size: int) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        w = world()
        s, r = w["nodes"][SENDER], w["nodes"][RECIPIENT]
        message, header = message_of_length(size), sample_header()
        answer = sut.request("seal", header=codec.to_json(header), message=message.hex(),
                             senderKey=pki.key_pem(s.key).decode(),
                             senderCert=pki.cert_pem(s.cert).decode(),
                             recipientCert=pki.cert_pem(r.cert).decode(),
                             now=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
        expected = (f"the envelope of a {size}-octet message, and the SignedData inside "
                    "it, DER in every length")
        if not answer.get("ok"):
            err = answer.get("error") or {}
            return Outcome(Verdict.FAIL, expected,
                           f"seal refused: {err.get('code')} {err.get('name')}")
        try:
            envelope = bytes.fromhex(str(answer.get("envelope")))
        except ValueError:
            return Outcome(Verdict.FAIL, expected, "the envelope is not hex")
        fault = der_fault(envelope)
        if fault:
            return Outcome(Verdict.FAIL, expected, f"the envelope is not DER: {fault}")
        try:
            inner = env.decrypt_content(envelope, [pki.Credential(r.key, r.cert)])
        except Exception as exc:  # the reference could not decrypt: the SUT's fault
            return Outcome(Verdict.FAIL, expected, f"the reference cannot decrypt it: {exc}")
        fault = der_fault(inner)
        if fault:
            return Outcome(Verdict.FAIL, expected, f"the SignedData is not DER: {fault}")
        if message not in inner:
            return Outcome(Verdict.FAIL, expected, "the message is not in the SignedData")
        return Outcome(Verdict.PASS, expected, "DER at both layers")
    return run


def _originator(kind: str) -> bytes:
    """An OriginatorIdentifierOrKey other than the public key (RFC 5652 section 6.2.2):
    the sender's certificate's issuer and serial number, or a subject key identifier."""
    if kind == "issuer-and-serial":
        return issuer_serial(world()["nodes"][SENDER].cert)
    return cms.tlv(0x80, b"\x11" * 20)


def _variants() -> list[tuple[str, str, tuple[str, ...], Callable[[AdapterSut], Outcome]]]:
    malformed, unsupported = ErrorCode.ENVELOPE_MALFORMED, ErrorCode.ALGORITHM_UNSUPPORTED
    out: list[tuple[str, str, tuple[str, ...], Callable[[AdapterSut], Outcome]]] = []
    for v in (0, 2, 4, 5):
        out.append((f"signed-data-version-{v}", f"SignedData version {v} is refused 2007",
                    ("R-PDU-31",),
                    _refused(lambda m, h, v=v: auth_enveloped(signed_data(m, h, version=v)),  # type: ignore[misc]  # a lambda binding a loop value
                             malformed)))
        out.append((f"signer-info-version-{v}", f"SignerInfo version {v} is refused 2007",
                    ("R-PDU-31",),
                    _refused(lambda m, h, v=v: auth_enveloped(  # type: ignore[misc]  # a lambda binding a loop value
                        signed_data(m, h, signer_version=v)), malformed)))
    for v in (0, 2, 4):           # RFC 5652 section 6.2.2: a KeyAgreeRecipientInfo is v3
        out.append((f"key-agree-recipient-info-version-{v}",
                    f"KeyAgreeRecipientInfo version {v} is refused 2007", ("R-PDU-31",),
                    _refused(lambda m, h, v=v: auth_enveloped(  # type: ignore[misc]  # a lambda binding a loop value
                        signed_data(m, h), kari_version=v), malformed)))
    # RFC 5753 section 3.1.1: the originator of ephemeral-static ECDH is its public key;
    # one named by a certificate (issuer and serial number, or a key identifier) is not.
    for name in ("issuer-and-serial", "subject-key-identifier"):
        out.append((f"originator-{name}",
                    f"a KeyAgreeRecipientInfo whose originator is given by {name} (not an "
                    "ephemeral public key) is refused 2005", ("R-PDU-31",),
                    _refused(lambda m, h, n=name: auth_enveloped(  # type: ignore[misc]  # a lambda binding a loop value
                        signed_data(m, h), originator_id=_originator(n)), unsupported)))
    for name, oid in (("below-id-data", UNKNOWN_LOW), ("id-signed-data", cms.ID_SIGNED_DATA),
                      ("id-data-subarc", cms.ID_DATA + ".1"), ("above-id-data", UNKNOWN_HIGH),
                      ("juki-arc", env.JUKI_ARC + ".9")):
        out.append((f"econtent-type-{name}",
                    f"eContentType {oid} (not id-data), consistently attributed and "
                    "signed, is refused 2007", ("R-PDU-31",),
                    _refused(lambda m, h, o=oid: auth_enveloped(  # type: ignore[misc]  # a lambda binding a loop value
                        signed_data(m, h, econtent_type=o)), malformed)))
    for name, oid in (("aes128-wrap", cms.ID_AES128_WRAP), ("aes192-wrap", ID_AES192_WRAP)):
        out.append((f"key-wrap-{name}", f"key wrap {name} (not id-aes256-wrap) is refused "
                    "2005", ("R-PDU-29", "R-PDU-30"),
                    _refused(lambda m, h, o=oid: auth_enveloped(signed_data(m, h),  # type: ignore[misc]  # a lambda binding a loop value
                                                                wrap_oid=o), unsupported)))
    for name, oid in (("sha224kdf", cms.DH_STD_SHA224KDF), ("sha384kdf", cms.DH_STD_SHA384KDF),
                      ("sha512kdf", cms.DH_STD_SHA512KDF)):
        out.append((f"kdf-{name}", f"key agreement dhSinglePass-stdDH-{name}-scheme is "
                    "refused 2005", ("R-PDU-30",),
                    _refused(lambda m, h, o=oid: auth_enveloped(signed_data(m, h),  # type: ignore[misc]  # a lambda binding a loop value
                                                                kdf_oid=o), unsupported)))
    for name, oid, code in (("id-data", cms.ID_DATA, malformed),
                            ("id-signed-data", cms.ID_SIGNED_DATA, malformed),
                            ("id-digested-data", ID_DIGESTED_DATA, malformed),
                            ("id-encrypted-data", ID_ENCRYPTED_DATA, malformed),
                            ("unknown-low", UNKNOWN_LOW, malformed),
                            ("unknown-high", UNKNOWN_HIGH, malformed),
                            ("id-enveloped-data", cms.ID_ENVELOPED_DATA, unsupported)):
        out.append((f"outer-content-type-{name}", f"an envelope whose ContentInfo type is "
                    f"{oid} is refused {int(code)}", ("R-PDU-31",),
                    _refused(lambda m, h, o=oid: auth_enveloped(signed_data(m, h),  # type: ignore[misc]  # a lambda binding a loop value
                                                                outer_type=o), code)))
    for name, oid in (("id-data", cms.ID_DATA), ("id-enveloped-data", cms.ID_ENVELOPED_DATA),
                      ("auth-enveloped-data", cms.ID_AUTH_ENVELOPED_DATA),
                      ("unknown-low", UNKNOWN_LOW), ("unknown-high", UNKNOWN_HIGH)):
        out.append((f"inner-content-type-{name}", f"an encrypted ContentInfo of type {oid} "
                    "(not SignedData) is refused 2007", ("R-PDU-31",),
                    _refused(lambda m, h, o=oid: auth_enveloped(signed_data(  # type: ignore[misc]  # a lambda binding a loop value
                        m, h, outer_type=o)), malformed)))
    ctype = cms.attribute(cms.ID_CONTENT_TYPE, cms.der_oid(cms.ID_DATA))
    other = cms.attribute(UNKNOWN_HIGH, cms.der_utf8("conformance"))
    for name, attrs in (("content-type", (ctype,)), ("two-attributes", (ctype, other))):
        out.append((f"auth-attrs-{name}", "an AuthEnvelopedData with authAttrs (the GCM "
                    "tag over them) opens", ("R-PDU-31",),
                    _opens(lambda m, h, a=attrs: auth_enveloped(signed_data(m, h),  # type: ignore[misc]  # a lambda binding a loop value
                                                                auth_attrs=a))))
    return out


def envelope_profile_cases() -> list[Case]:
    """The cases of this module, in a stable order."""
    cases: list[Case] = [
        Case(id=f"pdu/envelope/profile/{slug}", title=title, clause="pdu",
             requirements=(*reqs, "R-CONF-11"), level="MUST", remediation=REMEDIATION,
             mode="codec", ops=("open",), run=run)
        for slug, title, reqs, run in _variants()]
    for size in (127, 128, 255, 256):
        cases.append(Case(
            id=f"pdu/envelope/profile/seal-der-{size}-octet-message",
            title=f"a {size}-octet message is sealed in DER (minimal lengths) throughout",
            clause="pdu", requirements=("R-DER-01", "R-PDU-29"), level="MUST",
            remediation="Write every length of the envelope and of the SignedData in its "
                        "minimal form (X.690 section 10.1): the short form up to 127 "
                        "octets, then the fewest octets of the long form.",
            mode="codec", ops=("seal",), run=_seal_der(size)))
    return cases
__all__ = ["auth_enveloped", "der_fault", "envelope_profile_cases", "issuer_serial",
           "message_of_length", "opened_to", "sample_header", "signed_data", "world"]
