"""Upper tester ops that stop provision (spec/node.md section 4.11, spec/suspension.md):
a provider suspends and resumes provision to a body, a municipality stops and resumes
its feed, and both read what is in force.

The four changes are local actions of the action ``suspension`` (an operator session
whose roles allow it, spec/node.md section 4.8); their own audit rows name the session's
operator (:data:`~juki_protocol.node.audit.ACTING_OPERATOR`; ``system`` on a node
without operators). The feed's ops run through :meth:`Node.local`, since holding and
releasing the identity updater arms, cancels and sends: what they release is committed
before it is sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.node import audit
from juki_protocol.node.node import Node
from juki_protocol.node.roles import CentralRole, Owned
from juki_protocol.node.suspension import check_body, check_reason
from juki_protocol.node.upper_ops import municipality, op


def provider(node: Node) -> CentralRole:
    """The node's provider role (prefecture, national); 3003 for another role."""
    if not isinstance(node.handler, CentralRole):
        raise JukiError(f"{node.node} is not a provider (prefecture or national)",
                        code=ErrorCode.ROLE_NOT_ALLOWED)
    return node.handler


@op("suspend_provision")
async def op_suspend_provision(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Suspend provision to ``body`` for ``reason`` (a reason code): its requests are
    refused with 3030 until ``resume_provision`` (R-SUSP-01); ``changed``: false when
    it already was."""
    role = provider(node)
    body, reason = check_body(req.get("body")), check_reason(req.get("reason"))
    changed = role.suspensions.suspend(body, reason, audit.ACTING_OPERATOR.get(),
                                       node.now())
    return {"body": body, "suspended": True, "changed": changed}


@op("resume_provision")
async def op_resume_provision(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Lift the suspension of ``body`` (R-SUSP-02); ``changed``: false when it was not
    suspended."""
    role = provider(node)
    body = check_body(req.get("body"))
    changed = role.suspensions.resume(body, audit.ACTING_OPERATOR.get(), node.now())
    return {"body": body, "suspended": False, "changed": changed}


@op("provision_suspensions")
async def op_provision_suspensions(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The bodies whose provision is suspended, as stored: ``suspended``, a list of
    ``body``, ``since``, ``reason``, ``operator``."""
    return {"suspended": [s.to_json() for s in provider(node).suspensions.suspended()]}


@op("stop_feed")
async def op_stop_feed(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """A municipality stops feeding the network for ``reason``: its identity info
    updates are held, numbered and stored, not sent (R-SUSP-05)."""
    role = municipality(node)
    reason = check_reason(req.get("reason"))
    operator = audit.ACTING_OPERATOR.get()

    def action(now: dt.datetime) -> list[Owned]:
        return role.stop_feed(reason, operator, now)
    await node.local(action)
    return {"feedStopped": True, "held": len(role.updater.outbox)}


@op("resume_feed")
async def op_resume_feed(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The feed resumes: the held updates are sent in order (R-SUSP-05); ``sent``: how
    many were held."""
    role = municipality(node)
    operator = audit.ACTING_OPERATOR.get()
    held = len(role.updater.outbox)

    def action(now: dt.datetime) -> list[Owned]:
        return role.resume_feed(operator, now)
    await node.local(action)
    return {"feedStopped": False, "sent": held}


@op("feed_state")
async def op_feed_state(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Whether the municipality's feed is stopped (as stored), since when and why, and
    how many updates its updater holds unacknowledged."""
    role = municipality(node)
    stop = role.suspensions.feed_stop()
    return {"feedStopped": stop is not None, "since": stop.since if stop else None,
            "reason": stop.reason if stop else None,
            "unacknowledged": len(role.updater.outbox),
            "updaterState": role.updater.state.value}


__all__ = ["op_feed_state", "op_provision_suspensions", "op_resume_feed",
           "op_resume_provision", "op_stop_feed", "op_suspend_provision", "provider"]
