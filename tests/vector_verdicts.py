"""Which codec vectors an independent ASN.1 toolchain can judge, and how its verdict is
read: shared by the differential tests with pycrate (tests/test_vectors_pycrate.py) and
asn1c (tests/test_vectors_asn1c.py), issue 15 item 1.

A toolchain is asked to decode a vector's DER as the group's ``messageType`` and to
re-encode the value as DER. Its verdict is compared with the vector's ``result``
wherever the ASN.1 alone decides:

- valid: it decodes the DER (constraints met) and re-encodes the same octets (a vector
  with an unknown extension addition: it decodes, and re-encodes to the DER of the same
  value without the addition, which is its group's ``Maximal`` vector);
- invalid by DER or the schema (``DER_FLAGS``): it refuses the DER, or decodes it
  leniently but re-encodes it to other octets, which is how a BER decoder shows that
  the input was not DER.

Not judged, because the ASN.1 allows the value and only a rule outside the modules
refuses it (``FIELD_RULE_FLAGS``): a check digit (spec/identifiers.md), a date that does
not exist (``Date`` is a NumericString of 8 digits), the profile (``individualNumber`` is
an OPTIONAL extension addition), an unknown value of an extensible ENUMERATED (valid
ASN.1; R-DER-09 makes it 1024), a rule of the message's clause, and an unregistered
error code in range. Vector files and modules are discovered, not listed, so that a new
message type is judged without an edit here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from juki_protocol.resources import asn1_files

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

#: Flags of invalid vectors whose DER the ASN.1 modules and X.690 refuse on their own.
DER_FLAGS = {"Truncated", "OverlongLength", "TrailingData", "LongFormLength",
             "IndefiniteLength", "NonMinimalInteger", "NonCanonicalBoolean", "WrongTag",
             "ConstraintViolation"}
#: Flags of vectors refused by a rule outside the modules (see the module docstring).
FIELD_RULE_FLAGS = {"BadCheckDigit", "InvalidDate", "ProfileViolation", "UnknownEnum",
                    "RuleViolation", "UnregisteredCode"}


class JudgedVector(NamedTuple):
    """A vector whose verdict the ASN.1 alone decides."""

    #: The vector file's name, e.g. ``codec_juki_pdu.json``.
    file: str
    #: The ASN.1 type of the DER (the group's ``messageType``).
    type_name: str
    tc_id: int
    der: bytes
    #: Whether the DER is a valid encoding of the type.
    valid: bool
    #: The DER a toolchain re-encodes a valid vector to, when not ``der`` itself (the
    #: group's ``Maximal`` vector, for an unknown extension addition).
    reencoding: bytes | None

    def expected_reencoding(self) -> bytes:
        return self.der if self.reencoding is None else self.reencoding


def module_names() -> list[str]:
    """The names of the ASN.1 modules in spec/asn1, in file order."""
    pattern = re.compile(r"^\s*([A-Z][\w-]*)\s+DEFINITIONS\b", re.MULTILINE)
    return [name for path in asn1_files()
            for name in pattern.findall(path.read_text(encoding="utf-8"))]


def judged_vectors() -> list[JudgedVector]:
    """Every codec vector the ASN.1 alone decides. A flag neither judged nor excluded
    fails, so that a new kind of vector gets a decision."""
    out = []
    for path in sorted(VECTORS.glob("codec_*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for group in doc["testGroups"]:
            tests = group["tests"]
            # The re-encoding of an unknown extension case (a group of one addition,
            # such as the refusal suspended, has no maximal case and no such case).
            maximal = next((bytes.fromhex(t["der"]) for t in tests
                            if "Maximal" in t["flags"]), None)
            for t in tests:
                flags = set(t["flags"])
                data = bytes.fromhex(t["der"])
                if t["result"] == "valid":
                    again = maximal if "UnknownExtension" in flags else None
                    out.append(JudgedVector(path.name, group["messageType"], t["tcId"], data,
                                            True, again))
                elif flags & DER_FLAGS:
                    out.append(JudgedVector(path.name, group["messageType"], t["tcId"], data,
                                            False, None))
                else:
                    assert flags & FIELD_RULE_FLAGS, f"{path.name} tcId {t['tcId']}: " \
                        f"flags {sorted(flags)} are neither judged nor excluded"
    return out


def accepts(vector: JudgedVector, reencoding: bytes | None) -> bool:
    """A toolchain's verdict on ``vector``: it accepts the DER when it decoded it,
    found the constraints met and re-encoded it to the expected octets. ``reencoding``
    is None when the toolchain refused the DER."""
    return reencoding is not None and reencoding == vector.expected_reencoding()


def disagreements(toolchain: str, vectors: Sequence[JudgedVector],
                  accepted: Sequence[bool], reasons: Sequence[str] | None = None) -> list[str]:
    """One line for each vector whose verdict ``toolchain`` does not share; ``reasons``
    (the toolchain's own words, one per vector) are appended when given."""
    lines = []
    for at, (vector, verdict) in enumerate(zip(vectors, accepted, strict=True)):
        if verdict is vector.valid:
            continue
        line = (f"{vector.file} tcId {vector.tc_id}: the vector says "
                f"{'valid' if vector.valid else 'invalid'}, {toolchain} "
                f"{'accepts' if verdict else 'refuses'} it")
        lines.append(f"{line} ({reasons[at]})" if reasons else line)
    return lines
