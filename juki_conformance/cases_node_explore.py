"""Model-based node cases: generated sequences, each step compared with a model.

Fixed cases check what their author thought of. Here hypothesis generates sequences of
steps (commands, in the QuickCheck sense) that two municipalities and the runner play
against a prefecture node: valid updates, records, corrections, erasures and resident
code changes; numbers out of order; resends of the very bytes sent before, resealed
copies, a message id reused for other content; header times at the edges of the window,
a wrong recipient, a header sender that is not the TLS peer, another version, an
unknown extension addition; node restarts and clock steps (past the time window, the
retention period and the duplicate window). Each step is played against the node and
against :class:`juki_conformance.explore_model.PrefectureModel`, and the node's answer
(acknowledgement status or error code) and its observable state (``lastSequence`` of
both municipalities, and ``identity_versions`` of every person the sequence touched)
must be one the model allows.

A divergence fails the case with the shortest failing sequence hypothesis found
(shrinking), the step where it diverged, and the command that reproduces it: runs are
deterministic for a seed (``--seed``) and budget (``--explore``), since the SUT's
answers are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography import x509

from juki_conformance.cases_node import (
    MUNICIPALITY,
    OTHER_MUNICIPALITY,
    NodeCase,
    with_later_field,
)
from juki_conformance.cases_node_retention import settle_relays
from juki_conformance.explore_model import Answer, Sent, SequencedModel
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, HarnessError, Inconclusive, SutFault
from juki_protocol.codec import codec
from juki_protocol.envelope import pki
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import prefecture_of
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import JukiPdu
from juki_protocol.tools.vectors.vector_cases import replace_at

#: The default budget of the main job: examples (sequences) per run.
DEFAULT_EXPLORE = 30
MIN_STEPS, MAX_STEPS = 4, 16
#: Shrinking stops after this many seconds; the shortest failure found so far is kept.
SHRINK_SECONDS = 30.0
#: The peers the runner plays, per role under test, and where their persons live.
PEERS = {"prefecture": (MUNICIPALITY, OTHER_MUNICIPALITY),
         "national": ("270008", "130001")}
RESIDENCE = {MUNICIPALITY: MUNICIPALITY, OTHER_MUNICIPALITY: OTHER_MUNICIPALITY,
             "270008": "271004", "130001": "131016"}
#: A peer beside the two, per role under test (see the step ``stranger``).
STRANGERS = {"prefecture": "131016", "national": "271004"}
#: A recipient that is not the node under test, per role.
ELSEWHERE = {"prefecture": "130001", "national": "270008"}


@dataclasses.dataclass(frozen=True)
class Step:
    """One command: ``kind``, the municipality ``who`` (0 or 1) and an argument."""

    kind: str
    who: int = 0
    arg: int = 0

    def __str__(self) -> str:
        return f"{self.kind}({self.who},{self.arg})"


def parse_steps(text: str) -> list[Step]:
    """Steps as :func:`format_steps` wrote them (``record(0,0) resend(0,2)``)."""
    out = []
    for token in text.split():
        kind, _, rest = token.partition("(")
        try:
            who, arg = (int(x) for x in rest.rstrip(")").split(","))
        except ValueError:
            raise ValueError(f"{token!r} is not a step KIND(WHO,ARG)") from None
        if kind not in KINDS or who not in (0, 1):
            raise ValueError(f"{token!r}: unknown step kind or municipality "
                             f"(kinds: {', '.join(KINDS)})")
        out.append(Step(kind, who, arg))
    return out


def format_steps(steps: list[Step]) -> str:
    return " ".join(str(s) for s in steps)


class Divergence(AssertionError):
    """The node answered or held what the model does not allow."""

    def __init__(self, index: int, step: Step, what: str) -> None:
        where = "the preamble (two records from each peer)" if index < 0 \
            else f"step {index + 1} {step}"
        super().__init__(f"{where}: {what}")
        self.index, self.step, self.what = index, step, what


def _answer(pdu: JukiPdu | None) -> Answer:
    if pdu is None:
        return ("closed",)
    if pdu.acknowledgement is not None:
        return ("ack", pdu.acknowledgement.status.value)
    if pdu.error_report is not None:
        return ("error", pdu.error_report.error_code)
    return ("sealed",)


def _said(answers: set[Answer] | Answer) -> str:
    items = sorted(answers, key=str) if isinstance(answers, set) else [answers]
    return " or ".join("closed" if a[0] == "closed" else
                       f"{a[0]} {a[1]}" if len(a) > 1 else a[0] for a in items)


class _Play:
    """One sequence played against the node and the model side by side."""

    def __init__(self, node: NodeSut, retention: dt.timedelta,
                 horizon: dt.datetime) -> None:
        self.node = node
        self.role = node.role
        self.who = PEERS[node.role]
        #: The clock never moves past this (the certificates and CRL of the run).
        self.horizon = horizon
        status = node.status()
        last = {code: int((status.get("lastSequence") or {}).get(code, 0))
                for code in self.who}
        self.model = SequencedModel(node.role, node.code, last, retention)
        #: A relay carries a municipality's update: its own numbering, 1, 2, 3...
        self.inner = {code: 0 for code in self.who}
        self.retention = retention
        self.sent: list[tuple[Sent, bytes]] = []       # (what the model knows, PDU DER)
        self.people: dict[int, list[str]] = {0: [], 1: []}   # resident codes per muni
        self.touched: set[str] = set()
        self.advanced = dt.timedelta(0)
        self.pinned = False
        self.salt = secrets.token_hex(6)
        self.fresh = 0

    # Building messages ------------------------------------------------------------------

    def _person(self, who: int) -> Any:
        self.fresh += 1
        return generate_households(1, f"explore:{self.salt}:{self.fresh}",
                                   municipalities=[RESIDENCE[self.who[who]]])[0].head

    def _message(self, who: int, seq: int, kind: str, arg: int
                 ) -> IdentityInfoUpdate | IdentityInfoRelay:
        """The next message of peer ``who`` numbered ``seq``: an update from a
        municipality, or a prefecture's relay of one."""
        if self.role != "national":
            return self._update(who, RESIDENCE[self.who[who]], seq, kind, arg)
        self.inner[self.who[who]] += 1
        update = self._update(who, RESIDENCE[self.who[who]], self.inner[self.who[who]],
                              kind, arg)
        return IdentityInfoRelay(prefecture=self.who[who], relay_sequence=seq,
                                 update=update)

    def _update(self, who: int, code: str, seq: int, kind: str, arg: int
                ) -> IdentityInfoUpdate:
        people = self.people[who]
        if kind in ("correct", "erase", "code_change", "reuse_retired") and people:
            target = people[arg % len(people)]
            held = self.model.store.current.get(target)
            if kind == "reuse_retired":
                retired = sorted(r for r in self.model.store.retired if r in self.touched)
                if retired:
                    info = dataclasses.replace(self._person(who).identity_info(
                        Profile.CURRENT), resident_code=retired[arg % len(retired)])
                    return self._record(code, seq, info)
            elif held is not None:
                info = held.identity_info
                if kind in ("erase", "correct"):
                    operation, reason = (
                        (UpdateOperation.ERASE, ChangeReason.DEATH) if kind == "erase"
                        else (UpdateOperation.CORRECT, ChangeReason.CORRECTION))
                    return IdentityInfoUpdate(
                        municipality=code, update_sequence=seq, operation=operation,
                        identity_info=info,
                        change_info=ChangeInfo(change_reason=reason,
                                               change_date=self._today()))
                new_code = self._person(who).resident_code
                return IdentityInfoUpdate(
                    municipality=code, update_sequence=seq,
                    operation=UpdateOperation.CORRECT,
                    identity_info=dataclasses.replace(info, resident_code=new_code),
                    change_info=ChangeInfo(change_reason=ChangeReason.RESIDENT_CODE_CHANGE,
                                           change_date=self._today()),
                    previous_resident_code=target)
        return self._record(code, seq, self._person(who).identity_info(Profile.CURRENT))

    def _record(self, code: str, seq: int, info: Any) -> IdentityInfoUpdate:
        return IdentityInfoUpdate(
            municipality=code, update_sequence=seq, operation=UpdateOperation.RECORD,
            identity_info=info,
            change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                   change_date=self._today()))

    def _today(self) -> dt.date:
        return self.node.node_now().astimezone(dt.timezone(dt.timedelta(hours=9))).date()

    def _seal(self, update: IdentityInfoUpdate | IdentityInfoRelay, *, peer: str,
              sender: str,
              recipient: str | None = None, version: int = 1,
              offset: int = 0, message_id: bytes | None = None,
              extended: bool = False) -> tuple[Sent, bytes]:
        der = codec.encode(update)
        if extended:
            # identityInfo: the fourth element of an update, inside a relay's third.
            path = [2, 3] if isinstance(update, IdentityInfoRelay) else [3]
            der = replace_at(der, path, with_later_field)
        mid, pdu = self.node.sealed(
            update, sender=sender, recipient=recipient, message_id=message_id,
            time_offset=dt.timedelta(seconds=offset), der=der,
            header_changes={"version": version} if version != 1 else None)
        sent_at = (self.node.node_now() + dt.timedelta(seconds=offset)).replace(
            microsecond=0)
        return Sent(peer=peer, sender=sender, recipient=recipient or self.node.code,
                    version=version, time=sent_at, message_id=mid, message=update,
                    extended=extended), pdu

    # Playing ----------------------------------------------------------------------------

    def preamble(self) -> None:
        """Both peers have had at least two messages applied before the steps start, so
        that a sequence means the same on a fresh node and on one that earlier cases
        used (a number below the next one exists, and so on)."""
        step = Step("record")
        for who, code in enumerate(self.who):
            while self.model.last(code) < 2:
                try:
                    sent, pdu = self._seal(self._message(who, self.model.last(code) + 1,
                                                         "record", 0),
                                           peer=code, sender=code)
                    self.exchange(-1, step, sent, pdu)
                except (SutFault, Inconclusive) as fault:
                    raise Divergence(-1, step, f"the node failed: {fault}") from None
        self.sent.clear()
        self.people = {0: [], 1: []}
        self.touched.clear()

    def play(self, index: int, step: Step) -> None:
        who, code = step.who, self.who[step.who]
        nxt = self.model.last(code) + 1
        kind = step.kind
        if kind == "restart":
            # A node is down for a second at least: the clock steps by one after the
            # restart, so that what the node does at a start (housekeeping, R-NODE-05)
            # sees the same clock whether the restart took a tenth of a second or two.
            self.node.restart()
            self.node.clock_advance(1)
            self.advanced += dt.timedelta(seconds=1)
            self.model.advance(self.node.node_now())
            return self.check_state(index, step)
        if kind == "advance":
            seconds = ADVANCES[step.arg % len(ADVANCES)]
            if self.node.node_now() + dt.timedelta(seconds=seconds) >= self.horizon:
                return self.check_state(index, step)   # would outlive the run's PKI
            # The runner, as the centre, first acknowledges every relay: a version past
            # retention that a relay still has to carry stays (the fixed retention
            # cases check that); here nothing is pinned unless relays never settle.
            before = self.node.node_now()
            settle_relays(self.node)
            self.advanced += self.node.node_now() - before
            relays = self.node.status().get("relays") or {}
            self.pinned = bool(relays.get("unacknowledged"))
            self.node.clock_advance(seconds)
            self.advanced += dt.timedelta(seconds=seconds)
            self.model.advance(self.node.node_now())
            return self.check_state(index, step)
        if kind == "settle":
            # The runner plays the centre and acknowledges every relay (moving the
            # clock by the retry interval when the node waits).
            before = self.node.node_now()
            settle_relays(self.node)
            self.advanced += self.node.node_now() - before
            self.model.advance(self.node.node_now())
            return self.check_state(index, step)
        if kind in ("resend", "reseal") and not self.sent:
            kind = "record"
        if kind == "resend":
            sent, pdu = self.sent[step.arg % len(self.sent)]
            return self.exchange(index, step, sent, pdu)
        if kind == "reseal":
            old, _ = self.sent[step.arg % len(self.sent)]
            sent, pdu = self._seal(old.message, peer=old.peer, sender=old.sender,
                                   message_id=old.message_id, extended=old.extended)
            return self.exchange(index, step, sent, pdu)
        if kind == "new_id" and self.sent:
            # The same message under a new message id: identical to what was applied
            # under its number (R-30-5-0-06), so a duplicate, never applied twice.
            old, _ = self.sent[step.arg % len(self.sent)]
            sent, pdu = self._seal(old.message, peer=old.peer, sender=old.sender,
                                   extended=old.extended)
            return self.exchange(index, step, sent, pdu)
        if kind == "other_origin":
            # The message names the other peer as its origin (R-30-5-0-02, R-30-11-0-02).
            other = self._message(1 - who, nxt, "record", 0)
            sent, pdu = self._seal(other, peer=code, sender=code)
            return self.exchange(index, step, sent, pdu)
        if kind == "wrong_type":
            # A centre gets a municipality's update from a prefecture, a prefecture a
            # relay from a municipality: no row of the routing table (R-PDU-20).
            message = self._message(who, nxt, "record", 0)
            if isinstance(message, IdentityInfoRelay):
                message = message.update
            else:
                message = IdentityInfoRelay(prefecture=self.node.code, relay_sequence=nxt,
                                            update=message)
            sent, pdu = self._seal(message, peer=code, sender=code)
            return self.exchange(index, step, sent, pdu)
        if kind == "stranger":
            # A peer that is not one of the two: a municipality of another prefecture,
            # or (at the centre) a municipality; sending the message of either role.
            peer = STRANGERS[self.role]
            message = self._message(who, nxt, "record", 0)
            if step.arg % 2:
                message = message.update if isinstance(message, IdentityInfoRelay) \
                    else IdentityInfoRelay(prefecture=prefecture_of(message.municipality),
                                           relay_sequence=nxt, update=message)
            sent, pdu = self._seal(message, peer=peer, sender=peer)
            return self.exchange(index, step, sent, pdu)
        if kind == "reuse_id" and self.sent:
            old, _ = self.sent[step.arg % len(self.sent)]
            sent, pdu = self._seal(self._message(who, nxt, "record", 0), peer=code,
                                   sender=code, message_id=old.message_id)
            return self.exchange(index, step, sent, pdu)
        if kind == "sequence":
            offset = SEQUENCE_OFFSETS[step.arg % len(SEQUENCE_OFFSETS)]
            sent, pdu = self._seal(self._message(who, max(1, nxt + offset), "record", 0),
                                   peer=code, sender=code)
            return self.exchange(index, step, sent, pdu)
        update = self._message(who, nxt, kind, step.arg)
        options: dict[str, Any] = {"peer": code, "sender": code}
        if kind == "time":
            options["offset"] = TIME_OFFSETS[step.arg % len(TIME_OFFSETS)]
        elif kind == "recipient":
            options["recipient"] = ELSEWHERE[self.role]
        elif kind == "peer":
            options["peer"] = self.who[1 - who]
        elif kind == "version":
            options["version"] = 2
        elif kind == "extension":
            options["extended"] = True
        sent, pdu = self._seal(update, **options)
        return self.exchange(index, step, sent, pdu)

    def exchange(self, index: int, step: Step, sent: Sent, pdu: bytes) -> None:
        now = self.node.node_now()
        allowed = self.model.expect(sent, now)
        conn = self.node.connect(sent.peer)
        try:
            conn.send(pdu)
            got = _answer(conn.answer_to(sent.message_id, timeout=min(self.node.timeout, 5.0)))
        finally:
            conn.close()
        if got not in allowed:
            raise Divergence(index, step, f"the node answered {_said(got)}; the model "
                                          f"allows {_said(allowed)}")
        self.model.follow(sent, now, got)
        self.sent.append((sent, pdu))
        if sent.sender == sent.peer:
            who = self.who.index(sent.sender) if sent.sender in self.who else None
            if who is not None and got == ("ack", "accepted"):
                code = sent.update.identity_info.resident_code
                if code not in self.people[who]:
                    self.people[who].append(code)
            self.touched.add(sent.update.identity_info.resident_code)
            if sent.update.previous_resident_code:
                self.touched.add(sent.update.previous_resident_code)
        self.check_state(index, step)

    def check_state(self, index: int, step: Step) -> None:
        status = self.node.status()
        for code in self.who:
            held = int((status.get("lastSequence") or {}).get(code, 0))
            if held != self.model.last(code):
                raise Divergence(index, step, f"status lastSequence[{code}] is {held}; "
                                              f"the model has {self.model.last(code)}")
        lenient = self.pinned and self.advanced >= self.retention
        for resident in sorted(self.touched):
            answer = self.node.request("identity_versions", residentCode=resident)
            if not answer.get("ok"):
                raise SutFault(f"upper tester identity_versions failed: "
                               f"{answer.get('error')}")
            versions, current = answer.get("versions"), answer.get("current")
            want_versions, want_current = self.model.versions(resident)
            if current != want_current:
                raise Divergence(index, step, f"identity_versions of a touched person: "
                                              f"current {current}; the model has "
                                              f"{want_current}")
            if versions != want_versions and not (
                    lenient and isinstance(versions, int) and versions >= want_versions):
                raise Divergence(index, step, f"identity_versions of a touched person: "
                                              f"{versions} versions; the model has "
                                              f"{want_versions}")


