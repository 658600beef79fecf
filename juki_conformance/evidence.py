"""The evidence bundle: a run's reports, signed by a certifying body, verifiable offline.

Theory of operation (the normative format is ``spec/evidence.md``)
------------------------------------------------------------------
:func:`write_bundle` packs one ZIP archive holding ``report.json``, ``report.html``,
``junit.xml``, ``coverage.json``, the ICS as ``ics.json``, the SUT's certificate as
``sut-certificate.pem`` (when given), the frame captures under ``captures/``, and
``manifest.json``: every other file with its SHA-256 and size, the suite version, the
vector set hash, the creation time and the SUT's identification. ``manifest.json.p7s``
is a detached CMS SignedData (RFC 5652 section 5.2: no eContent) over the exact octets of
``manifest.json``, ECDSA P-256 with SHA-256, the signer's certificate included, so that
``openssl cms -verify -binary -inform DER -in manifest.json.p7s -content manifest.json
-CAfile body-ca.pem`` accepts it.

Why ZIP with stored (uncompressed) entries rather than tar: a ZIP has a central
directory, so a verifier reads the manifest without unpacking anything and each entry is
addressed by name; it opens without extra tools on the desktops regulators use; and with
method 0 (stored) every byte is under our control -- no dependence on the zlib build
(zlib and zlib-ng compress differently), so equal inputs and ``now`` give a
byte-identical bundle, and a hostile bundle cannot be a decompression bomb (an entry's
size is bounded by the archive's size). Entry times are ``now``; modes are fixed.

:func:`verify_bundle` trusts nothing in the archive. It first checks the container
(entry names, types, methods, sizes, no bytes outside the entries), then the manifest,
the signature and the signer's certificate path to the given trust anchor (at the
manifest's creation time: the bundle carries no time-stamp token), then every file's
size and hash, then that the reports agree with the manifest. Every problem is named;
nothing in a hostile archive makes it raise.

Reuse: the DER writer and the SignedData parser are :mod:`juki_protocol.envelope.cms`; keys,
certificates, path building and validity checks are :mod:`juki_protocol.envelope.pki`. The
detached signature, its signer's certificate and their checks are
:mod:`juki_conformance.evidence_signature` (:func:`sign_detached` and
:func:`issue_signer_certificate` are re-exported here).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import jsonschema
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from juki_conformance import SUITE_VERSION
from juki_conformance import ics as ics_mod
from juki_conformance.evidence_signature import (
    certificate_problem,
    issue_signer_certificate,
    sign_detached,
    verify_detached,
)
from juki_protocol.envelope import pki
from juki_protocol.errors import JukiError

FORMAT = "juki-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.p7s"
REPORT_FILES = ("report.json", "report.html", "junit.xml", "coverage.json")
ICS_FILE = "ics.json"
SUT_CERTIFICATE_FILE = "sut-certificate.pem"
CAPTURE_DIR = "captures"
REQUIRED_FILES = (*REPORT_FILES, ICS_FILE)

MAX_ENTRIES = 10_000
MAX_MANIFEST_SIZE = 16 * 1024 * 1024
MAX_SIGNATURE_SIZE = 1024 * 1024
#: Default limit on one entry (frame captures can be large; the hash is streamed).
MAX_ENTRY_SIZE = 8 * 1024 ** 3
_CHUNK = 1024 * 1024
_FILE_MODE = stat.S_IFREG | 0o644
_UNIX = 3                               # ZIP "version made by" host: Unix (APPNOTE 4.4.2)

_COMPONENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})?\Z")
# Names that open a device instead of a file on Windows.
_WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                              *(f"LPT{i}" for i in range(10))})
_CREATED = "%Y-%m-%dT%H:%M:%SZ"
_PCAP_MAGIC = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
               b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a")

#: JSON Schema of ``manifest.json`` (spec/evidence.md section 3).
MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "suiteVersion", "vectorSetSha256", "created", "sut", "files"],
    "properties": {
        "format": {"const": FORMAT},
        "suiteVersion": {"type": "string", "minLength": 1, "maxLength": 64},
        "vectorSetSha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "created": {"type": "string",
                    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
        "sut": {"type": "object", "additionalProperties": False,
                "required": ["implementation", "version"],
                "properties": {"implementation": {"type": ["string", "null"]},
                               "version": {"type": ["string", "null"]}}},
        "files": {"type": "array", "minItems": 1, "maxItems": MAX_ENTRIES,
                  "items": {"type": "object", "additionalProperties": False,
                            "required": ["path", "sha256", "size"],
                            "properties": {
                                "path": {"type": "string", "maxLength": 257},
                                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                "size": {"type": "integer", "minimum": 0}}}},
    },
}


class EvidenceError(ValueError):
    """Bad input to :func:`write_bundle` or :func:`verify_bundle` (not a bad bundle)."""


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What :func:`verify_bundle` found.

    problems: every problem, each naming the file or entry it concerns; empty if valid.
    manifest: the parsed manifest when it was readable and well-formed, else None.
    signer: the signer certificate's subject (RFC 4514) when the signature verified.
    """

    problems: tuple[str, ...]
    manifest: dict[str, Any] | None = None
    signer: str | None = None

    @property
    def valid(self) -> bool:
        """True when there is no problem at all."""
        return not self.problems


