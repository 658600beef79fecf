"""Art. 9(2) between real nodes over mutual TLS (spec/family_register.md): 272035 keeps
the family registers, 271004 is the residence municipality, 270008 its prefecture.

The notices start at 272035's upper tester (``family_register_notice``); 271004 applies
them to its register and reports the identity changes to the prefecture, which holds
what 271004 reported. Refusals change nothing; duplicates are acknowledged once; a
foreign resident's record survives a restart and is still refused; nodes of other roles
refuse the notice on its header."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import Peer, run, shared_pki, start

from juki_protocol.codec import codec
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import ChangeReason, PersonName, Sex
from juki_protocol.messages.family_register import (
    FamilyRegisterEvent,
    FamilyRegisterItems,
    FamilyRegisterNotice,
)
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.pdu import AckStatus
from juki_protocol.messages.special_move import FamilyRegister
from juki_protocol.node.node import Node
from juki_protocol.node.upper_ops import seeded_household
from juki_protocol.node.upper_tester import UpperTester, handle_line

OSAKA, TOYONAKA, PREF = "271004", "272035", "270008"
NEW_REGISTER = FamilyRegister(permanent_domicile="大阪府豊中市中桜塚三丁目1番",
                              head_name="豊中　一郎")


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}, ensure_ascii=False).encode())


def _household(seed: str, *, foreign: bool = False) -> tuple[SyntheticResident, ...]:
    """The household ``register_resident`` puts into OSAKA's register for ``seed``."""
    return seeded_household(OSAKA, seed, foreign=foreign)


def _notice(event: FamilyRegisterEvent, items: FamilyRegisterItems, *,
            person: SyntheticResident | None = None, household: str | None = None,
            when: dt.date) -> dict[str, Any]:
    """The fields of ``family_register_notice`` at 272035 for 271004."""
    fields: dict[str, Any] = {
        "op": "family_register_notice", "residenceMunicipality": OSAKA,
        "event": event.value, "eventDate": when.isoformat(),
        "items": codec.to_json(items)}
    if person is not None:
        fields["person"] = codec.to_json(person.person_ref())
    if household is not None:
        fields["household"] = household
    return fields


async def _sent(node: Node, fields: dict[str, Any], outcome: str) -> dict[str, Any]:
    """Send a notice from ``node`` and wait for its result to be ``outcome``."""
    sent = await _op(node, **fields)
    assert sent["ok"] is True, sent
    result: dict[str, Any] = {}

    def done() -> bool:
        notifier = node.handler.family_register_notices[bytes.fromhex(sent["messageId"])]
        return notifier.state.value in ("done", "failed")
    await node.wait_until(done)
    result = await _op(node, op="family_register_result", messageId=sent["messageId"])
    assert result["outcome"] == outcome, result
    return result


