"""The storage contract: one suite that both engines pass, SQLite (a file) and PostgreSQL
(a real server started for the run, tests/pg.py). Whatever a node stores, it reads back
the same from either; a rolled-back or failed transaction leaves nothing; what a role
must not store has no column on either."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/pg.py
import pg

from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.machines.memory_store import IdentityStore
from juki_protocol.machines.provision import DisclosureRecord
from juki_protocol.machines.stores import four_items
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.provision import BodyKind, LegalBasis, RequestingBody
from juki_protocol.node import audit
from juki_protocol.node.bulk_load import bulk_load_identity
from juki_protocol.node.storage import (
    IDENTITY_COLUMNS,
    NodeStorage,
    StorageError,
    StoredCard,
    identity_row,
    open_storage,
)
from juki_protocol.node.stored_identity import AppliedUpdates, StoredIdentities
from juki_protocol.tools import audit_verify

T0 = dt.datetime(2030, 4, 1, 9, 0, tzinfo=dt.UTC)
MUNI, PREF = "271004", "270008"

Opener = Callable[[str], NodeStorage]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens (and reopens) a node's storage on one engine; closes what it opened."""
    target: str | Path = (tmp_path / "node.db" if request.param == "sqlite"
                          else pg.database())
    opened: list[NodeStorage] = []

    def open_(role: str) -> NodeStorage:
        store = open_storage(target, role, MUNI if role == "municipality" else PREF)
        opened.append(store)
        return store
    yield open_
    for store in opened:
        store.close()


def people(n: int, seed: str = "contract") -> list[SyntheticResident]:
    """``n`` synthetic residents of MUNI (from ``n`` households, each of one or more)."""
    return [m for h in generate_households(n, seed, municipalities=[MUNI])
            for m in h.members][:n]


def update(person: SyntheticResident, seq: int, *,
           operation: UpdateOperation = UpdateOperation.RECORD,
           reason: ChangeReason = ChangeReason.BIRTH,
           previous: str | None = None) -> IdentityInfoUpdate:
    return IdentityInfoUpdate(
        municipality=MUNI, update_sequence=seq, operation=operation,
        identity_info=person.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=reason, change_date=person.birth_date),
        previous_resident_code=previous)


# Every role -------------------------------------------------------------------------------

def test_processed_ids_are_remembered_and_forgotten_by_age(opener: Opener) -> None:
    s = opener("prefecture")
    with s.transaction():
        s.mark_processed(MUNI, b"\x01" * 16, b"\xaa" * 32, "IdentityInfoUpdate", T0)
        s.mark_processed(MUNI, b"\x02" * 16, b"\xbb" * 32, "IdentityInfoUpdate",
                         T0 + dt.timedelta(hours=2))
    assert s.seen(MUNI, b"\x01" * 16) == b"\xaa" * 32
    assert s.seen("272035", b"\x01" * 16) is None
    assert s.forget_processed(T0 + dt.timedelta(hours=1)) == 1
    assert s.seen(MUNI, b"\x01" * 16) is None and s.seen(MUNI, b"\x02" * 16) is not None


def test_an_exception_rolls_back_and_nested_transactions_join(opener: Opener) -> None:
    s = opener("prefecture")
    with pytest.raises(RuntimeError), s.transaction():
        s.mark_processed(MUNI, b"\x01" * 16, b"\x00" * 32, "T", T0)
        with s.transaction():              # joins the outer one
            s.mark_processed(MUNI, b"\x02" * 16, b"\x00" * 32, "T", T0)
        raise RuntimeError("the handler failed")
    assert s.seen(MUNI, b"\x01" * 16) is None and s.seen(MUNI, b"\x02" * 16) is None


