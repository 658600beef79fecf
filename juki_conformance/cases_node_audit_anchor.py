"""Node-mode case on the anchor of the audit log (spec/node.md section 3, R-NODE-22 to
R-NODE-24, R-NODE-29; the upper tester's ``audit_checkpoints``, section 4.7), from the
second pass over the mutation backlog (issue 12).

The audit cases of :mod:`juki_conformance.cases_node_durability` read the log's entries;
none looked at its checkpoints, so a node whose checkpoint after a restart starts a new
chain, links to the wrong line, or writes nothing at all passed them. Here the runner
reads the checkpoint lines, adds an audit entry (an acknowledgement referring to
nothing, which the node logs and does not answer), restarts the node as at a shutdown
(the upper tester's ``restart``), and does it again; then

- each restart left a checkpoint covering the entry added before it (R-NODE-23: at
  shutdown), and no checkpoint goes back to an earlier entry;
- every line links to the one before: its ``prev`` is the SHA-256 of that line as
  written, 64 zeros on the file's first line (R-NODE-24, R-NODE-29), across both
  restarts.

A second case holds the node to the interval of entries it declares in
``audit_checkpoints`` (``everyEntries``, R-NODE-32): after a restart, the runner adds
exactly that many entries after the last checkpoint, and a checkpoint covering them must
follow within 2 seconds, without a shutdown.

A node that does not anchor its log (R-NODE-22 is a SHOULD) offers no
``audit_checkpoints``: the cases are then not applicable.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase, node_sut
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.messages.pdu import Acknowledgement, AckStatus

GENESIS = "0" * 64
#: The most entries the interval case adds (about 9 ms each on the reference).
MAX_ENTRIES = 5000
#: How long a declared checkpoint may take after its last entry (R-NODE-32).
CHECKPOINT_DELAY = 2.0
#: The peer whose stray acknowledgements make the audit entries, per role of the SUT.
PEER = {"prefecture": "271004", "municipality": "272035", "national": "270008",
        "agency": "270008"}
REMEDIATION = (
    "Anchor the audit log in an append-only checkpoint file: write a checkpoint at "
    "shutdown (and at intervals while entries are added) covering the last entry; link "
    "each to the line before it by the SHA-256 of that line as written, also across a "
    "restart (read the file's last line at start), 64 zeros on the first line; write "
    "one when the entries since the last reach the everyEntries you declare; answer "
    "audit_checkpoints with the lines as written (R-NODE-23, R-NODE-24, R-NODE-29, "
    "R-NODE-32).")


def checkpoint_lines(node: NodeSut) -> list[str]:
    """Every line of the node's checkpoint file (upper tester ``audit_checkpoints``); the
    first page asked for without ``after``, which is then 0 (spec/node.md section 4.7)."""
    lines: list[str] = []
    while True:
        answer = node.request("audit_checkpoints", **({"after": len(lines)} if lines else {}))
        if not answer.get("ok") or not isinstance(answer.get("lines"), list):
            raise SutFault(f"upper tester audit_checkpoints failed: {answer.get('error')}")
        lines += [str(x) for x in answer["lines"]]
        if not answer["lines"] or len(lines) >= int(answer.get("total") or 0):
            return lines


def link_problem(lines: list[str], first: int) -> str | None:
    """None if lines ``first`` onwards each link to the line before (and carry a
    number that never goes back), else the first that does not. ``first`` 0 checks
    the file's first line against the genesis value."""
    seqs: list[int] = []
    for i in range(first, len(lines)):
        try:
            fields = json.loads(lines[i])
            prev, seq = fields["prev"], int(fields["seq"])
        except (ValueError, KeyError, TypeError):
            return f"checkpoint line {i + 1} is not a JSON object with prev and seq"
        want = GENESIS if i == 0 else hashlib.sha256(lines[i - 1].encode("utf-8")).hexdigest()
        if prev != want:
            return (f"checkpoint line {i + 1} has prev {str(prev)[:16]}..., not the "
                    f"SHA-256 of line {i} ({want[:16]}...)" if i else
                    f"the first checkpoint line has prev {str(prev)[:16]}..., not 64 zeros")
        if seqs and seq < seqs[-1]:
            return f"checkpoint line {i + 1} goes back to entry {seq} from {seqs[-1]}"
        seqs.append(seq)
    return None


def _audit_head(node: NodeSut) -> int:
    head = 0
    while rows := node.audit_log(after=head):
        head = max(int(r.get("seq", 0)) for r in rows)
        if len(rows) < 1000:
            break
    return head


def _stray(node: NodeSut, count: int, before: int) -> int:
    """Add ``count`` audit entries (acknowledgements referring to nothing, from a peer,
    which the node logs and does not answer, R-NODE-06, R-PDU-25): the number of the
    log's last entry once they are all there."""
    peer = PEER.get(node.role, "271004")
    conn = node.connect(peer)
    try:
        for _ in range(count):
            conn.send(node.answer_pdu(Acknowledgement(
                acknowledged_id=secrets.token_bytes(16), status=AckStatus.ACCEPTED), peer))
        deadline = time.monotonic() + node.timeout + count * 0.05
        while (head := _audit_head(node)) < before + count:
            if time.monotonic() > deadline:
                raise SutFault(f"{count} stray acknowledgements left {head - before} audit "
                               "entries (R-NODE-06)")
            time.sleep(0.1)
    finally:
        conn.close()
    return head


