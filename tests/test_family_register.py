"""Art. 9(2), the notice of family register entries (spec/family_register.md): the
message and its rules, its ASN.1 and DER, its registrations (tag, message type, route,
error codes, requirements), its vectors, ``juki simulate family-register`` and
``juki fixtures messages``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from juki_protocol.codec import codec
from juki_protocol.codec.schema import APPLICATION_TAGS, compiled
from juki_protocol.envelope import pki
from juki_protocol.errors import REGISTRY, ErrorCode, JukiError
from juki_protocol.fixtures.samples import AWAY, HOME, family_register_notices, samples
from juki_protocol.machines.identity import M2M_TYPES
from juki_protocol.messages import ARTICLES as TYPE_ARTICLES
from juki_protocol.messages import MESSAGE_TYPES, MessageType, NodeId, NodeRole, PersonName
from juki_protocol.messages.family_register import (
    EVENT_ITEMS,
    ITEMS,
    FamilyRegisterEvent,
    FamilyRegisterItems,
    FamilyRegisterNotice,
)
from juki_protocol.resources import spec_dir, vectors_dir
from juki_protocol.tools.cli_simulate import ARTICLES, SIMULATED, simulate
from juki_protocol.tools.spec_tools import extract_requirements
from juki_protocol.tools.vectors.codec_vectors import generate_type

E = FamilyRegisterEvent
NOTICES = {s.message.event: s.message for s in family_register_notices()}
ROOT = Path(__file__).resolve().parents[1]


def _code(build: Any) -> ErrorCode:
    with pytest.raises(JukiError) as err:
        build()
    return ErrorCode(err.value.error_code)


def test_registered_as_application_12_and_an_extension_of_message_type() -> None:
    assert APPLICATION_TAGS["FamilyRegisterNotice"] == 12
    assert MESSAGE_TYPES["FamilyRegisterNotice"] is FamilyRegisterNotice
    assert TYPE_ARTICLES["FamilyRegisterNotice"] == "Art. 9(2)"
    assert MessageType.FAMILY_REGISTER_NOTICE.type_name == "FamilyRegisterNotice"
    # The root of MessageType keeps its values and order: 12 is an extension addition.
    enum = compiled().types["MessageType"].type
    assert enum.data_to_value["familyRegisterNotice"] == 12
    pdu = (spec_dir() / "asn1" / "pdu.asn").read_text(encoding="utf-8")
    assert pdu.index("errorReport (21)") < pdu.index("...,") < pdu.index(
        "familyRegisterNotice (12)")
    for name in ("acknowledgement", "errorReport", "sealed"):
        assert name in pdu
    assert "FamilyRegisterNotice" in M2M_TYPES


def test_only_municipalities_exchange_it() -> None:
    muni = NodeId(role=NodeRole.MUNICIPALITY, code=AWAY)
    home = NodeId(role=NodeRole.MUNICIPALITY, code=HOME)
    pref = NodeId(role=NodeRole.PREFECTURE, code="270008")
    pki.check_route(MessageType.FAMILY_REGISTER_NOTICE, muni, home)
    for sender, recipient in ((pref, home), (muni, pref)):
        assert _code(lambda s=sender, r=recipient: pki.check_route(
            MessageType.FAMILY_REGISTER_NOTICE, s, r)) is ErrorCode.CERT_ROLE_NOT_ALLOWED


@pytest.mark.parametrize("sample", [*samples("FamilyRegisterNotice"),
                                    *family_register_notices()],
                         ids=lambda s: s.label)
def test_round_trip_der_and_json(sample: Any) -> None:
    der = codec.encode(sample.message)
    assert der[0] == 0x6C                                   # [APPLICATION 12] constructed
    assert codec.decode(der) == sample.message
    assert codec.decode(der, "FamilyRegisterNotice") == sample.message
    text = codec.dumps(sample.message)
    assert codec.from_json_text("FamilyRegisterNotice", text) == sample.message
    assert codec.encode_json("FamilyRegisterNotice", json.loads(text)) == der


def test_every_event_has_a_row_and_a_sample() -> None:
    assert set(EVENT_ITEMS) == set(FamilyRegisterEvent) == set(NOTICES)
    for event, (rules, _) in EVENT_ITEMS.items():
        assert len(rules) == len(ITEMS), event


def test_the_items_each_event_carries() -> None:
    death, birth, marriage = NOTICES[E.DEATH], NOTICES[E.BIRTH], NOTICES[E.MARRIAGE]
    name = PersonName(kanji="山田　花子")
    bad = {
        "a death with a name": lambda: dataclasses.replace(
            death, items=FamilyRegisterItems(name=name)),
        "a birth without the household": lambda: dataclasses.replace(birth, household=None),
        "a birth with a person": lambda: dataclasses.replace(birth, person=death.person),
        "a death with a household": lambda: dataclasses.replace(death, household=HOME + "00000"),
        "a death without the person": lambda: dataclasses.replace(death, person=None),
        "a marriage with a sex": lambda: dataclasses.replace(marriage, items=dataclasses.replace(
            marriage.items, sex=NOTICES[E.SEX_CHANGE].items.sex)),
        "a marriage without items": lambda: dataclasses.replace(
            marriage, items=FamilyRegisterItems()),
        "a name change without a name": lambda: dataclasses.replace(
            NOTICES[E.NAME_CHANGE], items=FamilyRegisterItems(relationship="子")),
        "a sex change without the sex": lambda: dataclasses.replace(
            NOTICES[E.SEX_CHANGE], items=FamilyRegisterItems(name=name)),
        "a change of domicile with a name": lambda: dataclasses.replace(
            NOTICES[E.DOMICILE_CHANGE], items=dataclasses.replace(
                NOTICES[E.DOMICILE_CHANGE].items, name=name)),
        "one municipality twice": lambda: dataclasses.replace(
            death, residence_municipality=AWAY),
    }
    for label, build in bad.items():
        code = _code(build)
        assert code in (ErrorCode.INVALID_FIELD, ErrorCode.INVALID_RESIDENT_CODE), label


def test_the_dates() -> None:
    death, birth = NOTICES[E.DEATH], NOTICES[E.BIRTH]
    assert death.person is not None
    for build in (
            lambda: dataclasses.replace(death, entry_date=death.event_date
                                        - dt.timedelta(days=1)),
            lambda: dataclasses.replace(birth, items=dataclasses.replace(
                birth.items, birth_date=birth.entry_date)),
            lambda: dataclasses.replace(death, event_date=death.person.birth_date
                                        - dt.timedelta(days=1))):
        assert _code(build) is ErrorCode.INVALID_DATE
    # A correction may name a birth date later than the one recorded.
    correction = NOTICES[E.CORRECTION]
    assert correction.person is not None
    dataclasses.replace(correction, event_date=correction.person.birth_date
                        - dt.timedelta(days=1))


def test_error_codes_are_registered_and_published() -> None:
    errors = json.loads((spec_dir() / "errors.json").read_text(encoding="utf-8"))
    by_code = {e["code"]: e["name"] for e in errors["errors"]}
    for code in (ErrorCode.FOREIGN_RESIDENT_NO_FAMILY_REGISTER, ErrorCode.ALREADY_RECORDED):
        assert 5025 <= code <= 5029 and code in REGISTRY
        assert by_code[int(code)] == code.name
        assert f"| {int(code)} | `{code.name}` |" in \
            (spec_dir() / "errors.md").read_text(encoding="utf-8")


def test_requirements_are_extracted_and_listed() -> None:
    reqs = {r.id: r for r in extract_requirements()}
    doc = json.loads((spec_dir() / "requirements.json").read_text(encoding="utf-8"))
    listed = {r["id"] for r in doc["requirements"]}
    ours = [f"R-9-2-{n:02d}" for n in range(1, 11)] + [f"R-FAMREG-0{n}" for n in (1, 2, 3)]
    for rid in ours:
        assert rid in reqs and rid in listed
        assert reqs[rid].file == "spec/family_register.md"
    for rid in ("R-9-2-02", "R-9-2-07", "R-9-2-08", "R-9-2-09"):
        assert "(protocol requirement; not a duty of the Act)" in reqs[rid].text
        assert "spec/family_register.md" in reqs[rid].citation
    readme = (spec_dir() / "README.md").read_text(encoding="utf-8")
    assert "[`family_register.md`](family_register.md)" in readme
    assert "| Art. 9(2) |" in readme and "| 12 | `FamilyRegisterNotice` |" in readme


def test_vectors_are_generated_byte_for_byte() -> None:
    path = vectors_dir() / "codec_family_register_notice.json"
    from juki_protocol.tools.vectors.codec_vectors import DEFAULT_SEED, dumps
    assert path.read_text(encoding="utf-8") == dumps(generate_type("FamilyRegisterNotice",
                                                                   DEFAULT_SEED))
    index = json.loads((vectors_dir() / "index.json").read_text(encoding="utf-8"))
    assert "codec_family_register_notice.json" in index["files"]
    checker = subprocess.run([sys.executable, str(ROOT / "tools" / "check_vectors.py")],
                             capture_output=True, text=True, timeout=300, check=False)
    assert checker.returncode == 0 and "FAIL" not in checker.stdout, checker.stdout[-2000:]


def test_simulate_family_register_runs_masked_and_is_listed() -> None:
    assert "family-register" in SIMULATED and "Art. 9(2)" in ARTICLES["family-register"]
    listed = CliRunner().invoke(simulate, ["--list"])
    assert "family-register" in listed.output and "Art. 9(2)" in listed.output
    result = CliRunner().invoke(simulate, ["family-register", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.count("FamilyRegisterNotice(") == 3
    assert result.output.count("register municipality: done; residence municipality: "
                               "applied") == 3
    for s in family_register_notices(1):
        person = s.message.person
        if person is not None:
            assert person.resident_code not in result.output
            assert person.name.kanji not in result.output


def test_fixtures_messages_writes_the_notice(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "juki_protocol.tools.cli", "fixtures", "messages",
                          "--seed", "5", "--out", str(tmp_path)], capture_output=True,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    der = (tmp_path / "FamilyRegisterNotice.der").read_bytes()
    value = json.loads((tmp_path / "FamilyRegisterNotice.json").read_text(encoding="utf-8"))
    assert codec.to_json(codec.decode(der)) == value
