"""The synthetic resident generator (juki_protocol.fixtures.synth) and its tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from juki_protocol.errors import ValidationError
from juki_protocol.fixtures.synth import (
    MUNICIPALITIES,
    RELATIONSHIPS,
    Household,
    SyntheticResident,
    _after_birth,
    _before,
    generate_households,
    generate_residents,
    iter_households,
)
from juki_protocol.fixtures.synth_data import (
    FAMILY_NAMES,
    FEMALE_GIVEN_NAMES,
    MALE_GIVEN_NAMES,
    MUNICIPALITY_TABLE,
)
from juki_protocol.identifiers import (
    validate_individual_number,
    validate_local_gov_code,
    validate_resident_code,
)
from juki_protocol.messages.base import from_form
from juki_protocol.messages.common import Address, PersonName, Profile, Sex
from juki_protocol.messages.special_move import FamilyRegister
from juki_protocol.prefectures import PREFECTURES, prefecture_name

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 4, 1)
KATAKANA = re.compile(r"[\u30A1-\u30FA\u30FC]+\Z")
ANCHORS = {
    "271004": "大阪市", "131016": "千代田区", "011002": "札幌市", "141003": "横浜市",
    "231002": "名古屋市", "261009": "京都市", "281000": "神戸市", "401307": "福岡市",
}
FAMILY_KANA = {k: r for k, r, _ in FAMILY_NAMES}


def age(birth: dt.date, on: dt.date) -> int:
    """Completed years, written independently of the generator."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def digest(residents: list[SyntheticResident]) -> str:
    blob = json.dumps([r.to_json() for r in residents], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def family_name(r: SyntheticResident) -> str:
    return r.name.kanji.split("\u3000")[0]


@pytest.fixture(scope="module")
def batch() -> list[Household]:
    return generate_households(2_000, 20260401)


# Tables -----------------------------------------------------------------------------------

def test_municipality_table_codes_and_prefectures() -> None:
    assert len(MUNICIPALITY_TABLE) >= 30
    assert len({m.prefecture for m in MUNICIPALITY_TABLE}) >= 10
    codes = [m.code for m in MUNICIPALITY_TABLE]
    assert len(set(codes)) == len(codes)
    for m in MUNICIPALITY_TABLE:
        d = [int(c) for c in m.code5]
        check = (11 - sum(x * w for x, w in zip(d, (6, 5, 4, 3, 2), strict=True)) % 11) % 10
        assert m.code == m.code5 + str(check), m.city
        validate_local_gov_code(m.code)
        assert m.code[2:5] != "000", f"{m.code} is a prefecture's own code"
        assert prefecture_name(m.code) == m.prefecture, m.code
        assert len(m.towns) >= 3 and len({t for t, _ in m.towns}) == len(m.towns)
        assert all(chome >= 0 for _, chome in m.towns)
        assert m.weight > 0
    for code, city in ANCHORS.items():
        assert MUNICIPALITIES[code].city == city


def test_name_tables() -> None:
    assert len(FAMILY_NAMES) >= 100
    assert len(MALE_GIVEN_NAMES) >= 60 and len(FEMALE_GIVEN_NAMES) >= 60
    for table in (FAMILY_NAMES, MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES):
        kanji = [row[0] for row in table]
        assert len(set(kanji)) == len(kanji)
        assert all(KATAKANA.match(row[1]) for row in table)
    for table in (MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES):
        for era in "0123":
            assert sum(era in eras for _, _, eras in table) >= 10, era
    weights = [w for _, _, w in FAMILY_NAMES]
    assert weights[0] > 10 * min(weights)


def test_common_family_names_are_more_frequent() -> None:
    heads = [h.head for h in generate_households(5_000, "frequency")]
    counts = Counter(family_name(r) for r in heads)
    top = sum(counts[k] for k, _, _ in FAMILY_NAMES[:5])
    bottom = sum(counts[k] for k, _, _ in FAMILY_NAMES[-5:])
    assert top > 8 * bottom
    assert counts.most_common(1)[0][0] in {k for k, _, _ in FAMILY_NAMES[:5]}
    assert len(counts) >= 100


# Determinism ------------------------------------------------------------------------------

def test_same_seed_same_output_and_different_seed_differs() -> None:
    a = [r.to_json() for r in generate_residents(300, 42)]
    b = [r.to_json() for r in generate_residents(300, 42)]
    c = [r.to_json() for r in generate_residents(300, 43)]
    s = [r.to_json() for r in generate_residents(300, "42")]
    assert a == b
    assert a != c and a != s
    assert [r.to_json() for r in generate_residents(300, "42")] == s


_SCRIPT = """
import hashlib, json, sys
from juki_protocol.fixtures.synth import generate_residents
seed = sys.argv[1]
rs = generate_residents(400, int(seed) if seed.isdigit() else seed)
blob = json.dumps([r.to_json() for r in rs], ensure_ascii=False, sort_keys=True)
print(hashlib.sha256(blob.encode()).hexdigest())
"""


@pytest.mark.parametrize("seed", [7, "hash-seed-test"])
def test_stable_across_processes_and_hash_seeds(seed: int | str) -> None:
    here = digest(generate_residents(400, seed))
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        out = subprocess.run([sys.executable, "-c", _SCRIPT, str(seed)], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True, timeout=60)
        assert out.stdout.strip() == here, f"PYTHONHASHSEED={hash_seed}"


# Changing the tables or the drawing order changes this digest. That is allowed, but it
# must be deliberate: it changes every fixture and vector generated from a seed.
PINNED = "cba68b66f290ccd607ec6ef3ce53a424c7622ea2e1114dc9a1793938b79a88b5"


def test_pinned_output() -> None:
    assert digest(generate_residents(200, 2026)) == PINNED


def test_households_are_a_stream() -> None:
    hs = generate_households(40, 5)
    assert generate_households(25, 5) == hs[:25]
    stream = iter_households(5)
    assert [next(stream) for _ in range(40)] == hs
    flat = [m for h in hs for m in h.members]
    assert generate_residents(len(flat), 5) == flat
    assert generate_residents(len(flat) - 1, 5) == flat[:-1]


@settings(max_examples=25, deadline=None)
@given(count=st.integers(0, 80), seed=st.one_of(st.integers(0, 2**64), st.text(max_size=12)))
def test_exact_count_and_prefix(count: int, seed: int | str) -> None:
    rs = generate_residents(count, seed)
    assert len(rs) == count
    assert generate_residents(count // 2, seed) == rs[:count // 2]
    assert all(r.status == "current" for r in rs)


# Codes and message values -----------------------------------------------------------------

def _mod11(digits: str) -> int:
    weights = [n + 1 if n <= 6 else n - 5 for n in range(len(digits), 0, -1)]
    r = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if r <= 1 else 11 - r


def test_codes_valid_and_unique_over_5000() -> None:
    rs = generate_residents(5_000, 99)
    assert len(rs) == 5_000
    for r in rs:
        validate_resident_code(r.resident_code)
        validate_individual_number(r.individual_number)
        assert int(r.resident_code[10]) == _mod11(r.resident_code[:10])
        assert int(r.individual_number[11]) == _mod11(r.individual_number[:11])
    assert len({r.resident_code for r in rs}) == 5_000
    assert len({r.individual_number for r in rs}) == 5_000


def test_message_values_construct_in_both_profiles() -> None:
    for r in generate_residents(1_000, "profiles"):
        old = r.identity_info(Profile.P2002)
        new = r.identity_info(Profile.CURRENT)
        assert old.individual_number is None
        assert new.individual_number == r.individual_number
        assert old.resident_code == new.resident_code == r.resident_code
        assert (new.name, new.birth_date, new.sex, new.address) == \
            (r.name, r.birth_date, r.sex, r.address)
        ref = r.person_ref()
        assert (ref.resident_code, ref.name, ref.birth_date) == \
            (r.resident_code, r.name, r.birth_date)
        copy = r.record_copy(include_relationship=True)
        assert copy.relationship == r.relationship and copy.resident_code is None
        assert copy.address_notification.previous_address == r.previous_address


def test_to_json_is_json_and_round_trips() -> None:
    keys = {"resident_code", "individual_number", "name", "birth_date", "sex", "address",
            "household_id", "relationship", "resident_since", "address_notification_date",
            "previous_address", "family_register", "status"}
    for r in generate_residents(300, "json"):
        data = json.loads(json.dumps(r.to_json(), ensure_ascii=False))
        assert set(data) == keys
        assert dt.date.fromisoformat(data["birth_date"]) == r.birth_date
        assert dt.date.fromisoformat(data["resident_since"]) == r.resident_since
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["address_notification_date"])
        assert data["sex"] in ("male", "female")
        assert from_form(PersonName, data["name"], json=True) == r.name
        assert from_form(Address, data["address"], json=True) == r.address
        assert from_form(FamilyRegister, data["family_register"], json=True) == \
            r.family_register
        prev = data["previous_address"]
        assert (prev is None) == (r.previous_address is None)
        if prev is not None:
            assert from_form(Address, prev, json=True) == r.previous_address


def test_names_kanji_and_kana(batch: list[Household]) -> None:
    for h in batch:
        for r in h.members:
            family, given_ = r.name.kanji.split("\u3000")
            assert r.name.kana is not None
            kana_family, kana_given = r.name.kana.split("\u3000")
            assert family and given_
            assert KATAKANA.match(kana_family) and KATAKANA.match(kana_given)
            assert FAMILY_KANA[family] == kana_family


def test_addresses_are_written_in_full(batch: list[Household]) -> None:
    shape = re.compile(r"(?P<town>.+?)(?:[一二三四五六七八九十]+丁目\d+番\d+号|\d+番地\d*)"
                       r"(?:\u3000\S+\d+号室)?\Z")
    for h in batch:
        for r in h.members:
            for a in (r.address, r.previous_address):
                if a is None:
                    continue
                m = MUNICIPALITIES[a.local_gov_code]
                head = m.prefecture + m.city
                assert a.text.startswith(head), a.text
                match = shape.match(a.text[len(head):])
                assert match, a.text
                assert match["town"] in {t for t, _ in m.towns}, a.text
            assert r.family_register.permanent_domicile.startswith(PREFECTURES)


def test_date_helpers_agree_with_completed_years() -> None:
    # 29 February births are rare in samples, so the helpers are checked day by day.
    start = dt.date(1999, 12, 1)
    for offset in range(1_200):
        day = start + dt.timedelta(days=offset)
        for years in (1, 3, 4, 18, 45, 100):
            turns = _after_birth(day, years)
            assert age(day, turns) == years and age(day, turns - dt.timedelta(1)) == years - 1
            latest = _before(day, years)
            assert age(latest, day) == years
            assert age(latest + dt.timedelta(1), day) == years - 1


# Households -------------------------------------------------------------------------------

def check_household(h: Household, today: dt.date) -> None:
    members = h.members
    head = members[0]
    assert 1 <= len(members) <= 6
    assert head.relationship == "世帯主"
    assert [m.relationship for m in members].count("世帯主") == 1
    assert h.household_id.startswith(head.address.local_gov_code + "-")
    by: dict[str, list[SyntheticResident]] = {}
    for m in members:
        assert m.household_id == h.household_id
        assert m.address == head.address
        assert m.relationship in RELATIONSHIPS
        by.setdefault(m.relationship, []).append(m)
        # Dates of residence.
        assert m.birth_date <= m.resident_since <= m.address_notification_date <= today
        assert (m.address_notification_date - m.resident_since).days <= 14
        assert (m.previous_address is None) == (m.resident_since == m.birth_date)
        if m.previous_address is not None:
            assert m.previous_address.local_gov_code != m.address.local_gov_code
        assert 0 <= age(m.birth_date, today) <= 101
        # Nobody but the locally born is resident before the head's household was.
        assert m.resident_since >= head.resident_since or m.previous_address is None
        # Every member of a register bears its 筆頭者's family name.
        assert m.family_register.head_name.split("\u3000")[0] == family_name(m)
    assert len(by.get("妻", [])) + len(by.get("夫", [])) <= 1
    spouses = by.get("妻", []) + by.get("夫", [])
    for s in spouses:
        assert age(s.birth_date, today) >= 18
        assert s.sex is (Sex.FEMALE if s.relationship == "妻" else Sex.MALE)
        assert head.sex is not s.sex
        assert family_name(s) == family_name(head)
        assert s.family_register == head.family_register
    for c in by.get("子", []):
        for p in [head, *spouses]:
            assert 18 <= age(p.birth_date, c.birth_date) <= 45, (p, c)
        if "子の夫" not in by:
            assert family_name(c) == family_name(head)
    for p in by.get("父", []) + by.get("母", []):
        assert 18 <= age(p.birth_date, head.birth_date) <= 45
        assert p.sex is (Sex.MALE if p.relationship == "父" else Sex.FEMALE)
    in_laws = by.get("子の妻", []) + by.get("子の夫", [])
    for g in by.get("孫", []):
        assert age(head.birth_date, g.birth_date) >= 36
        assert any(18 <= age(c.birth_date, g.birth_date) <= 45 for c in by.get("子", []))
        for s in in_laws:
            assert 18 <= age(s.birth_date, g.birth_date) <= 45
            assert g.family_register == s.family_register
    for x in in_laws + by.get("同居人", []):
        assert age(x.birth_date, today) >= 18


def test_household_invariants(batch: list[Household]) -> None:
    for h in batch:
        check_household(h, TODAY)
    seen = {m.relationship for h in batch for m in h.members}
    assert seen == set(RELATIONSHIPS), "every household shape should occur in 2,000"
    sizes = Counter(len(h.members) for h in batch)
    assert set(sizes) == {1, 2, 3, 4, 5, 6}
    assert 0.25 < sizes[1] / len(batch) < 0.5


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**9),
       today=st.one_of(st.dates(dt.date(1970, 1, 1), dt.date(2199, 12, 31)),
                       st.sampled_from([dt.date(2028, 2, 29), dt.date(1970, 1, 1)])))
