"""The upper tester ops of the flows between municipalities (spec/node.md section 4.5):
a wide-area application and a special move started at the node's counter between two
reference municipalities, and the bad requests refused before anything is sent."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import run, shared_pki, start

from juki_protocol.codec import codec
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import Address
from juki_protocol.messages.wide_area import IdentityCheckMethod, Requester, TargetPerson
from juki_protocol.node.node import Node
from juki_protocol.node.roles import MunicipalityRole
from juki_protocol.node.upper_tester import handle_line

OSAKA, TOYONAKA = "271004", "272035"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}, ensure_ascii=False).encode())


async def _until(node: Node, outcome: str, **req: Any) -> dict[str, Any]:
    """The result op ``req`` once its outcome is ``outcome`` (or the last after 10 s)."""
    result: dict[str, Any] = {}
    for _ in range(200):
        result = await _op(node, **req)
        if result.get("outcome") == outcome:
            break
        await asyncio.sleep(0.05)
    return result


def _household(code: str, seed: str) -> tuple[SyntheticResident, ...]:
    return generate_households(1, seed, municipalities=[code])[0].members


def _application(people: tuple[SyntheticResident, ...], **extra: Any) -> dict[str, Any]:
    head = people[0]
    requester = Requester(name=head.name, birth_date=head.birth_date, address=head.address,
                          identity_check=IdentityCheckMethod.PHOTO_ID_DOCUMENT,
                          resident_code=head.resident_code)
    return {"op": "wide_area_request", "residenceMunicipality": TOYONAKA,
            "identityConfirmed": True, "requester": codec.to_json(requester),
            "targets": [codec.to_json(TargetPerson(name=p.name, birth_date=p.birth_date))
                        for p in people], **extra}


def _move_in(people: tuple[SyntheticResident, ...], moved: dt.date, filed: dt.date,
             **extra: Any) -> dict[str, Any]:
    return {"op": "special_move_in", "cardHolder": people[0].resident_code,
            "formerMunicipality": OSAKA,
            "movers": [codec.to_json(p.person_ref()) for p in people],
            "movedDate": moved.isoformat(), "filedDate": filed.isoformat(),
            "newAddress": {"local_gov_code": TOYONAKA, "text": "大阪府豊中市中桜塚三丁目1番1号"},
            **extra}


def test_flows_started_at_the_counter_run_to_their_end(tmp_path: Path,
                                                       pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", OSAKA),
                                              ("municipality", TOYONAKA)])
        try:
            osaka, toyonaka = net.nodes[OSAKA], net.nodes[TOYONAKA]
            # Art. 12-2: 271004 issues copies of a household of 272035.
            await _op(toyonaka, op="register_resident", seed="flows-wide")
            people = _household(TOYONAKA, "flows-wide")
            sent = await _op(osaka, **_application(people, includeRelationship=True))
            assert sent["ok"] is True, sent
            result = await _until(osaka, "issued", op="wide_area_result",
                                  messageId=sent["messageId"])
            assert (result["state"], result["outcome"], result["copies"]) == \
                ("issued", "issued", len(people))
            # Arts. 24-2, 9(1): a household of 271004 moves to 272035.
            codes = (await _op(osaka, op="register_resident", seed="flows-move"))[
                "residentCodes"]
            movers = _household(OSAKA, "flows-move")
            today = osaka.now().date()
            planned = await _op(osaka, op="annotated_move_out", movers=codes,
                                destination={"local_gov_code": TOYONAKA, "text": "豊中市"},
                                plannedMoveDate=(today - dt.timedelta(days=3)).isoformat())
            assert planned == {"id": 1, "ok": True, "movers": len(codes)}
            moved = await _op(toyonaka, **_move_in(movers, today - dt.timedelta(days=3),
                                                   today))
            assert moved["ok"] is True, moved
            done = await _until(toyonaka, "completed", op="move_in_result",
                                messageId=moved["messageId"])
            assert (done["state"], done["recorded"], done["residents"]) == \
                ("done", True, codes)
            assert len(bytes.fromhex(done["moveInNotice"])) == 16
            await osaka.wait_until(lambda: all(
                net.role(OSAKA).register.records[c].status == "moved_out" for c in codes))
        finally:
            await net.stop()
    run(go())


def test_a_certificate_move_out_stays_on_file_until_the_notice(tmp_path: Path,
                                                               pki_dir: Path) -> None:
    """Arts. 24, 9(1): ``ordinary_move_out`` keeps the records current; the new
    municipality's notice erases exactly the persons it names (R-NODE-96)."""
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", OSAKA),
                                              ("municipality", TOYONAKA)])
        try:
            osaka, toyonaka = net.nodes[OSAKA], net.nodes[TOYONAKA]
            codes = (await _op(osaka, op="register_resident", seed="flows-cert"))[
                "residentCodes"]
            assert len(codes) >= 2
            today = osaka.now().date()
            out = {"op": "ordinary_move_out", "movers": codes,
                   "destination": {"local_gov_code": TOYONAKA, "text": "豊中市"},
                   "plannedMoveDate": today.isoformat()}
            assert await _op(osaka, **out) == {"id": 1, "ok": True, "movers": len(codes)}
            again = await _op(osaka, **{**out, "movers": codes[:1]})
            assert again["error"]["code"] == 4001            # already on file
            annotated = await _op(osaka, **{**out, "op": "annotated_move_out"})
            assert annotated["error"]["code"] == 4001
            records = net.role(OSAKA).register.records
            assert {records[c].status for c in codes} == {"current"}
            moved = await _op(toyonaka, op="ordinary_move_in", formerMunicipality=OSAKA,
                              seed="flows-cert", members=1, movedDate=today.isoformat(),
                              newAddress={"local_gov_code": TOYONAKA,
                                          "text": "大阪府豊中市中桜塚三丁目1番1号"})
            assert moved["ok"] is True, moved
            await _until(toyonaka, "completed", op="move_in_result",
                         messageId=moved["messageId"])
            await osaka.wait_until(lambda: records[codes[0]].status == "moved_out")
            assert [records[c].status for c in codes[1:]] == ["current"] * (len(codes) - 1)
        finally:
            await net.stop()
    run(go())


