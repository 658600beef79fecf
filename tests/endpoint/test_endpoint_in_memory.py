"""Two sans-I/O endpoints talking in memory: a municipality and its prefecture, with real
certificates, real envelopes and real SQLite stores, and no socket, event loop or clock.

Each test hands the bytes one endpoint's :meth:`frame` produced to the other's
:meth:`receive`, as a node would after a read, and checks the steps that come back and
the state both stores are left in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from juki_protocol.codec import codec
from juki_protocol.endpoint import (
    Endpoint,
    Refused,
    Reloaded,
    Taken,
)
from juki_protocol.envelope import pki
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.machines.common import Send
from juki_protocol.messages.common import ChangeInfo, ChangeReason, NodeId, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, JukiPdu
from juki_protocol.node.endpoint_store import EndpointStore
from juki_protocol.node.network import create_pki
from juki_protocol.node.node import node_of_code
from juki_protocol.node.roles import MunicipalityRole, make_role
from juki_protocol.node.storage import NodeStorage, open_storage

MUNI, PREF, OTHER = "271004", "270008", "272035"
NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(seconds=300)


class Side:
    """One node's endpoint with its store, credential and role."""

    def __init__(self, root: Path, work: Path, role: str, code: str,
                 profile: Profile = Profile.CURRENT) -> None:
        self.id: NodeId = node_of_code(code)
        self.credential = pki.Credential(
            pki.load_private_key((root / f"{code}.key").read_bytes()),
            pki.load_certificate((root / f"{code}.pem").read_bytes()))
        trust = pki.TrustStore.from_pem((root / "ca.pem").read_bytes(),
                                        crls=[(root / "crl.pem").read_bytes()])
        self.storage: NodeStorage = open_storage(work / f"{code}.db", role, code,
                                                 key_file=work / f"{code}.disclosure-key")
        self.role = make_role(role, code, self.storage, profile=profile)
        self.endpoint = Endpoint(self.id, self.credential, trust, EndpointStore(self.storage),
                                 self.role, profile=profile, time_window=WINDOW)


@pytest.fixture(scope="module")
def pki_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_pki(tmp_path_factory.mktemp("pki"), [
        ("municipality", MUNI), ("prefecture", PREF), ("municipality", OTHER)],
        NOW - dt.timedelta(days=1))


@pytest.fixture
def pair(pki_root: Path, tmp_path: Path) -> tuple[Side, Side]:
    muni = Side(pki_root, tmp_path, "municipality", MUNI)
    pref = Side(pki_root, tmp_path, "prefecture", PREF)
    yield muni, pref
    muni.storage.close()
    pref.storage.close()


def resident(index: int = 0) -> SyntheticResident:
    return [m for h in generate_households(3, "endpoint", municipalities=[MUNI])
            for m in h.members][index]


def record(muni: Side, now: dt.datetime = NOW, index: int = 0) -> list[tuple[object, Send]]:
    """A birth recorded at the municipality: the update it sends."""
    role = muni.role
    assert isinstance(role, MunicipalityRole)
    change = ChangeInfo(change_reason=ChangeReason.BIRTH, change_date=now.date())
    owned = muni.endpoint.local(lambda at: role.record(resident(index), change, at), now)
    sends = [(o, e) for o, e in owned if isinstance(e, Send)]
    assert [type(e.message) for _, e in sends] == [IdentityInfoUpdate]
    return sends


def deliver(src: Side, dst: Side, owned: list[tuple[object, Send]],
            now: dt.datetime = NOW) -> list[bytes]:
    """The frames ``src`` writes for its sends to ``dst``."""
    cert = dst.credential.certificate
    return [src.endpoint.frame(owner, send, dst.id, cert, now) for owner, send in owned]


def sends_of(steps: list, to: str = MUNI) -> list[tuple[object, Send]]:
    """The messages the steps have the node send to ``to``."""
    return [(o, e) for s in steps if isinstance(s, Taken) for o, e in s.owned
            if isinstance(e, Send) and e.recipient == to]