#: Step kinds, simplest first (hypothesis shrinks towards the first).
KINDS = ("record", "correct", "erase", "code_change", "reuse_retired", "sequence",
         "resend", "reseal", "reuse_id", "time", "recipient", "peer", "version",
         "extension", "restart", "advance", "settle", "new_id", "other_origin",
         "wrong_type", "stranger")
SEQUENCE_OFFSETS = (1, -1, 2, -2)
TIME_OFFSETS = (-290, 290, -310, 310, -3600)
ADVANCES = (30, 310, 700, 90000)


#: How often each kind is drawn: changes of state, resends and clock steps most, since
#: faults hide in their combinations; each fault of one message is one draw away.
WEIGHTS = {"record": 3, "correct": 2, "erase": 2, "code_change": 1, "reuse_retired": 1,
           "sequence": 2, "resend": 3, "reseal": 1, "reuse_id": 1, "time": 2,
           "recipient": 1, "peer": 1, "version": 1, "extension": 1, "restart": 1,
           "advance": 3, "settle": 1, "new_id": 1, "other_origin": 1, "wrong_type": 1,
           "stranger": 1}


def _strategy() -> Any:
    from hypothesis import strategies as st
    kinds = [k for k in KINDS for _ in range(WEIGHTS[k])]
    step = st.builds(Step, st.sampled_from(kinds), st.integers(0, 1), st.integers(0, 15))
    return st.lists(step, min_size=MIN_STEPS, max_size=MAX_STEPS)