def test_a_certificate_move_out_is_refused_whole(tmp_path: Path, pki_dir: Path) -> None:
    """Nothing is put on file when one mover is refused; a destination within is 1024
    and a malformed list 1030 (R-NODE-96)."""
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", OSAKA)])
        try:
            osaka = net.nodes[OSAKA]
            codes = (await _op(osaka, op="register_resident", seed="flows-whole"))[
                "residentCodes"]
            stranger = _household(TOYONAKA, "flows-whole")[0].resident_code
            out = {"op": "ordinary_move_out",
                   "destination": {"local_gov_code": TOYONAKA, "text": "豊中市"},
                   "plannedMoveDate": osaka.now().date().isoformat()}
            answer = await _op(osaka, **out, movers=[codes[0], stranger])
            assert answer["error"]["code"] == 5001
            within = await _op(osaka, **{**out, "destination": {
                "local_gov_code": OSAKA, "text": "大阪市"}}, movers=codes[:1])
            assert within["error"]["code"] == 1024
            twice = await _op(osaka, **out, movers=[codes[0], codes[0]])
            assert twice["error"]["code"] == 1030
            assert (await _op(osaka, **out, movers=codes[:1]))["ok"] is True
        finally:
            await net.stop()
    run(go())


#: Changes that make each op's request bad (None: the field left out): 1030 each.
BAD_WIDE: tuple[dict[str, Any], ...] = (
    {"residenceMunicipality": None}, {"residenceMunicipality": OSAKA},
    {"residenceMunicipality": "12345"}, {"identityConfirmed": None},
    {"identityConfirmed": "yes"}, {"applicant": "friend"}, {"requester": None},
    {"requester": {"name": "x"}}, {"targets": None}, {"targets": []}, {"targets": ["x"]},
    {"includeRelationship": 1})
BAD_MOVE_IN: tuple[dict[str, Any], ...] = (
    {"cardHolder": None}, {"movers": None}, {"movers": []},
    {"movers": [{"resident_code": "1"}]}, {"movedDate": None}, {"movedDate": "2024-02-30"},
    {"filedDate": 20240101}, {"formerMunicipality": OSAKA}, {"newAddress": None},
    {"identityCheck": "passport"}, {"identityConfirmed": "no"})
BAD_MOVE_OUT: tuple[dict[str, Any], ...] = (
    {"movers": None}, {"movers": []}, {"movers": [1]}, {"movers": ["123"]},
    {"destination": None}, {"destination": {"local_gov_code": "99999", "text": "x"}},
    {"plannedMoveDate": None}, {"plannedMoveDate": "today"})


async def _refused(node: Node, base: dict[str, Any], changes: tuple[dict[str, Any], ...],
                   code: int) -> None:
    """Each of ``changes`` applied to ``base`` is answered with error ``code``."""
    for change in changes:
        req = {k: v for k, v in {**base, **change}.items() if v is not None}
        answer = await _op(node, **req)
        assert not answer["ok"] and answer["error"]["code"] == code, (change, answer)