def test_notices_change_the_record_and_reach_the_prefecture(tmp_path: Path,
                                                            pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREF), ("municipality", OSAKA),
                                              ("municipality", TOYONAKA)])
        tester = UpperTester(net.nodes[OSAKA])
        try:
            osaka, toyonaka, pref = tester.node, net.nodes[TOYONAKA], net.nodes[PREF]
            role = net.role(OSAKA)
            assert (await _op(osaka, op="register_resident", seed="famreg"))["ok"]
            head, wife, *_ = _household("famreg")
            today = osaka.now().date()
            when = today - dt.timedelta(days=3)

            async def reported(code: str) -> Any:
                await osaka.wait_until(lambda: not role.updater.outbox)
                return pref.storage.current_identity(code)

            # A marriage: the name and the family register change; the name is reported.
            name = PersonName(kanji="豊中　奈々", kana="トヨナカ　ナナ")
            items = FamilyRegisterItems(name=name, family_register=NEW_REGISTER)
            await _sent(toyonaka, _notice(FamilyRegisterEvent.MARRIAGE, items, person=wife,
                                          when=when), "completed")
            held = await reported(wife.resident_code)
            assert (held.operation, held.change_info.change_reason,
                    held.change_info.change_date, held.identity_info.name) == (
                UpdateOperation.CORRECT, ChangeReason.NAME_CHANGE, when, name)
            check = await _op(osaka, op="record_items", residentCode=wife.resident_code,
                              items=codec.to_json(items))
            assert (check["matches"], check["differs"]) == (True, []), check
            other = await _op(osaka, op="record_items", residentCode=wife.resident_code,
                              items=codec.to_json(FamilyRegisterItems(
                                  relationship="子", name=wife.name)))
            assert other["differs"] == ["name", "relationship"]
            assert wife.name.kanji not in json.dumps(other, ensure_ascii=False)

            # A birth: a new record in the household, reported as record/birth.
            before = set(role.register.records)
            child = FamilyRegisterItems(
                name=PersonName(kanji=head.name.kanji.split("\u3000")[0] + "\u3000陽向"),
                birth_date=when, sex=head.sex, relationship="子",
                family_register=head.family_register)
            await _sent(toyonaka, _notice(FamilyRegisterEvent.BIRTH, child,
                                          household=head.resident_code, when=when),
                        "completed")
            (new,) = set(role.register.records) - before
            held = await reported(new)
            assert (held.operation, held.change_info.change_reason,
                    held.identity_info.address) == (UpdateOperation.RECORD,
                                                    ChangeReason.BIRTH, head.address)
            assert (await _op(osaka, op="record_items", residentCode=new,
                              items=codec.to_json(child)))["matches"] is True

            # A change of domicile only: no update.
            last = (await _op(osaka, op="status"))["updates"]["lastSequence"]
            await _sent(toyonaka, _notice(FamilyRegisterEvent.DOMICILE_CHANGE,
                                          FamilyRegisterItems(family_register=NEW_REGISTER),
                                          person=head, when=when), "completed")
            assert role.register.records[head.resident_code].family_register == NEW_REGISTER
            assert (await _op(osaka, op="status"))["updates"]["lastSequence"] == last

            # A death: the record erased and reported; the same death again refused.
            death = _notice(FamilyRegisterEvent.DEATH, FamilyRegisterItems(), person=head,
                            when=when)
            await _sent(toyonaka, death, "completed")
            held = await reported(head.resident_code)
            assert (held.operation, held.change_info.change_reason) == (
                UpdateOperation.ERASE, ChangeReason.DEATH)
            assert (await _op(osaka, op="resident", residentCode=head.resident_code)) == {
                "id": 1, "ok": True, "state": "erased", "reason": "death"}
            last = (await _op(osaka, op="status"))["updates"]["lastSequence"]
            await _sent(toyonaka, death, "failed:5003")
            stranger = generate_households(1, "famreg-stranger",
                                           municipalities=[OSAKA])[0].head
            await _sent(toyonaka, _notice(FamilyRegisterEvent.NAME_CHANGE, FamilyRegisterItems(
                name=name), person=stranger, when=when), "failed:5001")

            # A foreign resident: refused, also after a restart (the record is kept).
            assert (await _op(osaka, op="register_resident", seed="famreg-foreign",
                              foreignResident=True))["ok"]
            foreigner = _household("famreg-foreign", foreign=True)[0]
            assert foreigner.family_register is None
            restarted = await handle_line(osaka, b'{"id": 1, "op": "restart"}',
                                          restart=tester.restart)
            assert restarted["ok"] is True, restarted
            osaka = tester.node
            net.nodes[OSAKA] = osaka
            assert osaka.handler.register.records[foreigner.resident_code] == foreigner
            await _sent(toyonaka, _notice(FamilyRegisterEvent.NAME_CHANGE, FamilyRegisterItems(
                name=name), person=foreigner, when=when), "failed:5025")
            assert (await _op(osaka, op="status"))["updates"]["lastSequence"] == last
            assert osaka.handler.register.records[wife.resident_code].name == name
        finally:
            await net.stop()
    run(go(), timeout=90)


