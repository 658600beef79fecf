"""Node-mode cases of the deadlines of spec/deadlines.md: the 30 days an annotated
move-out stays valid (R-24-2-1-04), the resend interval (R-TIME-02) and how long a
requester waits for an answer (R-TIME-01, R-TIME-04, R-TIME-05).

The runner plays the other municipality 272035 (municipality cases) or the prefecture
270008 (the agency case), starts the flow through the upper tester, acknowledges what
the node sends and then answers nothing. With a test clock (``ixit.clock``) it moves the
node's time to just before the deadline, where the flow must still be pending, and past
it, where it must have ended with 4005 FLOW_TIMED_OUT. The node's clock also runs in real
time, so "just before" keeps a margin of :data:`MARGIN` seconds. The 30 days of an
annotated move-out are checked at the boundary of the planned date, which needs no
clock: a run's credentials live two days, so the runner never moves the clock by days.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import Address
from juki_protocol.messages.pdu import JukiPdu, MessageType
from juki_protocol.messages.wide_area import IdentityCheckMethod, Requester, TargetPerson

#: Seconds kept between "just before a deadline" and the deadline (real time runs on).
MARGIN = 60.0
#: How long a case waits to be sure the node sends nothing more (R-TIME-08).
QUIET = 1.0
#: The values of spec/deadlines.md, in seconds.
CERTIFICATE_WAIT, WIDE_AREA_WAIT, PROVISION_WAIT = 3600.0, 1800.0, 600.0
PLAN_DAYS = 30
PREFECTURE = "270008"
RESIDENCE = "271004"            # where the agency case's persons live
AGENCY_PURPOSE = "S1-KENCHIKUSHI"
TIMED_OUT = f"failed:{int(ErrorCode.FLOW_TIMED_OUT)}"
Got = tuple[PeerConnection, JukiPdu]


def _ok(node: NodeSut, op: str, **fields: Any) -> dict[str, Any]:
    answer = node.request(op, **fields)
    if not answer.get("ok"):
        raise SutFault(f"upper tester {op} failed: {answer.get('error')}")
    return answer


def _today(node: NodeSut) -> dt.date:
    return node.clock_now().date() if node.offers("clock") else dt.date.today()


def _household(code: str) -> tuple[str, tuple[SyntheticResident, ...]]:
    seed = f"conformance:deadlines:{secrets.token_hex(8)}"
    return seed, generate_households(1, seed, municipalities=[code])[0].members


def _sent(node: NodeSut, peer: str, mtype: MessageType, mid: str | None = None,
          timeout: float | None = None) -> Got | None:
    """The next sealed message of ``mtype`` (with id ``mid``) the node sends to ``peer``;
    what else comes is skipped."""
    while True:
        got = node.sent_to_peer(timeout, peer=peer)
        if got is None:
            return None
        pdu = got[1]
        if pdu.sealed is not None and pdu.header.message_type is mtype and (
                mid is None or pdu.header.message_id.hex() == mid):
            return got


def _waits_then_times_out(node: NodeSut, op: str, mid: str, wait: float,
                          already: float) -> str | None:
    """Move the clock to ``wait - MARGIN`` after the first send (``already`` seconds have
    been moved since), expect the flow pending, then past ``wait`` and expect 4005; why
    not, or None."""
    node.clock_advance(wait - MARGIN - already)
    before = _ok(node, op, messageId=mid).get("outcome")
    if before != "pending":
        return f"{MARGIN:g} s before the deadline the outcome is {before!r}, not pending"
    node.clock_advance(MARGIN + 5)
    after = _ok(node, op, messageId=mid)
    if after.get("outcome") != TIMED_OUT or after.get("state") != "timed_out":
        return (f"5 s after the deadline the state is {after.get('state')!r} and the "
                f"outcome {after.get('outcome')!r}, not timed_out and {TIMED_OUT}")
    return None


# R-24-2-1-04: the 30 days of an annotated move-out ----------------------------------------

def _plan_valid_30_days(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    code = ErrorCode.DEADLINE_PASSED
    expected = (f"an annotated move-out planned {PLAN_DAYS} days ago refused with "
                f"{int(code)} {code.name}; one planned {PLAN_DAYS - 1} days ago put on file")
    seed, people = _household(node.code)
    answer = _ok(node, "register_resident", seed=seed)
    if answer.get("residentCodes") != [p.resident_code for p in people]:
        raise SutFault("register_resident did not register the household of the seed")
    today = _today(node)
    fields = {"movers": [people[0].resident_code],
              "destination": codec.to_json(Address(local_gov_code=node.peer_municipality,
                                                   text="大阪府豊中市中桜塚三丁目1番1号"))}
    late = node.request("annotated_move_out", **fields,
                        plannedMoveDate=(today - dt.timedelta(days=PLAN_DAYS)).isoformat())
    error = late.get("error") or {}
    if late.get("ok") or error.get("code") != int(code):
        return Outcome(Verdict.FAIL, expected, f"{PLAN_DAYS} days ago: answered {late}")
    in_time = node.request("annotated_move_out", **fields, plannedMoveDate=(
        today - dt.timedelta(days=PLAN_DAYS - 1)).isoformat())
    if not in_time.get("ok"):
        return Outcome(Verdict.FAIL, expected,
                       f"{PLAN_DAYS - 1} days ago: answered {in_time.get('error')}")
    return Outcome(Verdict.PASS, expected, f"{int(code)} at {PLAN_DAYS} days, on file at "
                   f"{PLAN_DAYS - 1}")


# R-TIME-02, R-TIME-04: the wide-area request ---------------------------------------------

def _wide_area_resent_then_timed_out(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    retry = node.retry_interval
    expected = (f"the unanswered request not sent again before {retry:g} s, sent again to "
                f"{peer} after {retry:g} s under the "
                f"same id; once acknowledged, pending until {WIDE_AREA_WAIT / 60:g} minutes "
                f"after it was sent, then timed out ({TIMED_OUT})")
    node.drain(peer)
    _, people = _household(peer)
    head = people[0]
    requester = Requester(name=head.name, birth_date=head.birth_date, address=head.address,
                          identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN,
                          resident_code=head.resident_code)
    mid = str(_ok(node, "wide_area_request", residenceMunicipality=peer,
                  applicant="person", identityConfirmed=True,
                  requester=codec.to_json(requester),
                  targets=[codec.to_json(TargetPerson(name=head.name,
                                                      birth_date=head.birth_date))],
                  includeRelationship=False)["messageId"])
    first = _sent(node, peer, MessageType.WIDE_AREA_ISSUANCE_REQUEST, mid, node.timeout)
    if first is None:
        return Outcome(Verdict.FAIL, expected, f"no request {mid[:8]}... reached {peer}")
    # The clock has not moved: a copy now is a resend before the interval (R-TIME-08).
    early = _sent(node, peer, MessageType.WIDE_AREA_ISSUANCE_REQUEST, mid, QUIET)
    if early is not None:
        node.acknowledge(*early, peer)
        return Outcome(Verdict.FAIL, expected, f"sent again within {QUIET:g} s of the first, "
                       f"before {retry:g} s had passed (R-TIME-08)")
    node.clock_advance(retry + 1)
    again = _sent(node, peer, MessageType.WIDE_AREA_ISSUANCE_REQUEST, mid, node.timeout)
    conn, pdu = again or first
    node.acknowledge(conn, pdu, peer)
    if again is None:
        return Outcome(Verdict.FAIL, expected, f"not sent again {retry + 1:g} s after the "
                       "first, unanswered (R-TIME-02)")
    why = _waits_then_times_out(node, "wide_area_result", mid, WIDE_AREA_WAIT, retry + 1)
    if why is not None:
        return Outcome(Verdict.FAIL, expected, why)
    return Outcome(Verdict.PASS, expected, "resent once, then pending, then timed out")


# R-TIME-01: the certificate of a special move ---------------------------------------------

def _certificate_waited_one_hour(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    expected = (f"the SpecialMoveInNotice acknowledged by {peer}, no certificate: pending "
                f"until {CERTIFICATE_WAIT / 3600:g} hour after it was sent, then timed out "
                f"({TIMED_OUT})")
    node.drain(peer)
    _, people = _household(peer)
    today = _today(node)
    mid = str(_ok(node, "special_move_in", cardHolder=people[0].resident_code,
                  formerMunicipality=peer,
                  movers=[codec.to_json(p.person_ref()) for p in people],
                  movedDate=(today - dt.timedelta(days=1)).isoformat(),
                  filedDate=today.isoformat(),
                  newAddress=codec.to_json(Address(local_gov_code=node.code,
                                                   text="大阪府大阪市北区中之島一丁目3番20号"))
                  )["messageId"])
    got = _sent(node, peer, MessageType.SPECIAL_MOVE_IN_NOTICE, mid, node.timeout)
    if got is None:
        return Outcome(Verdict.FAIL, expected, f"no notice {mid[:8]}... reached {peer}")
    node.acknowledge(got[0], got[1], peer)
    why = _waits_then_times_out(node, "move_in_result", mid, CERTIFICATE_WAIT, 0.0)
    if why is not None:
        return Outcome(Verdict.FAIL, expected, why)
    return Outcome(Verdict.PASS, expected, "pending, then timed out")


# R-TIME-05: the provision response ---------------------------------------------------------

def _provision_waited_ten_minutes(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"the request acknowledged by {PREFECTURE}, no response: pending until "
                f"{PROVISION_WAIT / 60:g} minutes after it was sent, then timed out "
                f"({TIMED_OUT})")
    node.drain()
    seed = f"conformance:deadlines:{secrets.token_hex(8)}"
    person = generate_households(1, seed, municipalities=[RESIDENCE])[0].head
    declared = node.ixit.get("operator")
    operator = str(declared["id"]) if isinstance(declared, dict) else "conformance-op-1"
    mid = str(_ok(node, "provision_request", provider=PREFECTURE, operatorId=operator,
                  purposeCode=AGENCY_PURPOSE,
                  byResidentCode=[person.resident_code])["messageId"])
    got = _sent(node, PREFECTURE, MessageType.PROVISION_REQUEST, mid, node.timeout)
    if got is None:
        return Outcome(Verdict.FAIL, expected, f"no request {mid[:8]}... reached {PREFECTURE}")
    node.acknowledge(got[0], got[1], PREFECTURE)
    why = _waits_then_times_out(node, "provision_result", mid, PROVISION_WAIT, 0.0)
    if why is not None:
        return Outcome(Verdict.FAIL, expected, f"{why} ({describe(got[1])})")
    return Outcome(Verdict.PASS, expected, "pending, then timed out")


REM_PLAN = ("Keep an annotated move-out on file for 30 days after its planned move date and "
            "refuse one planned 30 days ago or earlier with 5020 (R-24-2-1-04).")
REM_WAIT = ("Arm the flow's deadline when the message is first sent (spec/deadlines.md: 1 "
            "hour for a certificate, 30 minutes for a wide-area response, 10 minutes for a "
            "provision response); keep the flow pending until then and end it with 4005 "
            "FLOW_TIMED_OUT when it passes, stopping the resends (R-TIME-01, R-TIME-04, "
            "R-TIME-05); resend an unacknowledged message every 60 s (R-TIME-02).")


def _case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
          run: Callable[[AdapterSut], Outcome], role: str, needs: str = "") -> Case:
    return NodeCase(id=cid, title=title, clause=clause, requirements=reqs, level="MUST",
                    remediation=rem, mode="node", ops=(), run=run, role=role, needs=needs)


def deadline_cases() -> list[Case]:
    """The municipality's node-mode cases of spec/deadlines.md (with the flow cases)."""
    return [
        _case("24-2/1/node/special-move/former/annotated-move-out-valid-30-days",
              "an annotated move-out planned 30 days ago is refused with 5020, one planned "
              "29 days ago is put on file", "24-2/1", ("R-24-2-1-04", "R-NODE-44"),
              REM_PLAN, _plan_valid_30_days, "municipality"),
        _case("12-2/2/node/wide-area/issuing/resent-then-timed-out-after-30-minutes",
              "an unanswered wide-area request is resent after 60 s and, acknowledged but "
              "not answered, ends timed out 30 minutes after it was sent", "12-2/2",
              ("R-TIME-02", "R-TIME-08", "R-TIME-04", "R-PDU-23", "R-NODE-41"), REM_WAIT,
              _wide_area_resent_then_timed_out, "municipality", "ixit.clock"),
        _case("24-2/3/node/special-move/new/certificate-timed-out-after-1-hour",
              "a special move-in notice acknowledged but never answered with a certificate "
              "ends timed out 1 hour after it was sent", "24-2/3", ("R-TIME-01", "R-NODE-43"),
              REM_WAIT, _certificate_waited_one_hour, "municipality", "ixit.clock"),
    ]


def agency_deadline_cases() -> list[Case]:
    """The agency's node-mode case of spec/deadlines.md (with the agency cases)."""
    return [
        _case("30-7/node/agency/request-timed-out-after-10-minutes",
              "a provision request acknowledged but never answered ends timed out 10 "
              "minutes after it was sent", "30-7", ("R-TIME-05", "R-NODE-45"), REM_WAIT,
              _provision_waited_ten_minutes, "agency", "ixit.clock"),
    ]


__all__ = ["agency_deadline_cases", "deadline_cases"]