def test_bad_requests_are_refused_and_nothing_is_sent(tmp_path: Path,
                                                        pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", OSAKA),
                                              ("prefecture", "270008")])
        try:
            node = net.nodes[OSAKA]
            people = _household(TOYONAKA, "flows-bad")
            today = node.now().date()
            wide = _application(people)
            await _refused(node, wide, BAD_WIDE, 1030)
            await _refused(node, wide, ({"identityConfirmed": False}, {"applicant": "proxy"},
                                        {"applicant": "thirdParty"}), 5022)
            move = _move_in(people, today - dt.timedelta(days=3), today,
                            formerMunicipality=TOYONAKA,
                            newAddress={"local_gov_code": OSAKA, "text": "大阪市北区"})
            await _refused(node, move, BAD_MOVE_IN, 1030)
            await _refused(node, move, ({"movedDate": (
                today - dt.timedelta(days=15)).isoformat()},), 5020)
            await _refused(node, move, ({"identityConfirmed": False},
                                        {"identityCheck": "photoIdDocument"},
                                        {"cardHolder": "12345678903"}), 5022)
            out = {"op": "annotated_move_out", "movers": [people[0].resident_code],
                   "destination": codec.to_json(Address(local_gov_code=TOYONAKA,
                                                        text="豊中市")),
                   "plannedMoveDate": today.isoformat()}
            await _refused(node, out, BAD_MOVE_OUT, 1030)
            await _refused(node, out, ({},), 5001)
            for op in ("wide_area_result", "move_in_result"):
                result = {"op": op, "messageId": "00" * 16}
                await _refused(node, result, ({},), 4002)
                await _refused(node, result, ({"messageId": "xyz"}, {"messageId": None},
                                              {"messageId": "00"}), 1030)
            role = net.role(OSAKA)
            assert isinstance(role, MunicipalityRole)
            assert not role.counters and not role.move_ins and not role.desk.plans
            sent = node.storage.conn.execute(
                "SELECT COUNT(*) FROM audit WHERE direction = 'sent'").fetchone()[0]
            assert sent == 0
            prefecture = net.nodes["270008"]
            for req in (wide, move, out, {"op": "wide_area_result", "messageId": "00" * 16},
                        {"op": "move_in_result", "messageId": "00" * 16}):
                await _refused(prefecture, req, ({},), 3003)
        finally:
            await net.stop()
    run(go())


def _ordinary(seed: str, moved: dt.date, **extra: Any) -> dict[str, Any]:
    return {"op": "ordinary_move_in", "formerMunicipality": TOYONAKA, "seed": seed,
            "movedDate": moved.isoformat(),
            "newAddress": {"local_gov_code": OSAKA, "text": "大阪府大阪市北区中之島一丁目3番20号"},
            **extra}


#: Changes that make an ``ordinary_move_in`` request bad: 1030 each, nothing sent.
BAD_ORDINARY: tuple[dict[str, Any], ...] = (
    {"formerMunicipality": None}, {"formerMunicipality": OSAKA},
    {"formerMunicipality": "999999"}, {"formerMunicipality": 272035},
    {"seed": None}, {"seed": ""}, {"members": 0}, {"members": 99}, {"members": "1"},
    {"members": True}, {"movedDate": None}, {"movedDate": "2024-02-30"},
    {"movedDate": "2999-01-01"}, {"movedDate": "1900-01-01"}, {"newAddress": None},
    {"newAddress": {"local_gov_code": TOYONAKA, "text": "豊中市"}},
    {"newAddress": {"local_gov_code": OSAKA}})


def test_ordinary_move_in_from_the_counter(tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", OSAKA),
                                              ("municipality", TOYONAKA),
                                              ("prefecture", "270008")])
        try:
            osaka, toyonaka = net.nodes[OSAKA], net.nodes[TOYONAKA]
            today = osaka.now().date()
            moved = today - dt.timedelta(days=2)
            await _refused(osaka, _ordinary("flows-ordinary-bad", moved), BAD_ORDINARY, 1030)
            role = net.role(OSAKA)
            assert isinstance(role, MunicipalityRole)
            assert not role.ordinary_move_ins
            sent = osaka.storage.conn.execute(
                "SELECT COUNT(*) FROM audit WHERE direction = 'sent'").fetchone()[0]
            assert sent == 0
            await _refused(net.nodes["270008"], _ordinary("flows-ordinary-bad", moved),
                           ({},), 3003)
            # A household of 272035 files its move-out there and moves to 271004.
            codes = (await _op(toyonaka, op="register_resident", seed="flows-ordinary"))[
                "residentCodes"]
            for code in codes:
                out = await _op(toyonaka, op="record_move_out", residentCode=code,
                                destination={"local_gov_code": OSAKA, "text": "大阪市"},
                                date=moved.isoformat())
                assert out["ok"] is True, out
            moved_in = await _op(osaka, **_ordinary("flows-ordinary", moved))
            assert moved_in["ok"] is True and moved_in["residentCodes"] == codes, moved_in
            done = await _until(osaka, "completed", op="move_in_result",
                                messageId=moved_in["messageId"])
            assert (done["state"], done["recorded"], done["residents"],
                    done["moveInNotice"]) == ("done", True, codes, moved_in["messageId"])
            assert all(role.register.records[c].status == "current" for c in codes)
            # The same persons again: their codes are held by current records.
            await _refused(osaka, _ordinary("flows-ordinary", moved), ({},), 1024)
            assert list(role.ordinary_move_ins) == [bytes.fromhex(moved_in["messageId"])]
        finally:
            await net.stop()
    run(go())
