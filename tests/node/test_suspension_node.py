"""Stopping provision between real nodes over mutual TLS (spec/suspension.md), and the
centre acting on a prefecture's delegation (spec/provision.md section 6): a suspended
body is refused 3030 by a running provider, also after a restart and when the
suspension was made by the command on its database; a municipality whose feed is
stopped holds its updates across a restart and sends them in order once it resumes;
the centre serves a delegated request only for a prefecture that delegated, and only
that prefecture's residents."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from node_helpers import (
    database_for,
    node_db,
    residents,
    run,
    shared_pki,
    start,
)

from juki_protocol.envelope import pki
from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.node import audit
from juki_protocol.node.network import Network
from juki_protocol.node.node import Node
from juki_protocol.node.operator_issue import write_operators_file
from juki_protocol.node.upper_tester import handle_line
from juki_protocol.tools import audit_verify
from juki_protocol.tools.cli_node import node_group

OSAKA, OSAKA_PREF, TOKYO, TOKYO_PREF = "271004", "270008", "131016", "130001"
AGENCY, PURPOSE = "AG0001", "S1-KENCHIKUSHI"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}).encode())


async def _record(net: Network, code: str, seed: str, count: int = 1) -> list[str]:
    """Record ``count`` synthetic households at municipality ``code`` (births or
    move-ins); their resident codes."""
    role = net.role(code)
    done = []
    for person in residents(code, count, seed):
        change = ChangeInfo(change_reason=ChangeReason.MOVE_IN,
                            change_date=person.resident_since)
        await net.nodes[code].local(lambda now, p=person, c=change: role.record(p, c, now))
        done.append(person.resident_code)
    return done


async def _ask(agency: Node, provider: str, codes: list[str], **fields: Any
               ) -> dict[str, Any]:
    """The agency asks ``provider``; the outcome once it is not pending."""
    sent = await _op(agency, op="provision_request", provider=provider,
                     purposeCode=PURPOSE, operatorId="op-1", byResidentCode=codes, **fields)
    assert sent["ok"], sent
    for _ in range(400):
        result = await _op(agency, op="provision_result", messageId=sent["messageId"])
        if result["outcome"] != "pending":
            return result
        await asyncio.sleep(0.025)
    raise AssertionError("the request stayed pending")


def _rows(node: Node, message_type: str) -> list[dict[str, Any]]:
    return [r for r in audit.read(node.storage.conn, 0, 10_000)
            if r["message_type"] == message_type]


def test_a_suspended_body_is_refused_until_resumed_also_after_a_restart(
        tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        nodes = [("national", "DC01"), ("prefecture", OSAKA_PREF), ("municipality", OSAKA),
                 ("agency", AGENCY)]
        net = await start(tmp_path, pki_dir, nodes, operators={AGENCY: {"op-1"}})
        try:
            codes = await _record(net, OSAKA, "susp")
            await net.quiet()
            agency, pref = net.nodes[AGENCY], net.nodes[OSAKA_PREF]
            assert (await _ask(agency, OSAKA_PREF, codes))["outcome"] == "provided"
            done = await _op(pref, op="suspend_provision", body=AGENCY, reason="misuse")
            assert done == {"id": 1, "ok": True, "body": AGENCY, "suspended": True,
                            "changed": True}
            again = await _op(pref, op="suspend_provision", body=AGENCY, reason="misuse")
            assert again["changed"] is False
            refused = await _ask(agency, OSAKA_PREF, codes)
            assert (refused["outcome"], refused["persons"]) == ("refused:3030", 0)
            listed = await _op(pref, op="provision_suspensions")
            assert [(s["body"], s["reason"]) for s in listed["suspended"]] == \
                [(AGENCY, "misuse")]
            # The refusal is in the disclosure log like any other (R-30-7-3-12).
            assert pref.storage.disclosures()[-1].outcome == "suspended"
        finally:
            await net.stop()
        # R-SUSP-03: the suspension is in the database; a new node refuses at once.
        net = await start(tmp_path, pki_dir, nodes, operators={AGENCY: {"op-1"}})
        try:
            agency, pref = net.nodes[AGENCY], net.nodes[OSAKA_PREF]
            assert (await _ask(agency, OSAKA_PREF, codes))["outcome"] == "refused:3030"
            back = await _op(pref, op="resume_provision", body=AGENCY)
            assert back["changed"] is True
            served = await _ask(agency, OSAKA_PREF, codes)
            assert (served["outcome"], served["persons"]) == ("provided", len(codes))
            # R-SUSP-04: both changes audited, by the node's operator, no person named.
            suspended, resumed = _rows(pref, "provisionSuspended"), \
                _rows(pref, "provisionResumed")
            assert [(r["direction"], r["peer"], r["result"], r["subjects"])
                    for r in suspended] == [("local", AGENCY, "suspended: misuse", "")]
            assert [(r["peer"], r["result"]) for r in resumed] == [(AGENCY, "resumed")]
            assert all(r["operator"] == "system" for r in suspended + resumed)
            assert (await _op(pref, op="stop_feed", reason="x"))["error"]["code"] == 3003
            bad = await _op(pref, op="suspend_provision", body="AG1", reason="misuse")
            assert bad["error"]["code"] == 1030
            bad = await _op(pref, op="suspend_provision", body=AGENCY, reason="Misuse!")
            assert bad["error"]["code"] == 1030
        finally:
            await net.stop()
        assert audit_verify.verify(node_db(tmp_path, OSAKA_PREF)).ok
    run(go(), 60)


def test_a_suspension_by_the_command_holds_for_a_running_provider(
        tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", OSAKA_PREF),
                                              ("agency", AGENCY)],
                          operators={AGENCY: {"op-1"}})
        try:
            agency = net.nodes[AGENCY]
            codes = [p.resident_code for p in residents(OSAKA, 1, "cmd")]
            assert (await _ask(agency, OSAKA_PREF, codes))["outcome"] == "provided"
            where = node_db(tmp_path, OSAKA_PREF)
            target = ["--db", str(where)] if isinstance(where, Path) else \
                ["--database", database_for(tmp_path)]
            args = [*target, "--node", OSAKA_PREF, "--operator", "op-admin"]
            cli = CliRunner()
            res = await asyncio.to_thread(cli.invoke, node_group, [
                "suspend-provision", *args, "--body", AGENCY, "--reason", "audit-finding"])
            assert res.exit_code == 0 and "suspended" in res.output, res.output
            assert (await _ask(agency, OSAKA_PREF, codes))["outcome"] == "refused:3030"
            listed = await asyncio.to_thread(cli.invoke, node_group, [
                "suspensions", *target, "--node", OSAKA_PREF])
            assert json.loads(listed.output)["suspended"][0]["operator"] == "op-admin"
            res = await asyncio.to_thread(cli.invoke, node_group, [
                "resume-provision", *args, "--body", AGENCY])
            assert res.exit_code == 0 and "resumed" in res.output, res.output
            assert (await _ask(agency, OSAKA_PREF, codes))["outcome"] == "provided"
            rows = _rows(net.nodes[OSAKA_PREF], "provisionSuspended")
            assert [r["operator"] for r in rows] == ["op-admin"]
        finally:
            await net.stop()
    run(go(), 60)


def _sequences(node: Node) -> list[int]:
    """The numbers of the updates the prefecture applied from Osaka, in order."""
    return [int(r[0]) for r in node.storage.conn.execute(
        "SELECT sequence FROM applied WHERE source = ? ORDER BY applied_at, sequence",
        (OSAKA,))]


def test_a_stopped_feed_holds_updates_across_a_restart_and_sends_them_in_order(
        tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        nodes = [("national", "DC01"), ("prefecture", OSAKA_PREF), ("municipality", OSAKA)]
        net = await start(tmp_path, pki_dir, nodes)
        try:
            await _record(net, OSAKA, "feed-1")
            await net.quiet()
            muni, pref = net.nodes[OSAKA], net.nodes[OSAKA_PREF]
            before = pref.storage.last_sequences().get(OSAKA, 0)
            stopped = await _op(muni, op="stop_feed", reason="emergency")
            assert stopped["ok"] and stopped["held"] == 0, stopped
            await _record(net, OSAKA, "feed-2", 2)
            await asyncio.sleep(0.3)
            state = await _op(muni, op="feed_state")
            assert (state["feedStopped"], state["updaterState"], state["reason"]) == \
                (True, "held", "emergency")
            held = state["unacknowledged"]
            assert held >= 2
            # R-SUSP-05: nothing reached the prefecture, also after a retry would be due.
            await muni.fire_due_timers()
            assert pref.storage.last_sequences().get(OSAKA, 0) == before
        finally:
            await net.stop()
        net = await start(tmp_path, pki_dir, nodes)
        try:
            muni, pref = net.nodes[OSAKA], net.nodes[OSAKA_PREF]
            await asyncio.sleep(0.3)
            # R-SUSP-06: still held after the restart; nothing was resent at the start.
            state = await _op(muni, op="feed_state")
            assert (state["feedStopped"], state["updaterState"],
                    state["unacknowledged"]) == (True, "held", held)
            assert pref.storage.last_sequences().get(OSAKA, 0) == before
            resumed = await _op(muni, op="resume_feed")
            assert resumed == {"id": 1, "ok": True, "feedStopped": False, "sent": held}
            await net.quiet()
            assert pref.storage.last_sequences()[OSAKA] == before + held
            assert _sequences(pref) == list(range(1, before + held + 1))
            rows = [(r["message_type"], r["peer"], r["result"])
                    for r in audit.read(muni.storage.conn, 0, 10_000)
                    if r["message_type"].startswith("feed")]
            assert rows == [("feedStopped", OSAKA_PREF, "stopped: emergency"),
                            ("feedResumed", OSAKA_PREF, f"resumed: {held} held")]
            assert (await _op(muni, op="feed_state"))["updaterState"] == "idle"
        finally:
            await net.stop()
    run(go(), 60)


def test_the_centre_serves_a_delegation_only_of_a_prefecture_that_delegated(
        tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        nodes = [("national", "DC01"), ("prefecture", OSAKA_PREF),
                 ("prefecture", TOKYO_PREF), ("municipality", OSAKA),
                 ("municipality", TOKYO), ("agency", AGENCY)]
        # Only the centre acts on the delegation; the other roles ignore the setting.
        net = await start(tmp_path, pki_dir, nodes, operators={AGENCY: {"op-1"}},
                          delegations=(OSAKA_PREF,))
        try:
            osaka = await _record(net, OSAKA, "deleg")
            tokyo = await _record(net, TOKYO, "deleg")
            await net.quiet()
            agency = net.nodes[AGENCY]
            both = osaka + tokyo
            own = await _ask(agency, "DC01", both)
            assert (own["outcome"], own["persons"]) == ("provided", len(both))
            delegated = await _ask(agency, "DC01", both, legalBasis="delegatedToAgency",
                                   delegatingPrefecture=OSAKA_PREF)
            # R-30-10-1-05: only the delegating prefecture's residents.
            assert (delegated["outcome"], delegated["persons"]) == ("provided", len(osaka))
            other = await _ask(agency, "DC01", both, legalBasis="delegatedToAgency",
                               delegatingPrefecture=TOKYO_PREF)
            assert other["outcome"] == "refused:3012"               # R-30-10-1-03
            # R-30-10-1-07: not to a prefecture; R-30-10-1-01: the prefecture named.
            wrong = await _op(agency, op="provision_request", provider=OSAKA_PREF,
                              purposeCode=PURPOSE, operatorId="op-1", byResidentCode=osaka,
                              legalBasis="delegatedToAgency",
                              delegatingPrefecture=OSAKA_PREF)
            assert wrong["error"]["code"] == 3012
            missing = await _op(agency, op="provision_request", provider="DC01",
                                purposeCode=PURPOSE, operatorId="op-1",
                                byResidentCode=osaka, legalBasis="delegatedToAgency")
            assert missing["error"]["code"] == 1030
            log = net.nodes["DC01"].storage.disclosures()
            assert [r.delegating_prefecture for r in log] == [None, OSAKA_PREF,
                                                               TOKYO_PREF]
        finally:
            await net.stop()
    run(go(), 60)


def test_only_an_operator_whose_role_allows_suspension_suspends(tmp_path: Path,
                                                               pki_dir: Path) -> None:
    """R-NODE-80, R-NODE-81 for the new local actions; the audit row of the change names
    the session's operator (R-SUSP-04)."""
    path = tmp_path / "operators.json"
    write_operators_file(path, pki.Credential(
        pki.load_private_key((pki_dir / f"{OSAKA_PREF}.key").read_bytes()),
        pki.load_certificate((pki_dir / f"{OSAKA_PREF}.pem").read_bytes())), OSAKA_PREF,
        [("inq-1", ("inquirer",), "1357"), ("admin-1", ("admin",), "9753")],
        dt.datetime.now(dt.UTC))

    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", OSAKA_PREF)],
                          operators_file=path)
        try:
            pref = net.nodes[OSAKA_PREF]
            no = await _op(pref, op="suspend_provision", body=AGENCY, reason="misuse")
            assert no["error"]["code"] == 3022
            inq = (await _op(pref, op="operator_login", operatorId="inq-1",
                             pin="1357"))["session"]
            no = await _op(pref, op="suspend_provision", body=AGENCY, reason="misuse",
                           session=inq)
            assert no["error"]["code"] == 3023
            assert (await _op(pref, op="provision_suspensions"))["suspended"] == []
            admin = (await _op(pref, op="operator_login", operatorId="admin-1",
                               pin="9753"))["session"]
            yes = await _op(pref, op="suspend_provision", body=AGENCY, reason="misuse",
                            session=admin)
            assert yes["ok"], yes
            rows = _rows(pref, "provisionSuspended")
            assert [r["operator"] for r in rows] == ["admin-1"]
        finally:
            await net.stop()
    run(go(), 30)