# Writing -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Entry:
    path: str
    data: bytes | None = None
    source: Path | None = None
    sha256: str = ""
    size: int = 0


def _hash_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _bytes_entry(path: str, data: bytes) -> _Entry:
    return _Entry(path=path, data=data, sha256=hashlib.sha256(data).hexdigest(),
                  size=len(data))


def _capture_name(path: Path) -> str:
    name = f"{CAPTURE_DIR}/" + re.sub(r"[^A-Za-z0-9._-]", "_", path.name).lstrip("._-")[:128]
    problem = _name_problem(name)
    if problem:
        raise EvidenceError(f"capture {path}: cannot be stored as {problem[6:]}")
    return name


def _ics_bytes(ics_path_or_obj: Path | str | ics_mod.Ics | dict[str, Any]) -> bytes:
    if isinstance(ics_path_or_obj, (str, Path)):
        path = Path(ics_path_or_obj)
        ics_mod.load(path)                              # raises ValueError naming a field
        return path.read_bytes()
    raw = ics_path_or_obj.raw if isinstance(ics_path_or_obj, ics_mod.Ics) \
        else ics_mod.parse(ics_path_or_obj).raw
    return (json.dumps(raw, ensure_ascii=False, indent=1, sort_keys=True) + "\n") \
        .encode("utf-8")


def _sut_identification(report: dict[str, Any]) -> dict[str, str | None]:
    hello = report.get("sut")
    hello = hello if isinstance(hello, dict) else {}
    return {k: (v if isinstance(v := hello.get(k), str) else None)
            for k in ("implementation", "version")}


def _load_key(key: ec.EllipticCurvePrivateKey | bytes) -> ec.EllipticCurvePrivateKey:
    return pki.load_private_key(key) if isinstance(key, bytes) else key


def _load_cert(cert: x509.Certificate | bytes) -> x509.Certificate:
    return pki.load_certificate(cert) if isinstance(cert, bytes) else cert