def test_a_failed_commit_raises_9003_and_keeps_nothing(opener: Opener) -> None:
    s = opener("prefecture")
    s.fail_commits = 1
    with pytest.raises(StorageError) as err, s.transaction():
        s.mark_processed(MUNI, b"\x01" * 16, b"\x00" * 32, "T", T0)
    assert err.value.error_code is ErrorCode.STORAGE_FAILURE
    assert s.seen(MUNI, b"\x01" * 16) is None and s.fail_commits == 0
    with s.transaction():                  # the next one commits
        s.mark_processed(MUNI, b"\x01" * 16, b"\x00" * 32, "T", T0)
    assert s.seen(MUNI, b"\x01" * 16) is not None


def test_a_driver_error_is_a_storage_error_naming_no_data(opener: Opener) -> None:
    s = opener("prefecture")
    with s.transaction():
        s.mark_processed(MUNI, b"\x01" * 16, b"\x00" * 32, "T", T0)
    with pytest.raises(StorageError) as err, s.transaction():   # the same key again
        s.mark_processed(MUNI, b"\x01" * 16, b"\x00" * 32, "T", T0)
    assert err.value.error_code is ErrorCode.STORAGE_FAILURE
    assert "\x01" not in str(err.value)


def test_secrets_and_settings_survive_a_reopen(opener: Opener) -> None:
    first = opener("prefecture")
    key = first.secret("some-secret")
    assert len(key) == 32 and first.secret("some-secret") == key
    assert first.meta("absent", b"default") == b"default"
    first.close()
    assert opener("prefecture").secret("some-secret") == key


# Municipality -----------------------------------------------------------------------------

def test_the_register_round_trips_and_updates_in_place(opener: Opener) -> None:
    s = opener("municipality")
    folk = people(3)
    with s.transaction():
        s.save_residents(folk)
    assert s.load_register() == {p.resident_code: p for p in folk}
    moved = dataclasses.replace(folk[0], status="moved_out")
    with s.transaction():
        s.save_residents([moved])
        s.drop_resident(folk[1].resident_code)
    again = opener("municipality").load_register()
    assert again[folk[0].resident_code].status == "moved_out"
    assert folk[1].resident_code not in again and len(again) == len(folk) - 1


def test_the_outbox_keeps_numbering_and_unacknowledged_updates(opener: Opener) -> None:
    s = opener("municipality")
    folk = people(3)
    with s.transaction():
        for seq, person in enumerate(folk[:3], start=1):
            s.add_update(PREF, bytes([seq]) * 16, update(person, seq), T0)
    with s.transaction():
        assert s.settle(b"\x01" * 16, "acked") is True
        assert s.settle(b"\x01" * 16, "acked") is False        # only a pending one
    last, pending = s.pending_updates()
    assert last == len(folk[:3])
    assert [p.sequence for p in pending] == list(range(2, len(folk[:3]) + 1))
    assert pending and pending[0].message == update(folk[1], 2)
    assert s.updates("acked") == [(1, "acked")]


def test_erasures_cards_and_retired_codes(opener: Opener) -> None:
    s = opener("municipality")
    code = people(1)[0].resident_code
    card = StoredCard(serial="C0000001", resident_code=code, state="issued", failures=0,
                      issued_at=T0, expires_at=None, chip_pin="1234",
                      chip_activated=True, chip_tries_left=3)
    with s.transaction():
        s.record_erasure(code, ChangeReason.DEATH, dt.date(2030, 3, 1), T0)
        s.record_erasure(code, ChangeReason.MOVE_OUT, dt.date(2030, 3, 2), T0)
        s.save_card(card)
        s.save_card(dataclasses.replace(card, state="suspended", failures=2))
        s.retire({"12345678901", code})
        s.retire({code})
    assert s.erasure(code) == (ChangeReason.MOVE_OUT, dt.date(2030, 3, 2))
    assert s.erasure("00000000000") is None
    assert s.load_cards() == [dataclasses.replace(card, state="suspended", failures=2)]
    assert s.retired() == {"12345678901", code}


# Prefecture and national -----------------------------------------------------------------

