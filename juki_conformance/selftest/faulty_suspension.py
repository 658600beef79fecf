"""Reference nodes with one deliberate fault in stopping provision (spec/suspension.md),
chosen by ``--fault NAME``.

Each fault mimics a real mistake: a provider that keeps its suspensions in memory, or
never looks at them, or does not audit them; a municipality that records the stop of
its feed but goes on sending, or forgets the stop at a restart.
``tests/test_conformance_suspension.py`` runs the suspension cases against every fault
and checks that they fail exactly on the cases named in :data:`EXPECTED`. The remaining
arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_suspension --fault ignores-suspension ...

A fault is a change to the reference classes made in the faulty node's own process
(before the node builds its machines, and again in the process a restart starts).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import MunicipalityRole, Owned
from juki_protocol.node.suspension import Suspensions
from juki_protocol.tools import cli_node

#: The reference methods, kept before a fault replaces them.
CONTAINS = Suspensions.__contains__
SUSPEND, RESUME = Suspensions.suspend, Suspensions.resume


class _Faulty(Node):
    """A reference node whose classes :meth:`patch` changes first."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        self.patch()
        super().__init__(config, **kw)

    def patch(self) -> None:
        raise NotImplementedError


class IgnoresSuspension(_Faulty):
    """Stores and audits a suspension but never asks for it at a request (R-SUSP-01)."""

    def patch(self) -> None:
        setattr(Suspensions, "__contains__", lambda s, body: False)  # noqa: B010


#: The bodies suspended in the process of :class:`ForgetsSuspensionsOnRestart`.
_IN_MEMORY: set[str] = set()


class ForgetsSuspensionsOnRestart(_Faulty):
    """Keeps the suspended bodies in memory (its audit rows are written): a restart
    serves them again (R-SUSP-03)."""

    def patch(self) -> None:
        def suspend(s: Suspensions, body: str, reason: str, operator: str,
                    now: dt.datetime) -> bool:
            changed = SUSPEND(s, body, reason, operator, now)
            with s.transaction() as c:
                c.execute("DELETE FROM provision_suspensions WHERE body_code = ?", (body,))
            _IN_MEMORY.add(body)
            return changed

        def resume(s: Suspensions, body: str, operator: str, now: dt.datetime) -> bool:
            if body not in _IN_MEMORY:
                return False
            with s.transaction() as c:
                c.execute("INSERT INTO provision_suspensions VALUES (?, ?, ?, ?)",
                          (body, "-", "-", operator))
            _IN_MEMORY.discard(body)
            return RESUME(s, body, operator, now)
        setattr(Suspensions, "suspend", suspend)  # noqa: B010
        setattr(Suspensions, "resume", resume)  # noqa: B010
        setattr(Suspensions, "__contains__",  # noqa: B010
                lambda s, body: body in _IN_MEMORY)


class UnauditedSuspension(_Faulty):
    """Suspends and resumes without an audit row (R-SUSP-04)."""

    def patch(self) -> None:
        def suspend(s: Suspensions, body: str, reason: str, operator: str,
                    now: dt.datetime) -> bool:
            if body in s:
                return False
            with s.transaction() as c:
                c.execute("INSERT INTO provision_suspensions VALUES (?, ?, ?, ?)",
                          (body, now.isoformat(), reason, operator))
            return True

        def resume(s: Suspensions, body: str, operator: str, now: dt.datetime) -> bool:
            with s.transaction() as c:
                return c.execute("DELETE FROM provision_suspensions WHERE body_code = ?",
                                 (body,)).rowcount > 0
        setattr(Suspensions, "suspend", suspend)  # noqa: B010
        setattr(Suspensions, "resume", resume)  # noqa: B010


class SendsWhileStopped(_Faulty):
    """Records and audits the stop of its feed but does not hold its updater: the
    updates go on being sent (R-SUSP-05)."""

    def patch(self) -> None:
        def stop_feed(role: MunicipalityRole, reason: str, operator: str,
                      now: dt.datetime) -> list[Owned]:
            role.suspensions.stop_feed(role.updater.peer, reason, operator, now)
            return []
        setattr(MunicipalityRole, "stop_feed", stop_feed)  # noqa: B010


class ForgetsFeedStopOnRestart(_Faulty):
    """Holds its updates while it runs, but reads no stop at its start: the held
    updates are sent as soon as it restarts (R-SUSP-06)."""

    def patch(self) -> None:
        setattr(Suspensions, "feed_stop", lambda s: None)  # noqa: B010


class UnauditedFeedStop(_Faulty):
    """Stops and resumes its feed without an audit row (R-SUSP-04)."""

    def patch(self) -> None:
        def stop_feed(s: Suspensions, peer: str, reason: str, operator: str,
                      now: dt.datetime) -> bool:
            if s.feed_stop() is not None:
                return False
            with s.transaction() as c:
                c.execute("INSERT INTO feed_stop VALUES (1, ?, ?, ?)",
                          (now.isoformat(), reason, operator))
            return True

        def resume_feed(s: Suspensions, peer: str, held: int, operator: str,
                        now: dt.datetime) -> bool:
            with s.transaction() as c:
                return c.execute("DELETE FROM feed_stop WHERE id = 1").rowcount > 0
        setattr(Suspensions, "stop_feed", stop_feed)  # noqa: B010
        setattr(Suspensions, "resume_feed", resume_feed)  # noqa: B010


FAULTS: dict[str, type[Node]] = {
    "ignores-suspension": IgnoresSuspension,
    "forgets-suspensions-on-restart": ForgetsSuspensionsOnRestart,
    "unaudited-suspension": UnauditedSuspension,
    "sends-while-stopped": SendsWhileStopped,
    "forgets-feed-stop-on-restart": ForgetsFeedStopOnRestart,
    "unaudited-feed-stop": UnauditedFeedStop,
}

#: The role each fault's node is run as (default: prefecture).
FAULT_ROLES: dict[str, str] = {"sends-while-stopped": "municipality",
                               "forgets-feed-stop-on-restart": "municipality",
                               "unaudited-feed-stop": "municipality"}

#: The suspension cases of its role each fault must fail; the others must pass.
EXPECTED: dict[str, list[str]] = {
    "ignores-suspension": ["suspension/node/prefecture/suspended-body-refused",
                           "suspension/node/prefecture/suspension-survives-restart"],
    "forgets-suspensions-on-restart": [
        "suspension/node/prefecture/suspension-survives-restart"],
    "unaudited-suspension": ["suspension/node/prefecture/suspension-audited"],
    "sends-while-stopped": [
        "suspension/node/municipality/feed-stopped-holds-updates",
        "suspension/node/municipality/feed-stop-survives-restart",
        "suspension/node/municipality/feed-stopped-update-acknowledged-meanwhile",
        "suspension/node/municipality/feed-stopped-update-unanswered"],
    "forgets-feed-stop-on-restart": [
        "suspension/node/municipality/feed-stop-survives-restart"],
    "unaudited-feed-stop": ["suspension/node/municipality/feed-stop-audited"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for ``NodeSut``)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_suspension", "--fault",
            fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_suspension --fault {{{','.join(FAULTS)}}} "
                 "SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_suspension")


if __name__ == "__main__":
    main()