def _zip_info(name: str, now: dt.datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = _UNIX
    info.external_attr = _FILE_MODE << 16
    return info


def _write_zip(target: BinaryIO, entries: Iterable[_Entry], now: dt.datetime) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as zf:
        for e in entries:
            info = _zip_info(e.path, now)
            if e.data is not None:
                zf.writestr(info, e.data)
                continue
            assert e.source is not None
            info.file_size = e.size
            h = hashlib.sha256()
            with e.source.open("rb") as src, \
                    zf.open(info, "w", force_zip64=e.size >= zipfile.ZIP64_LIMIT) as dst:
                while chunk := src.read(_CHUNK):
                    h.update(chunk)
                    dst.write(chunk)
            if h.hexdigest() != e.sha256:
                raise EvidenceError(f"{e.source} changed while the bundle was written")


def write_bundle(out_path: Path | str, *, report_dir: Path | str,
                 ics_path_or_obj: Path | str | ics_mod.Ics | dict[str, Any],
                 sut_certificate_pem: bytes | None = None,
                 captures: Sequence[Path | str] = (),
                 signer_key: ec.EllipticCurvePrivateKey | bytes,
                 signer_cert: x509.Certificate | bytes,
                 extra_certs: Sequence[x509.Certificate] = (),
                 now: dt.datetime) -> Path:
    """Write the evidence bundle (spec/evidence.md) to ``out_path`` and return it.

    report_dir: the directory :func:`juki_conformance.reports.write_all` wrote.
    ics_path_or_obj: the ICS file, or a parsed :class:`~juki_conformance.ics.Ics` or its JSON
    object; it must be the ICS of the report.
    sut_certificate_pem: the SUT's certificate (one PEM certificate), if any.
    captures: pcap or pcapng files of the run's frames.
    signer_key, signer_cert, extra_certs: the certifying body's key and certificate
    (objects or PEM) and any intermediates to include in the signature.
    now: the creation time recorded in the manifest and on every entry.

    Equal inputs give a byte-identical file. Bad input raises :class:`EvidenceError`;
    the file is replaced atomically, never left half-written.
    """
    created = pki.as_utc(now).replace(microsecond=0)
    if not 1980 <= created.year <= 2107:                # the range of ZIP entry times
        raise EvidenceError("now must be between 1980 and 2107 (ZIP entry times)")
    try:
        key, cert = _load_key(signer_key), _load_cert(signer_cert)
        pki.Credential(key, cert)                       # P-256, and the key fits the cert
        pki.check_key_usage(cert, pki.KeyPurpose.SIGNING)
        for c in (cert, *extra_certs):
            pki.check_validity_period(c, created)
    except JukiError as exc:
        raise EvidenceError(f"signer: {exc.args[0] if exc.args else exc}") from None
    report_dir = Path(report_dir)
    entries = [_bytes_entry(name, (report_dir / name).read_bytes()) for name in REPORT_FILES]
    try:
        report = json.loads(entries[0].data or b"")
        version, vector_hash = report["suite"]["version"], report["vectorSetSha256"]
    except (ValueError, KeyError, TypeError):
        raise EvidenceError(f"{report_dir / 'report.json'}: not a conformance report") \
            from None
    if version != SUITE_VERSION:
        raise EvidenceError(f"report.json was made by suite version {version}, this is "
                            f"{SUITE_VERSION}")
    ics = _ics_bytes(ics_path_or_obj)
    if json.loads(ics) != report.get("ics"):
        raise EvidenceError("the ICS is not the one recorded in report.json")
    entries.append(_bytes_entry(ICS_FILE, ics))
    if sut_certificate_pem is not None:
        try:
            pki.load_certificate(sut_certificate_pem)
        except JukiError as exc:
            raise EvidenceError(f"SUT certificate: {exc.args[0]}") from None
        entries.append(_bytes_entry(SUT_CERTIFICATE_FILE, sut_certificate_pem))
    for capture in map(Path, captures):
        with capture.open("rb") as f:
            if f.read(4) not in _PCAP_MAGIC:
                raise EvidenceError(f"capture {capture}: not a pcap or pcapng file")
        digest, size = _hash_file(capture)
        entries.append(_Entry(path=_capture_name(capture), source=capture, sha256=digest,
                              size=size))
    folded = [e.path.lower() for e in entries]
    if len(set(folded)) != len(folded):
        dup = next(p for p in folded if folded.count(p) > 1)
        raise EvidenceError(f"two captures would both be stored as {dup}")
    entries.sort(key=lambda e: e.path)
    manifest = {
        "format": FORMAT, "suiteVersion": version, "vectorSetSha256": vector_hash,
        "created": created.strftime(_CREATED), "sut": _sut_identification(report),
        "files": [{"path": e.path, "sha256": e.sha256, "size": e.size} for e in entries],
    }
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
                      + "\n").encode("utf-8")
    signature = sign_detached(manifest_bytes, key, cert, signing_time=created,
                              extra_certs=extra_certs)
    out = Path(out_path)
    fd, tmp = tempfile.mkstemp(dir=out.parent if str(out.parent) else ".",
                               prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as f:
            _write_zip(f, [_bytes_entry(MANIFEST, manifest_bytes),
                           _bytes_entry(SIGNATURE, signature), *entries], created)
        os.chmod(tmp, 0o644)                            # mkstemp creates it 0600
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


# Verifying: the container --------------------------------------------------------------

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
               struct.error, NotImplementedError, RuntimeError, OverflowError, KeyError,
               IndexError, zlib.error)
_LOCAL = struct.Struct("<4sHHHHHIIIHH")


def _show(name: str) -> str:
    return ascii(name)                                  # control characters stay visible


