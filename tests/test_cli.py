"""The `juki` command line: the public contract, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from juki_protocol.messages import MESSAGE_TYPES


def juki(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "juki_protocol.tools.cli", *args],
                          input=stdin, capture_output=True, timeout=120, check=False)


def test_code_check_valid_and_invalid() -> None:
    ok = juki("code", "check", "12345678903", "271004", "130001")
    assert ok.returncode == 0, ok.stderr
    assert b"valid resident code" in ok.stdout and "大阪府".encode() in ok.stdout
    bad = juki("code", "check", "12345678903", "12345678904", "27100")
    assert bad.returncode == 1
    lines = bad.stdout.decode().splitlines()
    assert lines[0].startswith("12345678903: valid")
    assert "check digit is 4" in lines[1]
    assert "length 5" in lines[2]
    assert b"Traceback" not in bad.stderr


def test_code_new_deterministic_and_valid() -> None:
    for kind, length in (("resident", 11), ("local-gov", 6), ("individual", 12)):
        a = juki("code", "new", "--kind", kind, "--count", "5", "--seed", "9")
        b = juki("code", "new", "--kind", kind, "--count", "5", "--seed", "9")
        assert a.returncode == 0 and a.stdout == b.stdout
        codes = a.stdout.decode().split()
        assert len(codes) == 5 and all(len(c) == length for c in codes)
        check = juki("code", "check", "--kind", kind, *codes)
        assert check.returncode == 0, check.stdout


def test_types_lists_every_type() -> None:
    out = juki("types")
    assert out.returncode == 0
    for name in MESSAGE_TYPES:
        assert name.encode() in out.stdout


def test_fixtures_messages_then_encode_decode_every_type(tmp_path: Path) -> None:
    res = juki("fixtures", "messages", "--seed", "3", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    for name in MESSAGE_TYPES:
        der_file = tmp_path / f"{name}.der"
        json_file = tmp_path / f"{name}.json"
        enc = juki("encode", "--type", name, "--in", str(json_file), "--out",
                   str(tmp_path / f"{name}.again.der"))
        assert enc.returncode == 0, enc.stderr
        assert (tmp_path / f"{name}.again.der").read_bytes() == der_file.read_bytes()
        dec = juki("decode", str(der_file))
        assert dec.returncode == 0, dec.stderr
        shown = json.loads(dec.stdout)
        assert shown["type"] == name
        assert shown["value"] == json.loads(json_file.read_text(encoding="utf-8"))


def test_encode_reads_stdin_and_writes_stdout(tmp_path: Path) -> None:
    juki("fixtures", "messages", "--seed", "3", "--out", str(tmp_path))
    text = (tmp_path / "Acknowledgement.json").read_bytes()
    res = juki("encode", "--type", "Acknowledgement", stdin=text)
    assert res.returncode == 0
    assert res.stdout == (tmp_path / "Acknowledgement.der").read_bytes()


@pytest.mark.parametrize(("args", "stdin", "fragment"), [
    (("encode", "--type", "Acknowledgement"), b"{", "INVALID_JSON"),
    (("encode", "--type", "Nope"), b"{}", "UNKNOWN_MESSAGE_TYPE"),
    (("encode", "--type", "Acknowledgement"), b'{"status": "accepted"}',
     "acknowledged_id is required"),
    (("decode", "-"), b"\x30\x03\x80\x01", "DER_MALFORMED"),
    (("decode", "-"), b"\x66\x00\x00", "DER_TRAILING_DATA"),
    (("decode", "/nonexistent/file.der"), None, "does not exist"),
])
def test_errors_are_one_line_without_traceback(args: tuple[str, ...], stdin: bytes | None,
                                               fragment: str) -> None:
    res = juki(*args, stdin=stdin)
    assert res.returncode != 0
    err = res.stderr.decode()
    assert fragment in err, err
    assert "Traceback" not in err


def test_fixtures_residents_json_lines() -> None:
    a = juki("fixtures", "residents", "--count", "25", "--seed", "s")
    b = juki("fixtures", "residents", "--count", "25", "--seed", "s")
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    rows = [json.loads(line) for line in a.stdout.decode().splitlines()]
    assert len(rows) == 25
    assert len({r["resident_code"] for r in rows}) == 25


def test_profile_option(tmp_path: Path) -> None:
    juki("fixtures", "messages", "--seed", "1", "--out", str(tmp_path), "--profile", "2002")
    data = (tmp_path / "IdentityInfoUpdate.der").read_bytes()
    assert juki("decode", "--profile", "2002", str(tmp_path / "IdentityInfoUpdate.der")
                ).returncode == 0
    res = juki("decode", "--profile", "current", str(tmp_path / "IdentityInfoUpdate.der"))
    assert res.returncode == 1 and b"PROFILE_VIOLATION" in res.stderr
    assert data
