"""`juki node serve --log-format json` (issue 15 item 7): one JSON object a line with
time, level, event, node, peer, messageId and code, and no personal data. A real node,
real traffic over mutual TLS, its real stderr."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from pathlib import Path

import pytest
from node_helpers import Peer, residents, run, shared_pki, update_of
from test_config import node_settings, serve_process

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.node.logjson import JsonFormatter, event_of, fields, mask

KEYS = {"time", "level", "event", "node", "peer", "messageId", "code", "logger", "message"}


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("juki_protocol.node.node", logging.WARNING, __file__, 1,
                               msg, args, None)
    record.__dict__.update(extra)
    return record


def test_mask_hides_codes_dates_and_japanese_text() -> None:
    person = residents("271004", 1, seed="logjson-mask")[0]
    text = (f"{person.resident_code} {person.individual_number} {person.name.kanji} "
            f"{person.birth_date.isoformat()} node 271004 at 2026-01-02T03:04:05+00:00")
    masked = mask(text)
    for secret in (person.resident_code, person.individual_number, person.name.kanji,
                   person.birth_date.isoformat()):
        assert secret not in masked
    assert "271004" in masked and "2026-01-02T03:04:05" in masked


def test_formatter_masks_the_text_and_keeps_the_fields() -> None:
    out = json.loads(JsonFormatter().format(_record(
        "%s: could not send to %s: %s", "prefecture:270008", "DC01",
        JukiError("resident 12345678901 unknown", code=ErrorCode.UNKNOWN_RECIPIENT))))
    assert KEYS <= out.keys()
    assert out["event"] == "could-not-send-to"
    assert out["node"] == "prefecture:270008"
    assert out["code"] == int(ErrorCode.UNKNOWN_RECIPIENT)
    assert "12345678901" not in json.dumps(out)
    mid = secrets.token_bytes(16)
    given = json.loads(JsonFormatter().format(_record("%s: x", "n", **fields(
        "pdu.refused", "prefecture:270008", peer="271004", message_id=mid, code=2020))))
    assert (given["event"], given["peer"], given["messageId"], given["code"]) == \
        ("pdu.refused", "271004", mid.hex(), 2020)
    assert event_of("%s: storage failed: %s") == "storage-failed"


async def _traffic(pki_dir: Path, address: str, people: list) -> dict[str, bytes]:
    """An accepted update, its duplicate and a stale one from municipality 271004."""
    host, port = address.rsplit(":", 1)
    peer = await Peer(pki_dir, "271004").connect((host, int(port)))
    try:
        ids = {"accepted": secrets.token_bytes(16), "stale": secrets.token_bytes(16)}
        der = peer.sealed(update_of(people[0], 1), "270008", message_id=ids["accepted"])
        for _ in range(2):                          # the second is a duplicate
            await peer.send(der)
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None, got
        await peer.send(peer.sealed(
            update_of(people[1], 2), "270008", message_id=ids["stale"],
            time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)))
        got = await peer.read()
        assert got is not None and got.error_report is not None, got
        return ids
    finally:
        await peer.close()


def test_a_real_node_logs_json_lines_without_personal_data(tmp_path: Path,
                                                           pki_dir: Path) -> None:
    people = residents("271004", 2, seed="logjson")
    with serve_process(tmp_path, node_settings(tmp_path, pki_dir, verbose=True),
                       "--log-format", "json") as (_, where, stderr):
        ids = run(_traffic(pki_dir, where["node"], people))
    text = stderr.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines and all(KEYS <= line.keys() for line in lines)
    assert all(line["level"] in ("INFO", "WARNING", "ERROR") for line in lines)
    pdus = [line for line in lines if line["event"].startswith("pdu.")]
    taken = [p for p in pdus if p["messageId"] == ids["accepted"].hex()]
    assert [(p["event"], p["message"].rsplit(": ", 1)[1]) for p in taken] == [
        ("pdu.taken", "accepted"), ("pdu.taken", "duplicate")]
    assert all(p["peer"] == "271004" and p["node"] == "prefecture:270008"
               and p["code"] is None for p in taken)
    stale = [p for p in pdus if p["messageId"] == ids["stale"].hex()]
    assert [(p["event"], p["code"]) for p in stale] == [
        ("pdu.refused", int(ErrorCode.STALE_TIME))]
    for person in people:           # sent in the updates; never in the log
        for secret in (person.resident_code, person.individual_number,
                       person.name.kanji, person.birth_date.isoformat()):
            assert secret not in text
