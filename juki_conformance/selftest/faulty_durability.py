"""Reference nodes with one deliberate durability fault, chosen by ``--fault NAME``.

Each fault mimics a real node mistake around restarts, commits, the audit log or the
clock. ``tests/test_conformance_durability.py`` runs the durability cases against every
fault and checks that they fail exactly on the cases named in :data:`EXPECTED`. The
remaining arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_durability --fault acks-failed-commit ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from juki_protocol.identifiers import mask
from juki_protocol.machines.common import Send
from juki_protocol.node import audit
from juki_protocol.node import upper_ops as upper_ops_module
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.storage import StorageError
from juki_protocol.tools import cli_node

logger = logging.getLogger(__name__)


class ProcessedInMemory(Node):
    """Keeps the ids of processed messages in a dictionary, not in the database: after
    a restart an acknowledged message id is unknown again (R-NODE-02)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        processed: dict[tuple[str, bytes], bytes] = {}

        def seen(sender: str, message_id: bytes) -> bytes | None:
            return processed.get((sender, message_id))

        def mark_processed(sender: str, message_id: bytes, digest: bytes,
                           message_type: str, now: dt.datetime) -> None:
            processed[(sender, message_id)] = digest

        self.storage.seen = seen  # type: ignore[method-assign]
        self.storage.mark_processed = mark_processed  # type: ignore[method-assign]


class AcksFailedCommit(Node):
    """Logs a failed commit and carries on as if it had succeeded: the message is
    acknowledged (or answered) although nothing of it was stored (R-NODE-19,
    R-30-5-0-07, R-30-7-3-12)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        strict = self.storage.transaction

        @contextmanager
        def careless() -> Iterator[Any]:
            try:
                with strict() as c:
                    yield c
            except StorageError as exc:
                # It does rebuild its machines from the database, as the reference
                # does after a failed commit; it only forgets to tell the peer.
                logger.warning("commit failed, carrying on: %s", exc)
                self._reload()

        self.storage.transaction = careless  # type: ignore[method-assign]


#: The reference's masking, kept before :class:`FullCodesInAudit` replaces it.
MASKED_SUBJECTS = audit.masked_subjects


def _complete_subjects(message: object) -> str:
    """The persons of ``message`` as the faulty node writes them: the person of the
    identity info in full, any other person masked."""
    masked = MASKED_SUBJECTS(message)
    codes: list[str] = []
    identity = getattr(message, "identity_info", None)
    code = getattr(identity, "resident_code", None)
    if isinstance(code, str):
        codes.append(code)
    codes += [c for c in str(masked).split(",") if c and c != mask(code or "")]
    return ",".join(codes)


class FullCodesInAudit(Node):
    """Writes the complete resident code of an update's person into the audit log's
    subjects, for the operators' convenience (R-NODE-07)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        setattr(audit, "masked_subjects", _complete_subjects)  # noqa: B010 (this process)


class WindowOffByAMinute(Node):
    """Declares the 300 s header time window of R-PDU-16 in ``hello`` but checks
    header times with a window of six minutes (R-PDU-16)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        config.time_window = dt.timedelta(seconds=360)
        super().__init__(config, **kw)
        hello = upper_ops_module.OPS["hello"]

        async def declared(node: Node, req: dict[str, Any]) -> dict[str, Any]:
            return {**await hello(node, req), "timeWindowSeconds": 300}

        if getattr(hello, "__name__", "") != "declared":
            upper_ops_module.OPS["hello"] = declared


class ResendsOnlyOnTimer(Node):
    """Does not resend its unacknowledged updates when it starts: it only arms their
    retry timers, so a peer waits a whole retry interval after each restart
    (R-NODE-60)."""

    async def _resume(self) -> None:
        now = self.now()
        owned: list[Any] = [(o, e) for o, e in self.handler.pending(now)
                            if not isinstance(e, Send)]
        await self.dispatch(owned, None)


class AuditsEveryRefusal(Node):
    """Writes every refusal as an entry of its own, each committed: one peer sending
    garbage fills the disk (R-NODE-27)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        config.audit = dataclasses.replace(config.audit, refusals_in_full=10**9)
        super().__init__(config, **kw)


class DropsCountedRefusals(Node):
    """Bounds the refusals it writes, and forgets those it only counted: no summary
    entry ever says how many there were (R-NODE-28)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        def forget(limiter: audit.RefusalLimiter, conn: Any, at: dt.datetime, *,
                   all_: bool = False) -> int:
            now = at.timestamp()
            for key, window in list(limiter._windows.items()):
                if all_ or window.start + limiter.interval <= now:
                    del limiter._windows[key]
            return 0

        setattr(audit.RefusalLimiter, "flush", forget)  # noqa: B010 (this process)
        super().__init__(config, **kw)


FAULTS: dict[str, type[Node]] = {
    "processed-in-memory": ProcessedInMemory, "acks-failed-commit": AcksFailedCommit,
    "full-codes-in-audit": FullCodesInAudit, "window-off-by-a-minute": WindowOffByAMinute,
    "resends-only-on-timer": ResendsOnlyOnTimer,
    "audits-every-refusal": AuditsEveryRefusal, "drops-counted-refusals": DropsCountedRefusals,
}

#: The role each fault's node is run as (default: prefecture).
FAULT_ROLES: dict[str, str] = {"resends-only-on-timer": "municipality"}

#: The durability cases each fault must fail; every other case must pass.
EXPECTED: dict[str, list[str]] = {
    # A failed commit cannot roll back a dictionary either: the retry is taken for a
    # duplicate of a message the node never stored (R-NODE-19).
    "processed-in-memory": ["30-7/node/restart/provision-duplicate-after-restart",
                            "30-5/node/fault/commit-failure-answered-9003",
                            "30-7/node/fault/disclosure-log-commit-failure"],
    "acks-failed-commit": ["30-5/node/fault/commit-failure-answered-9003",
                           "30-7/node/fault/disclosure-log-commit-failure"],
    "full-codes-in-audit": ["node/node/audit/rows-received-refused-sent"],
    "window-off-by-a-minute": ["pdu/node/header/time-window-edges"],
    "resends-only-on-timer": ["30-5/node/restart/unacknowledged-update-resent"],
    "audits-every-refusal": ["node/node/audit/refusals-bounded-and-counted"],
    "drops-counted-refusals": ["node/node/audit/refusals-bounded-and-counted"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for ``NodeSut``)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_durability", "--fault",
            fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_durability --fault {{{','.join(FAULTS)}}} "
                 "SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_durability")


if __name__ == "__main__":
    main()
