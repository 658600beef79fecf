"""The executable model that model-based node cases compare a prefecture or national
node with.

It is built from the reference's sans-I/O parts, not from its node: the flow is
:class:`~juki_protocol.machines.identity.PrefectureReceiver` (Art. 30-5, R-30-5-0-06)
or :class:`~juki_protocol.machines.identity.NationalReceiver` (Art. 30-11,
R-30-11-0-02) over an :class:`~juki_protocol.machines.memory_store.IdentityStore`;
around it this module states, in a few lines each, the receipt checks of spec/pdu.md
section 8 that come before the flow (version, recipient, TLS peer, time window, routing:
steps 3 to 6) and the duplicate and replay rule (step 10, R-PDU-24, R-NODE-02).

Where the spec lets a node choose, the model answers with a *set* of acceptable answers:
a message id older than the duplicate window may be remembered or forgotten ("keeps ...
for at least its duplicate window"), and identity info past retention may be held
while a relay still has to carry it (spec/node.md). An answer is ``("ack", status)``,
``("error", code)`` or ``("closed",)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.identifiers import is_prefecture_code
from juki_protocol.machines.common import Inbound, Send
from juki_protocol.machines.identity import NationalReceiver, PrefectureReceiver
from juki_protocol.machines.memory_store import IdentityStore
from juki_protocol.messages.identity import IdentityInfoRelay, IdentityInfoUpdate
from juki_protocol.messages.pdu import Acknowledgement

Answer = tuple[Any, ...]
TIME_WINDOW = dt.timedelta(seconds=300)          # R-PDU-16
DUPLICATE_WINDOW = dt.timedelta(hours=24)        # spec/pdu.md section 5, the default


@dataclasses.dataclass(frozen=True)
class Sent:
    """What the lower tester put on the wire, as the model needs it."""

    peer: str                 # the TLS peer it was sent as
    sender: str               # the header sender
    recipient: str            # the header recipient
    version: int
    time: dt.datetime         # the header time
    message_id: bytes
    message: IdentityInfoUpdate | IdentityInfoRelay
    extended: bool = False    # an unknown extension addition in the message

    @property
    def update(self) -> IdentityInfoUpdate:
        """The update itself (a relay carries one)."""
        m = self.message
        return m.update if isinstance(m, IdentityInfoRelay) else m

    @property
    def digest(self) -> bytes:
        """R-PDU-24's digest: SHA-256 of the message's DER (the extension included)."""
        der = codec.encode(self.message)
        return hashlib.sha256(der + (b"+ext" if self.extended else b"")).digest()


@dataclasses.dataclass
class _Processed:
    digest: bytes
    at: dt.datetime
    answer: Answer


Receiver = PrefectureReceiver | NationalReceiver


class SequencedModel:
    """The expected answers and state of prefecture or national node ``code`` (Arts.
    30-5 and 30-11) for one exploration."""

    def __init__(self, role: str, code: str, last: dict[str, int],
                 retention: dt.timedelta) -> None:
        self.code = code
        self.role = role
        self.store = IdentityStore(retention=retention)
        self.receiver: Receiver = _receiver(role, code, self.store)
        self.receiver.last.update(last)
        self.processed: dict[tuple[str, bytes], _Processed] = {}

    def expect(self, sent: Sent, now: dt.datetime) -> set[Answer]:
        """Every answer a conforming node may give to ``sent`` at ``now``; the model's
        state moves as the first of them says (a node that chose another acceptable
        answer is followed by :meth:`follow`)."""
        header = self._header(sent, now)
        if header is not None:
            return {header}
        key = (sent.sender, sent.message_id)
        seen = self.processed.get(key)
        if seen is not None:
            again: Answer = ("ack", "duplicate") if seen.digest == sent.digest \
                else ("error", int(ErrorCode.REPLAY))
            if now - seen.at <= DUPLICATE_WINDOW:
                return {again}
            # Past the window the node may have forgotten the id: then the flow decides.
            return {again, self._flow(sent, now, dry=True)}
        return {self._flow(sent, now, dry=True)}

    def follow(self, sent: Sent, now: dt.datetime, answer: Answer) -> None:
        """Move the model as a node that gave ``answer`` (one :meth:`expect` allowed)."""
        if self._header(sent, now) is not None:
            return
        key = (sent.sender, sent.message_id)
        seen = self.processed.get(key)
        if seen is not None and answer in (("ack", "duplicate"),
                                           ("error", int(ErrorCode.REPLAY))):
            return
        flow = self._flow(sent, now, dry=False)
        if flow[0] == "ack":
            self.processed[key] = _Processed(sent.digest, now, flow)

    def _header(self, sent: Sent, now: dt.datetime) -> Answer | None:
        """Steps 3 to 6 of spec/pdu.md section 8 for a sealed message."""
        if sent.version != 1:
            return ("error", int(ErrorCode.UNSUPPORTED_VERSION))
        if sent.recipient != self.code:
            return ("error", int(ErrorCode.WRONG_RECIPIENT))
        if sent.sender != sent.peer:
            return ("error", int(ErrorCode.CERT_SENDER_MISMATCH))
        if abs(sent.time - now) > TIME_WINDOW:
            return ("error", int(ErrorCode.STALE_TIME))
        # The routing table (step 6): a prefecture takes updates from its
        # municipalities, the centre relays from prefectures.
        wanted = IdentityInfoRelay if self.role == "national" else IdentityInfoUpdate
        from_prefecture = is_prefecture_code(sent.sender)
        if not isinstance(sent.message, wanted) \
                or from_prefecture != (self.role == "national"):
            return ("error", int(ErrorCode.ROLE_NOT_ALLOWED))
        return None

    def _flow(self, sent: Sent, now: dt.datetime, *, dry: bool) -> Answer:
        """Step 11: the receiver machine (on a copy of its state when ``dry``)."""
        receiver = self.receiver
        if dry:
            receiver = _copy_receiver(self.receiver)
        inbound = Inbound(message=sent.message, message_id=sent.message_id,
                          sender=sent.sender, unknown_elements=sent.extended)
        try:
            effects = receiver.receive(inbound, now)
        except JukiError as exc:
            return ("error", int(exc.error_code))
        for effect in effects:
            if isinstance(effect, Send) and isinstance(effect.message, Acknowledgement):
                return ("ack", effect.message.status.value)
        raise AssertionError("the receiver neither acknowledged nor refused")

    def advance(self, now: dt.datetime) -> None:
        """The clock moved: what retention says is due goes (R-30-5-0-09)."""
        self.store.purge(now)

    def versions(self, resident_code: str) -> tuple[int, bool]:
        """(versions held, current and not erased) of one person, as ``identity_versions``
        answers."""
        history = sum(h.identity_info.resident_code == resident_code
                      for h in self.store.history)
        held = self.store.current.get(resident_code)
        return history + (held is not None), held is not None and held.erased_at is None

    def last(self, municipality: str) -> int:
        return self.receiver.last.get(municipality, 0)


def _receiver(role: str, code: str, store: IdentityStore) -> Receiver:
    if role == "national":
        return NationalReceiver(code, store)
    return PrefectureReceiver(prefecture=code, store=store)


def _copy_receiver(receiver: Receiver) -> Receiver:
    """A throwaway receiver in the same state (for answers that must not move it)."""
    store = IdentityStore(retention=receiver.store.retention)
    store.current = dict(receiver.store.current)
    store.history = list(receiver.store.history)
    store.retired = set(receiver.store.retired)
    copy = _receiver("national" if isinstance(receiver, NationalReceiver) else "prefecture",
                     receiver.code, store)
    copy.last = dict(receiver.last)
    copy.applied = dict(receiver.applied)
    return copy
