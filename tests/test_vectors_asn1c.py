"""A third ASN.1 toolchain judges the codec vectors: asn1c (issue 15 item 1).

asn1c (Debian's ``asn1c`` package, 0.9.28) compiles the modules of ``spec/asn1`` to C at
test time, into a temporary directory, and gcc links that C with our driver
(tools/asn1c/juki_der_check.c) once per session. One run of the driver then decodes the
DER of every vector with asn1c's BER decoder, checks the value's constraints
(``asn_check_constraints``) and re-encodes it with ``der_encode``. The vectors judged,
the exclusions (a rule outside the modules) and how a verdict is read are those of the
pycrate test, shared in tests/vector_verdicts.py; asn1c skips an unknown extension
addition as pycrate does, so such a vector re-encodes to its group's ``Maximal`` one.

asn1c 0.9.28 needs one workaround and no exclusion. Its generated code replaces the
constraint checker of a named constrained type (``ResidentCode ::= NumericString (SIZE
(11))``) with the base type's the first time the type is decoded (vlm/asn1c issue 506),
so a resident code of 10 digits passed ``asn_check_constraints`` and 9 vectors flagged
``ConstraintViolation`` were accepted; the driver restores each type's own checker
before it checks (``test_a_named_constrained_type_is_checked_on_every_use``). Without
any other change the modules compile as they are (``-fcompound-names -pdu=all``).

asn1c and gcc are CI dependencies (.ci/run installs them): if either is missing these
tests fail; they are never skipped.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from vector_verdicts import JudgedVector, accepts, disagreements, judged_vectors

from juki_protocol.resources import asn1_files

TOOL = Path(__file__).resolve().parents[1] / "tools" / "asn1c" / "der_check.py"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("juki_asn1c_der_check", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


der_check = _load_tool()


def _missing_tools() -> list[str]:
    return [tool for tool in ("asn1c", "gcc") if shutil.which(tool) is None]


@pytest.fixture(scope="session")
def asn1c_checker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The driver linked with asn1c's C for the current modules, built once."""
    if missing := _missing_tools():
        pytest.fail(f"{', '.join(missing)} not installed: a CI dependency "
                    f"(apt-get install asn1c gcc, as .ci/run does)", pytrace=False)
    return Path(der_check.build(asn1_files(), tmp_path_factory.mktemp("asn1c")))


def _reason(answer: der_check.Answer) -> str:
    if answer.status == "reencoded":
        return f"re-encoded as {answer.payload.hex()}"
    return f"{answer.status}: {answer.payload.decode('utf-8', errors='replace')}"


def asn1c_disagreements(checker: Path, vectors: list[JudgedVector]) -> list[str]:
    answers = der_check.check(checker, [(v.type_name, v.der) for v in vectors])
    verdicts = [accepts(v, a.reencoding()) for v, a in zip(vectors, answers, strict=True)]
    return disagreements("asn1c", vectors, verdicts, [_reason(a) for a in answers])


def test_asn1c_and_gcc_are_installed() -> None:
    assert _missing_tools() == [], "asn1c and gcc are CI dependencies (.ci/run)"


def test_asn1c_agrees_with_every_vector_the_asn1_decides(asn1c_checker: Path) -> None:
    # Checks R-DER-01, R-DER-02, R-DER-03, R-DER-05, R-DER-06, R-DER-07, R-DER-08.
    vectors = judged_vectors()
    assert len(vectors) > 150
    assert {v.valid for v in vectors} == {True, False}
    assert asn1c_disagreements(asn1c_checker, vectors) == []


def test_asn1c_knows_every_type_a_vector_names(asn1c_checker: Path) -> None:
    """Every message type with vectors is in asn1c's PDU table (a type asn1c did not
    generate would only show as refusals)."""
    names = sorted({v.type_name for v in judged_vectors()})
    answers = der_check.check(asn1c_checker, [(name, b"") for name in names])
    assert [a.status for a in answers] == ["undecodable"] * len(names)
    assert der_check.check(asn1c_checker, [("NoSuchType", b"")])[0].status == "unknown-type"


def test_a_flipped_verdict_is_a_disagreement(asn1c_checker: Path) -> None:
    """The comparison can fail: one valid and one invalid vector with their verdicts
    flipped are both reported."""
    vectors = judged_vectors()
    valid = next(v for v in vectors if v.valid)
    invalid = next(v for v in vectors if not v.valid)
    flipped = [valid._replace(valid=False), invalid._replace(valid=True)]
    assert len(asn1c_disagreements(asn1c_checker, flipped)) == 2


def test_a_named_constrained_type_is_checked_on_every_use(asn1c_checker: Path) -> None:
    """The workaround for vlm/asn1c issue 506 holds: a resident code of 10 digits fails
    ``ResidentCode``'s SIZE (11) each time, not only before the type's first use."""
    short, good = b"\x12\x0a" + b"1" * 10, b"\x12\x0b" + b"1" * 11
    answers = der_check.check(asn1c_checker, [("ResidentCode", good), ("ResidentCode", short),
                                              ("ResidentCode", short)])
    assert [a.status for a in answers] == ["reencoded", "constraint", "constraint"]
    assert answers[0].reencoding() == good


def test_refusals_name_their_kind(asn1c_checker: Path) -> None:
    """Truncated DER, trailing octets and a lenient decode of BER are told apart."""
    good = b"\x12\x0b" + b"1" * 11
    long_form = b"\x12\x81\x0b" + b"1" * 11
    answers = der_check.check(asn1c_checker, [("ResidentCode", good[:-1]),
                                              ("ResidentCode", good + b"\x00"),
                                              ("ResidentCode", long_form)])
    assert [a.status for a in answers] == ["undecodable", "trailing-data", "reencoded"]
    assert answers[2].reencoding() == good


def test_the_command_line_judges_der_files(asn1c_checker: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """``python tools/asn1c/der_check.py --type T FILE...``: one verdict per file, exit
    1 if any file is not DER of the type (with the session's checker, not a new build)."""
    vectors = [v for v in judged_vectors() if v.file == "codec_juki_pdu.json"]
    valid = next(v for v in vectors if v.valid and v.reencoding is None)
    invalid = next(v for v in vectors if not v.valid)
    (tmp_path / "valid.der").write_bytes(valid.der)
    (tmp_path / "invalid.der").write_bytes(invalid.der)
    checker = ["--checker", str(asn1c_checker), "--type", "JukiPdu"]
    assert der_check.main([*checker, str(tmp_path / "valid.der")]) == 0
    assert der_check.main([*checker, str(tmp_path / "valid.der"),
                           str(tmp_path / "invalid.der")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == out[1] == f"{tmp_path / 'valid.der'}: der"
    assert out[2].startswith(f"{tmp_path / 'invalid.der'}: ")
    assert out[2].split(": ")[1] in {"refused", "not-der"}
