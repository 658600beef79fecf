"""Interoperability with the OpenSSL command line (the acceptance test that matters).

Both directions, several message sizes: what :func:`juki_protocol.envelope.envelope.seal` makes,
``openssl cms -decrypt`` decrypts and ``openssl cms -verify`` verifies; what ``openssl
cms -sign | openssl cms -encrypt -aes-256-gcm`` makes (ECDH to an EC recipient), our
``open_envelope`` and the ``juki envelope open`` command open. The certificates come
from the ``juki pki`` commands, and ``openssl verify`` checks them and their revocation.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from juki_protocol.envelope import envelope as env
from juki_protocol.envelope import pki
from juki_protocol.errors import ErrorCode, SecurityError
from juki_protocol.messages.base import from_form
from juki_protocol.messages.pdu import PduHeader
from juki_protocol.tools.cli_pki import envelope_group, pki_group
from juki_protocol.tools.vectors import envelope_vectors

pytestmark = [pytest.mark.openssl,
              pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")]

SIZES = [0, 1, 100 * 1024]


def openssl(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True,
                          check=False, timeout=60)
    if ok:
        assert proc.returncode == 0, f"openssl {' '.join(map(str, args))}:\n{proc.stderr}"
    return proc


def cli(group: object, *args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(group, [str(a) for a in args])  # type: ignore[arg-type]
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ca")
    assert cli(pki_group, "init-ca", "--dir", d)[0] == 0
    for role, node in (("municipality", "271004"), ("prefecture", "270008"),
                       ("municipality", "131016")):
        assert cli(pki_group, "issue", "--dir", d, "--role", role, "--node", node)[0] == 0
    return d


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def credential(d: Path, node: str) -> pki.Credential:
    return pki.Credential(pki.load_private_key((d / f"{node}.key").read_bytes()),
                          pki.load_certificate((d / f"{node}.pem").read_bytes()))


def trust(d: Path) -> pki.TrustStore:
    return pki.TrustStore.from_pem((d / "ca.pem").read_bytes())


def header(t: dt.datetime) -> PduHeader:
    return from_form(PduHeader, {
        "version": 1, "message_id": os.urandom(16).hex(), "message_type": "identityInfoUpdate",
        "sender": {"role": "municipality", "code": "271004"},
        "recipient": {"role": "prefecture", "code": "270008"},
        "time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "sequence_number": 1,
        "profile": "current"}, json=True)


# The PKI commands and openssl verify ---------------------------------------------------------

def test_openssl_verify_accepts_issued_and_rejects_revoked(tmp_path: Path) -> None:
    d = tmp_path
    assert cli(pki_group, "init-ca", "--dir", d)[0] == 0
    assert cli(pki_group, "issue", "--dir", d, "--role", "agency", "--node", "AG0001")[0] == 0
    assert cli(pki_group, "issue", "--dir", d, "--role", "national", "--node", "DC01")[0] == 0
    assert "AG0001.pem: OK" in openssl("verify", "-CAfile", d / "ca.pem",
                                       d / "AG0001.pem").stdout
    assert cli(pki_group, "crl", "--dir", d)[0] == 0
    crl_check = ("-CAfile", d / "ca.pem", "-CRLfile", d / "crl.pem", "-crl_check")
    openssl("verify", *crl_check, d / "AG0001.pem")
    assert cli(pki_group, "revoke", "--dir", d, "--node", "AG0001")[0] == 0
    assert cli(pki_group, "crl", "--dir", d)[0] == 0
    proc = openssl("verify", *crl_check, d / "AG0001.pem", ok=False)
    assert proc.returncode != 0 and "revoked" in (proc.stdout + proc.stderr)
    openssl("verify", *crl_check, d / "DC01.pem")
    # The CRL itself is well formed and signed by the CA.
    assert "verify OK" in openssl("crl", "-in", d / "crl.pem", "-CAfile", d / "ca.pem",
                                  "-noout").stderr


# Ours -> openssl ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_openssl_opens_what_we_seal(ca_dir: Path, tmp_path: Path, size: int) -> None:
    msg = os.urandom(size)
    sender, recipient = credential(ca_dir, "271004"), credential(ca_dir, "270008")
    t = now()
    sealed = env.seal(header(t), msg, sender.key, sender.certificate,
                      recipient.certificate, t)
    (tmp_path / "env.der").write_bytes(sealed)
    openssl("cms", "-decrypt", "-inform", "DER", "-in", tmp_path / "env.der",
            "-recip", ca_dir / "270008.pem", "-inkey", ca_dir / "270008.key",
            "-binary", "-out", tmp_path / "inner.der")
    proc = openssl("cms", "-verify", "-inform", "DER", "-in", tmp_path / "inner.der",
                   "-CAfile", ca_dir / "ca.pem", "-binary", "-out", tmp_path / "msg.out")
    assert "Verification successful" in proc.stderr
    assert (tmp_path / "msg.out").read_bytes() == msg


def test_openssl_opens_what_the_cli_seals(ca_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "msg.der").write_bytes(b"\x66\x03\x02\x01\x01")
    code, out, err = cli(envelope_group, "seal", "--key", ca_dir / "271004.key",
                         "--cert", ca_dir / "271004.pem", "--to", ca_dir / "270008.pem",
                         "--type", "identityInfoUpdate", "--in", tmp_path / "msg.der",
                         "--out", tmp_path / "env.der", "--header-out", tmp_path / "h.json")
    assert code == 0, err
    assert "municipality:271004" in out
    openssl("cms", "-decrypt", "-inform", "DER", "-in", tmp_path / "env.der",
            "-recip", ca_dir / "270008.pem", "-inkey", ca_dir / "270008.key",
            "-binary", "-out", tmp_path / "inner.der")
    openssl("cms", "-verify", "-inform", "DER", "-in", tmp_path / "inner.der",
            "-CAfile", ca_dir / "ca.pem", "-binary", "-out", tmp_path / "msg.out")
    assert (tmp_path / "msg.out").read_bytes() == b"\x66\x03\x02\x01\x01"
    # And our own CLI opens it with the header binding checked.
    code, out, err = cli(envelope_group, "open", "--key", ca_dir / "270008.key",
                         "--cert", ca_dir / "270008.pem", "--trust", ca_dir / "ca.pem",
                         "--in", tmp_path / "env.der", "--out", tmp_path / "back.der",
                         "--header", tmp_path / "h.json")
    assert code == 0, err
    assert "signer: municipality:271004" in out and "identityInfoUpdate" in out
    assert (tmp_path / "back.der").read_bytes() == b"\x66\x03\x02\x01\x01"


def test_openssl_opens_every_valid_vector(tmp_path: Path) -> None:
    """An independent check of the vectors: OpenSSL decrypts and verifies every valid and
    acceptable case with the group's key material, at the test's time."""
    doc = envelope_vectors.generate_envelope_vectors()
    checked = 0
    for group in doc["testGroups"]:
        (tmp_path / "ca.pem").write_text("".join(group["trustAnchors"]))
        keys = []
        for i, cred in enumerate(group["recipientCredentials"]):
            (tmp_path / f"r{i}.pem").write_text(cred["certificate"])
            (tmp_path / f"r{i}.key").write_text(cred["privateKey"])
            keys.append((tmp_path / f"r{i}.pem", tmp_path / f"r{i}.key"))
        for test in group["tests"]:
            if test["result"] == "invalid":
                continue
            (tmp_path / "env.der").write_bytes(bytes.fromhex(test["envelope"]))
            inner = None
            for i, (cert, key) in enumerate(keys):     # the previous key, when rotating
                out = tmp_path / f"inner{i}.der"
                if openssl("cms", "-decrypt", "-inform", "DER", "-in", tmp_path / "env.der",
                           "-recip", cert, "-inkey", key, "-binary", "-out", out,
                           ok=False).returncode == 0:
                    inner = out
                    break
            assert inner is not None, test["tcId"]
            at = int(dt.datetime.fromisoformat(test["now"]).timestamp())
            openssl("cms", "-verify", "-inform", "DER", "-in", inner,
                    "-CAfile", tmp_path / "ca.pem", "-attime", str(at), "-binary",
                    "-out", tmp_path / "msg.out")
            assert (tmp_path / "msg.out").read_bytes().hex() == test["message"], test["tcId"]
            checked += 1
    assert checked >= 6


# openssl -> ours ------------------------------------------------------------------------------

def openssl_seal(ca_dir: Path, tmp_path: Path, msg: bytes, *encrypt_options: str) -> Path:
    (tmp_path / "msg").write_bytes(msg)
    openssl("cms", "-sign", "-md", "sha256", "-nodetach", "-binary", "-outform", "DER",
            "-signer", ca_dir / "271004.pem", "-inkey", ca_dir / "271004.key",
            "-in", tmp_path / "msg", "-out", tmp_path / "signed.der")
    openssl("cms", "-encrypt", "-aes-256-gcm", "-recip", ca_dir / "270008.pem",
            *encrypt_options, "-binary", "-outform", "DER", "-in", tmp_path / "signed.der",
            "-out", tmp_path / "env.der")
    return tmp_path / "env.der"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kdf", ["sha256", "openssl-default"])
def test_we_open_what_openssl_seals(ca_dir: Path, tmp_path: Path, size: int, kdf: str) -> None:
    msg = os.urandom(size)
    options = ("-keyopt", "ecdh_kdf_md:sha256") if kdf == "sha256" else ()
    path = openssl_seal(ca_dir, tmp_path, msg, *options)
    opened = env.open_envelope(path.read_bytes(), [credential(ca_dir, "270008")],
                               trust(ca_dir), now())
    assert opened.message_der == msg
    assert str(opened.signer) == "municipality:271004"
    assert opened.bound is None
    code, out, err = cli(envelope_group, "open", "--key", ca_dir / "270008.key",
                         "--cert", ca_dir / "270008.pem", "--trust", ca_dir / "ca.pem",
                         "--in", path, "--out", tmp_path / "back.der")
    assert code == 0, err
    assert "signer: municipality:271004" in out
    assert (tmp_path / "back.der").read_bytes() == msg


def test_openssl_sha256_kdf_is_the_profile_scheme(ca_dir: Path, tmp_path: Path) -> None:
    from juki_protocol.envelope import cms
    path = openssl_seal(ca_dir, tmp_path, b"x", "-keyopt", "ecdh_kdf_md:sha256")
    kari = cms.parse_auth_enveloped(path.read_bytes()).key_agree[0]
    assert (kari.kdf_oid, kari.wrap_oid) == (cms.DH_STD_SHA256KDF, cms.ID_AES256_WRAP)


def test_recipient_named_by_key_identifier(ca_dir: Path, tmp_path: Path) -> None:
    path = openssl_seal(ca_dir, tmp_path, b"rKeyId", "-keyid")
    opened = env.open_envelope(path.read_bytes(), [credential(ca_dir, "270008")],
                               trust(ca_dir), now())
    assert opened.message_der == b"rKeyId"


def test_openssl_envelope_rejected_precisely(ca_dir: Path, tmp_path: Path) -> None:
    path = openssl_seal(ca_dir, tmp_path, b"not for you")
    with pytest.raises(SecurityError) as e:
        env.open_envelope(path.read_bytes(), [credential(ca_dir, "131016")], trust(ca_dir),
                          now())
    assert e.value.error_code is ErrorCode.NO_MATCHING_RECIPIENT
    code, _, err = cli(envelope_group, "open", "--key", ca_dir / "131016.key",
                       "--cert", ca_dir / "131016.pem", "--trust", ca_dir / "ca.pem",
                       "--in", path, "--out", tmp_path / "x.der")
    assert code != 0 and "NO_MATCHING_RECIPIENT" in err and "Traceback" not in err
    assert not (tmp_path / "x.der").exists()


def test_cli_open_with_rotated_keys_and_crl(ca_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "ca"
    shutil.copytree(ca_dir, d)
    old = openssl_seal(d, tmp_path, b"to the old key")
    assert cli(pki_group, "issue", "--dir", d, "--role", "prefecture", "--node", "270008")[0] \
        == 0
    previous = next(p for p in d.glob("270008.*.pem"))
    code, _, err = cli(envelope_group, "open", "--key", d / "270008.key",
                       "--cert", d / "270008.pem", "--key", previous.with_suffix(".key"),
                       "--cert", previous, "--trust", d / "ca.pem",
                       "--in", old, "--out", tmp_path / "m.der")
    assert code == 0, err
    assert (tmp_path / "m.der").read_bytes() == b"to the old key"
    # Once the sender is revoked, the same envelope is refused.
    assert cli(pki_group, "revoke", "--dir", d, "--node", "271004")[0] == 0
    assert cli(pki_group, "crl", "--dir", d)[0] == 0
    code, _, err = cli(envelope_group, "open", "--key", previous.with_suffix(".key"),
                       "--cert", previous, "--trust", d / "ca.pem", "--crl", d / "crl.pem",
                       "--in", old, "--out", tmp_path / "m2.der")
    assert code != 0 and "CERT_REVOKED" in err
