#!/usr/bin/env python3
"""Independent checker of the codec vectors.

It does not import ``juki_protocol``: it reads the ASN.1 modules with asn1tools
directly, restates the check-digit rules from DESIGN.md section 4, maps field names
itself, and asks ``openssl asn1parse`` to parse every valid DER. A vector file that
passes both this checker and ``juki vectors verify`` has been confirmed by two
implementations that share only the schema text.

Usage: python tools/check_vectors.py [VECTOR_DIR] [--spec SPEC_DIR]
Prints one line per problem and a closing "N passed, M failed" line; exit 1 on failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import asn1tools

ROOT = Path(__file__).resolve().parent.parent

# Fields holding identifiers, by ASN.1 name.
RESIDENT = {"residentCode", "previousResidentCode", "codes"}
LOCAL_GOV = {"localGovCode", "issuingMunicipality", "residenceMunicipality",
             "newMunicipality", "formerMunicipality", "municipality", "prefecture",
             "delegatingPrefecture"}
# spec/card_register.md: the card serial begins with a municipality's code.
SERIALS = {"cardSerial"}
DATES = {"birthDate", "changeDate", "movedDate", "recordedDate", "moveInFiledDate",
         "residentSince", "notificationDate", "plannedMoveDate", "qualifiedSince",
         "foreignResidentSince", "periodExpiry", "eventDate", "entryDate",
         "applicationDate", "issueDate", "validUntil"}


def mod11(body: str) -> int:
    """Check digit for resident codes (10 digits) and individual numbers (11)."""
    total = 0
    for n, ch in enumerate(reversed(body), start=1):
        total += int(ch) * (n + 1 if n <= 6 else n - 5)
    r = total % 11
    return 0 if r <= 1 else 11 - r


def lg_check(body: str) -> int:
    return (11 - sum(int(d) * w for d, w in zip(body, (6, 5, 4, 3, 2), strict=True)) % 11) % 10


def identifier_problems(value: Any, key: str = "") -> list[str]:
    """Every identifier or date in an asn1tools value that breaks its rule."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += identifier_problems(v, k)
    elif isinstance(value, (list, tuple)):
        if len(value) == 2 and isinstance(value[0], str) and not isinstance(value[1], str):
            out += identifier_problems(value[1], value[0])     # a CHOICE
        else:
            for v in value:
                out += identifier_problems(v, key)
    elif isinstance(value, str):
        if key in RESIDENT and (len(value) != 11 or mod11(value[:10]) != int(value[10])):
            out.append(f"{key} check digit")
        if key == "individualNumber" and (len(value) != 12
                                          or mod11(value[:11]) != int(value[11])):
            out.append(f"{key} check digit")
        if key in LOCAL_GOV and (len(value) != 6 or lg_check(value[:5]) != int(value[5])):
            out.append(f"{key} check digit")
        if key in SERIALS and (not re.fullmatch(r"[0-9]{6}-[0-9]{6,13}", value)
                               or lg_check(value[:5]) != int(value[5])
                               or value[2:5] == "000"):
            out.append(f"{key} not a municipality's serial")
        if key in DATES:
            try:
                dt.datetime.strptime(value, "%Y%m%d")
            except ValueError:
                out.append(f"{key} not a date")
    return out


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def to_json_form(value: Any, key: str = "") -> Any:
    """Map an asn1tools value to the JSON form (spec/json.md), independently."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str):
                out[snake(v[0])] = to_json_form(v[1], v[0])   # CHOICE: the alternative
            else:
                out[snake(k)] = to_json_form(v, k)
        return out
    if isinstance(value, list):
        return [to_json_form(v, key) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str) and key in DATES:
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def openssl_parses(data: bytes) -> bool:
    with tempfile.NamedTemporaryFile(suffix=".der") as f:
        f.write(data)
        f.flush()
        res = subprocess.run(["openssl", "asn1parse", "-inform", "DER", "-in", f.name],
                             capture_output=True, check=False)
    return res.returncode == 0 and b"Error" not in res.stderr


def outer(data: bytes) -> tuple[int, int, int]:
    """(identifier octet, header length, declared content length) of the outer TLV."""
    lb = data[1]
    if lb < 0x80:
        return data[0], 2, lb
    if lb == 0x80:
        return data[0], 2, -1
    n = lb & 0x7F
    return data[0], 2 + n, int.from_bytes(data[2:2 + n], "big")


def check_test(schema: Any, type_name: str, t: dict[str, Any]) -> str | None:
    data = bytes.fromhex(t["der"])
    flags = set(t["flags"])
    if t["result"] == "valid":
        if not openssl_parses(data):
            return "openssl asn1parse rejects a valid vector"
        value = schema.decode(type_name, data, check_constraints=True)
        if "UnknownExtension" not in flags and schema.encode(type_name, value) != data:
            return "asn1tools re-encoding differs"
        problems = identifier_problems(value)
        if problems:
            return f"valid vector has {problems}"
        if to_json_form(value) != t["value"]:
            return "JSON value differs from the asn1tools decoding"
        return None
    if t["result"] == "acceptable":
        return None
    ident, hlen, declared = outer(data)
    if flags & {"Truncated", "OverlongLength"}:
        return None if declared > len(data) - hlen else "outer length is not too long"
    if "TrailingData" in flags:
        return None if declared < len(data) - hlen else "no trailing data"
    if "LongFormLength" in flags:
        return None if data[1] & 0x80 and data[2] == 0 else "length is not long-form"
    if "IndefiniteLength" in flags:
        return None if data[1] == 0x80 else "length is not indefinite"
    if "WrongTag" in flags:
        return None if ident != _expected_ident(type_name) else "outer tag is the right one"
    if "ConstraintViolation" in flags:
        try:
            schema.decode(type_name, data, check_constraints=True)
        except asn1tools.ConstraintsError:
            return None
        return "no constraint is violated"
    value = schema.decode(type_name, data)
    if flags & {"BadCheckDigit", "InvalidDate"}:
        return None if identifier_problems(value) else "every identifier and date is valid"
    if flags & {"NonCanonicalBoolean", "NonMinimalInteger"}:
        return None if schema.encode(type_name, value) != data else "encoding is canonical"
    if flags & {"ProfileViolation", "RuleViolation", "UnknownEnum"}:
        return None   # semantic rules: checked by the implementation under test only
    return f"no independent check for flags {sorted(flags)}"


_TAGS = {"MoveInNotice": 1, "WideAreaIssuanceRequest": 2, "WideAreaIssuanceResponse": 3,
         "SpecialMoveInNotice": 4, "MoveOutCertificate": 5, "IdentityInfoUpdate": 6,
         "IdentityInfoRelay": 7, "ProvisionRequest": 8, "ProvisionResponse": 9,
         "FamilyRegisterNotice": 12, "CodeDesignationRequest": 14, "CodeDesignation": 15,
         "CardApplication": 16, "CardIssueNotice": 17, "CardStatusNotice": 18,
         "CardStatusQuery": 19, "CardStatusAnswer": 22,
         "Acknowledgement": 20, "ErrorReport": 21, "JukiPdu": 30}


def _expected_ident(type_name: str) -> int:
    n = _TAGS[type_name]
    return 0x60 | n if n < 31 else 0x7F


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("vectors", nargs="?", default=str(ROOT / "vectors"))
    ap.add_argument("--spec", default=str(ROOT / "spec"))
    args = ap.parse_args(argv)
    schema = asn1tools.compile_files(sorted(str(p) for p in
                                            Path(args.spec, "asn1").glob("*.asn")), "der")
    passed = failed = 0
    for path in sorted(Path(args.vectors).glob("codec_*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for group in doc["testGroups"]:
            for t in group["tests"]:
                try:
                    problem = check_test(schema, group["messageType"], t)
                except Exception as exc:  # the checker reports, never crashes
                    problem = f"checker could not process it: {exc!r}"
                if problem:
                    failed += 1
                    print(f"FAIL {path.name} tcId {t['tcId']} ({t['comment']}): {problem}")
                else:
                    passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
