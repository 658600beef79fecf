"""Schedule 1 table and its loader (Arts. 30-7(3), 30-10(1)(iii); spec/provision.md)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from juki_protocol.errors import ErrorCode, ValidationError
from juki_protocol.machines.schedule import (
    Body,
    Purpose,
    Schedule,
    _integrity_errors,
    load_schedule_1,
)
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.resources import table_path


@pytest.fixture(scope="module")
def schedule() -> Schedule:
    return load_schedule_1()


@pytest.fixture()
def table() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(table_path("schedule_1.json").read_text(encoding="utf-8"))
    return doc


def _save(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "schedule_1.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


# Happy path -------------------------------------------------------------------------------

def test_shipped_table_loads(schedule: Schedule, table: dict[str, Any]) -> None:
    assert schedule.version == 1
    assert [b.code for b in schedule.bodies] == [b["code"] for b in table["bodies"]]
    assert [p.code for p in schedule.purposes] == [p["code"] for p in table["purposes"]]
    assert all(b.kind is BodyKind.AGENCY for b in schedule.bodies)
    onkyu = [p for p in schedule.purposes if p.body == "AG0002"]
    assert [p.affair_ja for p in onkyu] == ["恩給の支給"]


def test_a_loaded_schedule_equals_a_reload(schedule: Schedule) -> None:
    assert load_schedule_1(table_path("schedule_1.json")) == schedule


def test_every_purpose_is_authorised_for_its_body_and_bases(schedule: Schedule) -> None:
    for p in schedule.purposes:
        for basis in p.legal_bases:
            assert schedule.authorise(p.body, p.code, basis) is p
            assert schedule.authorise(p.body, p.code, basis.value) is p


def test_table_codes_are_valid_in_a_provision_request(schedule: Schedule) -> None:
    # The table and the message rules must agree on code formats and body kinds.
    for p in schedule.purposes:
        for basis in p.legal_bases:
            body = schedule.body(p.body)
            ProvisionRequest(requester=RequestingBody(kind=body.kind, code=body.code),
                             legal_basis=basis, purpose_code=p.code, operator_id="op-1",
                             by_resident_code=("12345678903",))


# Refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "purpose", "basis", "code"), [
    ("AG9999", "S1-ONKYU", LegalBasis.CENTER_TO_AGENCY, ErrorCode.UNKNOWN_BODY),
    ("AG9999", "NO-SUCH", "nonsense", ErrorCode.UNKNOWN_BODY),
    ("AG0001", "S1-ONKYU", LegalBasis.CENTER_TO_AGENCY, ErrorCode.PURPOSE_NOT_ALLOWED),
    ("AG0002", "NO-SUCH", LegalBasis.PREF_TO_AGENCY, ErrorCode.PURPOSE_NOT_ALLOWED),
    ("AG0002", "NO-SUCH", "nonsense", ErrorCode.PURPOSE_NOT_ALLOWED),
    ("AG0002", "S1-ONKYU", LegalBasis.PREF_TO_OWN_MUNICIPALITY,
     ErrorCode.LEGAL_BASIS_MISMATCH),
    ("AG0002", "S1-ONKYU", LegalBasis.PREF_OWN_USE, ErrorCode.LEGAL_BASIS_MISMATCH),
    ("AG0002", "S1-ONKYU", "nonsense", ErrorCode.LEGAL_BASIS_MISMATCH),
])
def test_authorise_refuses_with_the_right_code(schedule: Schedule, body: str, purpose: str,
                                               basis: LegalBasis | str,
                                               code: ErrorCode) -> None:
    with pytest.raises(ValidationError) as info:
        schedule.authorise(body, purpose, basis)
    assert info.value.error_code is code


def test_a_purpose_restricted_to_one_basis_refuses_the_other(table: dict[str, Any],
                                                              tmp_path: Path) -> None:
    table["purposes"][0]["legal_bases"] = ["centerToAgency"]
    schedule = load_schedule_1(_save(tmp_path, table))
    p = table["purposes"][0]
    assert schedule.authorise(p["body"], p["code"], "centerToAgency").code == p["code"]
    with pytest.raises(ValidationError) as info:
        schedule.authorise(p["body"], p["code"], LegalBasis.PREF_TO_AGENCY)
    assert info.value.error_code is ErrorCode.LEGAL_BASIS_MISMATCH


# Corrupted tables -------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(where: str, index: int, key: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc[where][index][key] = value
    return mutate


def _delete(where: str, index: int, key: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        del doc[where][index][key]
    return mutate


def _duplicate(where: str, index: int) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc[where].append(copy.deepcopy(doc[where][index]))
    return mutate


@pytest.mark.parametrize(("mutate", "expected"), [
    (_set("purposes", 1, "body", "AG0999"),
     r"purposes\[1\] \(S1-KENCHIKUSHI\): body AG0999 is not listed"),
    (_set("purposes", 0, "code", "bad code!"), r"purposes\[0\] \(bad code!\) field code"),
    (_set("purposes", 2, "row", 0), r"purposes\[2\] \(S1-ONKYU\) field row"),
    (_set("purposes", 3, "legal_bases", ["prefOwnUse"]),
     r"purposes\[3\] \(S1-KYOSAI-NENKIN\) field legal_bases"),
    (_set("purposes", 4, "legal_bases", []), r"purposes\[4\] \(S1-JIDO-FUYO\) field legal_bases"),
    (_set("purposes", 0, "extra", 1), r"purposes\[0\] \(S1-TAKKEN-REG\): Additional properties"),
    (_delete("purposes", 1, "affair_en"), r"purposes\[1\] \(S1-KENCHIKUSHI\): 'affair_en'"),
    (_duplicate("purposes", 2), r"purposes\[5\] \(S1-ONKYU\): repeats the code of purposes\[2\]"),
    (_set("bodies", 0, "code", "XX0001"), r"bodies\[0\] \(XX0001\) field code"),
    (_set("bodies", 1, "kind", "municipality"), r"bodies\[1\] \(AG0002\) field kind"),
    (_duplicate("bodies", 3), r"bodies\[4\] \(AG0004\): repeats the code of bodies\[3\]"),
])
def test_a_corrupted_table_is_rejected_naming_the_entry(table: dict[str, Any],
                                                       tmp_path: Path, mutate: Mutation,
                                                       expected: str) -> None:
    mutate(table)
    path = _save(tmp_path, table)
    with pytest.raises(ValueError, match=expected) as info:
        load_schedule_1(path)
    assert str(path) in str(info.value)


def test_a_table_that_is_not_json_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "schedule_1.json"
    path.write_text('{"version": 1,\n  "bodies": [}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"not valid JSON \(line 2"):
        load_schedule_1(path)


def test_integrity_rejects_a_basis_that_cannot_serve_the_body_kind() -> None:
    # The schema admits only agencies; later schedules will hold other kinds, and the
    # kind check must already hold for them.
    body = Body(code="AG0100", name_ja="例", name_en="Example", kind=BodyKind.MUNICIPALITY,
                schedule="1")
    purpose = Purpose(code="X-1", body="AG0100", row=None, affair_ja="例",
                      affair_en="Example", schedule="1",
                      legal_bases=(LegalBasis.CENTER_TO_AGENCY,))
    problems = _integrity_errors(Schedule(version=1, source="s", note="n", bodies=(body,),
                                          purposes=(purpose,)))
    assert problems == ["purposes[0] (X-1): legal basis centerToAgency cannot serve body "
                        "AG0100 of kind municipality"]


def test_sample_provision_requests_are_authorised_by_the_table() -> None:
    """The fixtures use a body and purpose that schedule 1 actually lists."""
    from juki_protocol.fixtures.samples import samples as make_samples

    table = load_schedule_1()
    for sample in make_samples("ProvisionRequest", "s"):
        req = sample.message
        table.authorise(req.requester.code, req.purpose_code, req.legal_basis)
