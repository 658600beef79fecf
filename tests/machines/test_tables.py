"""Every state x input pair of every table: a pair in the table moves to its next state;
any other pair raises its registered code and changes no data (STYLE.md item 2).

The walk feeds inputs straight to ``Machine._step`` with a payload fit for each input,
so it checks the tables and actions; classification is covered by the flow tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from enum import Enum
from typing import Any

import pytest
from conftest import NOW, households
from hypothesis import given, settings
from hypothesis import strategies as st

from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.fixtures.samples import AWAY, HOME
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines import card as cardm
from juki_protocol.machines.card import IdentityCheck, auth_mac
from juki_protocol.machines.common import MACHINES, Inbound, Machine, counter_ids
from juki_protocol.machines.identity import (
    IdentityUpdater,
    PrefectureReceiver,
    ReceiverInput,
    SenderInput,
)
from juki_protocol.machines.memory_store import IdentityStore
from juki_protocol.machines.move_in import (
    MoveInNoticeReceiver,
    MoveInNotifier,
    MoveOutFile,
    NotifierInput,
    OrdinaryMoveIn,
    OrdinaryMoveOut,
    ReceiptInput,
)
from juki_protocol.machines.provision import (
    ClientInput,
    Provider,
    ProviderInput,
    ProvisionClient,
)
from juki_protocol.machines.special_move import (
    AnnotatedMoveOut,
    MoveOutInput,
    MoveOutPlan,
    build_certificate,
)
from juki_protocol.machines.special_move_in import MoveInInput, SpecialMoveInCounter
from juki_protocol.machines.stores import Register
from juki_protocol.machines.wide_area import (
    IssuingCounter,
    IssuingInput,
    ResidenceInput,
    ResidenceResponder,
)
from juki_protocol.messages.common import Address, ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvidedIdentity,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)
from juki_protocol.messages.special_move import MoveInNotice, SpecialMoveInNotice
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
    WideAreaRefusal,
)

HOUSE = households()[0]
HEAD = HOUSE.members[0]
INFO = HEAD.identity_info(Profile.CURRENT)
PHOTO = IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT, confirmed=True)
REQ = WideAreaIssuanceRequest(
    issuing_municipality=AWAY, residence_municipality=HOME,
    requester=Requester(name=HEAD.name, birth_date=HEAD.birth_date, address=HEAD.address,
                        identity_check=IdentityCheckMethod.PHOTO_ID_DOCUMENT),
    targets=(TargetPerson(name=HEAD.name, birth_date=HEAD.birth_date),))
MASTER = b"w" * 32


def update(seq: int) -> IdentityInfoUpdate:
    return IdentityInfoUpdate(municipality=HOME, update_sequence=seq,
                              operation=UpdateOperation.RECORD, identity_info=INFO,
                              change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                                     change_date=HEAD.birth_date))


def ack_of(mid: bytes | None) -> Acknowledgement:
    return Acknowledgement(acknowledged_id=mid or bytes(16), status=AckStatus.ACCEPTED)


def sender_payload(m: Any, inp: Enum) -> object:
    head = m.outbox[0][0] if m.outbox else None
    return {SenderInput.SUBMIT: update(m.next_sequence),
            SenderInput.ACK_LAST: ack_of(head), SenderInput.ACK_MORE: ack_of(head),
            SenderInput.OUT_OF_ORDER: ErrorReport(error_code=4004, refers_to=head),
            SenderInput.BUSY: ErrorReport(error_code=9002, refers_to=head),
            SenderInput.REFUSED: ErrorReport(error_code=5021, refers_to=head)}.get(
                inp)  # type: ignore[call-overload]


def receiver_payload(m: Any, inp: Enum) -> object:
    last = m.last.get(HOME, 0)
    if inp is ReceiverInput.DUPLICATE and last:
        msg = m.applied[(HOME, last)]
    else:
        msg = update(last + 1 if inp is not ReceiverInput.GAP else last + 2)
    return Inbound(message=msg, message_id=bytes([last % 256]) * 16, sender=HOME)


def chip_payload(m: Any, inp: Enum) -> object:
    A = cardm.Apdu
    rnd_c = m.rnd_card or bytes(8)
    rnd_t = b"t" * 8
    mac = auth_mac(m.keys[1], b"T", rnd_c, rnd_t)
    return {
        A.SELECT: cardm.apdu(0xA4, data=cardm.AID), A.GET_CHALLENGE: cardm.apdu(0x84, le=8),
        A.EXTERNAL_AUTH_OK: cardm.apdu(0x82, 1, rnd_t + mac),
        A.EXTERNAL_AUTH_BAD: cardm.apdu(0x82, 1, rnd_t + bytes(16)),
        A.INTERNAL_AUTH: cardm.apdu(0x88, 1, rnd_t, le=16),
        A.CHANGE_OK: cardm.apdu(0x24, 0x81, b"\x0887654321" + b"1357"),
        A.CHANGE_WRONG: cardm.apdu(0x24, 0x81, b"\x0800000000" + b"1357"),
        A.RESET_ADMIN: cardm.apdu(0x2C, 0x81), A.RESET_DENIED: cardm.apdu(0x2C, 0x81),
    }.get(inp, cardm.apdu(0x20, 0x81, b"2468"))  # type: ignore[call-overload]


def issuing_payload(m: Any, inp: Enum) -> object:
    I = IssuingInput  # noqa: E741
    rid = m.request_id
    copies = WideAreaIssuanceResponse(residence_municipality=HOME, issuing_municipality=AWAY,
                                      copies=(HEAD.record_copy(),))
    refusal = WideAreaIssuanceResponse(residence_municipality=HOME,
                                       issuing_municipality=AWAY,
                                       refusal=WideAreaRefusal.DECEASED)
    msg: object = {I.ACK: ack_of(rid), I.ERROR: ErrorReport(error_code=9001, refers_to=rid),
                   I.COPIES: copies, I.REFUSAL: refusal, I.REPLAY: copies}.get(
                       inp)  # type: ignore[call-overload]
    if inp in (I.IDENTITY_OK, I.IDENTITY_NG):
        return dataclasses.replace(PHOTO, confirmed=inp is I.IDENTITY_OK)
    if inp is I.SUBMIT:
        return REQ
    if msg is None:
        return None
    return Inbound(message=msg, message_id=b"r" * 16, sender=HOME, correlation_id=rid)


def residence_payload(m: Any, inp: Enum) -> object:
    if inp in (ResidenceInput.REQUEST, ResidenceInput.REPLAY):
        return Inbound(message=REQ, message_id=b"q" * 16, sender=AWAY)
    ref = m.response.message_id if m.response else bytes(16)
    msg = ack_of(ref) if inp is ResidenceInput.ACK else ErrorReport(error_code=9001,
                                                                    refers_to=ref)
    return Inbound(message=msg, message_id=b"a" * 16, sender=AWAY)


NEW_ADDRESS = Address(local_gov_code=AWAY, text="東京都千代田区千代田一丁目1番1号")
MOVED = NOW.date() - dt.timedelta(days=3)
MOVERS = HOUSE.members
NOTICE = SpecialMoveInNotice(new_municipality=AWAY, former_municipality=HOME,
                             movers=tuple(p.person_ref() for p in MOVERS), moved_date=MOVED,
                             move_in_filed_date=NOW.date(), new_address=NEW_ADDRESS)
MOVE_IN = MoveInNotice(new_municipality=AWAY, former_municipality=HOME,
                       residents=NOTICE.movers, moved_date=MOVED, recorded_date=NOW.date(),
                       new_address=NEW_ADDRESS)


def _in(msg: object, mid: bytes | None, sender: str, corr: bytes | None = None) -> Inbound:
    return Inbound(message=msg, message_id=mid or b"x" * 16, sender=sender,
                   correlation_id=corr)


def former_payload(m: Any, inp: Enum) -> object:
    I = MoveOutInput  # noqa: E741
    cert_id = m.certificate.message_id if m.certificate else None
    if inp is I.ANNOTATED:
        return AnnotatedMoveOut(movers=tuple(p.resident_code for p in MOVERS),
                                destination=NEW_ADDRESS, planned_move_date=MOVED)
    if inp in (I.NOTICE, I.NOTICE_REPLAY, I.CONFLICT):
        return _in(NOTICE, m.notice_id if inp is not I.NOTICE else b"n" * 16, AWAY)
    if inp is I.CERT_ACK:
        return _in(ack_of(cert_id), None, AWAY)
    if inp is I.CERT_ERROR:
        return _in(ErrorReport(error_code=1024, refers_to=cert_id), None, AWAY)
    if inp in (I.MOVE_IN, I.MOVE_IN_REPLAY):
        mid = m.move_in_id if inp is I.MOVE_IN_REPLAY else b"i" * 16
        return _in(MOVE_IN, mid, AWAY, m.notice_id)
    return None


def new_payload(m: Any, inp: Enum) -> object:
    I = MoveInInput  # noqa: E741
    move_in_id = m.move_in.message_id if m.move_in else None
    if inp is I.IDENTITY_OK:
        return IdentityCheck(method=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN,
                             confirmed=True, resident_code=HEAD.resident_code)
    if inp is I.IDENTITY_NG:
        return dataclasses.replace(PHOTO, confirmed=False)
    if inp is I.SUBMIT:
        return NOTICE
    if inp in (I.NOTICE_ACK, I.NOTICE_ERROR, I.MOVE_IN_ACK, I.MOVE_IN_ERROR):
        ref = m.notice_id if inp in (I.NOTICE_ACK, I.NOTICE_ERROR) else move_in_id
        msg = ack_of(ref) if inp in (I.NOTICE_ACK, I.MOVE_IN_ACK) else ErrorReport(
            error_code=5001, refers_to=ref)
        return _in(msg, None, HOME)
    if inp in (I.CERTIFICATE, I.CERT_REPLAY, I.CONFLICT):
        cert = build_certificate(Register(HOME, HOUSE.members), NOTICE, MOVED)
        mid = m.certificate_id if inp is not I.CERTIFICATE else b"c" * 16
        return _in(cert, mid, HOME, m.notice_id)
    return None


def _receipt() -> MoveInNoticeReceiver:
    moves = MoveOutFile()
    for p in MOVERS:
        moves.on_file[p.resident_code] = OrdinaryMoveOut(
            movers=tuple(m.resident_code for m in MOVERS), destination=NEW_ADDRESS,
            planned_move_date=MOVED)
    return MoveInNoticeReceiver(Register(HOME, HOUSE.members), moves, ids=counter_ids())


def receipt_payload(m: Any, inp: Enum) -> object:
    mid = m.notice_id if inp is not ReceiptInput.NOTICE else b"o" * 16
    return _in(MOVE_IN, mid, AWAY)


ARRIVED = OrdinaryMoveIn(residents=tuple(dataclasses.replace(
    p, address=NEW_ADDRESS, previous_address=p.address, resident_since=MOVED,
    address_notification_date=NOW.date()) for p in MOVERS))


def notifier_payload(m: Any, inp: Enum) -> object:
    ref = m.notice.message_id if m.notice else None
    if inp is NotifierInput.RECORD:
        return ARRIVED
    if inp is NotifierInput.ACK:
        return _in(ack_of(ref), None, HOME)
    if inp is NotifierInput.ERROR:
        return _in(ErrorReport(error_code=5001, refers_to=ref), None, HOME)
    return None


AGENCY = RequestingBody(kind=BodyKind.AGENCY, code="AG0001")
PREQ = ProvisionRequest(requester=AGENCY, legal_basis=LegalBasis.PREF_TO_AGENCY,
                        purpose_code="S1-KENCHIKUSHI", operator_id="op-1",
                        by_resident_code=(HEAD.resident_code,))
PROVIDED = ProvidedIdentity(identity_info=INFO, change_info=ChangeInfo(
    change_reason=ChangeReason.BIRTH, change_date=HEAD.birth_date))


def _provider() -> Provider:
    store = IdentityStore()
    store.apply(update(1), NOW)
    return Provider(prefecture_of(HOME), store, operators={"AG0001": {"op-1"}},
                    ids=counter_ids())


def provider_payload(m: Any, inp: Enum) -> object:
    I = ProviderInput  # noqa: E741
    if inp is I.RETRY_DUE:
        return f"retry:{next(iter(m.pending)).hex()}" if m.pending else "retry:none"
    if inp in (I.RESPONSE_ACK, I.RESPONSE_ERROR):
        ref = next(iter(m.pending)) if m.pending else bytes(16)
        msg = ack_of(ref) if inp is I.RESPONSE_ACK else ErrorReport(error_code=9001,
                                                                    refers_to=ref)
        return _in(msg, None, "AG0001")
    if inp is I.REPLAY and m.answered:
        sender, mid = next(iter(m.answered))
        return _in(m.answered[(sender, mid)][0], mid, sender)
    req = PREQ if inp is not I.REFUSED else dataclasses.replace(PREQ, operator_id="op-2")
    return _in(req, bytes([len(m.answered) % 256]) * 16, "AG0001")


def client_payload(m: Any, inp: Enum) -> object:
    I = ClientInput  # noqa: E741
    rid = m.request_id
    if inp is I.SUBMIT:
        return PREQ
    if inp is I.ACK:
        return _in(ack_of(rid), None, "270008")
    if inp is I.ERROR:
        return _in(ErrorReport(error_code=9001, refers_to=rid), None, "270008")
    resp = (ProvisionResponse(refusal=ProvisionRefusal.THROTTLED) if inp is I.REFUSAL
            else ProvisionResponse(provided=(PROVIDED,)))
    if inp is I.REPLAY and m.response is not None:
        resp = m.response
    return _in(resp, m.response_id or b"p" * 16, "270008", rid)


def _chip() -> Machine[Any, Any, Any]:
    return cardm.VirtualCard("SN7", HEAD.resident_code, MASTER, "87654321",
                             rng=random.Random(0))


HARNESS: dict[str, tuple[Callable[[], Machine[Any, Any, Any]],
                         Callable[[Any, Enum], object]]] = {
    "IdentityUpdater": (lambda: IdentityUpdater(HOME, ids=counter_ids()), sender_payload),
    "RelaySender": (lambda: IdentityUpdater(HOME, ids=counter_ids()), sender_payload),
    "PrefectureReceiver": (lambda: PrefectureReceiver(prefecture_of(HOME),
                                                      ids=counter_ids()), receiver_payload),
    "NationalReceiver": (lambda: PrefectureReceiver(prefecture_of(HOME), ids=counter_ids()),
                         receiver_payload),
    "CardRecord": (lambda: cardm.CardRecord("SN7", HEAD.resident_code),
                   lambda m, i: PHOTO),
    "VirtualCard": (_chip, chip_payload),
    "IssuingCounter": (lambda: IssuingCounter(AWAY, ids=counter_ids()), issuing_payload),
    "ResidenceResponder": (lambda: ResidenceResponder(Register(HOME, HOUSE.members),
                                                      ids=counter_ids()), residence_payload),
    "MoveOutPlan": (lambda: MoveOutPlan(Register(HOME, HOUSE.members), ids=counter_ids()),
                    former_payload),
    "SpecialMoveInCounter": (lambda: SpecialMoveInCounter(AWAY, register=Register(AWAY),
                                                          ids=counter_ids()), new_payload),
    "MoveInNoticeReceiver": (_receipt, receipt_payload),
    "MoveInNotifier": (lambda: MoveInNotifier(Register(AWAY), ids=counter_ids()),
                       notifier_payload),
    "Provider": (_provider, provider_payload),
    "ProvisionClient": (lambda: ProvisionClient(AGENCY, "270008", ids=counter_ids()),
                        client_payload),
}


def admissible(m: Any, inp: Enum) -> bool:
    """False for an input the machine's classifier can never produce from its data
    (the sender calls an acknowledgement ACK_MORE only with more than one queued)."""
    if m.state.name == "HELD" and inp in (SenderInput.ACK_LAST, SenderInput.ACK_MORE,
                                          SenderInput.OUT_OF_ORDER, SenderInput.BUSY,
                                          SenderInput.REFUSED) and not m.in_flight:
        return False                    # held: only what was on the wire is answered
    if inp is SenderInput.ACK_MORE:
        return len(m.outbox) > 1
    if inp is SenderInput.ACK_LAST:
        return len(m.outbox) <= 1
    if inp is ProviderInput.REPLAY:
        return bool(m.answered)
    if inp is SenderInput.RELEASE:
        return bool(m.outbox)
    if inp is SenderInput.RELEASE_EMPTY:
        return not m.outbox
    return True


def step(m: Machine[Any, Any, Any], inp: Enum, payload: Callable[[Any, Enum], object]) -> None:
    """Feed ``inp`` and check the table's promise for the pair."""
    if not admissible(m, inp):
        return
    table = m.TABLE
    state, before = m.state, m.snapshot()
    row = table.rows.get((state, inp))
    try:
        m._step(inp, NOW, payload(m, inp))
    except JukiError as exc:
        assert row is None, f"{table.name}: {state.name} x {inp.name} raised {exc}"
        assert isinstance(exc, ProtocolError)
        assert exc.error_code is table.error_code(state, inp)
        assert m.snapshot() == before, f"{table.name}: {state.name} x {inp.name} changed data"
        return
    assert row is not None, f"{table.name}: {state.name} x {inp.name} is not in the table"
    assert m.state is row[1]