def test_duplicates_replays_and_other_roles(tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREF), ("municipality", OSAKA)])
        peer = Peer(pki_dir, TOYONAKA)
        try:
            osaka, role = net.nodes[OSAKA], net.role(OSAKA)
            assert (await _op(osaka, op="register_resident", seed="famreg-dup"))["ok"]
            person = _household("famreg-dup")[0]
            today = osaka.now().date()
            notice = FamilyRegisterNotice(
                register_municipality=TOYONAKA, residence_municipality=OSAKA,
                event=FamilyRegisterEvent.SEX_CHANGE,
                event_date=today - dt.timedelta(days=1), entry_date=today,
                person=person.person_ref(),
                items=FamilyRegisterItems(
                    sex=Sex.FEMALE if person.sex is Sex.MALE else Sex.MALE))
            await peer.connect(net.directory[OSAKA])
            mid = b"\x07" * 16
            pdu = peer.sealed(notice, OSAKA, message_id=mid)
            await peer.send(pdu)
            first = await peer.read()
            await peer.send(pdu)
            again = await peer.read()
            assert first is not None and first.acknowledgement is not None
            assert first.acknowledgement.status is AckStatus.ACCEPTED
            assert again is not None and again.acknowledgement is not None
            assert again.acknowledgement.status is AckStatus.DUPLICATE
            other = dataclasses.replace(notice, entry_date=today - dt.timedelta(days=1))
            await peer.send(peer.sealed(other, OSAKA, message_id=mid))
            replay = await peer.read()
            assert replay is not None and replay.error_report is not None
            assert replay.error_report.error_code == 2021
            await osaka.wait_until(lambda: not role.updater.outbox)
            assert (await _op(osaka, op="status"))["updates"]["lastSequence"] == 1
            assert role.register.records[person.resident_code].sex is notice.items.sex
            await peer.close()
            # A prefecture may not send it, nor receive it: 3003 on the header alone.
            prefecture = Peer(pki_dir, PREF)
            await prefecture.connect(net.directory[OSAKA])
            await prefecture.send(prefecture.sealed(notice, OSAKA))
            refused = await prefecture.read()
            assert refused is not None and refused.error_report is not None
            assert refused.error_report.error_code == 3003
            await prefecture.close()
            peer = Peer(pki_dir, TOYONAKA)
            await peer.connect(net.directory[PREF])
            await peer.send(peer.sealed(notice, PREF))
            refused = await peer.read()
            assert refused is not None and refused.error_report is not None
            assert refused.error_report.error_code == 3003
        finally:
            await peer.close()
            await net.stop()
    run(go(), timeout=60)


def test_bad_requests_are_refused_and_nothing_is_sent(tmp_path: Path,
                                                        pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", TOYONAKA),
                                              ("prefecture", PREF)])
        try:
            node = net.nodes[TOYONAKA]
            person = _household("famreg-bad")[0]
            base = _notice(FamilyRegisterEvent.DEATH, FamilyRegisterItems(), person=person,
                           when=node.now().date())
            for change in ({"residenceMunicipality": TOYONAKA}, {"event": "funeral"},
                           {"eventDate": "2026-02-30"}, {"person": None},
                           {"items": {"name": {"kanji": "山田　花子"}}},
                           {"household": person.resident_code}, {"person": 7}):
                req = {k: v for k, v in {**base, **change}.items() if v is not None}
                answer = await _op(node, **req)
                assert not answer["ok"] and answer["error"]["code"] == 1030, (change, answer)
            assert not net.role(TOYONAKA).family_register_notices
            answer = await _op(net.nodes[PREF], **base)
            assert answer["error"]["code"] == 3003
            unknown = await _op(node, op="family_register_result", messageId="00" * 16)
            assert unknown["error"]["code"] == 4002
            missing = await _op(node, op="record_items", residentCode=person.resident_code)
            assert missing["error"]["code"] == 5001
        finally:
            await net.stop()
    run(go(), timeout=60)
