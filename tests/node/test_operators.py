"""Operators at a node (spec/node.md section 4.8): local actions need a session whose
role allows them, the PIN locks after three wrong tries and only an administrator
unlocks, a credential the node did not issue is refused, and the audit log names the
operator of every local action and of the messages it sent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import run, shared_pki, start

from juki_protocol.envelope import pki
from juki_protocol.node import audit
from juki_protocol.node.node import Node
from juki_protocol.node.operator_issue import save_registry, write_operators_file
from juki_protocol.node.operators import load_registry
from juki_protocol.node.upper_tester import UpperTester, handle_line

CODE = "271004"
OPERATORS = [("clerk-1", ("clerk",), "2468"), ("inq-1", ("inquirer",), "1357"),
             ("admin-1", ("admin",), "9753")]


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _credential(pki_dir: Path, code: str) -> pki.Credential:
    return pki.Credential(pki.load_private_key((pki_dir / f"{code}.key").read_bytes()),
                          pki.load_certificate((pki_dir / f"{code}.pem").read_bytes()))


def _file(tmp_path: Path, pki_dir: Path, issuer: str = CODE) -> Path:
    path = tmp_path / "operators.json"
    write_operators_file(path, _credential(pki_dir, issuer), CODE, OPERATORS,
                         dt.datetime.now(dt.UTC))
    return path


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}).encode())


def _code(answer: dict[str, Any]) -> int | None:
    return None if answer.get("ok") else int(answer["error"]["code"])


async def _login(node: Node, oid: str, pin: str) -> str:
    answer = await _op(node, op="operator_login", operatorId=oid, pin=pin)
    assert answer["ok"], answer
    return str(answer["session"])


def test_local_actions_need_a_session_with_a_role_that_allows_them(
        tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", CODE)],
                          operators_file=_file(tmp_path, pki_dir))
        try:
            node = net.nodes[CODE]
            assert _code(await _op(node, op="record_resident", seed="s1")) == 3022
            assert _code(await _op(node, op="record_resident", seed="s1",
                                   session="forged")) == 3022
            inquirer = await _login(node, "inq-1", "1357")
            assert _code(await _op(node, op="record_resident", seed="s1",
                                   session=inquirer)) == 3023
            clerk = await _login(node, "clerk-1", "2468")
            done = await _op(node, op="record_resident", seed="s1", session=clerk)
            assert done["ok"], done
            assert _code(await _op(node, op="status")) is None      # the test interface
            assert (await _op(node, op="operator_logout", session=clerk))["ended"]
            assert _code(await _op(node, op="resident", residentCode=done["residentCode"],
                                   session=clerk)) == 3022
            rows = audit.read(node.storage.conn, 0, 1000)
            local = [(r["operator"], r["message_type"], r["result"]) for r in rows
                     if r["direction"] == "local"]
            assert ("unauthenticated", "record_resident", "3022 OPERATOR_SESSION_REQUIRED"
                    ) in local
            assert ("inq-1", "record_resident", "3023 OPERATOR_ROLE_NOT_ALLOWED") in local
            assert ("clerk-1", "record_resident", "accepted") in local
            sent = [r for r in rows if r["direction"] == "sent" and r["result"] == "sending"
                    and r["message_id"] == done["messageId"]]
            assert [r["operator"] for r in sent] == ["clerk-1"]
            assert all(done["residentCode"] not in str(r["subjects"]) for r in rows)
        finally:
            await net.stop()
    run(go())


def test_three_wrong_pins_lock_until_an_administrator_unlocks(
        tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", CODE)],
                          operators_file=_file(tmp_path, pki_dir))
        tester = UpperTester(net.nodes[CODE])
        try:
            node = net.nodes[CODE]
            wrong = await _op(node, op="operator_login", operatorId="clerk-1", pin="0000")
            assert _code(wrong) == 3024 and "2 tries left" in wrong["error"]["message"]
            await _login(node, "clerk-1", "2468")          # a right PIN resets the count
            for tries_left in (2, 1):
                wrong = await _op(node, op="operator_login", operatorId="clerk-1",
                                  pin="1111")
                assert f"{tries_left} tries left" in wrong["error"]["message"]
            assert _code(await _op(node, op="operator_login", operatorId="clerk-1",
                                   pin="1111")) == 4013
            assert _code(await _op(node, op="operator_login", operatorId="clerk-1",
                                   pin="2468")) == 4013
            # The lock is kept across a restart; only an administrator lifts it.
            await handle_line(node, b'{"id": 1, "op": "restart"}', restart=tester.restart)
            node = tester.node
            assert _code(await _op(node, op="operator_login", operatorId="clerk-1",
                                   pin="2468")) == 4013
            inquirer = await _login(node, "inq-1", "1357")
            assert _code(await _op(node, op="operator_unlock", operatorId="clerk-1",
                                   session=inquirer)) == 3023
            admin = await _login(node, "admin-1", "9753")
            assert (await _op(node, op="operator_unlock", operatorId="clerk-1",
                              session=admin))["ok"]
            clerk = await _login(node, "clerk-1", "2468")
            assert (await _op(node, op="register_resident", seed="x", session=clerk))["ok"]
        finally:
            await tester.node.stop()
    run(go())


def test_a_credential_the_node_did_not_issue_is_refused(tmp_path: Path,
                                                        pki_dir: Path) -> None:
    async def go() -> None:
        # Issued with another node's key, and a role edited into a genuine file.
        forged = _file(tmp_path, pki_dir, issuer="272035")
        net = await start(tmp_path, pki_dir, [("municipality", CODE)],
                          operators_file=forged)
        try:
            node = net.nodes[CODE]
            assert _code(await _op(node, op="operator_login", operatorId="clerk-1",
                                   pin="2468")) == 3024
        finally:
            await net.stop()
        genuine = _file(tmp_path, pki_dir)
        registry = load_registry(genuine)
        edited = dict(registry.roles)
        edited["inquirer"] = edited["inquirer"] | {"record"}   # file edits do not help:
        save_registry(type(registry)(node=registry.node, operators=registry.operators,
                                     roles=edited), genuine)    # the roles are signed,
        net = await start(tmp_path / "b", pki_dir, [("municipality", CODE)],
                          operators_file=genuine)               # but what a role allows
        try:                                                    # is the node's setting
            node = net.nodes[CODE]
            inquirer = await _login(node, "inq-1", "1357")
            assert (await _op(node, op="register_resident", seed="y",
                              session=inquirer))["ok"]
        finally:
            await net.stop()
    (tmp_path / "b").mkdir()
    run(go())


def test_a_provision_request_names_the_sessions_operator(tmp_path: Path,
                                                         pki_dir: Path) -> None:
    async def go() -> None:
        path = tmp_path / "ag.json"
        write_operators_file(path, _credential(pki_dir, "AG0001"), "AG0001",
                             [("inq-9", ("inquirer",), "4321")], dt.datetime.now(dt.UTC))
        net = await start(tmp_path, pki_dir, [("agency", "AG0001")], operators_file=path)
        try:
            node = net.nodes["AG0001"]
            session = await _login(node, "inq-9", "4321")
            other = await _op(node, op="provision_request", provider="270008",
                              purposeCode="S1-KENCHIKUSHI", operatorId="someone-else",
                              byResidentCode=["12345678903"], session=session)
            assert _code(other) == 3023
            sent = await _op(node, op="provision_request", provider="270008",
                             purposeCode="S1-KENCHIKUSHI", byResidentCode=["12345678903"],
                             session=session)
            assert sent["ok"], sent
            rows = audit.read(node.storage.conn, 0, 1000)
            mine = [r for r in rows if r["message_id"] == sent["messageId"]
                    and not str(r["result"]).startswith("failed")]   # no provider here
            assert {r["direction"] for r in mine} >= {"local", "sent"}
            assert {r["operator"] for r in mine} == {"inq-9"}
        finally:
            await net.stop()
    run(go())


def test_a_provision_request_names_the_sessions_operator_or_none(
        tmp_path: Path, pki_dir: Path) -> None:
    """R-NODE-84 and R-NODE-95: an operatorId that is no operator id is 1030, another
    operator's 3023, the session's own passes the session (and then meets the op, which
    a municipality answers 3003)."""
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", CODE)],
                          operators_file=_file(tmp_path, pki_dir))
        try:
            node = net.nodes[CODE]
            inq = await _login(node, "inq-1", "1357")
            base = {"op": "provision_request", "provider": "270008", "session": inq,
                    "purposeCode": "S1-KENCHIKUSHI", "byResidentCode": ["12345678901"]}
            for bad in (7, "", "op 1", ["inq-1"], None):
                assert _code(await _op(node, **base, operatorId=bad)) == 1030, bad
            assert _code(await _op(node, **base, operatorId="clerk-1")) == 3023
            assert _code(await _op(node, **base, operatorId="inq-1")) == 3003
            assert _code(await _op(node, **base)) == 3003
        finally:
            await net.stop()
    run(go())