def reachable(name: str) -> dict[Enum, list[Enum]]:
    """A shortest input path to every state reachable from the initial state."""
    make, _payload = HARNESS[name]
    first = make()
    paths: dict[Enum, list[Enum]] = {first.state: []}
    frontier = [first.state]
    while frontier:
        nxt = []
        for state in frontier:
            for (s, inp), (_, to) in first.TABLE.rows.items():
                if s is state and to not in paths:
                    paths[to] = [*paths[state], inp]
                    nxt.append(to)
        frontier = nxt
    return paths


def replay(name: str, path: list[Enum]) -> Machine[Any, Any, Any]:
    make, payload = HARNESS[name]
    m = make()
    for inp in path:
        m._step(inp, NOW, payload(m, inp))
    return m


NAMES = sorted(HARNESS)
PAIRS = [(n, s, i) for n in NAMES for s, path in reachable(n).items()
         for i in replay(n, path).TABLE.inputs]


def test_every_registered_machine_has_a_harness() -> None:
    assert {cls.__name__ for cls in MACHINES} <= set(HARNESS) | EXTRA_HARNESSED


#: Machines whose every pair is walked by a test module of their own
#: (test_family_register_tables.py, test_designation_desk.py).
EXTRA_HARNESSED: set[str] = {"FamilyRegisterNotifier", "FamilyRegisterReceiver",
                             "PrefectureDesignations", "MunicipalityCodes",
                             # tests/machines/test_card_register_machines.py
                             "RegisterEntry", "CardRegisterDesk", "CardNotifier"}


def test_every_state_is_reachable() -> None:
    for name in NAMES:
        make, _ = HARNESS[name]
        table = make().TABLE
        assert set(reachable(name)) == set(table.states), name


@pytest.mark.parametrize("name, state, inp", PAIRS,
                         ids=[f"{n}-{s.name}-{i.name}" for n, s, i in PAIRS])
def test_every_pair(name: str, state: Enum, inp: Enum) -> None:
    m = replay(name, reachable(name)[state])
    assert m.state is state
    step(m, inp, HARNESS[name][1])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_walks(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(NAMES))
    make, payload = HARNESS[name]
    m = make()
    inputs = list(m.TABLE.inputs)
    for inp in data.draw(st.lists(st.sampled_from(inputs), max_size=15)):
        step(m, inp, payload)


def test_default_miss_code_is_unexpected_message() -> None:
    m = IssuingCounter(AWAY)
    assert m.TABLE.error_code(m.state, IssuingInput.ACK) is ErrorCode.UNEXPECTED_MESSAGE