def test_an_update_is_taken_acknowledged_and_settled(pair: tuple[Side, Side]) -> None:
    muni, pref = pair
    frames = deliver(muni, pref, record(muni))
    assert muni.endpoint.waiting            # the updater waits for its answer
    steps = pref.endpoint.receive(muni.id, frames, NOW)
    assert [type(s) for s in steps] == [Taken]
    acks = sends_of(steps)
    assert len(acks) == 1 and isinstance(acks[0][1].message, Acknowledgement)
    assert acks[0][1].message.status is AckStatus.ACCEPTED
    assert pref.storage.count_identity() == 1
    relays = sends_of(steps, to="DC01")            # the prefecture's role: Art. 30-11
    assert [type(e.message).__name__ for _, e in relays] == ["IdentityInfoRelay"]
    back = muni.endpoint.receive(pref.id, deliver(pref, muni, acks), NOW)
    assert [type(s) for s in back] == [Taken]
    assert muni.endpoint.waiting == {}
    assert muni.storage.pending_updates()[1] == []


def test_the_same_frame_again_is_a_duplicate_and_changes_nothing(
        pair: tuple[Side, Side]) -> None:
    muni, pref = pair
    frames = deliver(muni, pref, record(muni))
    pref.endpoint.receive(muni.id, frames, NOW)
    versions = pref.storage.count_identity(False)
    again = sends_of(pref.endpoint.receive(muni.id, frames, NOW + dt.timedelta(seconds=5)))
    assert [e.message.status for _, e in again] == [AckStatus.DUPLICATE]
    assert pref.storage.count_identity(False) == versions


def test_a_sender_that_is_not_the_tls_peer_is_refused_without_a_trace(
        pki_root: Path, pair: tuple[Side, Side]) -> None:
    muni, pref = pair
    frames = deliver(muni, pref, record(muni))
    steps = pref.endpoint.receive(node_of_code(OTHER), frames, NOW)
    assert len(steps) == 1 and isinstance(steps[0], Refused)
    assert steps[0].code == ErrorCode.CERT_SENDER_MISMATCH and steps[0].counts
    assert steps[0].report is not None and steps[0].report.refers_to == \
        codec.decode(frames[0], "JukiPdu").header.message_id
    assert pref.storage.count_identity() == 0


def test_garbage_is_refused_with_a_registered_code(pair: tuple[Side, Side]) -> None:
    _, pref = pair
    steps = pref.endpoint.receive(node_of_code(MUNI), [b"\x30\x03\x02\x01"], NOW)
    assert len(steps) == 1 and isinstance(steps[0], Refused)
    assert 1000 <= steps[0].code < 2000 and steps[0].counts
    assert steps[0].report is not None and steps[0].report.refers_to is None


def test_a_pdu_of_another_networks_profile_is_refused_before_it_is_opened(
        pki_root: Path, pair: tuple[Side, Side], tmp_path: Path) -> None:
    """R-PDU-50: the update is well formed in p2002 (no individual number), but the
    prefecture's network is current: 1025, nothing stored, nothing relayed."""
    _, pref = pair
    old = Side(pki_root, tmp_path / "p2002", "municipality", MUNI, profile=Profile.P2002)
    try:
        sends = record(old)
        assert sends[0][1].message.identity_info.individual_number is None
        steps = pref.endpoint.receive(old.id, deliver(old, pref, sends), NOW)
    finally:
        old.storage.close()
    assert len(steps) == 1 and isinstance(steps[0], Refused)
    assert steps[0].code == ErrorCode.PROFILE_VIOLATION and steps[0].counts
    assert pref.storage.count_identity(False) == 0 and sends_of(steps, to="DC01") == []