@dataclasses.dataclass
class _Found:
    steps: list[Step]
    error: Divergence


def explore(node: NodeSut, *, budget: int, seed: int,
            replay: list[Step] | None = None,
            played: list[list[Step]] | None = None) -> tuple[_Found | None, int]:
    """Play ``budget`` generated sequences (or the one ``replay``); the shortest
    divergent sequence found, and how many sequences ran (each appended to ``played``)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seed_of

    retention = dt.timedelta(seconds=float(node.ixit.get("retentionSeconds")
                                           or 150 * 365 * 86400))
    horizon = _horizon(node)
    found: list[_Found] = []
    ran = [0]
    first_failure = [0.0]

    def one(steps: list[Step]) -> None:
        if found and time.monotonic() - first_failure[0] > SHRINK_SECONDS:
            return          # shrinking has had its time; keep the shortest so far
        ran[0] += 1
        if played is not None:
            played.append(list(steps))
        play = _Play(node, retention, horizon)
        try:
            play.preamble()
            for i, step in enumerate(steps):
                try:
                    play.play(i, step)
                except (SutFault, Inconclusive) as fault:   # no answer, relays never
                    # resent, a broken upper tester...
                    raise Divergence(i, step, f"the node failed: {fault}") from None
        except Divergence as exc:
            if not found:
                first_failure[0] = time.monotonic()
            if not found or _size(steps) < _size(found[0].steps):
                found[:] = [_Found(list(steps), exc)]
            raise

    if replay is not None:
        try:
            one(replay)
        except Divergence:
            pass
        return (found[0] if found else None), ran[0]

    test = settings(max_examples=budget, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck),
                    phases=(Phase.generate, Phase.shrink), derandomize=False,
                    report_multiple_bugs=False)(
        given(_strategy())(one))  # type: ignore[no-untyped-call]
    test = seed_of(seed)(test)
    try:
        test()
    except Divergence:
        pass
    except Exception as exc:  # hypothesis's own complaints (flaky replays) after a find
        if not found:
            raise HarnessError(f"exploration stopped: {exc!r}") from exc
    if found:
        # Hypothesis does not shrink below MIN_STEPS (nor past a flaky replay): drop
        # single steps while the sequence still diverges, so the printed sequence is one
        # from which no step can be left out.
        first_failure[0] = time.monotonic()
        steps = found[0].steps
        i = 0
        while i < len(steps) and len(steps) > 1 \
                and time.monotonic() - first_failure[0] <= SHRINK_SECONDS:
            shorter = steps[:i] + steps[i + 1:]
            try:
                one(shorter)
            except Divergence:
                steps = found[0].steps = shorter if _size(shorter) <= _size(
                    found[0].steps) else found[0].steps
                continue
            i += 1
    return (found[0] if found else None), ran[0]


def _horizon(node: NodeSut) -> dt.datetime:
    """An hour before the first of the run's certificates (the SUT's and both
    municipalities') or its CRL lapses: clock steps stop there, so that the exploration
    leaves a node every later case can still talk to."""
    ends = []
    for code in (node.code, *PEERS[node.role]):
        path = node.pki_dir / f"{code}.pem"
        if path.is_file():
            ends.append(pki.load_certificate(path.read_bytes()).not_valid_after_utc)
    crl_path = node.pki_dir / "crl.pem"
    if crl_path.is_file():
        crl = x509.load_pem_x509_crl(crl_path.read_bytes())
        if crl.next_update_utc is not None:
            ends.append(crl.next_update_utc)
    if not ends:
        return node.node_now() + dt.timedelta(days=1)
    return min(ends) - dt.timedelta(hours=1)


def _size(steps: list[Step]) -> tuple[int, str]:
    return len(steps), format_steps(steps)


def _run(budget: int, seed: int, replay: str | None) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        if not isinstance(sut, NodeSut):
            raise HarnessError("a node-mode case needs a node SUT")
        steps = parse_steps(replay) if replay else None
        expected = ("every answer and the observable state as the model allows, "
                    f"over {'the replayed sequence' if steps else f'{budget} sequences'} "
                    f"(seed {seed})")
        found, ran = explore(sut, budget=budget, seed=seed, replay=steps)
        if found is None:
            return Outcome(Verdict.PASS, expected,
                           f"{ran} sequences played, no divergence")
        again = (f"juki-conformance run --cases '*/node/explore/*' --explore-replay "
                 f"'{format_steps(found.steps)}'")
        return Outcome(Verdict.FAIL, expected, str(found.error),
                       f"minimal sequence ({len(found.steps)} steps): "
                       f"{format_steps(found.steps)}; replay: {again}")
    return run


def explore_cases(budget: int = DEFAULT_EXPLORE, seed: int = 1,
                  replay: str | None = None) -> list[Case]:
    """The model-based cases, one per sequenced receiver role (none when ``budget`` is 0
    and nothing is replayed)."""
    if budget <= 0 and not replay:
        return []
    common = ("R-PDU-24", "R-NODE-02", "R-PDU-16", "R-PDU-17", "R-PDU-11", "R-PDU-14",
              "R-NODE-10", "R-PDU-22")
    remediation = ("Replay the minimal sequence printed with the failure and compare the "
                   "node's answer at the diverging step with spec/pdu.md section 8 and "
                   "spec/identity.md.")
    return [
        NodeCase(id="30-5/node/explore/prefecture-identity-updates",
                 title="generated sequences of updates, resends, replays, header faults, "
                       "restarts and clock steps agree with the model at every step",
                 clause="30-5", requirements=("R-30-5-0-06", "R-30-5-0-08", *common),
                 level="MUST", remediation=remediation, mode="node", ops=(),
                 run=_run(budget, seed, replay), role="prefecture",
                 needs="ixit.restart ixit.clock"),
        NodeCase(id="30-11/node/explore/national-identity-relays",
                 title="generated sequences of relays from two prefectures, resends, "
                       "replays, header faults, restarts and clock steps agree with the "
                       "model at every step",
                 clause="30-11", requirements=("R-30-11-0-02", "R-30-11-0-03",
                                               "R-NODE-30", *common),
                 level="MUST", remediation=remediation, mode="node", ops=(),
                 run=_run(budget, seed, replay), role="national",
                 needs="ixit.restart ixit.clock"),
    ]
