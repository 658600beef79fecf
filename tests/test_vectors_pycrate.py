"""A second ASN.1 toolchain judges the codec vectors (issue 15 item 1, issue 17).

pycrate compiles the modules of ``spec/asn1`` at test time (nothing generated is kept in
the repository) and decodes every vector's DER. Which vectors the ASN.1 alone decides,
and how a verdict is read (decodes and re-encodes to the same octets, or to the group's
``Maximal`` vector for an unknown extension addition), is shared with the asn1c test:
see tests/vector_verdicts.py, whose docstring lists what is excluded and why.
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
from vector_verdicts import (
    VECTORS,
    JudgedVector,
    accepts,
    disagreements,
    judged_vectors,
    module_names,
)

from juki_protocol.resources import asn1_files


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
    for module_name in module_names():
        found = getattr(getattr(mod, module_name), name, None)
        if found is not None:
            return found
    raise LookupError(name)


def pycrate_reencoding(mod: ModuleType, type_name: str, data: bytes) -> bytes | None:
    """pycrate's DER re-encoding of ``data`` decoded as ``type_name``, or None if it
    refuses the DER."""
    t = _type(mod, type_name)
    try:
        t.from_der(data)
        return bytes(t.to_der())
    except Exception:     # pycrate raises many kinds; any of them is a refusal
        return None


def pycrate_disagreements(mod: ModuleType, vectors: list[JudgedVector]) -> list[str]:
    return disagreements("pycrate", vectors, [
        accepts(v, pycrate_reencoding(mod, v.type_name, v.der)) for v in vectors])


def test_pycrate_agrees_with_every_vector_the_asn1_decides(pycrate_modules: ModuleType) -> None:
    # Checks R-DER-01, R-DER-02, R-DER-03, R-DER-05, R-DER-06, R-DER-07, R-DER-08.
    vectors = judged_vectors()
    assert len(vectors) > 150
    assert {v.valid for v in vectors} == {True, False}
    assert pycrate_disagreements(pycrate_modules, vectors) == []


def test_a_flipped_verdict_is_a_disagreement(pycrate_modules: ModuleType) -> None:
    """The comparison can fail: one valid and one invalid vector with their verdicts
    flipped are both reported."""
    vectors = judged_vectors()
    valid = next(v for v in vectors if v.valid)
    invalid = next(v for v in vectors if not v.valid)
    flipped = [valid._replace(valid=False), invalid._replace(valid=True)]
    assert len(pycrate_disagreements(pycrate_modules, flipped)) == 2


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
