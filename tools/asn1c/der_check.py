#!/usr/bin/env python3
"""asn1c as a third judge of DER: compile the ASN.1 modules to C and check DER with it.

``build`` runs asn1c (Debian's ``asn1c`` package, 0.9.28) on the modules into a
directory, with ``-pdu=all`` so that every type can be asked for by its ASN.1 name, and
links the generated C with ``juki_der_check.c`` (our driver, next to this file) into
one executable. ``check`` sends any number of (type, DER) requests through one run of
that executable and returns an ``Answer`` for each: the DER re-encoding of the decoded
value, or why asn1c refused it. Nothing generated is kept: the caller chooses where
it goes (a temporary directory). Like ``tools/check_vectors.py`` it does not import
``juki_protocol``.

Usage::

    python tools/asn1c/der_check.py --type JukiPdu pdu.der [more.der ...]

builds the checker in a temporary directory (``--checker PATH`` reuses one) and prints
one verdict per file: ``der`` when asn1c decodes it, finds the constraints
met and re-encodes the same octets, else ``refused`` or ``not-der`` with the reason
(exit 1 if any file is not ``der``).
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().with_name("juki_der_check.c")
#: -pdu=all: asn_pdu_collection lists every type, which the driver looks up by name.
#: -fcompound-names: the C names of nested types are prefixed with their parent's.
ASN1C_FLAGS = ("-fcompound-names", "-pdu=all")
#: The statuses of the driver's answers (``enum status`` in juki_der_check.c).
STATUSES = ("reencoded", "unknown-type", "undecodable", "trailing-data", "constraint",
            "unencodable")


class Answer(NamedTuple):
    """asn1c's answer to one request."""

    #: One of ``STATUSES``.
    status: str
    #: The DER re-encoding when ``status`` is ``reencoded``, else asn1c's reason.
    payload: bytes

    def reencoding(self) -> bytes | None:
        """The DER asn1c wrote for the decoded value, or None if it refused the input."""
        return self.payload if self.status == "reencoded" else None


def build(modules: Iterable[Path], where: Path) -> Path:
    """Compile ``modules`` with asn1c and gcc into ``where``; return the executable.

    Raises RuntimeError carrying the tool's own messages if asn1c or gcc fails."""
    where.mkdir(parents=True, exist_ok=True)
    _run(["asn1c", *ASN1C_FLAGS, *(str(p) for p in modules)], where)
    sources = sorted(p.name for p in where.glob("*.c") if p.name != "converter-sample.c")
    executable = where / "juki-der-check"
    _run(["gcc", "-O1", "-w", "-I.", "-o", executable.name, *sources, str(DRIVER)], where)
    return executable


def _run(command: list[str], where: Path) -> None:
    done = subprocess.run(command, cwd=where, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed (exit {done.returncode}):\n"
                           f"{done.stderr[-4000:]}{done.stdout[-2000:]}")


def check(executable: Path, requests: Sequence[tuple[str, bytes]]) -> list[Answer]:
    """asn1c's answer to each (ASN.1 type name, DER) request, from one process."""
    stream = b"".join(struct.pack(">B", len(name)) + name.encode("ascii")
                      + struct.pack(">I", len(der)) + der for name, der in requests)
    done = subprocess.run([str(executable)], input=stream, capture_output=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{executable.name} exited {done.returncode}: "
                           f"{done.stderr.decode(errors='replace')}")
    answers, out, at = [], done.stdout, 0
    while at < len(out):
        status, size = struct.unpack_from(">BI", out, at)
        answers.append(Answer(STATUSES[status], out[at + 5:at + 5 + size]))
        at += 5 + size
    if len(answers) != len(requests):
        raise RuntimeError(f"{executable.name} answered {len(answers)} of "
                           f"{len(requests)} requests")
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--type", required=True, help="the ASN.1 type of every file")
    parser.add_argument("--spec", type=Path, default=ROOT / "spec",
                        help="the directory holding asn1/*.asn (default: spec/)")
    parser.add_argument("--checker", type=Path,
                        help="an executable build() made before (default: build one)")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    ders = [p.read_bytes() for p in args.files]
    requests = [(args.type, der) for der in ders]
    if args.checker:
        answers = check(args.checker, requests)
    else:
        with tempfile.TemporaryDirectory(prefix="juki-asn1c-") as where:
            executable = build(sorted((args.spec / "asn1").glob("*.asn")), Path(where))
            answers = check(executable, requests)
    failed = 0
    for path, der, answer in zip(args.files, ders, answers, strict=True):
        if answer.reencoding() == der:
            print(f"{path}: der")
            continue
        failed += 1
        if answer.status == "reencoded":
            print(f"{path}: not-der: asn1c re-encodes it to other octets")
        else:
            print(f"{path}: refused: {answer.status}: "
                  f"{answer.payload.decode('utf-8', errors='replace')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