def _name_problem(name: str) -> str | None:
    if _PATH.match(name):
        stems = {c.split(".")[0].upper() for c in name.split("/")}
        if stems & _WINDOWS_DEVICES:
            return f"entry {_show(name)}: a Windows device name"
        return None
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return f"entry {_show(name)}: absolute path"
    if ".." in re.split(r"[/\\]", name):
        return f"entry {_show(name)}: path traversal"
    return f"entry {_show(name)}: name not allowed (spec/evidence.md section 2)"


def _type_problem(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if info.create_system == _UNIX and mode:
        if stat.S_ISLNK(mode):
            return f"entry {_show(info.filename)}: a symbolic link"
        if stat.S_ISDIR(mode):
            return f"entry {_show(info.filename)}: a directory"
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # no type bits: a plain file
            return f"entry {_show(info.filename)}: not a regular file (mode {mode:o})"
    if info.external_attr & 0x10 or info.filename.endswith("/"):
        return f"entry {_show(info.filename)}: a directory"
    return None


def _container_problems(f: BinaryIO, zf: zipfile.ZipFile, size: int,
                        max_entry_size: int) -> list[str]:
    """Names, types, methods, sizes and layout: everything checked before reading."""
    infos = zf.infolist()
    if not infos:
        return ["the archive has no entries"]
    if len(infos) > MAX_ENTRIES:
        return [f"the archive has {len(infos)} entries; the limit is {MAX_ENTRIES}"]
    problems: list[str] = []
    seen: dict[str, str] = {}
    for info in infos:
        name = info.orig_filename
        problem = _name_problem(name) if name == info.filename else \
            f"entry {_show(name)}: name not allowed (contains NUL or backslash)"
        if problem:
            problems.append(problem)
        if name.lower() in seen:
            what = "duplicate entry" if seen[name.lower()] == name else \
                f"entry name differs from {_show(seen[name.lower()])} only in case"
            problems.append(f"entry {_show(name)}: {what}")
        seen.setdefault(name.lower(), name)
        type_problem = _type_problem(info)
        if type_problem:
            problems.append(type_problem)
        if info.flag_bits & 0x1:
            problems.append(f"entry {_show(name)}: encrypted")
        if info.flag_bits & 0x8:
            problems.append(f"entry {_show(name)}: uses a data descriptor")
        if info.compress_type != zipfile.ZIP_STORED:
            problems.append(f"entry {_show(name)}: compression method {info.compress_type}"
                            f"; only 0 (stored) is allowed")
        if info.file_size > max_entry_size:
            problems.append(f"entry {_show(name)}: {info.file_size} bytes; the limit is "
                            f"{max_entry_size}")
        if info.compress_size != info.file_size:
            problems.append(f"entry {_show(name)}: stored size {info.compress_size} and "
                            f"size {info.file_size} differ")
    if problems:
        return problems
    if zf.comment:
        problems.append("the archive has a comment")
    # Every byte before the central directory belongs to exactly one entry, so nothing
    # can hide in the archive, and the local headers agree with the central directory
    # (a streaming extractor reads the former, we read the latter).
    offset = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        name = _show(info.filename)
        if info.header_offset != offset:
            where = "bytes outside any entry" if info.header_offset > offset \
                else "overlapping entries"
            return [*problems, f"{where} before entry {name} (offset {offset})"]
        f.seek(offset)
        head = f.read(_LOCAL.size)
        if len(head) != _LOCAL.size:
            return [*problems, f"entry {name}: local header truncated"]
        (magic, _, flags, method, _, _, crc, csize, usize, n, m) = _LOCAL.unpack(head)
        raw_name = f.read(n)
        zip64 = csize == 0xFFFFFFFF or usize == 0xFFFFFFFF
        if magic != b"PK\x03\x04" or raw_name != info.orig_filename.encode(
                "utf-8" if info.flag_bits & 0x800 else "cp437") \
                or flags != info.flag_bits or method != info.compress_type \
                or crc != info.CRC or (not zip64 and (csize, usize) != (info.compress_size,
                                                                       info.file_size)):
            return [*problems, f"entry {name}: local header disagrees with the central "
                    f"directory"]
        offset += _LOCAL.size + n + m + info.compress_size
        if offset > size:
            return [*problems, f"entry {name}: its {info.compress_size} bytes extend beyond "
                    f"the end of the archive"]
    if offset != zf.start_dir:
        problems.append(f"bytes outside any entry before the central directory "
                        f"(offset {offset})")
    return problems


def _kind(head: bytes) -> str:
    if head[257:262] == b"ustar":
        return "a tar archive"
    if head[:2] == b"\x1f\x8b":
        return "a gzip file"
    if head[:4] == b"PK\x05\x06":
        return "an empty ZIP archive"
    return "not a ZIP archive (it does not start with a ZIP entry)"


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int]:
    """SHA-256 and length of an entry, streamed (the CRC-32 is checked on the way)."""
    h = hashlib.sha256()
    size = 0
    with zf.open(info) as src:
        while chunk := src.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


