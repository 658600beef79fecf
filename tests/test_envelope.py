"""The envelope: structure, round trips, and a negative test for every code it raises."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import os
from collections.abc import Callable
from typing import Any

import pytest
from asn1crypto import cms as acms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from juki_protocol.errors import ErrorCode, JukiError, ProtocolError, SecurityError
from juki_protocol.messages.base import from_form
from juki_protocol.messages.pdu import MessageType, PduHeader

T0 = dt.datetime(2025, 4, 1, 9, 0, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SEC = dt.timedelta(seconds=1)
MSG = bytes(range(256)) * 3


@dataclasses.dataclass(frozen=True)
class World:
    ca: CertificateAuthority
    trust: pki.TrustStore
    m1: pki.Credential          # municipality 271004
    m2: pki.Credential          # municipality 131016
    pref: pki.Credential        # prefecture 270008, current
    pref_old: pki.Credential    # prefecture 270008, previous (rotation)
    agency: pki.Credential      # AG0001


def _cred(ca: CertificateAuthority, role: str, code: str, serial: int, *,
          nb: dt.datetime = T0 - 30 * DAY, na: dt.datetime = T0 + 365 * DAY,
          **kw: bool) -> pki.Credential:
    key = pki.generate_key()
    cert = issue_node_certificate(ca, key.public_key(), pki.node_id(role, code),
                                  not_before=nb, not_after=na, serial=serial, **kw)
    return pki.Credential(key, cert)


@pytest.fixture(scope="module")
def w() -> World:
    ca = create_root_ca(pki.generate_key(), common_name="Envelope Test Root",
                        not_before=T0 - 100 * DAY, not_after=T0 + 1000 * DAY, serial=1)
    return World(ca=ca, trust=pki.TrustStore(anchors=(ca.certificate,)),
                 m1=_cred(ca, "municipality", "271004", 11),
                 m2=_cred(ca, "municipality", "131016", 12),
                 pref=_cred(ca, "prefecture", "270008", 13),
                 pref_old=_cred(ca, "prefecture", "270008", 14, nb=T0 - 400 * DAY,
                                na=T0 + 10 * DAY),
                 agency=_cred(ca, "agency", "AG0001", 15))


def header(mtype: MessageType = MessageType.IDENTITY_INFO_UPDATE,
           sender: str = "municipality:271004", recipient: str = "prefecture:270008", *,
           time: dt.datetime = T0, message_id: bytes | None = None,
           sequence: int = 1) -> PduHeader:
    def node(text: str) -> dict[str, str]:
        role, _, code = text.partition(":")
        return {"role": role, "code": code}
    return from_form(PduHeader, {
        "version": 1, "message_id": (message_id or os.urandom(16)).hex(),
        "message_type": mtype.value, "sender": node(sender), "recipient": node(recipient),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "sequence_number": sequence,
        "profile": "current"}, json=True)


def seal(w: World, h: PduHeader | None = None, msg: bytes = MSG, *,
         sender: pki.Credential | None = None, to: pki.Credential | None = None,
         **kw: Any) -> bytes:
    h = h or header()
    sender = sender or w.m1
    return env.seal(h, msg, sender.key, sender.certificate, (to or w.pref).certificate, T0,
                    **kw)


def raw(w: World, h: PduHeader | None, msg: bytes = MSG, *, sender: pki.Credential | None = None,
        to: pki.Credential | None = None, **kw: Any) -> bytes:
    """Seal without policy checks, to make envelopes that must be refused."""
    sender = sender or w.m1
    return parts.seal_from_parts(h, msg, sender.key, sender.certificate,
                                 (to or w.pref).certificate,
                                 ephemeral_key=pki.generate_key(), cek=os.urandom(32),
                                 iv=os.urandom(12), now=T0, **kw)


def open_(w: World, data: bytes, h: PduHeader | None = None, *,
          creds: list[pki.Credential] | None = None, now: dt.datetime = T0,
          trust: pki.TrustStore | None = None, **kw: Any) -> env.OpenedEnvelope:
    return env.open_envelope(data, creds if creds is not None else [w.pref], trust or w.trust,
                             now, header=h, **kw)


def refused(code: ErrorCode, call: Callable[[], object]) -> SecurityError:
    with pytest.raises(SecurityError) as e:
        call()
    assert e.value.error_code is code, str(e.value)
    return e.value


# Round trips and structure ------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 100 * 1024])
def test_round_trip(w: World, size: int) -> None:
    msg = os.urandom(size)
    h = header()
    opened = open_(w, seal(w, h, msg), h, replay_cache=env.ReplayCache())
    assert opened.message_der == msg
    assert opened.signer == h.sender
    assert opened.signer_certificate == w.m1.certificate
    assert opened.recipient_certificate == w.pref.certificate
    assert opened.bound == env.BoundHeader.of(h)
    assert opened.signing_time == T0


def test_structure_follows_the_profile(w: World) -> None:
    h = header()
    data = seal(w, h)
    ci = acms.ContentInfo.load(data, strict=True)
    assert ci["content_type"].dotted == cms.ID_AUTH_ENVELOPED_DATA
    aed = ci["content"]
    assert aed["version"].native == "v0"
    kari = aed["recipient_infos"][0].chosen
    assert kari["version"].native == "v3"
    assert kari["originator"].name == "originator_key"
    assert kari["key_encryption_algorithm"]["algorithm"].dotted == cms.DH_STD_SHA256KDF
    assert kari["key_encryption_algorithm"]["parameters"].dump() == \
        cms.alg_id(cms.ID_AES256_WRAP)
    rid = kari["recipient_encrypted_keys"][0]["rid"]
    assert rid.name == "issuer_and_serial_number"
    assert rid.chosen["serial_number"].native == w.pref.certificate.serial_number
    eci = aed["auth_encrypted_content_info"]
    assert eci["content_type"].dotted == cms.ID_DATA
    assert eci["content_encryption_algorithm"]["algorithm"].dotted == cms.ID_AES256_GCM
    nonce, icv = cms.parse_gcm_parameters(eci["content_encryption_algorithm"]["parameters"]
                                          .dump())
    assert (len(nonce), icv, len(aed["mac"].native)) == (12, 16, 16)
    # The whole output is DER: the strict walker of the PDU codec accepts it.
    from juki_protocol.codec import der
    der.parse(data)


def test_inner_signed_data_follows_the_profile(w: World) -> None:
    h = header()
    inner = parts.sign_message(h, MSG, w.m1.key, w.m1.certificate, T0)
    sd = cms.parse_signed_data(inner)
    assert (sd.version, sd.digest_oids, sd.content_type, sd.content) == \
        (1, (cms.ID_SHA256,), cms.ID_DATA, MSG)
    assert len(sd.certificates) == 1
    si = sd.signers[0]
    assert (si.version, si.digest_oid, si.signature_oid) == \
        (1, cms.ID_SHA256, cms.ECDSA_WITH_SHA256)
    assert si.sid.serial == w.m1.certificate.serial_number
    oids = [a.oid for a in si.attributes]
    assert set(oids) == {cms.ID_CONTENT_TYPE, cms.ID_MESSAGE_DIGEST, cms.ID_SIGNING_TIME,
                         *env.BINDING_OIDS}
    # DER: the attributes are sorted by their encodings (X.690 section 11.6).
    encoded = [cms.attribute(a.oid, a.values[0]) for a in si.attributes]
    assert encoded == sorted(encoded)
    assert all(oid.startswith("2.25.31773523775492759477620565196970735964.1.")
               for oid in env.BINDING_OIDS)


def test_signing_time_encoding() -> None:
    assert cms.der_time(T0)[0] == 0x17                                     # UTCTime
    assert cms.der_time(T0.replace(year=2050))[0] == 0x18                  # GeneralizedTime
    assert cms.read_time(cms.der_time(T0)) == T0
    assert cms.read_time(cms.der_generalized_time(T0.replace(year=2070))).year == 2070


def test_der_writer_matches_asn1crypto() -> None:
    from asn1crypto import core
    for value in (0, 1, 127, 128, 255, 256, -1, -129, 2**64):
        assert cms.der_int(value) == core.Integer(value).dump()
    for oid in ("1.2.840.113549.1.9.16.1.23", "2.25.31773523775492759477620565196970735964"):
        assert cms.der_oid(oid) == core.ObjectIdentifier(oid).dump()
    assert cms.der_octets(b"x" * 300) == core.OctetString(b"x" * 300).dump()
    with pytest.raises(ValueError):
        cms.der_oid("3.1")


def test_fixed_parts_give_identical_bytes_and_seal_does_not(w: World) -> None:
    h = header()
    eph, cek, iv = pki.generate_key(), os.urandom(32), os.urandom(12)
    a, b = (parts.seal_from_parts(h, MSG, w.m1.key, w.m1.certificate, w.pref.certificate,
                                  ephemeral_key=eph, cek=cek, iv=iv, now=T0)
            for _ in range(2))
    assert a == b
    assert seal(w, h) != seal(w, h)


def test_key_rotation(w: World) -> None:
    h = header()
    old = seal(w, h, to=w.pref_old)
    opened = open_(w, old, h, creds=[w.pref, w.pref_old])
    assert opened.recipient_certificate == w.pref_old.certificate
    refused(ErrorCode.NO_MATCHING_RECIPIENT, lambda: open_(w, old, h, creds=[w.pref]))


def test_intermediate_in_signed_data(w: World) -> None:
    inter = create_intermediate_ca(w.ca, pki.generate_key(), common_name="Issuing",
                                   not_before=T0 - DAY, not_after=T0 + 100 * DAY,
                                   serial=99)
    signer = _cred(CertificateAuthority(inter.key, inter.certificate), "municipality",
                   "271004", 100)
    h = header()
    with_chain = seal(w, h, sender=signer, chain=[inter.certificate])
    assert open_(w, with_chain, h).signer == h.sender
    without = seal(w, h, sender=signer)
    refused(ErrorCode.CERT_UNTRUSTED, lambda: open_(w, without, h))


def test_municipality_to_municipality(w: World) -> None:
    h = header(MessageType.WIDE_AREA_ISSUANCE_REQUEST, recipient="municipality:131016")
    assert open_(w, seal(w, h, to=w.m2), h, creds=[w.m2]).message_der == MSG


# Sealing refuses what the recipient would refuse ---------------------------------------------

def test_seal_refusals(w: World) -> None:
    h = header()
    refused(ErrorCode.CERT_INVALID,
            lambda: env.seal(h, MSG, w.m2.key, w.m1.certificate, w.pref.certificate, T0))
    refused(ErrorCode.CERT_SENDER_MISMATCH,
            lambda: seal(w, header(sender="municipality:131016")))
    refused(ErrorCode.CERT_ROLE_NOT_ALLOWED,
            lambda: seal(w, header(sender="agency:AG0001"), sender=w.agency))
    refused(ErrorCode.HEADER_BINDING_MISMATCH, lambda: seal(w, h, to=w.m2))
    no_agree = _cred(w.ca, "prefecture", "270008", 40, key_agreement=False)
    refused(ErrorCode.CERT_KEY_USAGE, lambda: seal(w, h, to=no_agree))
    no_sign = _cred(w.ca, "municipality", "271004", 41, digital_signature=False)
    refused(ErrorCode.CERT_KEY_USAGE, lambda: seal(w, h, sender=no_sign))
    expired = _cred(w.ca, "municipality", "271004", 42, nb=T0 - 9 * DAY, na=T0 - DAY)
    refused(ErrorCode.CERT_EXPIRED, lambda: seal(w, h, sender=expired))
    stranger_ca = create_root_ca(pki.generate_key(), common_name="Other",
                                 not_before=T0 - DAY, not_after=T0 + DAY, serial=1)
    stranger = _cred(stranger_ca, "prefecture", "270008", 43)
    refused(ErrorCode.CERT_UNTRUSTED, lambda: seal(w, h, to=stranger, trust=w.trust))
    assert seal(w, h, trust=w.trust)
    with pytest.raises(ValueError):
        env.seal(h, "text", w.m1.key, w.m1.certificate,  # type: ignore[arg-type]
                 w.pref.certificate, T0)


# Opening: a negative test for every code ------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"\x30\x00", b"\x30\x03\x06\x01\x00", b"garbage" * 9])
def test_malformed(w: World, data: bytes) -> None:
    refused(ErrorCode.ENVELOPE_MALFORMED, lambda: open_(w, data))


def test_malformed_shapes(w: World) -> None:
    h = header()
    inner = parts.sign_message(h, MSG, w.m1.key, w.m1.certificate, T0)
    # A SignedData where the AuthEnvelopedData belongs.
    refused(ErrorCode.ENVELOPE_MALFORMED, lambda: open_(w, inner, h))
    # Trailing octets after the envelope.
    refused(ErrorCode.ENVELOPE_MALFORMED, lambda: open_(w, seal(w, h) + b"\x00", h))
    # Too large to be a sealed body.
    refused(ErrorCode.ENVELOPE_MALFORMED,
            lambda: open_(w, b"\x30" + b"\x00" * (16 * 1024 * 1024 + 1), h))


def _encrypt_inner(w: World, inner: bytes) -> bytes:
    return parts.encrypt_from_parts(inner, w.pref.certificate,
                                    ephemeral_key=pki.generate_key(),
                                    cek=os.urandom(32), iv=os.urandom(12))


def _modify_inner(inner: bytes, change: Callable[[Any], None]) -> bytes:
    ci = acms.ContentInfo.load(inner)
    change(ci["content"])
    return bytes(ci.dump())


def test_inner_content_malformed(w: World) -> None:
    h = header()
    inner = parts.sign_message(h, MSG, w.m1.key, w.m1.certificate, T0)

    def detached(sd: Any) -> None:
        sd["encap_content_info"] = acms.ContentInfo({"content_type": "data"})

    def two_signers(sd: Any) -> None:
        sd["signer_infos"] = [sd["signer_infos"][0], sd["signer_infos"][0]]

    def no_certificates(sd: Any) -> None:
        sd["certificates"] = None

    def other_certificate(sd: Any) -> None:
        sd["certificates"] = [acms.CertificateChoices.load(parts.cert_der(w.m2.certificate))]

    def no_signed_attributes(sd: Any) -> None:
        sd["signer_infos"][0]["signed_attrs"] = None

    def other_content_type(sd: Any) -> None:
        sd["encap_content_info"]["content_type"] = "1.2.3.4"

    cases = {"not a ContentInfo": b"hello", "not SignedData": cms.der_seq(
        cms.der_oid(cms.ID_DATA), cms.der_explicit(0, cms.der_octets(MSG)))}
    for change in (detached, two_signers, no_certificates, other_certificate,
                   no_signed_attributes, other_content_type):
        cases[change.__name__] = _modify_inner(inner, change)
    for name, case in cases.items():
        assert refused(ErrorCode.ENVELOPE_MALFORMED,
                       functools.partial(open_, w, _encrypt_inner(w, case), h)), name
    # The unmodified inner content opens: the cases above differ in one point each.
    assert open_(w, _encrypt_inner(w, _modify_inner(inner, lambda sd: None)), h)


def _swap(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1 and len(old) == len(new)
    return data.replace(old, new)


def test_algorithm_unsupported(w: World) -> None:
    h = header()
    data = seal(w, h)
    sha384kdf = cms.der_oid(cms.DH_STD_SHA384KDF)
    aes128wrap = cms.der_oid(cms.ID_AES128_WRAP)
    cases = {
        "kdf": _swap(data, cms.der_oid(cms.DH_STD_SHA256KDF), sha384kdf),
        "wrap": _swap(data, cms.der_oid(cms.ID_AES256_WRAP), aes128wrap),
        "cipher": _swap(data, cms.der_oid(cms.ID_AES256_GCM), cms.der_oid(cms.ID_AES128_GCM)),
        "aes128": parts.encrypt_from_parts(
            parts.sign_message(h, MSG, w.m1.key, w.m1.certificate, T0),
            w.pref.certificate, ephemeral_key=pki.generate_key(),
            cek=os.urandom(16), iv=os.urandom(12)),
        "sha384": _encrypt_inner(w, parts.sign_message(h, MSG, w.m1.key, w.m1.certificate,
                                                       T0, digest="sha384")),
    }
    for name, case in cases.items():
        assert refused(ErrorCode.ALGORITHM_UNSUPPORTED, functools.partial(open_, w, case, h)), \
            name
    # A plain EnvelopedData (no authenticated encryption).
    aed = acms.ContentInfo.load(data)["content"].dump()
    enveloped = cms.der_seq(cms.der_oid(cms.ID_ENVELOPED_DATA), cms.der_explicit(0, aed))
    refused(ErrorCode.ALGORITHM_UNSUPPORTED, lambda: open_(w, enveloped, h))
    # A 12-octet tag instead of 16 (RFC 5084 allows it; the profile does not).
    nonce, _ = cms.parse_gcm_parameters(cms.parse_auth_enveloped(data).cipher_params_der)
    short = _swap(data, nonce + b"\x02\x01\x10", nonce + b"\x02\x01\x0c")
    refused(ErrorCode.ALGORITHM_UNSUPPORTED, lambda: open_(w, short, h))


def test_no_matching_recipient(w: World) -> None:
    h = header()
    data = seal(w, h)
    refused(ErrorCode.NO_MATCHING_RECIPIENT, lambda: open_(w, data, h, creds=[w.m2]))
    refused(ErrorCode.NO_MATCHING_RECIPIENT, lambda: open_(w, data, h, creds=[]))


def test_decryption_failed(w: World) -> None:
    h = header()
    data = seal(w, h)
    aed = cms.parse_auth_enveloped(data)
    kari = aed.key_agree[0]
    wrapped = kari.keys[0][1]
    assert kari.originator_point is not None and aed.ciphertext is not None
    bad_point = b"\x04" + b"\x01" * 64
    cases = {
        "tag": data[:-1] + bytes((data[-1] ^ 1,)),
        "ciphertext": _swap(data, aed.ciphertext[100:120],
                            bytes(b ^ 0x80 for b in aed.ciphertext[100:120])),
        "wrapped key": _swap(data, wrapped, wrapped[:-1] + bytes((wrapped[-1] ^ 1,))),
        "point": _swap(data, kari.originator_point, bad_point),
        "other ephemeral": _swap(data, kari.originator_point,
                                 pki.generate_key().public_key().public_bytes(
                                     *_x962())),
    }
    for name, case in cases.items():
        assert refused(ErrorCode.DECRYPTION_FAILED, functools.partial(open_, w, case, h)), name


def _x962() -> tuple[Any, Any]:
    from cryptography.hazmat.primitives import serialization
    return serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint


def test_signature_invalid(w: World) -> None:
    h, h2 = header(), header()
    inner = parts.sign_message(h, MSG, w.m1.key, w.m1.certificate, T0)
    attribute = _swap(inner, h.message_id, h2.message_id)
    refused(ErrorCode.SIGNATURE_INVALID, lambda: open_(w, _encrypt_inner(w, attribute), h2))
    content = _swap(inner, MSG, MSG[::-1])
    refused(ErrorCode.SIGNATURE_INVALID, lambda: open_(w, _encrypt_inner(w, content), h))
    # Signed by another key under the right certificate.
    forged = parts.sign_message(h, MSG, w.m2.key, w.m1.certificate, T0)
    refused(ErrorCode.SIGNATURE_INVALID, lambda: open_(w, _encrypt_inner(w, forged), h))


@pytest.mark.parametrize("field", ["message_id", "message_type", "recipient", "time",
                                   "missing"])
def test_header_binding_mismatch(w: World, field: str) -> None:
    h = header()
    data = raw(w, None if field == "missing" else h)
    changes: dict[str, dict[str, Any]] = {
        "message_id": {"message_id": os.urandom(16)},
        "message_type": {"message_type": MessageType.PROVISION_REQUEST},
        "recipient": {"recipient": pki.node_id("prefecture", "130001")},
        "time": {"time": T0 + SEC},
        "missing": {},
    }
    changed = dataclasses.replace(h, **changes[field])
    refused(ErrorCode.HEADER_BINDING_MISMATCH, lambda: open_(w, data, changed))


def test_addressed_to_another_node_but_encrypted_to_us(w: World) -> None:
    h = header(recipient="prefecture:130001")
    data = raw(w, h)
    refused(ErrorCode.HEADER_BINDING_MISMATCH, lambda: open_(w, data, h))
    refused(ErrorCode.HEADER_BINDING_MISMATCH, lambda: open_(w, data))   # standalone too


def test_sender_and_role(w: World) -> None:
    h = header(sender="municipality:131016")
    data = raw(w, h)
    refused(ErrorCode.CERT_SENDER_MISMATCH, lambda: open_(w, data, h))
    refused(ErrorCode.CERT_SENDER_MISMATCH, lambda: open_(w, data))       # standalone too
    h = header(sender="agency:AG0001")
    data = raw(w, h, sender=w.agency)
    refused(ErrorCode.CERT_ROLE_NOT_ALLOWED, lambda: open_(w, data, h))
    h = header(MessageType.WIDE_AREA_ISSUANCE_RESPONSE, sender="municipality:271004")
    data = raw(w, h)         # 12-2 data sealed to a prefecture
    refused(ErrorCode.CERT_ROLE_NOT_ALLOWED, lambda: open_(w, data, h))


@pytest.mark.parametrize(("kw", "code"), [
    ({"nb": T0 + DAY}, ErrorCode.CERT_NOT_YET_VALID),
    ({"na": T0 - DAY}, ErrorCode.CERT_EXPIRED),
    ({"digital_signature": False}, ErrorCode.CERT_KEY_USAGE),
])
def test_signer_certificate_checks(w: World, kw: dict[str, Any], code: ErrorCode) -> None:
    signer = _cred(w.ca, "municipality", "271004", 60, **kw)
    h = header()
    refused(code, lambda: open_(w, raw(w, h, sender=signer), h))


def test_signer_revoked_and_untrusted(w: World) -> None:
    signer = _cred(w.ca, "municipality", "271004", 61)
    h = header()
    data = raw(w, h, sender=signer)
    crl = build_crl(w.ca, [RevokedCertificate(61, T0 - DAY)], this_update=T0 - DAY,
                    next_update=T0 + DAY, number=1)
    store = pki.TrustStore(anchors=w.trust.anchors, crls=(crl,))
    refused(ErrorCode.CERT_REVOKED, lambda: open_(w, data, h, trust=store))
    other = create_root_ca(pki.generate_key(), common_name="Other", not_before=T0 - DAY,
                           not_after=T0 + DAY, serial=1)
    refused(ErrorCode.CERT_UNTRUSTED,
            lambda: open_(w, data, h, trust=pki.TrustStore(anchors=(other.certificate,))))
    refused(ErrorCode.CRL_INVALID,
            lambda: open_(w, data, h, trust=dataclasses.replace(w.trust, require_crl=True)))


def test_time_window(w: World) -> None:
    for delta, ok in ((300, True), (-300, True), (301, False), (-301, False)):
        h = header(time=T0 + delta * SEC)
        data = raw(w, h)
        if ok:
            assert open_(w, data, h).message_der == MSG
        else:
            refused(ErrorCode.STALE_TIME, functools.partial(open_, w, data, h))
    h = header(time=T0 - 3600 * SEC)
    data = raw(w, h)
    assert open_(w, data, h, time_window=dt.timedelta(hours=2)).message_der == MSG
    assert open_(w, data).message_der == MSG      # standalone: no time window


def test_replay_and_duplicate(w: World) -> None:
    cache = env.ReplayCache()
    h = header()
    first = seal(w, h)
    open_(w, first, h, replay_cache=cache)
    # The same message again, even sealed anew: an idempotent retry.
    for again in (first, seal(w, h)):
        with pytest.raises(ProtocolError) as e:
            open_(w, again, h, replay_cache=cache)
        assert e.value.error_code is ErrorCode.DUPLICATE_MESSAGE
    # The same message id with other content: a replay.
    other = seal(w, h, MSG + b"!")
    refused(ErrorCode.REPLAY, lambda: open_(w, other, h, replay_cache=cache))
    # Other ids are unaffected.
    h2 = header()
    open_(w, seal(w, h2), h2, replay_cache=cache)
    assert len(cache) == 2


def test_replay_cache_forgets_after_the_window() -> None:
    cache = env.ReplayCache(dt.timedelta(seconds=10))
    mid = os.urandom(16)
    cache.check_and_remember(mid, b"a", T0, T0)
    with pytest.raises(SecurityError):
        cache.check_and_remember(mid, b"b", T0, T0 + 10 * SEC)
    cache.prune(T0 + 11 * SEC)
    assert len(cache) == 0
    cache.check_and_remember(mid, b"b", T0 + 11 * SEC, T0 + 11 * SEC)


def test_openssl_style_envelope_without_binding(w: World) -> None:
    h = header()
    data = raw(w, None)
    opened = open_(w, data)
    assert opened.bound is None and opened.signer == h.sender
    refused(ErrorCode.HEADER_BINDING_MISMATCH, lambda: open_(w, data, h))


def test_sha1_kdf_is_opened(w: World) -> None:
    h = header()
    data = raw(w, h, kdf_oid=cms.DH_STD_SHA1KDF)
    assert open_(w, data, h).message_der == MSG


# Answering the peer ---------------------------------------------------------------------------

def test_peer_sees_one_opaque_code_and_the_log_has_the_reason(
        w: World, caplog: pytest.LogCaptureFixture) -> None:
    h = header()
    secret = b"\xe5\xb1\xb1\xe7\x94\xb0 personal data"
    data = seal(w, h, secret)
    bad = data[:-1] + bytes((data[-1] ^ 1,))
    with caplog.at_level(logging.WARNING, logger="juki_protocol.envelope.envelope"):
        with pytest.raises(SecurityError) as e:
            open_(w, bad, h)
        assert env.peer_error_code(e.value, message_id=h.message_id) is \
            ErrorCode.ENVELOPE_INVALID
        report = env.peer_error_report(e.value, refers_to=h.message_id)
    assert report.error_code == ErrorCode.ENVELOPE_INVALID and report.detail is None
    assert "DECRYPTION_FAILED" in caplog.text and h.message_id.hex() in caplog.text
    assert secret.hex() not in caplog.text and "personal" not in caplog.text
    dup = ProtocolError("again", code=ErrorCode.DUPLICATE_MESSAGE)
    assert env.peer_error_code(dup) is ErrorCode.DUPLICATE_MESSAGE


@pytest.mark.parametrize("code", [ErrorCode.STALE_TIME, ErrorCode.REPLAY])
def test_clear_header_failures_are_sent_as_they_are(code: ErrorCode) -> None:
    """R-PDU-16 and R-PDU-24: the peer learns nothing it did not send in the clear."""
    assert env.peer_error_code(SecurityError("x", code=code)) is code


@pytest.mark.parametrize("code", [ErrorCode.SIGNATURE_INVALID, ErrorCode.CERT_REVOKED,
                                  ErrorCode.HEADER_BINDING_MISMATCH])
def test_verification_failures_are_opaque(code: ErrorCode) -> None:
    assert env.peer_error_code(SecurityError("x", code=code)) is ErrorCode.ENVELOPE_INVALID


# Robustness -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(w: World) -> tuple[PduHeader, bytes]:
    h = header()
    return h, seal(w, h, b"short message")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_bit_flip_is_caught_or_harmless(w: World, sample: tuple[PduHeader, bytes],
                                            data: st.DataObject) -> None:
    h, sealed = sample
    i = data.draw(st.integers(0, len(sealed) - 1), label="offset")
    bit = data.draw(st.integers(0, 7), label="bit")
    mutated = sealed[:i] + bytes((sealed[i] ^ (1 << bit),)) + sealed[i + 1:]
    try:
        opened = open_(w, mutated, h)
    except JukiError as exc:
        assert isinstance(exc, SecurityError)
        return
    # The outer structure is BER and not authenticated (RFC 5652 allows BER), so a few
    # flips re-encode it without changing anything that matters: same content, signer.
    assert opened.message_der == b"short message" and opened.signer == h.sender


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048))
def test_round_trip_property(w: World, msg: bytes) -> None:
    h = header()
    assert open_(w, seal(w, h, msg), h).message_der == msg


def test_every_raised_code_is_registered_in_the_security_band() -> None:
    from juki_protocol.errors import REGISTRY
    for code in (ErrorCode.ALGORITHM_UNSUPPORTED, ErrorCode.NO_MATCHING_RECIPIENT,
                 ErrorCode.ENVELOPE_MALFORMED, ErrorCode.CERT_NOT_YET_VALID,
                 ErrorCode.CERT_INVALID, ErrorCode.CRL_INVALID):
        assert code in REGISTRY and 2000 <= code < 3000


def test_node_id_helper() -> None:
    assert str(pki.node_id("national", "DC01")) == "national:DC01"
    with pytest.raises(JukiError) as e:
        pki.node_id("prefecture", "271004")
    assert e.value.error_code is ErrorCode.INVALID_NODE_ID
    with pytest.raises(ValueError):
        pki.node_id("mayor", "271004")


def test_our_certificate_must_allow_key_agreement(w: World) -> None:
    signing_only = _cred(w.ca, "prefecture", "270008", 70, key_agreement=False)
    h = header()
    data = raw(w, h, to=signing_only)
    refused(ErrorCode.CERT_KEY_USAGE, lambda: open_(w, data, h, creds=[signing_only]))
