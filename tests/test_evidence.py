"""The evidence bundle (spec/evidence.md): written by ``run --evidence``, accepted by
``verify-evidence`` and ``openssl cms -verify``; every tampering, foreign signature and
hostile archive is rejected with a named problem and without an exception."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import random
import shutil
import stat
import subprocess
import tarfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from juki_conformance import SUITE_VERSION, evidence
from juki_conformance.cli import main
from juki_protocol.envelope import cms, pki
from juki_protocol.envelope.ca import CertificateAuthority, create_intermediate_ca, create_root_ca

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
NOW = dt.datetime(2026, 3, 1, 9, 30, 0, tzinfo=dt.UTC)
# The openssl CLI checks certificates at the real time, so they are valid for long.
NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
PCAP = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")  # header only
OPENSSL = shutil.which("openssl")


@dataclass(frozen=True)
class Body:
    """A certifying body: its root CA and its evidence-signing key and certificate."""

    ca: CertificateAuthority
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def write(self, directory: Path) -> tuple[Path, Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = directory / "body-ca.pem", directory / "key.pem", directory / "cert.pem"
        paths[0].write_bytes(pki.cert_pem(self.ca.certificate))
        paths[1].write_bytes(pki.key_pem(self.key))
        paths[2].write_bytes(pki.cert_pem(self.cert))
        return paths


def make_body(name: str, serial: int = 1) -> Body:
    # The root CA comes from juki_protocol.envelope.pki. Node certificates name a network node
    # and role, which a certifying body is not, so the signer gets the plain end-entity
    # certificate of evidence.issue_signer_certificate.
    ca = create_root_ca(pki.generate_key(), common_name=f"{name} CA",
                        not_before=NOT_BEFORE, not_after=NOT_AFTER, serial=serial)
    key = pki.generate_key()
    cert = evidence.issue_signer_certificate(
        ca, key.public_key(), organization=name, common_name="evidence signer",
        not_before=NOT_BEFORE, not_after=NOT_AFTER, serial=serial + 1)
    return Body(ca, key, cert)


@pytest.fixture(scope="module")
def body() -> Body:
    return make_body("Certifying Body")


@pytest.fixture(scope="module")
def other_body() -> Body:
    return make_body("Some Other Body", serial=7)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory, body: Body) -> dict[str, Path]:
    """One real run with --evidence (a few cases, to stay quick)."""
    d = tmp_path_factory.mktemp("run")
    ca, key, cert = body.write(d / "body")
    (d / "sut.pem").write_bytes(pki.cert_pem(body.cert))
    (d / "frames.pcap").write_bytes(PCAP)
    res = CliRunner().invoke(main, [
        "run", "--quiet", "--vectors", str(VECTORS), "--cases", "identifiers/*",
        "--out", str(d / "report"), "--evidence", str(d / "bundle.zip"),
        "--evidence-key", str(key), "--evidence-cert", str(cert),
        "--sut-cert", str(d / "sut.pem"), "--capture", str(d / "frames.pcap")])
    assert res.exit_code == 0, res.output
    return {"dir": d, "report": d / "report", "bundle": d / "bundle.zip", "ca": ca}


def write(out: Path, report_dir: Path, signer: Body, *, now: dt.datetime = NOW,
          **kw: object) -> Path:
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    capture = out.parent / "frames.pcap"
    capture.write_bytes(PCAP)
    args: dict[str, object] = {"sut_certificate_pem": pki.cert_pem(signer.cert),
                               "captures": [capture]} | kw
    return evidence.write_bundle(out, report_dir=report_dir, ics_path_or_obj=report["ics"],
                                 signer_key=signer.key, signer_cert=signer.cert, now=now,
                                 **args)  # type: ignore[arg-type]


@pytest.fixture
def bundle(tmp_path: Path, cli_run: dict[str, Path], body: Body) -> Path:
    return write(tmp_path / "bundle.zip", cli_run["report"], body)


def verify(path: Path, body: Body, **kw: int) -> evidence.VerificationResult:
    return evidence.verify_bundle(path, trust_anchor_pem=pki.cert_pem(body.ca.certificate),
                                  **kw)


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rezip(src: Path, dst: Path, *, replace: dict[str, bytes] | None = None,
          add: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> Path:
    """Rewrite a bundle the way write_bundle does, with changes."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename not in drop:
                zout.writestr(info, (replace or {}).get(info.filename, zin.read(info)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def openssl_verify(directory: Path, bundle: Path, ca: Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    with zipfile.ZipFile(bundle) as zf:
        zf.extract("manifest.json", directory)
        zf.extract("manifest.json.p7s", directory)
    return subprocess.run([OPENSSL, "cms", "-verify", "-binary", "-inform", "DER",
                           "-in", str(directory / "manifest.json.p7s"),
                           "-content", str(directory / "manifest.json"),
                           "-CAfile", str(ca), "-out", str(directory / "out")],
                          capture_output=True, check=False)


# The happy path ------------------------------------------------------------------------

def test_run_with_evidence_is_accepted_by_verify_evidence(cli_run: dict[str, Path]) -> None:
    res = CliRunner().invoke(main, ["verify-evidence", str(cli_run["bundle"]),
                                    "--trust", str(cli_run["ca"])])
    assert res.exit_code == 0, res.output
    assert "valid evidence bundle, signed by CN=evidence signer" in res.output
    names = set(entries(cli_run["bundle"]))
    assert names == {"manifest.json", "manifest.json.p7s", "report.json", "report.html",
                     "junit.xml", "coverage.json", "ics.json", "sut-certificate.pem",
                     "captures/frames.pcap"}


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl CLI")
def test_openssl_cms_verify_accepts_the_cli_bundle(cli_run: dict[str, Path],
                                                   tmp_path: Path) -> None:
    # Checks R-EVID-07.
    res = openssl_verify(tmp_path, cli_run["bundle"], cli_run["ca"])
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out").read_bytes() == (tmp_path / "manifest.json").read_bytes()


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl CLI")
def test_openssl_rejects_a_tampered_manifest_and_a_foreign_ca(
        cli_run: dict[str, Path], tmp_path: Path, other_body: Body) -> None:
    other_ca = other_body.write(tmp_path / "other")[0]
    assert openssl_verify(tmp_path, cli_run["bundle"], other_ca).returncode != 0
    manifest = entries(cli_run["bundle"])["manifest.json"]
    tampered = rezip(cli_run["bundle"], tmp_path / "t.zip",
                     replace={"manifest.json": manifest.replace(b'"size": ', b'"size":  ', 1)})
    assert openssl_verify(tmp_path, tampered, cli_run["ca"]).returncode != 0


def test_manifest_content(bundle: Path, cli_run: dict[str, Path]) -> None:
    # Checks R-EVID-04, R-EVID-05, R-EVID-06.
    files = entries(bundle)
    manifest = json.loads(files["manifest.json"])
    report = json.loads((cli_run["report"] / "report.json").read_text(encoding="utf-8"))
    assert manifest["format"] == evidence.FORMAT
    assert manifest["suiteVersion"] == SUITE_VERSION
    assert manifest["vectorSetSha256"] == report["vectorSetSha256"]
    assert manifest["created"] == "2026-03-01T09:30:00Z"
    assert manifest["sut"] == {"implementation": report["sut"]["implementation"],
                               "version": report["sut"]["version"]}
    listed = {f["path"]: (f["sha256"], f["size"]) for f in manifest["files"]}
    assert listed == {name: (hashlib.sha256(data).hexdigest(), len(data))
                      for name, data in files.items()
                      if name not in ("manifest.json", "manifest.json.p7s")}
    assert files["report.json"] == (cli_run["report"] / "report.json").read_bytes()
    assert json.loads(files["ics.json"]) == report["ics"]


def test_intermediate_ca_chain_is_verified(tmp_path: Path, cli_run: dict[str, Path],
                                           body: Body) -> None:
    # Checks R-EVID-08.
    inter = create_intermediate_ca(body.ca, pki.generate_key(), common_name="Issuing",
                                   not_before=NOT_BEFORE, not_after=NOT_AFTER, serial=30)
    key = pki.generate_key()
    cert = evidence.issue_signer_certificate(inter, key.public_key(), organization="Body",
                                             common_name="signer 2", not_before=NOT_BEFORE,
                                             not_after=NOT_AFTER, serial=31)
    path = write(tmp_path / "b.zip", cli_run["report"], Body(body.ca, key, cert),
                 extra_certs=[inter.certificate])
    assert verify(path, body).problems == ()
    if OPENSSL:
        ca = body.write(tmp_path / "pem")[0]
        assert openssl_verify(tmp_path, path, ca).returncode == 0
    without = write(tmp_path / "c.zip", cli_run["report"], Body(body.ca, key, cert))
    assert any("does not chain" in p for p in verify(without, body).problems)


# Reproducibility -----------------------------------------------------------------------

def test_bundle_is_byte_identical_for_identical_inputs(tmp_path: Path, cli_run: dict[str, Path],
                                                       body: Body) -> None:
    # Checks R-EVID-03.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write(tmp_path / "a" / "bundle.zip", cli_run["report"], body)
    b = write(tmp_path / "b" / "bundle.zip", cli_run["report"], body)
    assert a.read_bytes() == b.read_bytes()
    c = write(tmp_path / "c.zip", cli_run["report"], body, now=NOW + dt.timedelta(seconds=2))
    assert c.read_bytes() != a.read_bytes()


# Tampering -----------------------------------------------------------------------------

CONTENT_FILES = ("report.json", "report.html", "junit.xml", "coverage.json", "ics.json",
                 "sut-certificate.pem", "captures/frames.pcap")


@pytest.mark.parametrize("name", CONTENT_FILES)
def test_tampering_with_any_file_is_detected(name: str, bundle: Path, body: Body,
                                             tmp_path: Path) -> None:
    assert verify(bundle, body).valid
    data = entries(bundle)[name]
    changed = flip(data, len(data) // 2)
    same_size = rezip(bundle, tmp_path / "a.zip", replace={name: changed})
    assert verify(same_size, body).problems == (
        f"{name}: SHA-256 {hashlib.sha256(changed).hexdigest()} differs from the "
        f"manifest's {hashlib.sha256(data).hexdigest()}",)
    longer = rezip(bundle, tmp_path / "b.zip", replace={name: data + b"\n"})
    assert verify(longer, body).problems == (
        f"{name}: size {len(data) + 1} differs from the manifest's {len(data)}",)


def test_a_bad_signature_does_not_hide_a_tampered_file(bundle: Path, body: Body,
                                                      tmp_path: Path) -> None:
    # Checks R-EVID-11: after the signature fails, the files are still checked.
    files = entries(bundle)
    p7s, report = files["manifest.json.p7s"], files["report.json"]
    bad = rezip(bundle, tmp_path / "x.zip",
                replace={"manifest.json.p7s": flip(p7s, len(p7s) - 1),
                         "report.json": flip(report, len(report) // 2)},
                drop=("junit.xml",))
    problems = verify(bad, body).problems
    assert "manifest.json.p7s: the signature does not verify" in problems
    assert any(p.startswith("report.json: SHA-256 ") for p in problems), problems
    assert any("junit.xml" in p for p in problems), problems


def test_removed_file_is_detected(bundle: Path, body: Body, tmp_path: Path) -> None:
    # Checks R-EVID-04, R-EVID-09.
    bad = rezip(bundle, tmp_path / "x.zip", drop=("junit.xml",))
    assert verify(bad, body).problems == ("junit.xml: listed in the manifest but missing",)


def test_extra_file_is_detected(bundle: Path, body: Body, tmp_path: Path) -> None:
    bad = rezip(bundle, tmp_path / "x.zip", add={"captures/extra.pcap": PCAP})
    assert verify(bad, body).problems == (
        "captures/extra.pcap: in the bundle but not listed in the manifest",)


def test_tampered_manifest_is_detected(bundle: Path, body: Body, tmp_path: Path) -> None:
    manifest = json.loads(entries(bundle)["manifest.json"])
    manifest["sut"]["version"] = "9.9"
    data = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    bad = rezip(bundle, tmp_path / "x.zip", replace={"manifest.json": data})
    problems = verify(bad, body).problems
    assert "manifest.json.p7s: the messageDigest attribute does not match manifest.json" \
        in problems
    assert "report.json: SUT identification differs from the manifest's" in problems


def test_malformed_manifest_is_named(bundle: Path, body: Body, tmp_path: Path) -> None:
    # Checks R-EVID-05, R-EVID-09.
    cases = {b"[1,": "not well-formed JSON",
             b'{"format": 1, "format": 2}': "key 'format' appears twice",
             b'{"format": "juki-evidence/1"}': "field (top level): 'suiteVersion' is a "
                                               "required property",
             b"\xff": "not well-formed JSON"}
    for i, (data, expected) in enumerate(cases.items()):
        bad = rezip(bundle, tmp_path / f"{i}.zip", replace={"manifest.json": data})
        problems = verify(bad, body).problems
        assert any(expected in p for p in problems), problems
    manifest = json.loads(entries(bundle)["manifest.json"])
    manifest["files"][0]["path"] = "../escape"
    bad = rezip(bundle, tmp_path / "p.zip",
                replace={"manifest.json": json.dumps(manifest).encode()})
    assert "manifest.json: lists '../escape': path traversal" in verify(bad, body).problems


@pytest.mark.parametrize("where", ["last", "middle", "first"])
def test_tampered_signature_is_detected(where: str, bundle: Path, body: Body,
                                        tmp_path: Path) -> None:
    # Checks R-EVID-07.
    p7s = entries(bundle)["manifest.json.p7s"]
    at = {"last": len(p7s) - 1, "middle": len(p7s) // 2, "first": 0}[where]
    bad = rezip(bundle, tmp_path / "x.zip", replace={"manifest.json.p7s": flip(p7s, at)})
    problems = verify(bad, body).problems
    assert len(problems) == 1 and problems[0].startswith("manifest.json.p7s: "), problems
    if where == "last":           # the last octet belongs to the ECDSA signature
        assert problems == ("manifest.json.p7s: the signature does not verify",)


def test_missing_signature_is_detected(bundle: Path, body: Body, tmp_path: Path) -> None:
    bad = rezip(bundle, tmp_path / "x.zip", drop=("manifest.json.p7s",))
    assert verify(bad, body).problems == ("manifest.json.p7s: missing",)


def test_signature_from_another_ca_is_rejected(tmp_path: Path, cli_run: dict[str, Path],
                                               body: Body, other_body: Body) -> None:
    # Checks R-EVID-08.
    foreign = write(tmp_path / "x.zip", cli_run["report"], other_body)
    assert verify(foreign, other_body).valid
    problems = verify(foreign, body).problems
    assert len(problems) == 1
    assert problems[0].startswith("manifest.json.p7s: signer certificate: ")
    assert "does not chain to a trust anchor" in problems[0]
    # A re-signed manifest spliced into a genuine bundle is rejected the same way.
    spliced = rezip(foreign, tmp_path / "y.zip",
                    replace={"sut-certificate.pem": pki.cert_pem(body.cert)})
    assert not verify(spliced, body).valid


def test_attached_signature_is_rejected(bundle: Path, body: Body, tmp_path: Path) -> None:
    manifest = entries(bundle)["manifest.json"]
    cert_der = body.cert.public_bytes(serialization.Encoding.DER)
    attached = cms.build_signed_data(
        manifest, [cms.attribute(cms.ID_CONTENT_TYPE, cms.der_oid(cms.ID_DATA)),
                   cms.attribute(cms.ID_MESSAGE_DIGEST,
                                 cms.der_octets(hashlib.sha256(manifest).digest()))],
        sid=cms.issuer_and_serial(cms.certificate_issuer_der(cert_der),
                                  body.cert.serial_number),
        sign=lambda data: body.key.sign(data, ec.ECDSA(hashes.SHA256())),
        certificates=[cert_der])
    bad = rezip(bundle, tmp_path / "x.zip", replace={"manifest.json.p7s": attached})
    assert verify(bad, body).problems == (
        "manifest.json.p7s: the content is attached; the signature must be detached",)


# Hostile archives ----------------------------------------------------------------------

def _zip(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # "Duplicate name"
        with zipfile.ZipFile(buf, "w") as zf:
            for info, data in members:
                zf.writestr(info, data)
    return buf.getvalue()


def _info(name: str, mode: int = stat.S_IFREG | 0o644,
          method: int = zipfile.ZIP_STORED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = mode << 16
    info.compress_type = method
    return info


def _with_gap() -> bytes:
    """A valid ZIP with 6 hidden bytes between its two entries (offsets adjusted)."""
    data = bytearray(_zip([(_info("report.json"), b"a"), (_info("junit.xml"), b"b")]))
    gap = 30 + len("report.json") + 1
    data[gap:gap] = b"HIDDEN"
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 1) + 42
    data[second:second + 4] = (int.from_bytes(data[second:second + 4], "little") + 6
                               ).to_bytes(4, "little")
    eocd = data.rindex(b"PK\x05\x06") + 16
    data[eocd:eocd + 4] = (int.from_bytes(data[eocd:eocd + 4], "little") + 6
                           ).to_bytes(4, "little")
    return bytes(data)


def _tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"{}"))
    return buf.getvalue()


HOSTILE: dict[str, tuple[bytes, str]] = {
    "empty file": (b"", "not a ZIP archive"),
    "text": (b"hello, regulator\n", "not a ZIP archive"),
    "tar": (_tar(), "a tar archive"),
    "gzip": (b"\x1f\x8b\x08\x00" + bytes(20), "a gzip file"),
    "empty zip": (_zip([]), "an empty ZIP archive"),
    "local header only": (b"PK\x03\x04" + bytes(26), "unreadable ZIP archive"),
    "traversal": (_zip([(_info("../evil"), b"x")]), "entry '../evil': path traversal"),
    "deep traversal": (_zip([(_info("captures/../../evil"), b"x")]), "path traversal"),
    "absolute": (_zip([(_info("/etc/passwd"), b"x")]), "entry '/etc/passwd': absolute path"),
    "drive letter": (_zip([(_info("C:/x"), b"x")]), "absolute path"),
    "backslash": (_zip([(_info("..\\evil"), b"x")]), "path traversal"),
    "NUL in name": (_zip([(_info("report.json#.exe"), b"x")]).replace(b"#", b"\x00"),
                    "contains NUL"),
    "device name": (_zip([(_info("captures/con.pcap"), b"x")]), "a Windows device name"),
    "symlink": (_zip([(_info("report.json", stat.S_IFLNK | 0o777), b"/etc/passwd")]),
                "entry 'report.json': a symbolic link"),
    "directory": (_zip([(_info("captures/", stat.S_IFDIR | 0o755), b"")]), "a directory"),
    "fifo": (_zip([(_info("report.json", stat.S_IFIFO | 0o644), b"")]),
             "not a regular file"),
    "duplicate": (_zip([(_info("report.json"), b"a"), (_info("report.json"), b"b")]),
                  "entry 'report.json': duplicate entry"),
    "case duplicate": (_zip([(_info("report.json"), b"a"), (_info("REPORT.json"), b"b")]),
                       "only in case"),
    "deflated": (_zip([(_info("report.json", method=zipfile.ZIP_DEFLATED), b"a" * 100)]),
                 "compression method 8"),
    "junk before": (b"JUNK" * 8 + _zip([(_info("report.json"), b"a")]), "not a ZIP"),
    "junk between": (_with_gap(), "bytes outside any entry before entry 'junit.xml'"),
    "comment": (_zip([(_info("report.json"), b"a")])[:-2] + b"\x03\x00abc", "a comment"),
    "no manifest": (_zip([(_info("report.json"), b"{}")]), "manifest.json: missing"),
}


def _huge() -> bytes:
    """An entry whose headers claim 4 GiB - 2 bytes while the archive is tiny."""
    data = bytearray(_zip([(_info("report.json"), b"a")]))
    for sig, off in ((b"PK\x03\x04", 18), (b"PK\x01\x02", 20)):
        at = data.index(sig) + off
        data[at:at + 8] = (0xFFFFFFFE).to_bytes(4, "little") * 2
    return bytes(data)


HOSTILE["huge declared size"] = (_huge(), "4294967294 bytes extend beyond the end")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_archive_is_rejected_with_a_message(name: str, tmp_path: Path,
                                                    body: Body) -> None:
    # Checks R-EVID-01, R-EVID-02, R-EVID-09, R-EVID-10.
    data, expected = HOSTILE[name]
    path = tmp_path / "hostile.zip"
    path.write_bytes(data)
    result = verify(path, body)
    assert not result.valid and result.manifest is None
    assert all(isinstance(p, str) and p for p in result.problems)
    assert any(expected in p for p in result.problems), result.problems


def test_entry_size_limit(bundle: Path, body: Body) -> None:
    # Checks R-EVID-10.
    problems = verify(bundle, body, max_entry_size=1000).problems
    assert any(p.startswith("entry 'report.json': ") and "the limit is 1000" in p
               for p in problems), problems


def test_symlink_in_a_real_bundle(bundle: Path, body: Body, tmp_path: Path) -> None:
    """A valid bundle whose capture is replaced by a link entry with the same bytes."""
    files = entries(bundle)
    with zipfile.ZipFile(bundle) as zin, zipfile.ZipFile(tmp_path / "x.zip", "w") as zout:
        for info in zin.infolist():
            if info.filename == "captures/frames.pcap":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zout.writestr(info, files[info.filename])
    assert verify(tmp_path / "x.zip", body).problems == (
        "entry 'captures/frames.pcap': a symbolic link",)


def test_mutated_bundles_never_raise(bundle: Path, body: Body, tmp_path: Path) -> None:
    """Bit flips anywhere and truncations: always a result, never an exception."""
    data = bundle.read_bytes()
    rng = random.Random(20260301)
    path = tmp_path / "m.zip"
    rejected = 0
    positions = [*rng.sample(range(len(data)), 150), *range(len(data) - 120, len(data))]
    for at in positions:
        path.write_bytes(flip(data, at))
        result = verify(path, body)
        rejected += not result.valid
    for cut in rng.sample(range(len(data)), 30):
        path.write_bytes(data[:cut])
        assert not verify(path, body).valid
    # Nearly every flip is caught; a flip in an unchecked field (e.g. a timestamp) is not.
    assert rejected >= len(positions) * 0.8


# write_bundle's own checks --------------------------------------------------------------

def test_write_refuses_bad_inputs(tmp_path: Path, cli_run: dict[str, Path], body: Body,
                                  other_body: Body) -> None:
    report = cli_run["report"]
    with pytest.raises(evidence.EvidenceError, match="does not belong"):
        write(tmp_path / "a.zip", report, Body(body.ca, other_body.key, body.cert))
    (tmp_path / "x.pcap").write_bytes(b"not a capture")
    with pytest.raises(evidence.EvidenceError, match="not a pcap"):
        write(tmp_path / "b.zip", report, body, captures=[tmp_path / "x.pcap"])
    with pytest.raises(evidence.EvidenceError, match="not the one recorded"):
        evidence.write_bundle(tmp_path / "c.zip", report_dir=report,
                              ics_path_or_obj={"implementation": {"name": "x", "version": "1"},
                                               "role": "municipality",
                                               "profiles": ["current"], "modes": ["codec"]},
                              signer_key=body.key, signer_cert=body.cert, now=NOW)
    with pytest.raises(evidence.EvidenceError, match="expired"):
        write(tmp_path / "d.zip", report, body, now=NOT_AFTER + dt.timedelta(days=1))
    with pytest.raises(evidence.EvidenceError, match="keyUsage"):
        write(tmp_path / "e.zip", report, Body(body.ca, body.ca.key, body.ca.certificate))
    assert not any(tmp_path.glob("*.zip")) and not any(tmp_path.glob(".*.tmp"))


# CLI ------------------------------------------------------------------------------------

def test_verify_evidence_cli_reports_problems_with_exit_1(bundle: Path, body: Body,
                                                          tmp_path: Path) -> None:
    ca = body.write(tmp_path / "pem")[0]
    bad = rezip(bundle, tmp_path / "x.zip", add={"extra.txt": b"x"})
    res = CliRunner().invoke(main, ["verify-evidence", str(bad), "--trust", str(ca)])
    assert res.exit_code == 1
    assert "INVALID" in res.output
    assert "extra.txt: in the bundle but not listed in the manifest" in res.output
    (tmp_path / "tar.tar").write_bytes(_tar())
    res = CliRunner().invoke(main, ["verify-evidence", str(tmp_path / "tar.tar"), "--trust",
                                    str(ca)])
    assert res.exit_code == 1 and "a tar archive" in res.output


def _usage_error(args: list[str]) -> str:
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    return res.stderr


def test_cli_usage_errors(tmp_path: Path, body: Body, bundle: Path) -> None:
    ca, key, cert = body.write(tmp_path / "pem")
    err = _usage_error(["run", "--quiet", "--evidence", str(tmp_path / "b.zip")])
    assert err == "error: [usage] --evidence needs --evidence-key and --evidence-cert\n"
    err = _usage_error(["run", "--quiet", "--evidence-key", str(key)])
    assert err.startswith("error: ") and "need --evidence" in err and err.count("\n") == 1
    err = _usage_error(["run", "--quiet", "--evidence", str(tmp_path / "b.zip"),
                        "--evidence-key", str(ca), "--evidence-cert", str(cert)])
    assert err.startswith("error: [usage] --evidence-key/--evidence-cert: ") \
        and err.count("\n") == 1
    err = _usage_error(["verify-evidence", str(bundle), "--trust", str(key)])
    assert err.startswith("error: [usage] trust anchor: ") and err.count("\n") == 1
    _usage_error(["verify-evidence", str(bundle)])
    _usage_error(["verify-evidence", str(tmp_path / "missing.zip"), "--trust", str(ca)])
    assert not (tmp_path / "b.zip").exists()


def test_run_keeps_the_vendor_ics_file_and_reports_a_bad_capture(tmp_path: Path,
                                                                 body: Body) -> None:
    _, key, cert = body.write(tmp_path / "pem")
    ics = tmp_path / "ics.json"
    ics.write_text('{"implementation": {"name": "Acme", "version": "4.2"},\n'
                   ' "role": "municipality", "profiles": ["current"], "modes": ["codec"]}\n',
                   encoding="utf-8")
    common = ["run", "--quiet", "--vectors", str(VECTORS), "--ics", str(ics),
              "--cases", "identifiers/codec/resident-code/example-*",
              "--evidence-key", str(key), "--evidence-cert", str(cert)]
    res = CliRunner().invoke(main, [*common, "--out", str(tmp_path / "r1"),
                                    "--evidence", str(tmp_path / "b.zip")])
    assert res.exit_code == 0, res.output
    assert entries(tmp_path / "b.zip")["ics.json"] == ics.read_bytes()
    assert verify(tmp_path / "b.zip", body).valid
    (tmp_path / "x.pcap").write_bytes(b"not a capture")
    res = CliRunner().invoke(main, [*common, "--out", str(tmp_path / "r2"),
                                    "--evidence", str(tmp_path / "c.zip"),
                                    "--capture", str(tmp_path / "x.pcap")])
    assert res.exit_code == 2
    assert res.stderr == (f"error: [usage] capture {tmp_path / 'x.pcap'}: not a pcap or "
                          f"pcapng file\n")
    assert (tmp_path / "r2" / "report.json").is_file() and not (tmp_path / "c.zip").exists()


# Frame captures of failing node-mode cases -----------------------------------------------

def test_a_failing_node_case_puts_its_frames_into_the_bundle(tmp_path: Path,
                                                             body: Body) -> None:
    # Checks R-CONF-13.
    import sys

    from scapy.utils import rdpcap

    from juki_conformance.lower_tester import capture_name
    from juki_protocol.tools.capture.scapy_layer import frames_from_pcap

    _, key, cert = body.write(tmp_path / "body")
    case = "12-2/node/wide-area/copy-without-family-register"
    faulty = f"{sys.executable} -m juki_conformance.selftest.faulty_node " \
             "--fault returns-family-register"
    res = CliRunner().invoke(main, [
        "run", "--quiet", "--vectors", str(VECTORS), "--cases", "12-2/node/*",
        "--node-command", faulty, "--out", str(tmp_path / "report"),
        "--evidence", str(tmp_path / "bundle.zip"), "--evidence-key", str(key),
        "--evidence-cert", str(cert)])
    assert res.exit_code == 1, res.output
    assert f"FAIL: {case}" in res.output
    assert verify(tmp_path / "bundle.zip", body).valid
    name = f"captures/{capture_name(case)}"
    files = entries(tmp_path / "bundle.zip")
    # Only the failing case has a capture; the passing one has none.
    assert [n for n in files if n.startswith("captures/")] == [name]
    pcap = tmp_path / "case.pcap"
    pcap.write_bytes(files[name])
    assert len(rdpcap(str(pcap))) > 0
    kinds = [p.header.message_type.value for p in frames_from_pcap(pcap)]
    assert kinds == ["wideAreaIssuanceRequest", "acknowledgement",
                     "wideAreaIssuanceResponse", "acknowledgement"]