# Verifying: the manifest and the signature --------------------------------------------

def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dup = next((k for k in keys if keys.count(k) > 1), None)
    if dup is not None:
        raise ValueError(f"key {dup!r} appears twice")
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                      parse_constant=_reject_constant)


def _manifest_problems(data: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        manifest = _parse_json(data)
    except (ValueError, RecursionError) as exc:        # UnicodeDecodeError is a ValueError
        return None, [f"{MANIFEST}: not well-formed JSON: {exc}"]
    validator = jsonschema.Draft202012Validator(MANIFEST_SCHEMA)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    if errors:
        return None, [f"{MANIFEST}: field "
                      f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}"
                      for e in errors]
    problems: list[str] = []
    try:
        dt.datetime.strptime(manifest["created"], _CREATED)
    except ValueError:
        problems.append(f"{MANIFEST}: field created: not a valid time")
    paths = [f["path"] for f in manifest["files"]]
    folded = [p.lower() for p in paths]
    problems += [f"{MANIFEST}: lists {p} more than once (ignoring case)"
                 for p in sorted({p for p in paths if folded.count(p.lower()) > 1})]
    problems += [f"{MANIFEST}: lists {p}, which is reserved" for p in paths
                 if p.lower() in (MANIFEST, SIGNATURE)]
    problems += [f"{MANIFEST}: lists {problem[6:]}" for p in paths
                 if (problem := _name_problem(p))]
    problems += [f"{MANIFEST}: does not list the required file {p}"
                 for p in REQUIRED_FILES if p not in paths]
    return (None if problems else manifest), problems


def _consistency_problems(manifest: dict[str, Any], report_bytes: bytes,
                          ics_bytes: bytes | None) -> list[str]:
    """report.json (already hash-checked) agrees with the manifest and ics.json."""
    try:
        report = _parse_json(report_bytes)
        suite, vector_hash = report["suite"]["version"], report["vectorSetSha256"]
        sut, ics = _sut_identification(report), report.get("ics")
    except (ValueError, KeyError, TypeError, RecursionError):
        return ["report.json: not a conformance report"]
    problems = []
    if suite != manifest["suiteVersion"]:
        problems.append(f"report.json: suite version {suite!r} differs from the manifest's")
    if vector_hash != manifest["vectorSetSha256"]:
        problems.append("report.json: vector set hash differs from the manifest's")
    if sut != manifest["sut"]:
        problems.append("report.json: SUT identification differs from the manifest's")
    if ics_bytes is not None:
        try:
            same = _parse_json(ics_bytes) == ics
        except (ValueError, RecursionError):
            same = False
        if not same:
            problems.append(f"{ICS_FILE}: not the ICS recorded in report.json")
    return problems


def verify_bundle(path: Path | str, *, trust_anchor_pem: bytes,
                  max_entry_size: int = MAX_ENTRY_SIZE) -> VerificationResult:
    """Verify an evidence bundle offline (spec/evidence.md section 5).

    trust_anchor_pem: the certifying body's CA certificate(s); the signer's certificate
    must chain to one of them (intermediates may come from the SignedData).
    max_entry_size: the largest entry accepted, in bytes.

    Returns every problem found; raises :class:`EvidenceError` only when the trust anchor
    itself is unusable or the bundle cannot be opened as a file.
    """
    try:
        anchors = pki.load_certificates(trust_anchor_pem)
    except JukiError as exc:
        raise EvidenceError(f"trust anchor: {exc.args[0]}") from None
    if not anchors:
        raise EvidenceError("trust anchor: no PEM certificate found")
    bundle = Path(path)
    if not bundle.is_file():
        raise EvidenceError(f"{bundle}: not a regular file")
    with bundle.open("rb") as f:
        size = f.seek(0, io.SEEK_END)
        f.seek(0)
        head = f.read(512)
        if head[:4] != b"PK\x03\x04":
            return VerificationResult((f"{bundle}: {_kind(head)}; an evidence bundle is a "
                                       f"ZIP archive (spec/evidence.md)",))
        try:
            f.seek(0)
            with zipfile.ZipFile(f) as zf:
                return _verify_open(f, zf, size, anchors, max_entry_size)
        except _ZIP_ERRORS as exc:
            return VerificationResult((f"{bundle}: unreadable ZIP archive: "
                                       f"{type(exc).__name__}: {exc}",))