def test_a_stale_header_time_is_refused(pair: tuple[Side, Side]) -> None:
    muni, pref = pair
    frames = deliver(muni, pref, record(muni))
    steps = pref.endpoint.receive(muni.id, frames, NOW + WINDOW + dt.timedelta(seconds=1))
    assert [s.code for s in steps if isinstance(s, Refused)] == [ErrorCode.STALE_TIME]


def test_frames_beyond_the_room_are_shed_and_may_be_retried(
        pair: tuple[Side, Side]) -> None:
    muni, pref = pair
    frames = deliver(muni, pref, record(muni))
    shed = pref.endpoint.receive(muni.id, frames, NOW, room=0)
    assert [(type(s), s.code, s.counts) for s in shed] == [
        (Refused, ErrorCode.OVERLOADED, False)]      # R-NODE-48: not the peer's fault
    assert pref.storage.count_identity() == 0
    retried = pref.endpoint.receive(muni.id, frames, NOW)  # not taken for a replay
    assert [e.message.status for _, e in sends_of(retried)] == [AckStatus.ACCEPTED]


def test_headers_are_numbered_per_recipient(pair: tuple[Side, Side]) -> None:
    muni, pref = pair
    first = deliver(muni, pref, record(muni))
    acks = sends_of(pref.endpoint.receive(muni.id, first, NOW))
    muni.endpoint.receive(pref.id, deliver(pref, muni, acks), NOW)
    second = deliver(muni, pref, record(muni, index=1))
    assert [codec.decode(f, "JukiPdu").header.sequence_number
            for f in first + second] == [0, 1]
    assert sends_of(pref.endpoint.receive(muni.id, second, NOW))
    assert pref.storage.count_identity() == 2


def test_a_failed_commit_refuses_9003_reloads_and_keeps_nothing(
        pair: tuple[Side, Side]) -> None:
    muni, pref = pair
    frames = deliver(muni, pref, record(muni))
    pref.storage.db.fail_commits = 1
    steps = pref.endpoint.receive(muni.id, frames, NOW)
    refused = [s for s in steps if isinstance(s, Refused)]
    assert [s.code for s in refused] == [ErrorCode.STORAGE_FAILURE]
    assert any(isinstance(s, Reloaded) for s in steps)
    assert pref.storage.count_identity() == 0
    retried = pref.endpoint.receive(muni.id, frames, NOW)     # the sender's retry
    assert [e.message.status for _, e in sends_of(retried)] == [AckStatus.ACCEPTED]


def test_an_answer_to_nothing_is_recorded_not_answered(pair: tuple[Side, Side]) -> None:
    muni, pref = pair
    stray = Send(recipient=MUNI, message_id=b"\x01" * 16,
                 message=Acknowledgement(acknowledged_id=b"\x02" * 16,
                                         status=AckStatus.ACCEPTED))
    frames = deliver(pref, muni, [(None, stray)])
    steps = muni.endpoint.receive(pref.id, frames, NOW)
    assert [type(s) for s in steps] == [Taken]       # taken, as unmatched
    assert sends_of(steps) == []                     # R-PDU-25: never answered
    pdu = codec.decode(frames[0], "JukiPdu")
    assert isinstance(pdu, JukiPdu) and pdu.acknowledgement is not None


def test_a_failed_send_is_logged_with_the_operator_of_its_local_action(
        pair: tuple[Side, Side]) -> None:
    """The row of a send that did not leave names the operator, as its ``sending`` row
    does (R-NODE-83), and the message's own type and id."""
    from juki_protocol.node import audit
    muni, _ = pair
    muni.endpoint.acting_operator = lambda: "clerk-07"
    (_, send), = record(muni)
    muni.endpoint.send_failed(send, "no route", NOW)
    rows = audit.read(muni.storage.conn)
    failed = [r for r in rows if str(r["result"]).startswith("failed")]
    assert len(failed) == 1
    assert failed[0]["operator"] == "clerk-07"
    assert failed[0]["message_type"] == "identityInfoUpdate"
    assert failed[0]["peer"] == send.recipient
