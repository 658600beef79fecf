"""Foreign residents (外国人住民, Art. 30-45): the schema, the messages, the generator, the
vectors and the special move of a foreign household (R-30-45-0-01 to R-30-45-0-03, and
the recording of spec/foreign_residents.md section 3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.samples import AWAY, FOREIGN_TYPES, HOME, foreign_samples
from juki_protocol.fixtures.synth import generate_households, generate_residents
from juki_protocol.machines.card import IdentityCheck
from juki_protocol.machines.common import Inbound, Send, counter_ids, sends
from juki_protocol.machines.special_move import AnnotatedMoveOut, MoveOutDesk
from juki_protocol.machines.special_move_in import SpecialMoveInCounter
from juki_protocol.machines.stores import Register
from juki_protocol.messages import (
    ForeignResident,
    ForeignResidentCategory,
    MoveOutCertificate,
    Profile,
    WideAreaIssuanceResponse,
)
from juki_protocol.messages.common import Address
from juki_protocol.messages.special_move import FamilyRegister, SpecialMoveInNotice
from juki_protocol.messages.wide_area import IdentityCheckMethod

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
MID = ForeignResidentCategory.MID_TO_LONG_TERM_RESIDENT


def items(**kw: object) -> ForeignResident:
    base: dict[str, object] = dict(
        nationality="ベトナム", foreign_resident_since=dt.date(2024, 4, 1), category=MID,
        residence_status="技術・人文知識・国際業務", period_of_stay="3年",
        period_expiry=dt.date(2027, 3, 31), card_number="AB12345678CD")
    base.update(kw)
    return ForeignResident(**base)  # type: ignore[arg-type]


def code_of(fn: object) -> ErrorCode:
    with pytest.raises(JukiError) as exc:
        fn()  # type: ignore[operator]
    return exc.value.error_code


# The items of each category (R-30-45-0-02) -------------------------------------------

def test_mid_to_long_term_resident_needs_a_status() -> None:
    assert code_of(lambda: items(residence_status=None)) is ErrorCode.INVALID_FIELD


def test_permanent_resident_has_no_period() -> None:
    perm = items(residence_status="永住者", period_of_stay=None, period_expiry=None)
    assert perm.period_of_stay is None
    assert code_of(lambda: items(period_expiry=None)) is ErrorCode.INVALID_FIELD


@pytest.mark.parametrize("field", ["residence_status", "period_of_stay"])
def test_special_permanent_resident_carries_only_the_certificate_number(field: str) -> None:
    special: dict[str, object] = dict(
        category=ForeignResidentCategory.SPECIAL_PERMANENT_RESIDENT,
        residence_status=None, period_of_stay=None, period_expiry=None)
    assert items(**special).card_number == "AB12345678CD"
    special[field] = "永住者" if field == "residence_status" else "3年"
    if field == "period_of_stay":
        special["period_expiry"] = dt.date(2027, 3, 31)
    assert code_of(lambda: items(**special)) is ErrorCode.INVALID_FIELD


def test_transitional_and_refuge_categories() -> None:
    none = dict(residence_status=None, period_of_stay=None, period_expiry=None,
                card_number=None)
    items(category=ForeignResidentCategory.TRANSITIONAL_BY_BIRTH, **none)
    assert code_of(lambda: items(category=ForeignResidentCategory.TEMPORARY_REFUGE,
                                 **none)) is ErrorCode.INVALID_FIELD
    items(category=ForeignResidentCategory.PROVISIONAL_STAY, residence_status=None,
          card_number=None)


@pytest.mark.parametrize("number", ["123456789012", "ab12345678cd", "AB1234567CD"])
def test_card_number_format(number: str) -> None:
    assert code_of(lambda: items(card_number=number)) is ErrorCode.INVALID_FIELD


# Messages (R-30-45-0-01, R-30-45-0-03) ---------------------------------------------

def certificate() -> MoveOutCertificate:
    msg = foreign_samples("MoveOutCertificate", "t")[0].message
    assert isinstance(msg, MoveOutCertificate)
    return msg


def test_certificate_of_a_foreign_household_round_trips() -> None:
    msg = certificate()
    assert all(e.family_register is None and e.foreign_resident is not None
               for e in msg.entries)
    der = codec.encode(msg, Profile.CURRENT)
    assert codec.decode(der, "MoveOutCertificate", Profile.CURRENT) == msg
    assert codec.from_json_text("MoveOutCertificate", codec.dumps(msg)) == msg


def test_certificate_entry_needs_exactly_one_of_register_and_items() -> None:
    entry = certificate().entries[0]
    register = FamilyRegister(permanent_domicile="大阪府大阪市北区中之島一丁目3番",
                              head_name="山田　太郎")
    assert code_of(lambda: dataclasses.replace(entry, family_register=register)) \
        is ErrorCode.INVALID_FIELD
    assert code_of(lambda: dataclasses.replace(entry, foreign_resident=None)) \
        is ErrorCode.INVALID_FIELD


def test_japanese_entries_encode_as_before() -> None:
    """Every certificate of Japanese nationals keeps its bytes: the checked-in vectors
    of the earlier groups decode and re-encode exactly (no familyRegister change)."""
    doc = json.loads((ROOT / "vectors/codec_move_out_certificate.json").read_text("utf-8"))
    maximal = next(t for t in doc["testGroups"][0]["tests"] if "Maximal" in t["flags"])
    msg = codec.decode(bytes.fromhex(maximal["der"]), "MoveOutCertificate", Profile.CURRENT)
    assert all(e.family_register is not None and e.foreign_resident is None
               for e in msg.entries)
    assert codec.encode(msg, Profile.CURRENT).hex() == maximal["der"]


def test_wide_area_copy_omits_the_card_number_and_dates_from_30_45() -> None:
    msg = foreign_samples("WideAreaIssuanceResponse", "t")[0].message
    assert isinstance(msg, WideAreaIssuanceResponse) and msg.copies is not None
    copy = msg.copies[0]
    assert copy.foreign_resident is not None and copy.foreign_resident.card_number is None
    assert copy.foreign_resident.foreign_resident_since == copy.resident_since
    with_card = dataclasses.replace(copy.foreign_resident, card_number="AB12345678CD")
    assert code_of(lambda: dataclasses.replace(copy, foreign_resident=with_card)) \
        is ErrorCode.INVALID_FIELD


@pytest.mark.parametrize("type_name", FOREIGN_TYPES)
def test_vectors_hold_valid_and_invalid_foreign_cases(type_name: str) -> None:
    from juki_protocol.tools.vectors.codec_vectors import file_name

    doc = json.loads((ROOT / "vectors" / file_name(type_name)).read_text("utf-8"))
    tests = [t for g in doc["testGroups"] for t in g["tests"]
             if "ForeignResident" in t["flags"]]
    assert {t["result"] for t in tests} == {"valid", "invalid"}
    for t in tests:
        data = bytes.fromhex(t["der"])
        if t["result"] == "valid":
            assert codec.to_json(codec.decode(data, type_name)) == t["value"]
        else:
            with pytest.raises(JukiError) as exc:
                codec.decode(data, type_name)
            assert int(exc.value.error_code) == t["errorCode"] == 1024


# The generator ------------------------------------------------------------------------

def test_default_share_keeps_every_resident_japanese() -> None:
    people = generate_residents(300, "fr")
    assert all(p.foreign_resident is None and p.family_register is not None
               for p in people)
    assert "foreign_resident" not in people[0].to_json()


def test_share_gives_foreign_residents_deterministically() -> None:
    a = generate_households(200, "fr", foreign_share=0.2)
    b = generate_households(200, "fr", foreign_share=0.2)
    assert a == b
    foreign = [m for h in a for m in h.members if m.foreign_resident is not None]
    share = sum(h.head.foreign_resident is not None for h in a) / len(a)
    assert 0.1 < share < 0.3 and foreign
    for m in foreign:
        assert m.family_register is None
        assert m.foreign_resident is not None
        assert m.foreign_resident.foreign_resident_since == m.resident_since
        assert m.to_json()["family_register"] is None
    codes = [m.foreign_resident.card_number for m in foreign
             if m.foreign_resident is not None and m.foreign_resident.card_number]
    assert len(codes) == len(set(codes))


def test_share_is_checked() -> None:
    with pytest.raises(ValueError):
        generate_residents(1, "fr", foreign_share=1.5)
    with pytest.raises(ValueError):
        generate_residents(1, "fr", foreign_share=0.5, today=dt.date(2010, 1, 1))
    with pytest.raises(TypeError):
        generate_residents(1, "fr", foreign_share="0.5")  # type: ignore[arg-type]


# The special move of a foreign household (spec/foreign_residents.md section 3) --------

def to(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def test_special_move_of_a_foreign_household() -> None:
    homes = generate_households(10, "fr-move", municipalities=[HOME], foreign_share=1.0)
    family = max(homes, key=lambda h: len(h.members)).members
    register = Register(HOME, [m for h in homes for m in h.members])
    new_address = Address(local_gov_code=AWAY, text="東京都千代田区千代田一丁目1番1号")
    moved = NOW.date() - dt.timedelta(days=3)
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(AnnotatedMoveOut(
        movers=tuple(p.resident_code for p in family), destination=new_address,
        planned_move_date=moved), NOW)
    new_register = Register(AWAY)
    counter = SpecialMoveInCounter(AWAY, register=new_register, ids=counter_ids(2))
    counter.identify(IdentityCheck(method=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN,
                                   confirmed=True, resident_code=family[0].resident_code), NOW)
    (sent,) = sends(counter.submit(SpecialMoveInNotice(
        new_municipality=AWAY, former_municipality=HOME,
        movers=tuple(p.person_ref() for p in family), moved_date=moved,
        move_in_filed_date=NOW.date(), new_address=new_address), NOW))
    ack, cert = sends(desk.receive(to(sent, AWAY), NOW))
    assert isinstance(cert.message, MoveOutCertificate)
    # The certificate crosses the wire: encode it as a node would.
    wire = codec.decode(codec.encode(cert.message, Profile.CURRENT), "MoveOutCertificate")
    assert [e.foreign_resident for e in wire.entries] == [m.foreign_resident for m in family]
    counter.receive(to(ack, HOME), NOW)
    counter.receive(to(cert, HOME), NOW)
    for m in family:
        rec = new_register.get(m.resident_code)
        assert rec.family_register is None and rec.foreign_resident is not None
        assert rec.foreign_resident.nationality == m.foreign_resident.nationality  # type: ignore[union-attr]
        assert rec.foreign_resident.foreign_resident_since == moved
