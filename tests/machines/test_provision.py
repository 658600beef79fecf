"""Provision of identity info (Arts. 30-7, 30-8, 30-10): provider and client in memory."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from conftest import NOW, households

from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.fixtures.samples import AWAY, HOME
from juki_protocol.fixtures.synth import SyntheticResident
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.common import Inbound, Send, counter_ids, events, sends
from juki_protocol.machines.disclosure_report import yearly_report
from juki_protocol.machines.memory_store import IdentityStore
from juki_protocol.machines.provision import (
    RESPONSE_DEADLINE,
    AnomalyGuard,
    ClientState,
    DisclosureLog,
    Limits,
    Provider,
    ProvisionClient,
)
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.provision import (
    BodyKind,
    FourItems,
    LegalBasis,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)
from juki_protocol.messages.special_move import MoveInNotice

PREF = prefecture_of(HOME)
AGENCY = RequestingBody(kind=BodyKind.AGENCY, code="AG0001")
PEOPLE = [m for h in households() for m in h.members]
KEY = b"k" * 32


def store_of(people: list[SyntheticResident], now: dt.datetime = NOW) -> IdentityStore:
    store = IdentityStore(retention=dt.timedelta(days=365))
    for i, p in enumerate(people):
        store.apply(IdentityInfoUpdate(
            municipality=HOME, update_sequence=i + 1, operation=UpdateOperation.RECORD,
            identity_info=p.identity_info(Profile.CURRENT),
            change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                   change_date=p.birth_date)), now)
    return store


def provider(code: str = PREF, *, limits: Limits | None = None,
             store: IdentityStore | None = None) -> Provider:
    return Provider(code, store if store is not None else store_of(PEOPLE),
                    operators={"AG0001": {"op-1", "op-2"}, "AG0002": {"op-1"},
                               "271004": {"clerk"}, "131016": {"clerk"},
                               "130001": {"clerk"}, PREF: {"clerk"}},
                    local_purposes={BodyKind.MUNICIPALITY: {"M-TAX"},
                                    BodyKind.PREFECTURE: {"P-PENSION"},
                                    BodyKind.PREFECTURE_ORGAN: {"ORD-1"}},
                    guard=AnomalyGuard(limits), log=DisclosureLog(KEY), ids=counter_ids(9))


def request(codes: tuple[str, ...] | None = None, *, body: RequestingBody = AGENCY,
            basis: LegalBasis = LegalBasis.PREF_TO_AGENCY,
            purpose: str = "S1-KENCHIKUSHI", operator: str = "op-1",
            four: FourItems | None = None) -> ProvisionRequest:
    if four is not None:
        return ProvisionRequest(requester=body, legal_basis=basis, purpose_code=purpose,
                                operator_id=operator, by_four_items=four)
    return ProvisionRequest(requester=body, legal_basis=basis, purpose_code=purpose,
                            operator_id=operator,
                            by_resident_code=codes or (PEOPLE[0].resident_code,))


def ask(prov: Provider, req: ProvisionRequest, mid: bytes = b"q" * 16,
        now: dt.datetime = NOW) -> ProvisionResponse:
    ack, resp = sends(prov.receive(Inbound(message=req, message_id=mid,
                                           sender=req.requester.code), now))[:2]
    assert ack.message == Acknowledgement(acknowledged_id=mid, status=AckStatus.ACCEPTED)
    assert resp.correlation_id == mid and isinstance(resp.message, ProvisionResponse)
    return resp.message


def to(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def test_happy_path_by_resident_code() -> None:
    prov = provider()
    client = ProvisionClient(AGENCY, PREF, ids=counter_ids(1))
    unknown = "12345678903"
    codes = (PEOPLE[2].resident_code, unknown, PEOPLE[0].resident_code)
    (sent,) = sends(client.submit(request(codes), NOW))
    out = sends(prov.receive(to(sent, "AG0001"), NOW))
    ack, resp = out
    client.receive(to(ack, PREF), NOW)
    assert client.state is ClientState.ACKNOWLEDGED
    back = sends(client.receive(to(resp, PREF), NOW))
    assert client.state is ClientState.DONE
    # R-30-7-3-09: in the query's order, the unknown code omitted.
    assert [p.identity_info.resident_code for p in client.outcome] == [  # type: ignore[union-attr]
        PEOPLE[2].resident_code, PEOPLE[0].resident_code]
    prov.receive(to(back[0], "AG0001"), NOW)
    assert not prov.pending and not prov.timers
    (rec,) = prov.log.records
    assert rec.outcome == "provided" and rec.body == AGENCY and rec.operator_id == "op-1"
    assert rec.purpose_code == "S1-KENCHIKUSHI" and rec.message_id == sent.message_id
    # The log holds masked codes only, yet answers the resident's disclosure request.
    assert PEOPLE[0].resident_code not in repr(prov.log.records)
    assert prov.log.for_resident(PEOPLE[0].resident_code) == (rec,)
    assert prov.log.for_resident(PEOPLE[1].resident_code) == ()


def test_lookup_by_four_items() -> None:
    prov = provider()
    p = PEOPLE[1]
    four = FourItems(name=p.name, birth_date=p.birth_date, sex=p.sex, address=p.address)
    resp = ask(prov, request(four=four))
    assert [x.identity_info.resident_code for x in resp.provided or ()] == [p.resident_code]
    elsewhere = dataclasses.replace(four, address=dataclasses.replace(
        p.address, local_gov_code=AWAY))
    assert ask(prov, request(four=elsewhere), b"r" * 16).provided == ()


@pytest.mark.parametrize("req, refusal", [
    (request(body=RequestingBody(kind=BodyKind.AGENCY, code="AG9999"), operator="nobody"),
     ProvisionRefusal.UNKNOWN_BODY),
    (request(purpose="S1-ONKYU", operator="nobody"), ProvisionRefusal.PURPOSE_NOT_ALLOWED),
    (request(purpose="S1-NONE"), ProvisionRefusal.PURPOSE_NOT_ALLOWED),
    (request(basis=LegalBasis.CENTER_TO_AGENCY, operator="nobody"),
     ProvisionRefusal.LEGAL_BASIS_MISMATCH),
    (request(operator="op-9"), ProvisionRefusal.OPERATOR_UNAUTHENTICATED),
])
def test_refusals_in_order(req: ProvisionRequest, refusal: ProvisionRefusal) -> None:
    prov = provider()
    client = ProvisionClient(req.requester, PREF, ids=counter_ids(1))
    (sent,) = sends(client.submit(req, NOW))
    out = prov.receive(to(sent, req.requester.code), NOW)
    _, resp = sends(out)
    assert resp.message == ProvisionResponse(refusal=refusal)
    assert [e.code for e in events(out)] == [refusal.error_code]
    (rec,) = prov.log.records
    assert rec.outcome == refusal.value and rec.resident_keys == ()
    ev = events(client.receive(to(resp, PREF), NOW))
    assert client.state is ClientState.REFUSED and ev[0].code is refusal.error_code


@pytest.mark.parametrize("code, body, basis, purpose, ok", [
    (PREF, RequestingBody(kind=BodyKind.MUNICIPALITY, code=HOME),
     LegalBasis.PREF_TO_OWN_MUNICIPALITY, "M-TAX", True),
    (PREF, RequestingBody(kind=BodyKind.MUNICIPALITY, code=AWAY),
     LegalBasis.PREF_TO_OWN_MUNICIPALITY, "M-TAX", False),
    (PREF, RequestingBody(kind=BodyKind.MUNICIPALITY, code=AWAY),
     LegalBasis.PREF_TO_OTHER_MUNICIPALITY, "M-TAX", True),
    (PREF, RequestingBody(kind=BodyKind.MUNICIPALITY, code=HOME),
     LegalBasis.PREF_TO_OTHER_MUNICIPALITY, "M-TAX", False),
    (PREF, RequestingBody(kind=BodyKind.PREFECTURE, code="130001"),
     LegalBasis.PREF_TO_OTHER_PREFECTURE, "P-PENSION", True),
    (PREF, RequestingBody(kind=BodyKind.PREFECTURE, code=PREF),
     LegalBasis.PREF_TO_OTHER_PREFECTURE, "P-PENSION", False),
    (PREF, RequestingBody(kind=BodyKind.PREFECTURE_ORGAN, code=PREF),
     LegalBasis.PREF_OWN_USE, "ORD-1", True),
    ("DC01", RequestingBody(kind=BodyKind.PREFECTURE_ORGAN, code=PREF),
     LegalBasis.PREF_OWN_USE, "ORD-1", False),
    ("DC01", RequestingBody(kind=BodyKind.MUNICIPALITY, code=AWAY),
     LegalBasis.CENTER_TO_MUNICIPALITY, "M-TAX", True),
    ("DC01", AGENCY, LegalBasis.CENTER_TO_AGENCY, "S1-KENCHIKUSHI", True),
    (PREF, RequestingBody(kind=BodyKind.MUNICIPALITY, code=HOME),
     LegalBasis.PREF_TO_OWN_MUNICIPALITY, "M-OTHER", None),
])
def test_legal_bases_fit_body_and_provider(code: str, body: RequestingBody,
                                           basis: LegalBasis, purpose: str,
                                           ok: bool | None) -> None:
    prov = provider(code)
    operator = "op-1" if body.kind is BodyKind.AGENCY else "clerk"
    resp = ask(prov, request(body=body, basis=basis, purpose=purpose, operator=operator))
    expected = (None if ok else ProvisionRefusal.LEGAL_BASIS_MISMATCH if ok is False
                else ProvisionRefusal.PURPOSE_NOT_ALLOWED)
    assert resp.refusal == expected
    assert (resp.provided is not None) is bool(ok)


def test_body_other_than_sender_is_invalid_field() -> None:
    prov = provider()
    before = prov.snapshot()
    with pytest.raises(ProtocolError) as exc:
        prov.receive(Inbound(message=request(), message_id=b"q" * 16, sender="AG0002"), NOW)
    assert exc.value.error_code is ErrorCode.INVALID_FIELD
    assert prov.snapshot() == before and prov.log.records == ()


def test_retention() -> None:
    person = PEOPLE[0]
    store = store_of(PEOPLE)
    store.apply(IdentityInfoUpdate(
        municipality=HOME, update_sequence=99, operation=UpdateOperation.ERASE,
        identity_info=person.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.MOVE_OUT,
                               change_date=NOW.date())), NOW)
    prov = provider(store=store)
    within = NOW + store.retention
    resp = ask(prov, request((person.resident_code,)), b"a" * 16, within)
    assert [p.identity_info.resident_code for p in resp.provided or ()] == [
        person.resident_code]
    assert resp.provided and resp.provided[0].change_info.change_reason is \
        ChangeReason.MOVE_OUT
    past = within + dt.timedelta(seconds=1)
    resp = ask(prov, request((person.resident_code,)), b"b" * 16, past)
    # R-30-7-3-11: an empty list, as for a code never held.
    assert resp == ProvisionResponse(provided=())
    assert resp == ask(prov, request(("12345678903",)), b"c" * 16, past)
    assert len(prov.log.for_resident(person.resident_code)) == 1


def test_throttling_per_operator_and_body() -> None:
    prov = provider(limits=Limits(window=dt.timedelta(minutes=10), operator_requests=2,
                                  operator_persons=50, body_requests=3, body_persons=50))
    t = NOW
    assert ask(prov, request(), b"1" * 16, t).provided
    assert ask(prov, request(), b"2" * 16, t).provided
    assert ask(prov, request(), b"3" * 16, t).refusal is ProvisionRefusal.THROTTLED
    # Another operator of the same body still has room, until the body's limit.
    assert ask(prov, request(operator="op-2"), b"4" * 16, t).provided
    assert ask(prov, request(operator="op-2"), b"5" * 16, t).refusal is \
        ProvisionRefusal.THROTTLED
    # Another body is not affected.
    other = RequestingBody(kind=BodyKind.AGENCY, code="AG0002")
    assert ask(prov, request(body=other, purpose="S1-ONKYU"), b"6" * 16, t).provided
    # The window slides.
    later = t + dt.timedelta(minutes=10)
    assert ask(prov, request(), b"7" * 16, later).provided
    assert [r.outcome for r in prov.log.records].count("throttled") == 2


def test_throttling_on_persons() -> None:
    prov = provider(limits=Limits(operator_persons=3))
    codes = tuple(p.resident_code for p in PEOPLE[:3])
    assert ask(prov, request(codes), b"1" * 16).provided
    assert ask(prov, request(), b"2" * 16).refusal is ProvisionRefusal.THROTTLED


def test_replays_and_foreign_messages() -> None:
    prov = provider()
    inbound = Inbound(message=request(), message_id=b"q" * 16, sender="AG0001")
    _, resp, *_ = sends(prov.receive(inbound, NOW))
    records = prov.log.records
    dup, again = sends(prov.receive(inbound, NOW))
    assert dup.message.status is AckStatus.DUPLICATE
    assert again == resp and prov.log.records == records
    with pytest.raises(ProtocolError) as exc:
        prov.receive(dataclasses.replace(inbound, message=request(operator="op-2")), NOW)
    assert exc.value.error_code is ErrorCode.REPLAY
    p = PEOPLE[0]
    m2m = MoveInNotice(new_municipality=AWAY, former_municipality=HOME,
                       residents=(p.person_ref(),), moved_date=NOW.date(),
                       recorded_date=NOW.date(),
                       new_address=dataclasses.replace(p.address, local_gov_code=AWAY))
    before = prov.snapshot()
    with pytest.raises(ProtocolError) as exc:
        prov.receive(Inbound(message=m2m, message_id=b"m" * 16, sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.ROLE_NOT_ALLOWED
    assert prov.snapshot() == before
    with pytest.raises(ProtocolError) as exc:
        prov.receive(Inbound(message=Acknowledgement(acknowledged_id=b"?" * 16,
                                                     status=AckStatus.ACCEPTED),
                             message_id=b"a" * 16, sender="AG0001"), NOW)
    assert exc.value.error_code is ErrorCode.UNKNOWN_CORRELATION


def test_provider_resends_until_acknowledged() -> None:
    prov = provider()
    _, resp, *_ = sends(prov.receive(Inbound(message=request(), message_id=b"q" * 16,
                                             sender="AG0001"), NOW))
    later = NOW + dt.timedelta(seconds=60)
    (name,) = prov.due_timers(later)
    resent, _ = prov.timeout(name, later)
    assert resent == resp
    prov.receive(Inbound(message=ErrorReport(error_code=9001, refers_to=resp.message_id),
                         message_id=b"e" * 16, sender="AG0001"), later)
    assert not prov.pending and prov.due_timers(later) == []


def test_yearly_report() -> None:
    prov = provider()
    codes = tuple(p.resident_code for p in PEOPLE[:2])
    ask(prov, request(codes), b"1" * 16)
    ask(prov, request(), b"2" * 16)
    ask(prov, request(operator="op-9"), b"3" * 16)
    other = RequestingBody(kind=BodyKind.AGENCY, code="AG0002")
    ask(prov, request(body=other, purpose="S1-ONKYU"), b"4" * 16)
    report = yearly_report(prov.log.records, NOW.year)
    assert report[("AG0001", "S1-KENCHIKUSHI")].requests == 3
    assert report[("AG0001", "S1-KENCHIKUSHI")].persons == 3
    assert report[("AG0001", "S1-KENCHIKUSHI")].refusals == 1
    assert report[("AG0002", "S1-ONKYU")].persons == 1
    assert yearly_report(prov.log.records, NOW.year - 1) == {}


def test_log_is_append_only() -> None:
    prov = provider()
    ask(prov, request())
    (rec,) = prov.log.records
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.outcome = "x"  # type: ignore[misc]
    assert isinstance(prov.log.records, tuple)
    with pytest.raises(ValueError):
        prov.log.append(dataclasses.replace(rec, time=NOW - dt.timedelta(days=1)))


def test_client_timeout_retry_and_checks() -> None:
    client = ProvisionClient(AGENCY, PREF, ids=counter_ids(1))
    (sent,) = sends(client.submit(request(), NOW))
    resent, _ = client.timeout("retry", NOW + dt.timedelta(seconds=60))
    assert isinstance(resent, Send) and resent.message_id == sent.message_id
    with pytest.raises(ProtocolError):
        client.timeout("deadline", NOW + RESPONSE_DEADLINE / 2)
    # A response providing someone not queried is rejected (R-30-7-3-09).
    prov = provider()
    _, wrong = sends(prov.receive(Inbound(message=request((PEOPLE[1].resident_code,)),
                                          message_id=b"z" * 16, sender="AG0001"), NOW))
    bad = Inbound(message=wrong.message, message_id=b"w" * 16, sender=PREF,
                  correlation_id=sent.message_id)
    with pytest.raises(JukiError) as exc:
        client.receive(bad, NOW)
    assert exc.value.error_code is ErrorCode.INVALID_FIELD
    out = client.timeout("deadline", NOW + RESPONSE_DEADLINE)
    assert [e.code for e in events(out)] == [ErrorCode.FLOW_TIMED_OUT]
    with pytest.raises(ProtocolError) as exc:
        client.receive(bad, NOW + RESPONSE_DEADLINE)
    assert exc.value.error_code is ErrorCode.FLOW_TIMED_OUT
    with pytest.raises(JukiError) as exc:
        ProvisionClient(AGENCY, PREF).submit(
            request(body=RequestingBody(kind=BodyKind.AGENCY, code="AG0002"),
                    purpose="S1-ONKYU"), NOW)
    assert exc.value.error_code is ErrorCode.INVALID_FIELD