def _new_entry(node: NodeSut, before: int) -> int:
    return _stray(node, 1, before)


def _seq(line: str) -> int:
    try:
        return int(json.loads(line).get("seq", -1))
    except (ValueError, TypeError, AttributeError):
        return -1


def _anchored_across_restarts(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("after each of two restarts a new checkpoint covering the entry added "
                "before it; every checkpoint line linked to the one before")
    skip = _offered(node, expected)
    if skip is not None:
        return skip
    start = len(checkpoint_lines(node))
    head = _audit_head(node)
    lines: list[str] = []
    for restart in (1, 2):
        head = _new_entry(node, head)
        before = len(checkpoint_lines(node))
        answer = node.request("restart")
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"restart {restart} answered "
                           f"{answer.get('error')}")
        lines = checkpoint_lines(node)
        covering = [i for i in range(before, len(lines)) if _seq(lines[i]) >= head]
        if not covering:
            return Outcome(Verdict.FAIL, expected, f"no checkpoint written at restart "
                           f"{restart} covers entry {head} ({len(lines) - before} new "
                           f"line(s))")
        head = max(head, _audit_head(node))
    problem = link_problem(lines, max(start - 1, 0))
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, f"{len(lines) - start} checkpoint(s) over two "
                   f"restarts, linked from line {max(start, 1)} on")


def _offered(node: NodeSut, expected: str) -> Outcome | None:
    offered = node.hello.get("ops") or []
    if "audit_checkpoints" not in offered:
        return Outcome(Verdict.NOT_APPLICABLE, expected, "the node offers no "
                       "audit_checkpoints: it does not anchor its log (R-NODE-22, SHOULD)")
    if "restart" not in offered:
        return Outcome(Verdict.NOT_APPLICABLE, expected, "the node's upper tester offers "
                       "no restart (a shutdown, which R-NODE-23 asks a checkpoint of)")
    return None


def _every_entries(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    declared = node.request("audit_checkpoints", after=0).get("everyEntries")
    expected = (f"after a restart, a checkpoint within {CHECKPOINT_DELAY:g} s of the "
                f"{declared}-th entry added after the last one (the node's everyEntries)")
    skip = _offered(node, expected)
    if skip is not None:
        return skip
    if not isinstance(declared, int) or isinstance(declared, bool) \
            or not 1 <= declared <= MAX_ENTRIES:
        return Outcome(Verdict.NOT_APPLICABLE, expected, f"the node declares everyEntries "
                       f"{declared!r}, not 1 to {MAX_ENTRIES}")
    answer = node.request("restart")
    if not answer.get("ok"):
        return Outcome(Verdict.FAIL, expected, f"restart answered {answer.get('error')}")
    lines = checkpoint_lines(node)
    since = _seq(lines[-1]) if lines else 0
    head = _audit_head(node)
    if head - since >= declared:
        return Outcome(Verdict.FAIL, expected, f"after the restart entry {head} is "
                       f"{head - since} past the last checkpoint's ({since}) already")
    head = _stray(node, since + declared - head, head)
    added_at = time.monotonic()
    while not any(_seq(line) >= since + declared for line in checkpoint_lines(node)):
        if time.monotonic() - added_at > CHECKPOINT_DELAY + 0.5:
            return Outcome(Verdict.FAIL, expected, f"no checkpoint covers entry "
                           f"{since + declared} {CHECKPOINT_DELAY:g} s after it was added "
                           f"(the last one covers {since})")
        time.sleep(0.2)
    problem = link_problem(checkpoint_lines(node), max(len(lines) - 1, 0))
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, f"entries {since + 1} to {head} added; a "
                   "checkpoint covering them followed, linked")


def audit_anchor_cases() -> list[Case]:
    """The cases of this module (a prefecture SUT: the anchor is the same code in
    every role of the reference, and each restart costs the run a few seconds)."""
    def case(cid: str, title: str, reqs: tuple[str, ...],
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause="node", requirements=reqs,
                        level="MUST", remediation=REMEDIATION, mode="node", ops=(), run=run)
    return [
        case("node/node/audit/checkpoints-linked-across-restarts",
             "each restart leaves a checkpoint of the last entry, each linked to the line "
             "before it", ("R-NODE-29", "R-NODE-23"),
             _anchored_across_restarts),
        case("node/node/audit/checkpoint-every-n-entries",
             "after a restart, a checkpoint follows the number of entries the node "
             "declares", ("R-NODE-32", "R-NODE-29"), _every_entries),
    ]


__all__ = ["audit_anchor_cases", "checkpoint_lines", "link_problem"]