def test_versions_current_four_items_and_code_changes(opener: Opener) -> None:
    s = opener("prefecture")
    a, b, c = people(3)
    renamed = dataclasses.replace(a, resident_code=c.resident_code)   # a's new code
    with s.transaction():
        s.apply_identity(MUNI, 1, b"\x01" * 16, update(a, 1), T0)
        s.apply_identity(MUNI, 2, b"\x02" * 16, update(b, 2), T0)
        s.apply_identity(MUNI, 3, b"\x03" * 16,
                         update(renamed, 3, operation=UpdateOperation.CORRECT,
                                reason=ChangeReason.RESIDENT_CODE_CHANGE,
                                previous=a.resident_code), T0 + dt.timedelta(minutes=1))
    assert s.current_identity(a.resident_code) is None
    current = s.current_identity(renamed.resident_code)
    assert current is not None and current == update(
        renamed, 3, operation=UpdateOperation.CORRECT,
        reason=ChangeReason.RESIDENT_CODE_CHANGE, previous=a.resident_code)
    assert a.resident_code in s.retired()
    info = a.identity_info(Profile.CURRENT)
    found = s.find_by_four_items(info.name.kanji, info.birth_date, info.sex,
                                 info.address.local_gov_code)
    assert [f.identity_info.resident_code for f in found] == [renamed.resident_code]
    assert s.identity_versions(a.resident_code) == (1, False)
    assert s.identity_versions(renamed.resident_code) == (1, True)
    assert s.count_identity() == 2 and s.count_identity(current_only=False) == 3
    assert s.last_sequences() == {MUNI: 3} and s.applied_update(MUNI, 2) == update(b, 2)
    assert s.applied_update(MUNI, 4) is None


def test_the_queried_store_answers_as_the_memory_store_would(opener: Opener) -> None:
    s = opener("prefecture")
    folk = people(2)
    with s.transaction():
        for seq, person in enumerate(folk, start=1):
            s.apply_identity(MUNI, seq, bytes([seq]) * 16, update(person, seq), T0)
        s.apply_identity(MUNI, len(folk) + 1, b"\xff" * 16,
                         update(folk[0], len(folk) + 1, operation=UpdateOperation.ERASE,
                                reason=ChangeReason.DEATH), T0 + dt.timedelta(days=1))
    stored = StoredIdentities(s, dt.timedelta(days=10))
    memory = IdentityStore(dt.timedelta(days=10))
    for seq, person in enumerate(folk, start=1):
        memory.apply(update(person, seq), T0)
    memory.apply(update(folk[0], len(folk) + 1, operation=UpdateOperation.ERASE,
                        reason=ChangeReason.DEATH), T0 + dt.timedelta(days=1))
    assert set(stored.current) == set(memory.current) and len(stored.current) == 2
    for code in [p.resident_code for p in folk] + ["00000000000"]:
        for now in (T0 + dt.timedelta(days=2), T0 + dt.timedelta(days=12)):
            assert stored.within_retention(code, now) == memory.within_retention(code, now)
    key = four_items(folk[1].identity_info(Profile.CURRENT))
    assert stored.by_four_items(key) == memory.by_four_items(key) == [folk[1].resident_code]
    assert [h.superseded_at for h in stored.history] == \
        [h.superseded_at for h in memory.history]
    applied = AppliedUpdates(s, relays=False)
    assert applied.get((MUNI, 1)) == update(folk[0], 1) and (MUNI, 9) not in applied