# Found in CI on 2026-12-06: a spouse "joined later" before the head, resident since
# birth, was born (the lower bound was the spouse's own birth, not the household's).
@example(seed=844, today=dt.date(2028, 2, 29))
def test_invariants_hold_for_any_today(seed: int, today: dt.date) -> None:
    for h in generate_households(15, seed, today=today):
        check_household(h, today)
        for m in h.members:
            m.identity_info(Profile.CURRENT)


def test_records_validate_themselves() -> None:
    r = generate_residents(1, 1)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.relationship = "子"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        dataclasses.replace(r, resident_since=r.birth_date - dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        dataclasses.replace(r, resident_code=r.resident_code[:10] +
                            str((int(r.resident_code[10]) + 1) % 10))
    with pytest.raises(ValidationError):
        dataclasses.replace(r, status="lost")
    with pytest.raises(ValidationError):
        Household(household_id=r.household_id,
                  members=(dataclasses.replace(r, relationship="子"),))


# Arguments --------------------------------------------------------------------------------

def test_restricted_to_given_municipalities() -> None:
    wanted = ["131016", "261009"]
    hs = generate_households(300, 3, municipalities=wanted)
    used = {m.address.local_gov_code for h in hs for m in h.members}
    assert used == set(wanted)
    # Duplicates change nothing; order does not matter to validity.
    assert generate_households(20, 3, municipalities=wanted + wanted) == hs[:20]


@pytest.mark.parametrize("codes, text", [
    (["271004", "999999"], "999999"),
    (["131017"], "131017"),
    (["472018", "130001"], "130001"),
    ([], "at least one"),
    ("271004", "not one string"),
])
def test_bad_municipalities(codes: list[str], text: str) -> None:
    with pytest.raises(ValueError, match=text):
        generate_residents(5, 1, municipalities=codes)


@pytest.mark.parametrize("count", [-1, 1_000_001, 10**9])
def test_bad_counts(count: int) -> None:
    with pytest.raises(ValueError, match="count"):
        generate_residents(count, 1)
    with pytest.raises(ValueError, match="count"):
        generate_households(count, 1)


def test_bad_types_and_dates() -> None:
    with pytest.raises(TypeError):
        generate_residents("5", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        generate_residents(5, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        generate_residents(5, 1, today=dt.datetime(2026, 4, 1))
    with pytest.raises(ValueError, match="today"):
        generate_residents(5, 1, today=dt.date(1900, 1, 1))
    assert generate_residents(0, 1) == []


def test_ten_thousand_residents_quickly() -> None:
    start = time.perf_counter()
    rs = generate_residents(10_000, "timing")
    elapsed = time.perf_counter() - start
    assert len(rs) == 10_000
    assert elapsed < 3.0, f"10,000 residents took {elapsed:.2f} s"
