"""A second ASN.1 toolchain judges the codec vectors (issue 15 item 1, issue 17).

pycrate compiles the modules of ``spec/asn1`` at test time (nothing generated is kept in
the repository) and decodes every vector's DER. Its verdict is compared with the
vector's ``result`` wherever the ASN.1 alone decides:

- valid: pycrate decodes the DER and re-encodes it to the same octets (a vector with an
  unknown extension addition: it decodes, and re-encodes to the DER of the same value
  without the addition, which is its group's ``Maximal`` vector);
- invalid by DER or the schema (``DER_FLAGS``): pycrate refuses the DER, or decodes it
  leniently but re-encodes it to other octets, which is how a BER decoder shows that
  the input was not DER.

Excluded, because the ASN.1 allows the value and only a rule outside the modules refuses
it (``FIELD_RULE_FLAGS``): a check digit (spec/identifiers.md), a date that does not
exist (``Date`` is a NumericString of 8 digits), the profile (``individualNumber`` is an
OPTIONAL extension addition), an unknown value of an extensible ENUMERATED (valid
ASN.1; R-DER-09 makes it 1024), a rule of the message's clause, and an unregistered
error code in range.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

# pycrate is a test dependency (pyproject's test extra): a missing toolchain is a
# failure of the set-up, never a reason to skip the second opinion.
import pycrate_asn1c  # noqa: F401
import pytest

from juki_protocol.resources import asn1_files

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
MODULES = ("JukiCommon", "JukiIdentity", "JukiPdu", "JukiProvision", "JukiSpecialMove",
           "JukiWideArea")

#: Flags of invalid vectors whose DER the ASN.1 modules and X.690 refuse on their own.
DER_FLAGS = {"Truncated", "OverlongLength", "TrailingData", "LongFormLength",
             "IndefiniteLength", "NonMinimalInteger", "NonCanonicalBoolean", "WrongTag",
             "ConstraintViolation"}
#: Flags of vectors refused by a rule outside the modules (see the module docstring).
FIELD_RULE_FLAGS = {"BadCheckDigit", "InvalidDate", "ProfileViolation", "UnknownEnum",
                    "RuleViolation", "UnregisteredCode"}


def compile_modules(texts: list[str], where: Path) -> ModuleType:
    """The pycrate runtime module of the ASN.1 ``texts``, generated into ``where``."""
    from pycrate_asn1c.asnproc import PycrateGenerator, compile_text, generate_modules
    from pycrate_asn1c.glob import GLOBAL

    GLOBAL.clear()
    compile_text(texts)
    target = where / "juki_asn_pycrate.py"
    generate_modules(PycrateGenerator, str(target))
    spec = importlib.util.spec_from_file_location(f"juki_asn_{abs(hash(str(where)))}",
                                                  target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pycrate_modules(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    texts = [p.read_text(encoding="utf-8") for p in asn1_files()]
    return compile_modules(texts, tmp_path_factory.mktemp("pycrate"))


def _type(mod: ModuleType, name: str) -> Any:
    for module_name in MODULES:
        found = getattr(getattr(mod, module_name), name, None)
        if found is not None:
            return found
    raise LookupError(name)


def pycrate_accepts(mod: ModuleType, type_name: str, data: bytes,
                    expected_reencoding: bytes | None = None) -> bool:
    """Whether pycrate decodes ``data`` as ``type_name`` and re-encodes it to
    ``expected_reencoding`` (by default ``data`` itself)."""
    t = _type(mod, type_name)
    try:
        t.from_der(data)
        again = t.to_der()
    except Exception:     # pycrate raises many kinds; any of them is a refusal
        return False
    return bool(again == (data if expected_reencoding is None else expected_reencoding))


def judged_vectors() -> list[tuple[str, str, int, bytes, bool, bytes | None]]:
    """(file, type, tcId, DER, expected acceptance, expected re-encoding) for every
    vector the ASN.1 alone decides."""
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
                    out.append((path.name, group["messageType"], t["tcId"], data, True, again))
                elif flags & DER_FLAGS:
                    out.append((path.name, group["messageType"], t["tcId"], data, False, None))
                else:
                    assert flags & FIELD_RULE_FLAGS, f"{path.name} tcId {t['tcId']}: " \
                        f"flags {sorted(flags)} are neither judged nor excluded"
    return out


def disagreements(mod: ModuleType,
                  vectors: list[tuple[str, str, int, bytes, bool, bytes | None]]) -> list[str]:
    return [f"{name} tcId {tc}: the vector says {'valid' if want else 'invalid'}, pycrate "
            f"{'accepts' if not want else 'refuses'} it"
            for name, type_name, tc, data, want, again in vectors
            if pycrate_accepts(mod, type_name, data, again) is not want]


def test_pycrate_agrees_with_every_vector_the_asn1_decides(pycrate_modules: ModuleType) -> None:
    # Checks R-DER-01, R-DER-02, R-DER-03, R-DER-05, R-DER-06, R-DER-07, R-DER-08.
    vectors = judged_vectors()
    assert len(vectors) > 150
    assert {v[4] for v in vectors} == {True, False}
    assert disagreements(pycrate_modules, vectors) == []


def test_a_flipped_verdict_is_a_disagreement(pycrate_modules: ModuleType) -> None:
    """The comparison can fail: one valid and one invalid vector with their verdicts
    flipped are both reported."""
    vectors = judged_vectors()
    valid = next(v for v in vectors if v[4])
    invalid = next(v for v in vectors if not v[4])
    flipped = [(*valid[:4], False, valid[5]), (*invalid[:4], True, invalid[5])]
    assert len(disagreements(pycrate_modules, flipped)) == 2


def test_every_type_with_an_extension_vector_is_extensible() -> None:
    """The defect issue 15 found (asn1c refused it): ``codec_juki_pdu.json`` tcId 3 adds
    an extension addition to ``JukiPdu``, which had no extension marker. pycrate, like
    asn1tools, skips the addition either way, so the check is made on the modules: every
    type whose vectors carry an unknown extension addition has an extension marker."""
    import asn1tools

    parsed = asn1tools.parse_files([str(p) for p in asn1_files()])
    extensible = {name for module in parsed.values()
                  for name, t in module["types"].items()
                  if t["type"] == "SEQUENCE" and None in t.get("members", [])}
    with_extension = {group["messageType"]
                      for path in sorted(VECTORS.glob("codec_*.json"))
                      for group in json.loads(path.read_text(encoding="utf-8"))["testGroups"]
                      if any("UnknownExtension" in t["flags"] for t in group["tests"])}
    assert "JukiPdu" in with_extension
    assert with_extension - extensible == set()
