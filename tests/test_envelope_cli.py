"""The envelope CLI (``juki envelope seal|open``) without openssl: a round trip, its
refusals and their messages (the interop tests use openssl). The keys and certificates
are those of tests/test_envelope.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_envelope import World
from test_envelope import w as w  # the module-scoped fixture of the envelope tests

from juki_protocol.codec import codec
from juki_protocol.envelope import pki
from juki_protocol.messages.common import Profile
from juki_protocol.tools.cli_pki import envelope_group


def _files(w: World, tmp: Path) -> dict[str, Path]:
    out = {}
    for name, cred in (("m1", w.m1), ("pref", w.pref), ("m2", w.m2)):
        out[f"{name}.pem"] = tmp / f"{name}.pem"
        out[f"{name}.pem"].write_bytes(pki.cert_pem(cred.certificate))
        out[f"{name}.key"] = tmp / f"{name}.key"
        out[f"{name}.key"].write_bytes(pki.key_pem(cred.key))
    out["ca.pem"] = tmp / "ca.pem"
    out["ca.pem"].write_bytes(pki.cert_pem(w.ca.certificate))
    return out


def _cli(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(envelope_group, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def _update_der() -> bytes:
    msg = codec.from_json("IdentityInfoUpdate", {
        "municipality": "271004", "update_sequence": 1, "operation": "record",
        "identity_info": {"resident_code": "12345678903", "name": {"kanji": "試験 太郎"},
                          "birth_date": "1980-01-02", "sex": "male",
                          "address": {"local_gov_code": "271004", "text": "大阪市北区"}},
        "change_info": {"change_reason": "moveIn", "change_date": "2025-03-31"}})
    return bytes(codec.encode(msg, profile=Profile.P2002))


def test_cli_seal_and_open(w: World, tmp_path: Path) -> None:
    f = _files(w, tmp_path)
    (tmp_path / "m.der").write_bytes(_update_der())
    now = ("--now", "2025-04-01T09:00:00Z")
    code, out, err = _cli("seal", "--key", f["m1.key"], "--cert", f["m1.pem"], "--to",
                          f["pref.pem"], "--in", tmp_path / "m.der", "--out",
                          tmp_path / "e.der", "--header-out", tmp_path / "h.json",
                          "--trust", f["ca.pem"], "--profile", "2002", *now)
    assert code == 0, err
    assert "identityInfoUpdate" in out           # the type came from the APPLICATION tag
    h = json.loads((tmp_path / "h.json").read_text())
    assert h["sender"] == {"role": "municipality", "code": "271004"}
    assert h["profile"] == "p2002" and h["time"] == "2025-04-01T09:00:00Z"
    base = ("open", "--key", f["pref.key"], "--cert", f["pref.pem"], "--trust", f["ca.pem"],
            "--in", tmp_path / "e.der", "--out", tmp_path / "back.der")
    code, out, err = _cli(*base, "--header", tmp_path / "h.json", *now)
    assert code == 0, err
    assert (tmp_path / "back.der").read_bytes() == _update_der()
    # The same envelope ten minutes later is outside the window...
    code, _, err = _cli(*base, "--header", tmp_path / "h.json", "--now",
                        "2025-04-01T09:10:00Z")
    assert code != 0 and "STALE_TIME" in err and "Traceback" not in err
    # ...unless the header is not given (standalone: decryption, certificates, signature).
    assert _cli(*base, "--now", "2025-04-01T09:10:00Z")[0] == 0
    # A header that differs from the signed one.
    h["sequence_number"] = 5
    h["message_type"] = "provisionRequest"
    (tmp_path / "h2.json").write_text(json.dumps(h))
    code, _, err = _cli(*base, "--header", tmp_path / "h2.json", *now)
    assert code != 0 and "HEADER_BINDING_MISMATCH" in err


@pytest.mark.parametrize(("args", "needle"), [
    (["--type", "noSuchType"], "noSuchType"),
    ([], "not a DER message"),
    (["--now", "yesterday"], "ISO 8601"),
    (["--now", "2025-04-01T09:00:00"], "time zone"),
])
def test_cli_seal_errors(w: World, tmp_path: Path, args: list[str], needle: str) -> None:
    f = _files(w, tmp_path)
    (tmp_path / "m.der").write_bytes(b"not DER")
    code, _, err = _cli("seal", "--key", f["m1.key"], "--cert", f["m1.pem"], "--to",
                        f["pref.pem"], "--in", tmp_path / "m.der", "--out",
                        tmp_path / "e.der", *args)
    assert code != 0 and needle in err and "Traceback" not in err
    assert not (tmp_path / "e.der").exists()


def test_cli_seal_refuses_a_wrong_route(w: World, tmp_path: Path) -> None:
    f = _files(w, tmp_path)
    (tmp_path / "m.der").write_bytes(_update_der())
    code, _, err = _cli("seal", "--key", f["m1.key"], "--cert", f["m1.pem"], "--to",
                        f["m2.pem"], "--in", tmp_path / "m.der", "--out", tmp_path / "e.der",
                        "--now", "2025-04-01T09:00:00Z")
    assert code != 0 and "CERT_ROLE_NOT_ALLOWED" in err


def test_cli_open_errors(w: World, tmp_path: Path) -> None:
    f = _files(w, tmp_path)
    (tmp_path / "e.der").write_bytes(b"\x30\x03\x02\x01\x00")
    base = ("open", "--trust", f["ca.pem"], "--in", tmp_path / "e.der", "--out",
            tmp_path / "m.der")
    code, _, err = _cli(*base, "--key", f["pref.key"], "--cert", f["pref.pem"])
    assert code != 0 and "ENVELOPE_MALFORMED" in err
    code, _, err = _cli(*base, "--key", f["pref.key"], "--cert", f["m1.pem"])
    assert code != 0 and "CERT_INVALID" in err                   # key and cert differ
    code, _, err = _cli(*base, "--key", f["pref.key"], "--key", f["m1.key"],
                        "--cert", f["pref.pem"])
    assert code != 0 and "--cert for each --key" in err
    code, _, err = _cli(*base, "--key", tmp_path / "missing.key", "--cert", f["pref.pem"])
    assert code != 0 and "Traceback" not in err
    assert not (tmp_path / "m.der").exists()
