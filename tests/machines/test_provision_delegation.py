"""The provider in memory: the centre acting on a prefecture's delegation (Art.
30-10(1), spec/provision.md section 6) and a suspended body (spec/suspension.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from conftest import NOW

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.samples import AWAY, HOME
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.common import Inbound, counter_ids, sends
from juki_protocol.machines.memory_store import IdentityStore
from juki_protocol.machines.provision import Provider
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

OSAKA_PREF, TOKYO_PREF = prefecture_of(HOME), prefecture_of(AWAY)
OSAKA = generate_households(2, "delegation", municipalities=[HOME])[0].members
TOKYO = generate_households(2, "delegation-tokyo", municipalities=[AWAY])[0].members
AGENCY = RequestingBody(kind=BodyKind.AGENCY, code="AG0001")
OWN_MUNI = RequestingBody(kind=BodyKind.MUNICIPALITY, code=HOME)
OTHER_MUNI = RequestingBody(kind=BodyKind.MUNICIPALITY, code=AWAY)
OTHER_PREF = RequestingBody(kind=BodyKind.PREFECTURE, code=TOKYO_PREF)
LOCAL = "L-JUMIN-KAKUNIN"


def _store() -> IdentityStore:
    store = IdentityStore(retention=dt.timedelta(days=365))
    seq = {HOME: 0, AWAY: 0}
    for p in [*OSAKA, *TOKYO]:
        muni = p.address.local_gov_code
        seq[muni] += 1
        store.apply(IdentityInfoUpdate(
            municipality=muni, update_sequence=seq[muni], operation=UpdateOperation.RECORD,
            identity_info=p.identity_info(Profile.CURRENT),
            change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                   change_date=p.birth_date)), NOW)
    return store


def centre(suspended: set[str] | None = None) -> Provider:
    return Provider("DC01", _store(), operators={c: {"op-1"} for c in (
        "AG0001", HOME, AWAY, TOKYO_PREF)}, delegations=[OSAKA_PREF],
        local_purposes={BodyKind.MUNICIPALITY: {LOCAL}, BodyKind.PREFECTURE: {LOCAL}},
        suspended=suspended if suspended is not None else set(), ids=counter_ids())


def request(body: RequestingBody, basis: LegalBasis, delegator: str | None = OSAKA_PREF,
            purpose: str | None = None) -> ProvisionRequest:
    return ProvisionRequest(
        requester=body, legal_basis=basis, operator_id="op-1",
        purpose_code=purpose or ("S1-KENCHIKUSHI" if body is AGENCY else LOCAL),
        by_resident_code=tuple(p.resident_code for p in [*OSAKA, *TOKYO]),
        delegating_prefecture=delegator)


def answer(p: Provider, req: ProvisionRequest) -> ProvisionResponse:
    got = [s.message for s in sends(p.receive(Inbound(
        message=req, message_id=bytes([len(p.answered)]) * 16,
        sender=req.requester.code), NOW)) if isinstance(s.message, ProvisionResponse)]
    assert len(got) == 1
    return got[0]


def test_a_delegated_request_provides_only_the_delegating_prefectures_residents() -> None:
    p = centre()
    got = answer(p, request(AGENCY, LegalBasis.DELEGATED_TO_AGENCY))
    assert got.provided is not None
    assert [x.identity_info.resident_code for x in got.provided] == \
        [x.resident_code for x in OSAKA]                          # R-30-10-1-05
    own = answer(p, request(AGENCY, LegalBasis.CENTER_TO_AGENCY, None))
    assert own.provided is not None and len(own.provided) == len(OSAKA) + len(TOKYO)
    # R-30-10-1-06: the log names the delegating prefecture, and only there.
    assert [r.delegating_prefecture for r in p.log.records] == [OSAKA_PREF, None]


def test_a_prefecture_that_did_not_delegate_is_refused() -> None:
    got = answer(centre(), request(AGENCY, LegalBasis.DELEGATED_TO_AGENCY, TOKYO_PREF))
    assert got.refusal is ProvisionRefusal.LEGAL_BASIS_MISMATCH      # R-30-10-1-03


@pytest.mark.parametrize("body, basis, fits", [
    (OWN_MUNI, LegalBasis.DELEGATED_TO_OWN_MUNICIPALITY, True),
    (OTHER_MUNI, LegalBasis.DELEGATED_TO_OWN_MUNICIPALITY, False),
    (OTHER_MUNI, LegalBasis.DELEGATED_TO_OTHER_MUNICIPALITY, True),
    (OWN_MUNI, LegalBasis.DELEGATED_TO_OTHER_MUNICIPALITY, False),
    (OTHER_PREF, LegalBasis.DELEGATED_TO_OTHER_PREFECTURE, True),
])
def test_the_delegating_prefectures_rules_apply(body: RequestingBody, basis: LegalBasis,
                                                 fits: bool) -> None:
    got = answer(centre(), request(body, basis))                    # R-30-10-1-04
    assert (got.refusal is None) is fits, got
    if not fits:
        assert got.refusal is ProvisionRefusal.LEGAL_BASIS_MISMATCH


def test_the_delegating_prefecture_itself_is_not_another_prefecture() -> None:
    own = RequestingBody(kind=BodyKind.PREFECTURE, code=OSAKA_PREF)
    got = answer(centre(), request(own, LegalBasis.DELEGATED_TO_OTHER_PREFECTURE))
    assert got.refusal is ProvisionRefusal.LEGAL_BASIS_MISMATCH


def test_a_prefecture_never_serves_a_delegated_basis() -> None:
    p = Provider(OSAKA_PREF, _store(), operators={"AG0001": {"op-1"}},
                 delegations=[OSAKA_PREF], ids=counter_ids())
    assert p.delegations == frozenset()
    got = answer(p, request(AGENCY, LegalBasis.DELEGATED_TO_AGENCY))
    assert got.refusal is ProvisionRefusal.LEGAL_BASIS_MISMATCH      # R-30-10-1-02


def test_a_delegated_agency_purpose_must_list_the_prefectures_basis() -> None:
    # S1-KENCHIKUSHI lists prefToAgency: served. An AG0002 purpose: not AG0001's.
    assert answer(centre(), request(AGENCY, LegalBasis.DELEGATED_TO_AGENCY)).provided
    got = answer(centre(), request(AGENCY, LegalBasis.DELEGATED_TO_AGENCY,
                                   purpose="S1-ONKYU"))
    assert got.refusal is ProvisionRefusal.PURPOSE_NOT_ALLOWED


@pytest.mark.parametrize("basis, delegator, code", [
    (LegalBasis.DELEGATED_TO_AGENCY, None, ErrorCode.INVALID_FIELD),
    (LegalBasis.CENTER_TO_AGENCY, OSAKA_PREF, ErrorCode.INVALID_FIELD),
    (LegalBasis.DELEGATED_TO_AGENCY, HOME, ErrorCode.INVALID_FIELD),
    (LegalBasis.DELEGATED_TO_AGENCY, "270009", ErrorCode.INVALID_LOCAL_GOV_CODE),
])
def test_the_delegating_prefecture_exactly_with_a_delegated_basis(
        basis: LegalBasis, delegator: str | None, code: ErrorCode) -> None:
    with pytest.raises(JukiError) as exc:                           # R-30-10-1-01
        request(AGENCY, basis, delegator)
    assert exc.value.error_code is code
    assert exc.value.field == "delegating_prefecture"


def test_each_delegated_basis_performs_a_prefectures_basis() -> None:
    pairs = {b: b.performs for b in LegalBasis if b.performs is not None}
    assert pairs == {LegalBasis.DELEGATED_TO_AGENCY: LegalBasis.PREF_TO_AGENCY,
                     LegalBasis.DELEGATED_TO_OWN_MUNICIPALITY:
                         LegalBasis.PREF_TO_OWN_MUNICIPALITY,
                     LegalBasis.DELEGATED_TO_OTHER_PREFECTURE:
                         LegalBasis.PREF_TO_OTHER_PREFECTURE,
                     LegalBasis.DELEGATED_TO_OTHER_MUNICIPALITY:
                         LegalBasis.PREF_TO_OTHER_MUNICIPALITY}
    assert all(b.by_center and b.body_kinds == b.performs.body_kinds for b in pairs)


# spec/suspension.md ------------------------------------------------------------------------

def test_a_suspended_body_is_refused_first_and_served_once_resumed() -> None:
    suspended = {"AG0001"}
    p = centre(suspended)
    # R-SUSP-01: before the purpose and the legal basis, which would refuse otherwise.
    got = answer(p, request(AGENCY, LegalBasis.DELEGATED_TO_AGENCY, purpose="S1-ONKYU"))
    assert got.refusal is ProvisionRefusal.SUSPENDED
    assert got.refusal.error_code is ErrorCode.PROVISION_SUSPENDED
    assert p.log.records[-1].outcome == "suspended" and not p.log.records[-1].resident_keys
    # Another body is not concerned.
    assert answer(p, request(OWN_MUNI, LegalBasis.DELEGATED_TO_OWN_MUNICIPALITY)).provided
    suspended.clear()                                                # R-SUSP-02
    assert answer(p, request(AGENCY, LegalBasis.DELEGATED_TO_AGENCY)).provided


def test_an_unknown_body_is_refused_as_unknown_even_if_listed_as_suspended() -> None:
    stranger = RequestingBody(kind=BodyKind.AGENCY, code="AG9999")
    got = answer(centre({"AG9999"}), dataclasses.replace(
        request(AGENCY, LegalBasis.CENTER_TO_AGENCY, None), requester=stranger))
    assert got.refusal is ProvisionRefusal.UNKNOWN_BODY
