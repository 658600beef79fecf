"""Network PKI: issuing, naming, validation (each failure code), routes and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from juki_protocol.envelope import pki
from juki_protocol.envelope.ca import (
    CertificateAuthority,
    RevokedCertificate,
    build_crl,
    create_intermediate_ca,
    create_root_ca,
    issue_node_certificate,
)
from juki_protocol.errors import ErrorCode, SecurityError
from juki_protocol.messages.common import NodeId, NodeRole
from juki_protocol.messages.pdu import MessageType
from juki_protocol.tools.cli_pki import pki_group

T0 = dt.datetime(2025, 4, 1, 9, 0, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
M1 = pki.node_id("municipality", "271004")
M2 = pki.node_id("municipality", "131016")
PREF = pki.node_id("prefecture", "270008")
NAT = pki.node_id("national", "DC01")
AG = pki.node_id("agency", "AG0001")


def root(name: str = "Test Root", key: ec.EllipticCurvePrivateKey | None = None,
         nb: dt.datetime = T0 - 10 * DAY, na: dt.datetime = T0 + 3650 * DAY
         ) -> CertificateAuthority:
    return create_root_ca(key or pki.generate_key(), common_name=name, not_before=nb,
                          not_after=na, serial=1)


def node(ca: CertificateAuthority, who: NodeId = M1, *, serial: int = 100,
         nb: dt.datetime = T0 - DAY, na: dt.datetime = T0 + 365 * DAY,
         **kw: bool) -> pki.Credential:
    key = pki.generate_key()
    cert = issue_node_certificate(ca, key.public_key(), who, not_before=nb, not_after=na,
                                  serial=serial, **kw)
    return pki.Credential(key, cert)


def code_of(excinfo: pytest.ExceptionInfo[SecurityError]) -> ErrorCode:
    return excinfo.value.error_code


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return root()


@pytest.fixture(scope="module")
def trust(ca: CertificateAuthority) -> pki.TrustStore:
    return pki.TrustStore(anchors=(ca.certificate,))


# Issuing and naming ----------------------------------------------------------------------

def test_node_certificate_names_role_and_id(ca: CertificateAuthority) -> None:
    cert = node(ca, PREF).certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == \
        ["urn:juki:node:prefecture:270008"]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
        "prefecture:270008"
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.key_agreement
    assert pki.node_of_certificate(cert) == PREF


@pytest.mark.parametrize("who", [M1, PREF, NAT, AG])
def test_validate_returns_node_for_both_purposes(ca: CertificateAuthority,
                                                 trust: pki.TrustStore,
                                                 who: NodeId) -> None:
    cert = node(ca, who).certificate
    for purpose in pki.KeyPurpose:
        assert pki.validate_certificate(cert, trust, T0, purpose) == who


def test_deterministic_issuing_gives_identical_certificates() -> None:
    key = ec.derive_private_key(12345, ec.SECP256R1())
    a, b = (create_root_ca(key, common_name="R", not_before=T0, not_after=T0 + DAY,
                           serial=7, deterministic=True).certificate for _ in range(2))
    assert a == b and a.signature == b.signature


def test_credential_key_must_match_certificate(ca: CertificateAuthority) -> None:
    cred = node(ca)
    with pytest.raises(SecurityError) as e:
        pki.Credential(pki.generate_key(), cred.certificate)
    assert code_of(e) is ErrorCode.CERT_INVALID


def test_naive_time_is_refused(ca: CertificateAuthority, trust: pki.TrustStore) -> None:
    with pytest.raises(TypeError):
        pki.validate_certificate(node(ca).certificate, trust, T0.replace(tzinfo=None),
                                 pki.KeyPurpose.SIGNING)


# Loading ---------------------------------------------------------------------------------

def test_loaders_reject_garbage_with_their_codes() -> None:
    cases = [(pki.load_certificate, ErrorCode.CERT_INVALID),
             (pki.load_private_key, ErrorCode.CERT_INVALID),
             (pki.load_crl, ErrorCode.CRL_INVALID)]
    for loader, code in cases:
        with pytest.raises(SecurityError) as e:
            loader(b"-----BEGIN NOTHING-----\nAAAA\n-----END NOTHING-----\n")
        assert code_of(e) is code, loader.__name__


def test_private_key_must_be_p256() -> None:
    from cryptography.hazmat.primitives import serialization
    pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    with pytest.raises(SecurityError) as e:
        pki.load_private_key(pem)
    assert code_of(e) is ErrorCode.ALGORITHM_UNSUPPORTED


def test_load_certificate_wants_exactly_one(ca: CertificateAuthority) -> None:
    two = pki.cert_pem(ca.certificate) * 2
    assert len(pki.load_certificates(two)) == 2
    with pytest.raises(SecurityError) as e:
        pki.load_certificate(two)
    assert code_of(e) is ErrorCode.CERT_INVALID


# Validation failures, one code each -------------------------------------------------------

def test_untrusted_ca(trust: pki.TrustStore) -> None:
    stranger = node(root("Test Root")).certificate     # same name, other key
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(stranger, trust, T0, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_UNTRUSTED


def test_intermediate_needed_and_accepted(ca: CertificateAuthority,
                                          trust: pki.TrustStore) -> None:
    inter = create_intermediate_ca(ca, pki.generate_key(), common_name="Issuing",
                                   not_before=T0 - DAY, not_after=T0 + 100 * DAY,
                                   serial=2)
    cert = node(inter).certificate
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, trust, T0, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_UNTRUSTED
    assert pki.validate_certificate(cert, trust, T0, pki.KeyPurpose.SIGNING,
                                    extra=[inter.certificate]) == M1
    with_inter = pki.TrustStore(anchors=trust.anchors, intermediates=(inter.certificate,))
    assert pki.build_path(cert, with_inter) == (cert, inter.certificate, ca.certificate)


def test_path_length_constraint(ca: CertificateAuthority, trust: pki.TrustStore) -> None:
    inter = create_intermediate_ca(ca, pki.generate_key(), common_name="Issuing",
                                   not_before=T0 - DAY, not_after=T0 + 100 * DAY,
                                   serial=2)
    sub = create_intermediate_ca(inter, pki.generate_key(), common_name="Sub",
                                 not_before=T0 - DAY, not_after=T0 + 100 * DAY, serial=3)
    cert = node(sub).certificate
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, trust, T0, pki.KeyPurpose.SIGNING,
                                 extra=[inter.certificate, sub.certificate])
    assert code_of(e) is ErrorCode.CERT_UNTRUSTED
    assert "path length" in str(e.value)


def test_a_node_certificate_cannot_issue(ca: CertificateAuthority,
                                         trust: pki.TrustStore) -> None:
    rogue_issuer = node(ca)
    fake_ca = CertificateAuthority(rogue_issuer.key, rogue_issuer.certificate)
    cert = node(fake_ca, M2).certificate
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, trust, T0, pki.KeyPurpose.SIGNING,
                                 extra=[rogue_issuer.certificate])
    assert code_of(e) is ErrorCode.CERT_UNTRUSTED


def test_validity_period_boundaries(ca: CertificateAuthority,
                                    trust: pki.TrustStore) -> None:
    cert = node(ca, nb=T0, na=T0 + DAY).certificate
    second = dt.timedelta(seconds=1)
    for ok in (T0, T0 + DAY):       # RFC 5280: both ends inclusive
        pki.validate_certificate(cert, trust, ok, pki.KeyPurpose.SIGNING)
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, trust, T0 - second, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_NOT_YET_VALID
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, trust, T0 + DAY + second, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_EXPIRED


def test_expired_anchor() -> None:
    old = root(na=T0 - DAY)
    cert = node(old, nb=T0 - 5 * DAY, na=T0 + DAY).certificate
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, pki.TrustStore(anchors=(old.certificate,)), T0,
                                 pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_EXPIRED


def _crl(issuer: CertificateAuthority, serials: list[int], *,
         this: dt.datetime = T0 - DAY, nxt: dt.datetime = T0 + 7 * DAY
         ) -> x509.CertificateRevocationList:
    return build_crl(issuer, [RevokedCertificate(s, T0 - DAY) for s in serials],
                     this_update=this, next_update=nxt, number=1)


def test_revoked(ca: CertificateAuthority) -> None:
    good, bad = node(ca, serial=200), node(ca, serial=201)
    store = pki.TrustStore(anchors=(ca.certificate,), crls=(_crl(ca, [201]),))
    assert pki.validate_certificate(good.certificate, store, T0,
                                    pki.KeyPurpose.SIGNING) == M1
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(bad.certificate, store, T0, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_REVOKED


def test_revoked_intermediate(ca: CertificateAuthority) -> None:
    inter = create_intermediate_ca(ca, pki.generate_key(), common_name="Issuing",
                                   not_before=T0 - DAY, not_after=T0 + 100 * DAY,
                                   serial=77)
    store = pki.TrustStore(anchors=(ca.certificate,), intermediates=(inter.certificate,),
                           crls=(_crl(ca, [77]),))
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(node(inter).certificate, store, T0, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_REVOKED


@pytest.mark.parametrize("case", ["forged", "stale", "future", "missing"])
def test_crl_invalid(ca: CertificateAuthority, case: str) -> None:
    forger = root("Test Root")      # the same issuer name, another key
    crl = {"forged": _crl(forger, []), "stale": _crl(ca, [], nxt=T0 - dt.timedelta(hours=1)),
           "future": _crl(ca, [], this=T0 + dt.timedelta(hours=1)), "missing": None}[case]
    store = pki.TrustStore(anchors=(ca.certificate,), crls=(crl,) if crl else (),
                           require_crl=True)
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(node(ca).certificate, store, T0, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CRL_INVALID


def test_key_usage(ca: CertificateAuthority, trust: pki.TrustStore) -> None:
    no_sign = node(ca, digital_signature=False).certificate
    no_agree = node(ca, key_agreement=False).certificate
    pki.validate_certificate(no_sign, trust, T0, pki.KeyPurpose.KEY_AGREEMENT)
    pki.validate_certificate(no_agree, trust, T0, pki.KeyPurpose.SIGNING)
    for cert, purpose in ((no_sign, pki.KeyPurpose.SIGNING),
                          (no_agree, pki.KeyPurpose.KEY_AGREEMENT)):
        with pytest.raises(SecurityError) as e:
            pki.validate_certificate(cert, trust, T0, purpose)
        assert code_of(e) is ErrorCode.CERT_KEY_USAGE


def _custom(ca: CertificateAuthority, *, cn: str = "municipality:271004",
            uris: tuple[str, ...] = ("urn:juki:node:municipality:271004",),
            key: ec.EllipticCurvePrivateKey | None = None, ca_flag: bool = False,
            extra_critical: bool = False) -> x509.Certificate:
    key = key or pki.generate_key()
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(ca.certificate.subject).public_key(key.public_key()).serial_number(9)
         .not_valid_before(T0 - DAY).not_valid_after(T0 + DAY)
         .add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(True, False, False, False, True, ca_flag, False, False,
                                      False), critical=True))
    if uris:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(u) for u in uris]), critical=False)
    if extra_critical:
        b = b.add_extension(x509.UnrecognizedExtension(
            x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"), critical=True)
    return b.sign(ca.key, hashes.SHA256())


@pytest.mark.parametrize("case", ["no-san", "two-urns", "cn-differs", "bad-id", "bad-role",
                                  "p384", "is-ca", "unknown-critical"])
def test_certificate_profile_violations(ca: CertificateAuthority, trust: pki.TrustStore,
                                        case: str) -> None:
    cases: dict[str, dict[str, Any]] = {
        "no-san": {"uris": ()},
        "two-urns": {"uris": ("urn:juki:node:municipality:271004",
                              "urn:juki:node:municipality:131016")},
        "cn-differs": {"cn": "municipality:131016"},
        "bad-id": {"cn": "municipality:270008", "uris": ("urn:juki:node:municipality:270008",)},
        "bad-role": {"cn": "mayor:271004", "uris": ("urn:juki:node:mayor:271004",)},
        "p384": {"key": ec.generate_private_key(ec.SECP384R1())},
        "is-ca": {"ca_flag": True},
        "unknown-critical": {"extra_critical": True},
    }
    cert = _custom(ca, **cases[case])
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, trust, T0, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_INVALID, str(e.value)


def test_a_well_formed_custom_certificate_passes(ca: CertificateAuthority,
                                                 trust: pki.TrustStore) -> None:
    # The negative cases above differ from this one in one point each.
    assert pki.validate_certificate(_custom(ca), trust, T0, pki.KeyPurpose.SIGNING) == M1


# Routes -------------------------------------------------------------------------------------

ALLOWED = [
    (MessageType.WIDE_AREA_ISSUANCE_REQUEST, M1, M2),
    (MessageType.WIDE_AREA_ISSUANCE_RESPONSE, M2, M1),
    (MessageType.SPECIAL_MOVE_IN_NOTICE, M1, M2),
    (MessageType.MOVE_OUT_CERTIFICATE, M2, M1),
    (MessageType.MOVE_IN_NOTICE, M1, M2),
    (MessageType.IDENTITY_INFO_UPDATE, M1, PREF),
    (MessageType.IDENTITY_INFO_RELAY, PREF, NAT),
    (MessageType.PROVISION_REQUEST, AG, PREF),
    (MessageType.PROVISION_REQUEST, M1, NAT),
    (MessageType.PROVISION_REQUEST, PREF, NAT),
    (MessageType.PROVISION_RESPONSE, PREF, AG),
    (MessageType.PROVISION_RESPONSE, NAT, M1),
]
REFUSED = [
    (MessageType.WIDE_AREA_ISSUANCE_REQUEST, M1, PREF),     # 12-2 data never at a prefecture
    (MessageType.WIDE_AREA_ISSUANCE_RESPONSE, NAT, M1),
    (MessageType.MOVE_OUT_CERTIFICATE, M1, NAT),
    (MessageType.MOVE_IN_NOTICE, PREF, M1),
    (MessageType.IDENTITY_INFO_UPDATE, M1, NAT),
    (MessageType.IDENTITY_INFO_UPDATE, AG, PREF),
    (MessageType.IDENTITY_INFO_RELAY, M1, NAT),
    (MessageType.IDENTITY_INFO_RELAY, PREF, AG),
    (MessageType.PROVISION_REQUEST, NAT, PREF),
    (MessageType.PROVISION_REQUEST, AG, M1),
    (MessageType.PROVISION_RESPONSE, M1, AG),
    (MessageType.PROVISION_RESPONSE, AG, PREF),
    (MessageType.ACKNOWLEDGEMENT, M1, M2),                  # never sealed
    (MessageType.ERROR_REPORT, PREF, M1),
]


@pytest.mark.parametrize(("mtype", "sender", "recipient"), ALLOWED)
def test_route_allowed(mtype: MessageType, sender: NodeId, recipient: NodeId) -> None:
    pki.check_route(mtype, sender, recipient)


@pytest.mark.parametrize(("mtype", "sender", "recipient"), REFUSED)
def test_route_refused(mtype: MessageType, sender: NodeId, recipient: NodeId) -> None:
    with pytest.raises(SecurityError) as e:
        pki.check_route(mtype, sender, recipient)
    assert code_of(e) is ErrorCode.CERT_ROLE_NOT_ALLOWED


def test_every_sealed_type_has_a_route() -> None:
    unsealed = {MessageType.ACKNOWLEDGEMENT, MessageType.ERROR_REPORT}
    assert set(pki.ROUTES) == set(MessageType) - unsealed
    municipal = {MessageType.WIDE_AREA_ISSUANCE_REQUEST, MessageType.WIDE_AREA_ISSUANCE_RESPONSE,
                 MessageType.SPECIAL_MOVE_IN_NOTICE, MessageType.MOVE_OUT_CERTIFICATE,
                 MessageType.MOVE_IN_NOTICE}
    for mtype in municipal:
        route = pki.ROUTES[mtype]
        assert route.senders == route.recipients == {NodeRole.MUNICIPALITY}


def test_check_sender(ca: CertificateAuthority) -> None:
    pki.check_sender(M1, sender=M1, recipient=PREF, message_type=MessageType.IDENTITY_INFO_UPDATE)
    with pytest.raises(SecurityError) as e:
        pki.check_sender(M1, sender=M2, recipient=PREF,
                         message_type=MessageType.IDENTITY_INFO_UPDATE)
    assert code_of(e) is ErrorCode.CERT_SENDER_MISMATCH
    with pytest.raises(SecurityError) as e:
        pki.check_sender(AG, sender=AG, recipient=PREF,
                         message_type=MessageType.IDENTITY_INFO_UPDATE)
    assert code_of(e) is ErrorCode.CERT_ROLE_NOT_ALLOWED


# CLI ----------------------------------------------------------------------------------------

def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(pki_group, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def test_cli_flow(tmp_path: Path) -> None:
    d = str(tmp_path / "ca")
    assert run("init-ca", "--dir", d)[0] == 0
    assert run("issue", "--dir", d, "--role", "municipality", "--node", "271004")[0] == 0
    assert run("issue", "--dir", d, "--role", "prefecture", "--node", "270008")[0] == 0
    ca_dir = Path(d)
    for name in ("ca.pem", "ca.key", "271004.pem", "271004.key", "270008.pem"):
        assert (ca_dir / name).is_file(), name
    assert (ca_dir / "ca.key").stat().st_mode & 0o077 == 0
    store = pki.TrustStore.from_pem((ca_dir / "ca.pem").read_bytes())
    cert = pki.load_certificate((ca_dir / "271004.pem").read_bytes())
    now = dt.datetime.now(dt.UTC)
    assert pki.validate_certificate(cert, store, now, pki.KeyPurpose.SIGNING) == M1
    pki.Credential(pki.load_private_key((ca_dir / "271004.key").read_bytes()), cert)

    code, out, _ = run("revoke", "--dir", d, "--node", "271004")
    assert code == 0 and f"{cert.serial_number:x}" in out
    assert run("crl", "--dir", d)[0] == 0
    store = pki.TrustStore.from_pem((ca_dir / "ca.pem").read_bytes(),
                                    crls=[(ca_dir / "crl.pem").read_bytes()])
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, store, now, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_REVOKED
    other = pki.load_certificate((ca_dir / "270008.pem").read_bytes())
    assert pki.validate_certificate(other, store, now, pki.KeyPurpose.SIGNING) == PREF


def test_cli_rotation_keeps_previous_pair_and_revoke_by_serial(tmp_path: Path) -> None:
    d = str(tmp_path)
    run("init-ca", "--dir", d)
    run("issue", "--dir", d, "--role", "national", "--node", "DC01")
    old = pki.load_certificate((tmp_path / "DC01.pem").read_bytes())
    code, out, _ = run("issue", "--dir", d, "--role", "national", "--node", "DC01")
    assert code == 0 and "previous pair" in out
    assert (tmp_path / f"DC01.{old.serial_number:x}.pem").is_file()
    assert (tmp_path / f"DC01.{old.serial_number:x}.key").is_file()
    code, out, _ = run("revoke", "--dir", d, "--node", "DC01", "--serial",
                       f"{old.serial_number:x}", "--reason", "superseded")
    assert code == 0 and out.count("revoked serial") == 1
    db = json.loads((tmp_path / "ca-db.json").read_text())
    assert [r["serial"] for r in db["revoked"]] == [f"{old.serial_number:x}"]


@pytest.mark.parametrize(("args", "needle"), [
    (["issue", "--role", "municipality", "--node", "270008"], "INVALID_NODE_ID"),
    (["issue", "--role", "prefecture", "--node", "271004"], "INVALID_NODE_ID"),
    (["issue", "--role", "agency", "--node", "AG12"], "AGnnnn"),
    (["issue", "--role", "mayor", "--node", "271004"], "mayor"),
    (["revoke", "--node", "131016"], "no unrevoked certificate"),
    (["revoke", "--node", "271004", "--serial", "zz"], "not a hexadecimal serial"),
    (["init-ca"], "exists"),
])
def test_cli_errors_are_one_line_without_traceback(tmp_path: Path, args: list[str],
                                                   needle: str) -> None:
    d = str(tmp_path)
    run("init-ca", "--dir", d)
    run("issue", "--dir", d, "--role", "municipality", "--node", "271004")
    code, _, err = run(*args, "--dir", d)
    assert code != 0
    assert needle in err
    assert "Traceback" not in err


def test_cli_without_ca(tmp_path: Path) -> None:
    code, _, err = run("issue", "--dir", str(tmp_path), "--role", "municipality",
                       "--node", "271004")
    assert code != 0 and "init-ca" in err


# The validation cache -------------------------------------------------------------------

def _cached(cert: x509.Certificate, store: pki.TrustStore, now: dt.datetime,
            purpose: pki.KeyPurpose = pki.KeyPurpose.SIGNING) -> bool:
    key = (cert, pki._VALIDATIONS.trust_key(store), purpose, ())
    return pki._VALIDATIONS.get(key, now) is not None


def test_cache_answers_a_repeat_without_validating_again(
        ca: CertificateAuthority, trust: pki.TrustStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cert = node(ca, serial=300).certificate
    assert pki.validate_certificate(cert, trust, T0, pki.KeyPurpose.SIGNING) == M1
    assert _cached(cert, trust, T0)

    def fail(*args: Any, **kw: Any) -> None:
        raise AssertionError("validated again")

    monkeypatch.setattr(pki, "build_path", fail)
    assert pki.validate_certificate(cert, trust, T0 + DAY, pki.KeyPurpose.SIGNING) == M1
    # Another purpose, an equal trust store object, other extra certificates: own keys.
    assert not _cached(cert, trust, T0, pki.KeyPurpose.KEY_AGREEMENT)
    same = pki.TrustStore(anchors=(ca.certificate,))
    assert _cached(cert, same, T0)


def test_cached_valid_certificate_is_refused_after_a_crl_revokes_it(
        ca: CertificateAuthority) -> None:
    cert = node(ca, serial=301).certificate
    before = pki.TrustStore(anchors=(ca.certificate,), crls=(_crl(ca, [999]),))
    assert pki.validate_certificate(cert, before, T0, pki.KeyPurpose.SIGNING) == M1
    assert _cached(cert, before, T0)
    after = pki.TrustStore(anchors=(ca.certificate,), crls=(_crl(ca, [999, 301]),))
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, after, T0, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_REVOKED
    # A CRL that is replaced by one with the same entries but newer is a new key too.
    newer = pki.TrustStore(anchors=(ca.certificate,),
                           crls=(_crl(ca, [999], this=T0 - DAY / 2),))
    assert not _cached(cert, newer, T0)


def test_cached_valid_certificate_is_refused_once_expired(
        ca: CertificateAuthority, trust: pki.TrustStore) -> None:
    cert = node(ca, serial=302, nb=T0 - DAY, na=T0 + DAY).certificate
    assert pki.validate_certificate(cert, trust, T0, pki.KeyPurpose.SIGNING) == M1
    assert _cached(cert, trust, T0 + DAY)
    late = T0 + DAY + dt.timedelta(seconds=1)
    assert not _cached(cert, trust, late)
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, trust, late, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_EXPIRED
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, trust, T0 - 2 * DAY, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_NOT_YET_VALID


def test_cached_result_does_not_outlive_the_crl_or_the_anchor(
        ca: CertificateAuthority) -> None:
    cert = node(ca, serial=303, na=T0 + 365 * DAY).certificate
    store = pki.TrustStore(anchors=(ca.certificate,),
                           crls=(_crl(ca, [], nxt=T0 + 2 * DAY),), require_crl=True)
    assert pki.validate_certificate(cert, store, T0, pki.KeyPurpose.SIGNING) == M1
    stale = T0 + 3 * DAY
    assert not _cached(cert, store, stale)
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(cert, store, stale, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CRL_INVALID
    short = root("Short Root", na=T0 + 2 * DAY)
    leaf = node(short, serial=304).certificate
    short_store = pki.TrustStore(anchors=(short.certificate,))
    assert pki.validate_certificate(leaf, short_store, T0, pki.KeyPurpose.SIGNING) == M1
    with pytest.raises(SecurityError) as e:
        pki.validate_certificate(leaf, short_store, stale, pki.KeyPurpose.SIGNING)
    assert code_of(e) is ErrorCode.CERT_EXPIRED


def test_failures_are_not_cached(ca: CertificateAuthority) -> None:
    bad = node(ca, serial=305).certificate
    store = pki.TrustStore(anchors=(ca.certificate,), crls=(_crl(ca, [305]),))
    for _ in range(2):
        with pytest.raises(SecurityError) as e:
            pki.validate_certificate(bad, store, T0, pki.KeyPurpose.SIGNING)
        assert code_of(e) is ErrorCode.CERT_REVOKED
    assert not _cached(bad, store, T0)
