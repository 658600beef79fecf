"""The identity store's four-item index agrees with a scan of its current versions
after any sequence of records, changes, erasures, code changes, purges and reloads
(R-30-7-3-10), so the provider's lookup by the four items is a dictionary hit."""

from __future__ import annotations

import dataclasses
import datetime as dt

from conftest import NOW, households
from hypothesis import given, settings
from hypothesis import strategies as st

from juki_protocol.fixtures.samples import HOME
from juki_protocol.identifiers import resident_code_check_digit
from juki_protocol.machines.memory_store import IdentityStore
from juki_protocol.machines.stores import HeldIdentity, four_items
from juki_protocol.messages.common import ChangeInfo, ChangeReason, PersonName, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation

PEOPLE = [m.identity_info(Profile.CURRENT) for h in households() for m in h.members]
NAMES = ["山田 花子", "山田 太郎", PEOPLE[0].name.kanji]

OPS = st.lists(st.tuples(st.sampled_from(["record", "rename", "erase", "recode", "purge"]),
                         st.integers(0, len(PEOPLE) - 1), st.sampled_from(NAMES),
                         st.integers(0, 400)), max_size=40)


def _scan(store: IdentityStore) -> dict[tuple[object, ...], list[str]]:
    keys: dict[tuple[object, ...], list[str]] = {}
    for code in sorted(store.current):
        keys.setdefault(four_items(store.current[code].identity_info), []).append(code)
    return keys


def _check(store: IdentityStore) -> None:
    scanned = _scan(store)
    every = set(scanned) | {four_items(p) for p in PEOPLE} \
        | {four_items(dataclasses.replace(p, name=PersonName(kanji=n)))
           for p in PEOPLE for n in NAMES}
    for key in every:
        assert store.by_four_items(key) == scanned.get(key, []), key


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_index_matches_a_scan(ops: list[tuple[str, int, str, int]]) -> None:
    store = IdentityStore(retention=dt.timedelta(days=100))
    now, seq = NOW, 0
    for op, who, name, days in ops:
        now += dt.timedelta(days=days if op == "purge" else 1)
        info = PEOPLE[who]
        held = store.current.get(info.resident_code)
        if op == "purge":
            store.purge(now)
            _check(store)
            continue
        seq += 1
        reason, operation, previous = ChangeReason.MOVE_IN, UpdateOperation.RECORD, None
        if held is not None:
            info = held.identity_info
            if op == "rename":
                info, reason = dataclasses.replace(info, name=PersonName(kanji=name)), \
                    ChangeReason.NAME_CHANGE
                operation = UpdateOperation.CORRECT
            elif op == "erase":
                reason, operation = ChangeReason.MOVE_OUT, UpdateOperation.ERASE
            elif op == "recode":
                first10 = f"7{seq:09d}"
                new = first10 + str(resident_code_check_digit(first10))
                if new in store.current or new in store.retired:
                    continue
                previous, reason = info.resident_code, ChangeReason.RESIDENT_CODE_CHANGE
                info, operation = dataclasses.replace(info, resident_code=new), \
                    UpdateOperation.CORRECT
        if info.resident_code in store.retired:
            continue
        store.apply(IdentityInfoUpdate(
            municipality=HOME, update_sequence=seq, operation=operation, identity_info=info,
            change_info=ChangeInfo(change_reason=reason, change_date=now.date()),
            previous_resident_code=previous), now)
        _check(store)
    # A store rebuilt through put() (as storage reloads it) has the same index.
    again = IdentityStore(store.retention)
    for held in store.current.values():
        again.put(HeldIdentity(held.identity_info, held.change_info, held.stored_at,
                               held.erased_at))
    _check(again)
    assert {k: again.by_four_items(k) for k in _scan(store)} == _scan(store)
