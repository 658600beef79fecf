"""Identifier check digits, validation errors and generators."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from juki_protocol import identifiers as ids
from juki_protocol.errors import ErrorCode, ValidationError
from juki_protocol.fixtures.synth import new_local_gov_code
from juki_protocol.prefectures import prefecture_name

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def _remainder(body: str) -> int:
    """Independent restatement of the mod-11 sum (P1 rightmost, Qn as DESIGN.md 4)."""
    total = 0
    for n, ch in enumerate(reversed(body), start=1):
        q = n + 1 if n <= 6 else n - 5
        total += int(ch) * q
    return total % 11


def _lg_remainder(body: str) -> int:
    return sum(int(d) * w for d, w in zip(body, (6, 5, 4, 3, 2), strict=True)) % 11


@pytest.mark.parametrize("code", ["12345678903", "24727059608"])
def test_published_resident_codes(code: str) -> None:
    assert ids.validate_resident_code(code) == code
    assert ids.resident_code_check_digit(code[:10]) == int(code[10])


@pytest.mark.parametrize("code", ["271004", "131016", "130001", "010006"])
def test_published_local_gov_codes(code: str) -> None:
    assert ids.validate_local_gov_code(code) == code


def test_weights_match_design() -> None:
    assert ids._mod11_weights(10) == [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    assert ids._mod11_weights(11) == [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_resident_check_digit_formula(body: str) -> None:
    r = _remainder(body)
    assert ids.resident_code_check_digit(body) == (0 if r <= 1 else 11 - r)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_individual_number_check_digit_formula(body: str) -> None:
    r = _remainder(body)
    assert ids.individual_number_check_digit(body) == (0 if r <= 1 else 11 - r)


@given(st.randoms(use_true_random=False), st.integers(0, 10), st.integers(1, 9))
def test_resident_code_single_digit_changes(rng: random.Random, pos: int, delta: int) -> None:
    """Every single-digit change is caught, except one that moves the remainder
    between 0 and 1 (both give check digit 0): the documented blind spot."""
    code = ids.new_resident_code(rng)
    changed = code[:pos] + str((int(code[pos]) + delta) % 10) + code[pos + 1:]
    if pos == 10:
        with pytest.raises(ValidationError):
            ids.validate_resident_code(changed)
        return
    blind = {_remainder(code[:10]), _remainder(changed[:10])} == {0, 1}
    if blind:
        assert ids.validate_resident_code(changed) == changed
    else:
        with pytest.raises(ValidationError) as exc:
            ids.validate_resident_code(changed)
        assert exc.value.error_code is ErrorCode.INVALID_RESIDENT_CODE


def test_resident_code_blind_spot_exists() -> None:
    """The blind spot is real: find a caught-by-nobody change and show it passes."""
    rng = random.Random(7)
    for _ in range(10_000):
        code = ids.new_resident_code(rng)
        for pos in range(10):
            for d in range(10):
                changed = code[:pos] + str(d) + code[pos + 1:]
                if changed != code and {_remainder(code[:10]),
                                        _remainder(changed[:10])} == {0, 1}:
                    assert ids.validate_resident_code(changed) == changed
                    return
    pytest.fail("no blind-spot example found")


@given(st.randoms(use_true_random=False), st.integers(0, 11), st.integers(1, 9))
def test_individual_number_single_digit_changes(rng: random.Random, pos: int,
                                                delta: int) -> None:
    code = ids.new_individual_number(rng)
    changed = code[:pos] + str((int(code[pos]) + delta) % 10) + code[pos + 1:]
    blind = pos < 11 and {_remainder(code[:11]), _remainder(changed[:11])} == {0, 1}
    if blind:
        assert ids.validate_individual_number(changed) == changed
    else:
        with pytest.raises(ValidationError) as exc:
            ids.validate_individual_number(changed)
        assert exc.value.error_code is ErrorCode.INVALID_INDIVIDUAL_NUMBER


@given(st.randoms(use_true_random=False), st.integers(0, 5), st.integers(1, 9))
def test_local_gov_code_single_digit_changes(rng: random.Random, pos: int, delta: int) -> None:
    """Caught unless the weighted sum's remainder moves between 0 and 10 (both give 1),
    or the change leaves the prefecture range 01..47 (then caught by that rule)."""
    code = new_local_gov_code(rng)
    changed = code[:pos] + str((int(code[pos]) + delta) % 10) + code[pos + 1:]
    blind = pos < 5 and {_lg_remainder(code[:5]), _lg_remainder(changed[:5])} == {0, 10}
    if blind and 1 <= int(changed[:2]) <= 47:
        assert ids.validate_local_gov_code(changed) == changed
    else:
        with pytest.raises(ValidationError) as exc:
            ids.validate_local_gov_code(changed)
        assert exc.value.error_code is ErrorCode.INVALID_LOCAL_GOV_CODE


@pytest.mark.parametrize(("value", "fragment"), [
    ("1234567890", "exactly 11 ASCII digits"),
    ("123456789012", "exactly 11 ASCII digits"),
    ("1234567890a", "exactly 11 ASCII digits"),
    ("１２３４５６７８９０３", "exactly 11 ASCII digits"),
    ("12345678904", "check digit is 4"),
])
def test_resident_code_errors_name_field_and_rule(value: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as exc:
        ids.validate_resident_code(value, "targets[0].resident_code")
    assert exc.value.field == "targets[0].resident_code"
    assert fragment in str(exc.value)
    assert value not in str(exc.value)  # codes are personal data: never echoed


def test_non_string_rejected() -> None:
    with pytest.raises(ValidationError, match="must be a string"):
        ids.validate_resident_code(12345678903)


def test_local_gov_code_prefecture_range() -> None:
    body = "48100"
    code = body + str(ids.local_gov_code_check_digit(body))
    with pytest.raises(ValidationError, match=r"01\.\.47"):
        ids.validate_local_gov_code(code)


@pytest.mark.parametrize(("muni", "pref", "name"), [
    ("271004", "270008", "大阪府"), ("131016", "130001", "東京都"),
    ("011002", "010006", "北海道"),
])
def test_prefecture_of(muni: str, pref: str, name: str) -> None:
    assert ids.prefecture_of(muni) == pref
    assert prefecture_name(muni) == name
    assert ids.is_prefecture_code(pref) and not ids.is_prefecture_code(muni)


def test_generators_deterministic_and_valid() -> None:
    a = [ids.new_resident_code(random.Random(1)) for _ in range(3)]
    b = [ids.new_resident_code(random.Random(1)) for _ in range(3)]
    assert a == b
    rng = random.Random(2)
    for _ in range(500):
        ids.validate_resident_code(ids.new_resident_code(rng))
        ids.validate_individual_number(ids.new_individual_number(rng))
        ids.validate_local_gov_code(new_local_gov_code(rng))


@pytest.mark.parametrize(("role", "node_id", "ok"), [
    (ids.Role.MUNICIPALITY, "271004", True),
    (ids.Role.MUNICIPALITY, "270008", False),
    (ids.Role.PREFECTURE, "270008", True),
    (ids.Role.PREFECTURE, "271004", False),
    (ids.Role.NATIONAL, "DC01", True),
    (ids.Role.NATIONAL, "DC1", False),
    (ids.Role.AGENCY, "AG0001", True),
    (ids.Role.AGENCY, "AG01", False),
    (ids.Role.MUNICIPALITY, "271005", False),
])
def test_node_ids(role: ids.Role, node_id: str, ok: bool) -> None:
    if ok:
        assert ids.validate_node_id(role, node_id) == node_id
    else:
        with pytest.raises(ValidationError) as exc:
            ids.validate_node_id(role, node_id)
        assert exc.value.error_code is ErrorCode.INVALID_NODE_ID


def test_mask() -> None:
    assert ids.mask("12345678903") == "12*********"
    assert ids.mask("山田") == "**"
