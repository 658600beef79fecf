"""Upper tester ops of operator sessions, and the check every local action passes
(spec/node.md section 4.8).

A node started with an operators file (``juki node serve --operators-file``,
``NodeConfig.operators_file``) serves a local action (:data:`operators.ACTION_OF_OP`)
only within an operator session whose roles allow it: :func:`authorise` is called by
the wire form before the op runs, and :func:`audit_local` writes the action's audit row
(direction ``local``) naming the operator, the op, the message it sent and the result,
with persons as masked resident codes only (R-NODE-07). While the op runs,
:data:`~juki_protocol.node.audit.ACTING_OPERATOR` names the operator, so that the rows of
the messages it sends name the operator too. A node without an operators file serves
local actions as before, attributed to ``system``: a development mode that does not
meet R-NODE-80, which the node logs when it starts.
"""

from __future__ import annotations

import weakref
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.identifiers import mask
from juki_protocol.node import audit
from juki_protocol.node.node import Node
from juki_protocol.node.operators import (
    ACTION_OF_OP,
    OPEN_OPS,
    OperatorDesk,
    check_operator_id,
    check_pin,
    load_registry,
)
from juki_protocol.node.upper_ops import Handler, op

#: The operator desk of each node with an operators file (made on first use).
OPERATOR_DESKS: weakref.WeakKeyDictionary[Node, OperatorDesk] = weakref.WeakKeyDictionary()
#: The operator named by the audit row of a local action refused for want of a session.
UNAUTHENTICATED = "unauthenticated"
#: Ops that only read the outcome of an action already logged: checked, not logged (a
#: runner polls them).
_READS = "_result"
#: The request fields that name persons, masked in the audit row.
_PERSON_FIELDS = ("residentCode", "cardHolder", "byResidentCode", "movers")


def desk(node: Node) -> OperatorDesk | None:
    """The node's operator desk, or None for a node without an operators file."""
    path = node.config.operators_file
    if path is None:
        return None
    found = OPERATOR_DESKS.get(node)
    if found is None:
        registry = load_registry(path)
        if registry.node != node.config.code:
            raise JukiError(f"operators file {path} is for node {registry.node}, not "
                            f"{node.config.code}", code=ErrorCode.INVALID_JSON)
        found = OPERATOR_DESKS[node] = OperatorDesk(
            registry, node.credential, node.storage.conn, node.storage.transaction)
    return found


def _desk_or_not_offered(node: Node) -> OperatorDesk:
    found = desk(node)
    if found is None:
        raise JukiError("this node has no operators (juki node serve --operators-file)",
                        code=ErrorCode.NOT_OFFERED)
    return found


def authorise(node: Node, name: str, req: dict[str, Any]) -> str | None:
    """The operator on whose behalf op ``name`` runs: None for an op of the test
    interface or a node without operators; else the session's operator, 3022 without a
    valid session and 3023 when its roles do not allow the op's action (R-NODE-80,
    R-NODE-81). An op that is neither open nor a known action needs a session whose
    roles allow an action named as the op."""
    found = desk(node)
    if found is None or name in OPEN_OPS:
        return None
    operator = found.authorise(req.get("session"), ACTION_OF_OP.get(name, name),
                               node.now())
    if name == "provision_request":
        # R-NODE-84: the request names the session's operator, never another; an
        # operatorId that is no operator id at all is malformed first (R-NODE-95).
        if "operatorId" in req:
            check_operator_id(req["operatorId"])
        if req.get("operatorId", operator) != operator:
            raise JukiError(f"operatorId names another operator than the session's "
                            f"({operator})", code=ErrorCode.OPERATOR_ROLE_NOT_ALLOWED)
        req["operatorId"] = operator
    return operator


async def run(node: Node, name: str, req: dict[str, Any], handler: Handler
              ) -> dict[str, Any]:
    """Run op ``name`` as the wire form does, within its operator's session: refused
    (3022, 3023) before it runs without one, its audit row written after it, and the
    rows of what it sends naming the operator (see the module docstring)."""
    try:
        operator = authorise(node, name, req)
    except JukiError as exc:
        if desk(node) is not None:
            audit_local(node, name, req, UNAUTHENTICATED if exc.error_code is
                        ErrorCode.OPERATOR_SESSION_REQUIRED else _session_operator(
                            node, req), _failed(exc))
        raise
    if operator is None:
        return await handler(node, req)
    token = audit.ACTING_OPERATOR.set(operator)
    try:
        answer = {"ok": True, **await handler(node, req)}
    except JukiError as exc:
        audit_local(node, name, req, operator, _failed(exc))
        raise
    finally:
        audit.ACTING_OPERATOR.reset(token)
    if not name.endswith(_READS):
        audit_local(node, name, req, operator, answer)
    answer.pop("ok")
    return answer


def _failed(exc: JukiError) -> dict[str, Any]:
    code = exc.error_code if isinstance(exc.error_code, ErrorCode) \
        else ErrorCode.INTERNAL_ERROR
    return {"ok": False, "error": {"code": int(code), "name": code.name}}


def _session_operator(node: Node, req: dict[str, Any]) -> str:
    found = desk(node)
    try:
        return found.session(req.get("session"), node.now())[0] if found else \
            UNAUTHENTICATED
    except JukiError:
        return UNAUTHENTICATED


def _subjects(req: dict[str, Any]) -> str:
    codes: list[str] = []
    for name in _PERSON_FIELDS:
        value = req.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                item = item.get("residentCode")
            if isinstance(item, str) and item not in codes:
                codes.append(item)
    return ",".join(mask(c) for c in codes)


def audit_local(node: Node, name: str, req: dict[str, Any], operator: str,
                answer: dict[str, Any]) -> None:
    """The audit row of one local action (R-NODE-83): who, which op, the message it
    sent (``messageId`` of the answer), the result, the persons masked."""
    mid = answer.get("messageId")
    try:
        message_id = bytes.fromhex(mid) if isinstance(mid, str) else None
    except ValueError:
        message_id = None
    error = answer.get("error")
    result = "accepted" if answer.get("ok") else \
        f"{error.get('code')} {error.get('name')}" if isinstance(error, dict) else "refused"
    with node.storage.transaction() as c:
        audit.append(c, at=node.now(), direction="local", peer=node.config.code,
                     message_type=name, message_id=message_id, result=result,
                     subjects=_subjects(req), operator=operator)


@op("operator_login")
async def op_operator_login(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Open an operator session with the operator's credential and PIN."""
    found = _desk_or_not_offered(node)
    oid = check_operator_id(req.get("operatorId"))
    try:
        session = found.login(oid, check_pin(req.get("pin")), node.now())
    except JukiError as exc:
        audit_local(node, "operator_login", req, oid, _failed(exc))
        raise
    audit_local(node, "operator_login", req, oid, {"ok": True})
    return {"session": session.token, "operatorId": session.operator_id,
            "roles": list(session.roles), "expires": session.expires.isoformat()}


@op("operator_logout")
async def op_operator_logout(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """End a session (``session``); ``ended``: whether there was one."""
    return {"ended": _desk_or_not_offered(node).logout(req.get("session"))}


@op("operator_unlock")
async def op_operator_unlock(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """An administrator lifts the lock of operator ``operatorId`` (R-NODE-82)."""
    found = _desk_or_not_offered(node)
    oid = check_operator_id(req.get("operatorId"))
    found.unlock(oid)
    return {"operatorId": oid, "locked": False}


__all__ = ["OPERATOR_DESKS", "UNAUTHENTICATED", "audit_local", "authorise", "desk", "run"]