def test_relays_pin_versions_against_the_purge(opener: Opener) -> None:
    s = opener("prefecture")
    a, b = people(2)
    with s.transaction():
        first = s.apply_identity(MUNI, 1, b"\x01" * 16, update(a, 1), T0)
        s.apply_identity(MUNI, 2, b"\x02" * 16,
                         update(a, 2, operation=UpdateOperation.ERASE,
                                reason=ChangeReason.DEATH), T0)
        kept = s.apply_identity(MUNI, 3, b"\x03" * 16, update(b, 3), T0)
        s.apply_identity(MUNI, 4, b"\x04" * 16,
                         update(b, 4, operation=UpdateOperation.ERASE,
                                reason=ChangeReason.DEATH), T0)
        s.add_relay(1, b"\x11" * 16, first)
        s.add_relay(2, b"\x13" * 16, kept)
    with s.transaction():
        assert s.settle(b"\x11" * 16, "acked")
    last, pending = s.pending_relays()
    assert last == 2 and [(p.sequence, p.message) for p in pending] == [(2, update(b, 3))]
    later = T0 + dt.timedelta(days=2)
    assert s.purge(later, dt.timedelta(days=3)) == 0           # within retention
    # a's two versions go; b's erased one goes; b's first is pinned by relay 2.
    assert s.purge(later, dt.timedelta(days=1)) == 3
    assert s.identity_versions(a.resident_code) == (0, False)
    assert s.identity_versions(b.resident_code) == (1, False)
    assert s.last_sequences() == {MUNI: 4}                      # numbering kept


def test_bulk_load_then_query(opener: Opener) -> None:
    s = opener("national")
    folk = people(3)
    loaded = bulk_load_identity(s, (identity_row(update(p, i + 1))
                                    for i, p in enumerate(folk)), T0, chunk=2)
    assert loaded == len(folk) == s.count_identity()
    assert s.current_identity(folk[-1].resident_code) == update(folk[-1], len(folk))


def test_the_disclosure_log_and_provisions(opener: Opener) -> None:
    s = opener("prefecture")
    record = DisclosureRecord(
        time=T0, message_id=b"\x05" * 16,
        body=RequestingBody(kind=BodyKind.AGENCY, code="AG0001"),
        legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code="P001",
        operator_id="op-1", outcome="provided", resident_keys=("k1", "k2"))
    with s.transaction():
        s.log_disclosures([record, dataclasses.replace(record, outcome="refused",
                                                       resident_keys=())])
    assert s.disclosures() == [record, dataclasses.replace(record, outcome="refused",
                                                           resident_keys=())]
    # One person's entries (R-30-7-3-12): whole keys only, never a key's prefix or part.
    later = dataclasses.replace(record, message_id=b"\x07" * 16, resident_keys=("k22",))
    with s.transaction():
        s.log_disclosures([later])
    assert s.disclosures("k2") == [record]
    assert s.disclosures("k22") == [later]
    assert s.disclosures("k1") == [record]
    assert s.disclosures("k") == [] and s.disclosures("2") == []
    agency = opener("agency")
    with agency.transaction():
        agency.record_provision(b"\x06" * 16, PREF, "provided", 2, T0)
        agency.record_provision(b"\x06" * 16, PREF, "refused:5001", 0, T0)
    row = agency.conn.execute("SELECT outcome, persons FROM provisions").fetchall()
    assert [(r[0], r[1]) for r in row] == [("refused:5001", 0)]


def test_identity_tables_have_no_column_for_other_items(opener: Opener) -> None:
    s = opener("prefecture")
    cur = s.conn.execute("SELECT * FROM identity_info WHERE 1 = 0")
    names = [d[0] for d in cur.description]  # type: ignore[attr-defined]
    extra = set(names) - set(IDENTITY_COLUMNS) - {"id", "stored_at", "superseded_at",
                                                   "erased_at"}
    assert extra == set()


def test_the_audit_chain_is_kept_and_checked_on_either_engine(opener: Opener) -> None:
    s = opener("prefecture")
    with s.transaction() as c:
        for i in range(3):
            audit.append(c, at=T0, direction="received", peer=MUNI,
                         message_type="IdentityInfoUpdate", message_id=bytes([i]) * 16,
                         result="accepted", subjects="")
    assert audit_verify.verify_connection(s.conn).ok
    with s.transaction() as c:
        c.execute("UPDATE audit SET result = 'rejected' WHERE seq = 2")
    broken = audit_verify.verify_connection(s.conn)
    assert not broken.ok and broken.first_bad == 2