def _verify_open(f: BinaryIO, zf: zipfile.ZipFile, size: int,
                 anchors: tuple[x509.Certificate, ...],
                 max_entry_size: int) -> VerificationResult:
    problems = _container_problems(f, zf, size, max_entry_size)
    if problems:
        return VerificationResult(tuple(problems))
    infos = {i.filename: i for i in zf.infolist()}
    for name, limit in ((MANIFEST, MAX_MANIFEST_SIZE), (SIGNATURE, MAX_SIGNATURE_SIZE)):
        if name not in infos:
            problems.append(f"{name}: missing")
        elif infos[name].file_size > limit:
            problems.append(f"{name}: {infos[name].file_size} bytes; the limit is {limit}")
    if problems:
        return VerificationResult(tuple(problems))
    manifest_bytes = zf.read(infos[MANIFEST])
    manifest, problems = _manifest_problems(manifest_bytes)
    signer_name = None
    try:
        signer, others, signing_time = verify_detached(zf.read(infos[SIGNATURE]),
                                                       manifest_bytes, MANIFEST)
    except ValueError as exc:
        problems.append(f"{SIGNATURE}: {exc}")
    else:
        created = None if manifest is None else \
            dt.datetime.strptime(manifest["created"], _CREATED).replace(tzinfo=dt.UTC)
        if created is not None and signing_time is not None and signing_time != created:
            problems.append(f"{SIGNATURE}: signingTime {signing_time:%Y-%m-%dT%H:%M:%SZ} "
                            f"differs from the manifest's created time")
        at = created or signing_time
        if at is None:
            problems.append(f"{SIGNATURE}: no time at which to check the certificate")
        else:
            problem = certificate_problem(signer, others, anchors, at)
            if problem:
                problems.append(f"{SIGNATURE}: signer certificate: {problem}")
            else:
                signer_name = signer.subject.rfc4514_string()
    if manifest is None:
        return VerificationResult(tuple(problems))
    listed = {e["path"]: e for e in manifest["files"]}
    contents: dict[str, bytes] = {}
    for name, entry in listed.items():
        info = infos.get(name)
        if info is None:
            problems.append(f"{name}: listed in the manifest but missing")
            continue
        if info.file_size != entry["size"]:
            problems.append(f"{name}: size {info.file_size} differs from the manifest's "
                            f"{entry['size']}")
            continue
        try:
            digest, length = _read_entry(zf, info)
        except _ZIP_ERRORS as exc:
            problems.append(f"{name}: unreadable: {exc}")
            continue
        if length != entry["size"]:
            problems.append(f"{name}: size {length} differs from the manifest's "
                            f"{entry['size']}")
        elif digest != entry["sha256"]:
            problems.append(f"{name}: SHA-256 {digest} differs from the manifest's "
                            f"{entry['sha256']}")
        elif name in ("report.json", ICS_FILE) and length <= MAX_MANIFEST_SIZE:
            contents[name] = zf.read(info)
    problems += [f"{name}: in the bundle but not listed in the manifest"
                 for name in sorted(set(infos) - set(listed) - {MANIFEST, SIGNATURE})]
    if "report.json" in contents:
        problems += _consistency_problems(manifest, contents["report.json"],
                                          contents.get(ICS_FILE))
    return VerificationResult(tuple(problems), manifest=manifest, signer=signer_name)


__all__ = ["FORMAT", "MANIFEST", "MANIFEST_SCHEMA", "SIGNATURE", "EvidenceError",
           "VerificationResult", "issue_signer_certificate", "sign_detached",
           "verify_bundle", "write_bundle"]
