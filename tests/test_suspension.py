"""Stopping provision (spec/suspension.md) without a running node: the refusal value and
its code, the stored suspensions on both storage engines, the operator's commands on a
node's database, and ``juki simulate suspension``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from juki_protocol.codec import codec
from juki_protocol.errors import REGISTRY, ErrorCode, JukiError
from juki_protocol.fixtures.samples import HOME
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.provision import ProvisionRefusal, ProvisionResponse
from juki_protocol.node import audit
from juki_protocol.node.operators import ACTION_OF_OP, DEFAULT_ROLES, OPEN_OPS
from juki_protocol.node.sql import with_schema
from juki_protocol.node.storage import NodeStorage, open_storage
from juki_protocol.node.suspension import Suspensions, check_body, check_reason
from juki_protocol.node.upper_tester import OPS
from juki_protocol.resources import spec_dir
from juki_protocol.tools import audit_verify
from juki_protocol.tools.cli_node import node_group
from juki_protocol.tools.cli_simulate import ARTICLES, SIMULATED, simulate

sys.path.insert(0, str(Path(__file__).resolve().parent))   # tests/pg.py
import pg

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[1]


def test_the_refusal_suspended_is_an_extension_addition_with_code_3030() -> None:
    message = ProvisionResponse(refusal=ProvisionRefusal.SUSPENDED)
    data = codec.encode(message)
    assert data.hex() == "6905a003810106"           # ENUMERATED 6 after the marker
    assert codec.decode(data) == message
    # The values before the marker keep their encoding (the published vectors).
    throttled = codec.encode(ProvisionResponse(refusal=ProvisionRefusal.THROTTLED))
    assert throttled.hex() == "6905a003810105"
    assert ProvisionRefusal.SUSPENDED.error_code is ErrorCode.PROVISION_SUSPENDED


def test_the_new_code_is_registered_in_the_3030_range_everywhere() -> None:
    assert all(3030 <= c <= 3039 for c in ErrorCode if 3025 <= c <= 3099)
    assert int(ErrorCode.PROVISION_SUSPENDED) == 3030
    assert ErrorCode.PROVISION_SUSPENDED in REGISTRY
    listed = {e["code"]: e["name"] for e in json.loads(
        (spec_dir() / "errors.json").read_text(encoding="utf-8"))["errors"]}
    assert listed[3030] == "PROVISION_SUSPENDED"
    assert "| 3030 | `PROVISION_SUSPENDED` |" in (spec_dir() / "errors.md").read_text(
        encoding="utf-8")


def test_the_ops_are_local_actions_of_the_suspension_action() -> None:
    for name in ("suspend_provision", "resume_provision", "stop_feed", "resume_feed"):
        assert name in OPS and ACTION_OF_OP[name] == "suspension"
    assert {"provision_suspensions", "feed_state"} <= OPEN_OPS <= set(OPS) | {"restart"}
    assert "suspension" in DEFAULT_ROLES["admin"]
    assert all("suspension" not in DEFAULT_ROLES[r] for r in ("clerk", "inquirer"))


@pytest.mark.parametrize("value", ["AG0001", "270008", "271004"])
def test_a_body_is_an_agency_or_a_local_government(value: str) -> None:
    assert check_body(value) == value


@pytest.mark.parametrize("value", ["AG1", "ag0001", "270009", "", None, 270008,
                                   "山田太郎"])
def test_anything_else_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(JukiError) as exc:
        check_body(value)
    assert exc.value.error_code is ErrorCode.INVALID_JSON and "body" in str(exc.value)


@pytest.mark.parametrize("value", ["Misuse", "a b", "", "x" * 33, "1misuse", "山田", None])
def test_a_reason_is_a_short_code_never_free_text(value: object) -> None:
    with pytest.raises(JukiError) as exc:
        check_reason(value)
    assert exc.value.error_code is ErrorCode.INVALID_JSON and "reason" in str(exc.value)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeStorage]:
    if request.param == "sqlite":
        target: str | Path = tmp_path / "270008.db"
    else:
        target = pg.database()
    made = open_storage(target, "prefecture", "270008")
    made.target = target  # type: ignore[attr-defined]
    yield made
    made.close()


def test_suspensions_are_stored_audited_and_survive_reopening(storage: NodeStorage) -> None:
    store = Suspensions(storage.conn, storage.transaction, "270008")
    assert "AG0001" not in store
    assert store.suspend("AG0001", "misuse", "op-admin", NOW) is True
    assert store.suspend("AG0001", "misuse", "op-admin", NOW) is False   # repeatable
    assert "AG0001" in store and "AG0002" not in store
    storage.close()
    again = open_storage(storage.target, "prefecture", "270008")  # type: ignore[attr-defined]
    try:
        store = Suspensions(again.conn, again.transaction, "270008")
        assert [s.to_json() for s in store.suspended()] == [
            {"body": "AG0001", "since": "2026-04-01T09:00:00Z", "reason": "misuse",
             "operator": "op-admin"}]
        assert store.resume("AG0001", "op-admin", NOW) is True
        assert store.resume("AG0001", "op-admin", NOW) is False
        assert "AG0001" not in store
        rows = [(r["direction"], r["operator"], r["peer"], r["message_type"], r["result"],
                 r["subjects"]) for r in audit.read(again.conn, 0, 100)]
        assert rows == [
            ("local", "op-admin", "AG0001", "provisionSuspended", "suspended: misuse", ""),
            ("local", "op-admin", "AG0001", "provisionResumed", "resumed", "")]
        assert audit_verify.verify_connection(again.conn).ok
    finally:
        again.close()
        storage.db = again.db          # the fixture closes a connection that is open


def test_a_feed_stop_is_stored_and_audited(storage: NodeStorage) -> None:
    store = Suspensions(storage.conn, storage.transaction, "271004")
    assert store.feed_stop() is None
    assert store.stop_feed("270008", "emergency", "op-admin", NOW) is True
    assert store.stop_feed("270008", "emergency", "op-admin", NOW) is False
    stop = store.feed_stop()
    assert stop is not None and (stop.subject, stop.reason) == ("271004", "emergency")
    assert store.resume_feed("270008", 3, "op-admin", NOW) is True
    assert store.feed_stop() is None and not store.resume_feed("270008", 0, "x", NOW)
    assert [(r["message_type"], r["peer"], r["result"])
            for r in audit.read(storage.conn, 0, 100)] == [
        ("feedStopped", "270008", "stopped: emergency"),
        ("feedResumed", "270008", "resumed: 3 held")]


def _db(tmp_path: Path, code: str, role: str) -> Path:
    path = tmp_path / f"{code}.db"
    open_storage(path, role, code).close()
    return path


def test_the_commands_suspend_resume_and_list_on_a_providers_database(
        tmp_path: Path) -> None:
    db = _db(tmp_path, "DC01", "national")
    cli = CliRunner()
    base = ["--db", str(db), "--node", "DC01", "--operator", "op-admin"]
    res = cli.invoke(node_group, ["suspend-provision", *base, "--body", "AG0001",
                                  "--reason", "agreement-breach"])
    assert res.exit_code == 0 and res.output == "DC01: provision to AG0001 suspended\n"
    res = cli.invoke(node_group, ["suspend-provision", *base, "--body", "AG0001",
                                  "--reason", "agreement-breach"])
    assert "was already suspended" in res.output
    listed = json.loads(cli.invoke(node_group, ["suspensions", "--db", str(db), "--node",
                                                "DC01"]).output)
    assert [s["body"] for s in listed["suspended"]] == ["AG0001"]
    res = cli.invoke(node_group, ["resume-provision", *base, "--body", "AG0001"])
    assert res.exit_code == 0 and "resumed" in res.output
    assert audit_verify.verify(db).ok


def test_the_feed_commands_act_on_a_municipalitys_database(tmp_path: Path) -> None:
    db = _db(tmp_path, HOME, "municipality")
    cli = CliRunner()
    base = ["--db", str(db), "--node", HOME, "--operator", "op-admin"]
    res = cli.invoke(node_group, ["stop-feed", *base, "--reason", "emergency"])
    assert res.exit_code == 0 and "stopped" in res.output, res.output
    state = json.loads(cli.invoke(node_group, ["suspensions", "--db", str(db), "--node",
                                               HOME]).output)
    assert (state["feedStopped"], state["reason"]) == (True, "emergency")
    res = cli.invoke(node_group, ["resume-feed", *base])
    assert res.exit_code == 0 and "resumed (0 updates to send)" in res.output


@pytest.mark.parametrize("args, hint", [
    (["suspend-provision", "--node", "271004", "--body", "AG0001", "--reason", "misuse"],
     "--node"),
    (["stop-feed", "--node", "270008", "--reason", "misuse"], "--node"),
    (["suspend-provision", "--node", "270008", "--body", "AG1", "--reason", "misuse"],
     "--body"),
    (["suspend-provision", "--node", "270008", "--body", "AG0001", "--reason", "Misuse"],
     "--reason"),
])
def test_the_commands_refuse_bad_input_with_a_usage_error(tmp_path: Path, args: list[str],
                                                          hint: str) -> None:
    code = args[args.index("--node") + 1]
    db = _db(tmp_path, code, "municipality" if code == "271004" else "prefecture")
    res = CliRunner().invoke(node_group, [*args, "--db", str(db), "--operator", "op-1"])
    assert res.exit_code == 2 and hint in res.output and "Traceback" not in res.output


def test_a_command_needs_an_existing_database(tmp_path: Path) -> None:
    res = CliRunner().invoke(node_group, ["suspend-provision", "--db",
                                          str(tmp_path / "none.db"), "--node", "270008",
                                          "--body", "AG0001", "--reason", "misuse",
                                          "--operator", "op-1"])
    assert res.exit_code == 2 and "does not exist" in res.output
    assert not (tmp_path / "none.db").exists()


@pytest.mark.skipif(pg.backend() != "postgresql" and not Path("/usr/lib/postgresql").exists(),
                    reason="no PostgreSQL server programs")
def test_the_commands_work_on_a_postgresql_node(tmp_path: Path) -> None:
    url = pg.database()
    open_storage(url, "prefecture", "270008").close()
    res = CliRunner().invoke(node_group, ["suspend-provision", "--database", url, "--node",
                                          "270008", "--body", "AG0001", "--reason",
                                          "misuse", "--operator", "op-1"])
    assert res.exit_code == 0, res.output
    assert audit_verify.verify(with_schema(url, "n270008")).ok


def test_simulate_suspension_runs_masks_and_is_listed() -> None:
    assert "suspension" in SIMULATED and "Art" in ARTICLES["suspension"]
    result = CliRunner().invoke(simulate, ["suspension", "--seed", "1"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "while suspended: refused: suspended (3030)" in out
    assert "before the suspension: " in out and "after the suspension: " in out
    assert "270008 -> AG0001   ProvisionResponse(refusal=suspended)" in out
    assert "updater idle" in out and ", 0 sent;" in out
    for house in generate_households(3, "sim:1", municipalities=[HOME]):
        for person in house.members:
            assert person.resident_code not in out and person.name.kanji not in out


def test_the_spec_links_the_suspension_file() -> None:
    readme = (ROOT / "spec" / "README.md").read_text(encoding="utf-8")
    assert "(suspension.md)" in readme
    reqs = json.loads((ROOT / "spec" / "requirements.json").read_text(encoding="utf-8"))
    ids = {r["id"] for r in reqs["requirements"] if r["file"] == "spec/suspension.md"}
    assert ids == {f"R-SUSP-0{i}" for i in range(1, 7)}
