"""Upper tester ops of an agency (国の機関等) under test (spec/node.md section 4.4): a
provision request sent to a provider, and what the agency made of the answer.

``provision_request`` runs :meth:`~juki_protocol.node.roles.AgencyRole.request` through
:meth:`~juki_protocol.node.node.Node.local`, so the request is committed before it is
sent; an agency asks only for the purposes schedule 1 lists for it, so a purpose that
is not one of them is refused here (3011 PURPOSE_NOT_ALLOWED) and nothing is sent.
``provision_result`` reads the request's machine, or, once the node has restarted, the
outcome the agency stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.identifiers import is_prefecture_code
from juki_protocol.machines.provision import ClientState, ProvisionClient
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRefusal,
    ProvisionRequest,
)
from juki_protocol.node.node import Node
from juki_protocol.node.roles import Owned
from juki_protocol.node.upper_ops import agency, bad, op, text

#: The legal basis an agency relies on when the request names none: the one of the
#: table of spec/provision.md section 1 for the provider's kind.
DEFAULT_BASIS = {"prefecture": LegalBasis.PREF_TO_AGENCY,
                 "national": LegalBasis.CENTER_TO_AGENCY}


def _provider(req: dict[str, Any]) -> tuple[str, str]:
    """The provider's node code and kind: a prefecture (PP000C) or the centre (DCnn)."""
    code = text(req, "provider")
    if code.startswith("DC") and len(code) == 4 and code[2:].isdigit():
        return code, "national"
    if len(code) == 6 and code.isdigit() and is_prefecture_code(code):
        return code, "prefecture"
    raise bad("provider must be a prefecture (PP000C) or the national centre (DCnn)")


def _request(node: Node, req: dict[str, Any], kind: str) -> ProvisionRequest:
    """The ProvisionRequest the fields describe (1030 for anything malformed)."""
    basis = req.get("legalBasis", DEFAULT_BASIS[kind].value)
    # An optional field given as null is of another JSON type, not absent (R-NODE-95,
    # R-NODE-98): the JSON form of ProvisionRequest would take a null as no value.
    for name in ("byResidentCode", "byFourItems", "delegatingPrefecture", "legalBasis"):
        if name in req and req[name] is None:
            raise bad(f"{name} must not be null")
    by_code, by_items = req.get("byResidentCode"), req.get("byFourItems")
    if (by_code is None) == (by_items is None):
        raise bad("exactly one of byResidentCode and byFourItems is required")
    if by_code is not None and (not isinstance(by_code, list)
                                or not all(isinstance(c, str) for c in by_code)):
        raise bad("byResidentCode must be a list of resident codes")
    if by_items is not None and not isinstance(by_items, dict):
        raise bad("byFourItems must be an object (the JSON form of FourItems)")
    form: dict[str, Any] = {
        "requester": {"kind": BodyKind.AGENCY.value, "code": node.config.code},
        "legal_basis": basis, "purpose_code": text(req, "purposeCode"),
        "operator_id": text(req, "operatorId")}
    if by_code is not None:
        form["by_resident_code"] = by_code
    else:
        form["by_four_items"] = by_items
    if "delegatingPrefecture" in req:       # Art. 30-10(1), R-30-10-1-01
        form["delegating_prefecture"] = req["delegatingPrefecture"]
    try:
        built = codec.from_json("ProvisionRequest", form)
    except JukiError as exc:
        if exc.error_code == ErrorCode.LEGAL_BASIS_MISMATCH:
            # R-30-7-3-20: a legal basis that cannot serve an agency is not sent.
            raise JukiError("the legal basis cannot serve an agency",
                            code=ErrorCode.LEGAL_BASIS_MISMATCH) from None
        raise bad(f"not a valid provision request: {exc.error_code.name}") from None
    if not isinstance(built, ProvisionRequest):
        raise bad("not a provision request")
    return built


@op("provision_request")
async def op_provision_request(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Send a ProvisionRequest to ``provider`` (Arts. 30-7(3), 30-10(1)); the answer's
    ``messageId`` is the request's. ``delegatingPrefecture``: with a delegated legal
    basis, the prefecture on whose delegation the centre is asked (R-30-10-1-01)."""
    role = agency(node)
    provider, kind = _provider(req)
    request = _request(node, req, kind)
    body = request.requester
    holder: list[ProvisionClient] = []

    def action(now: dt.datetime) -> list[Owned]:
        client, owned = role.request(body, provider, request, now)
        holder.append(client)
        return owned
    await node.local(action)
    assert holder and holder[0].request_id is not None
    return {"messageId": holder[0].request_id.hex()}


def _outcome(client: ProvisionClient) -> tuple[str, int]:
    """The outcome string and the number of persons provided."""
    out = client.outcome
    if client.state is ClientState.DONE and isinstance(out, tuple):
        return "provided", len(out)
    if client.state is ClientState.REFUSED and isinstance(out, ProvisionRefusal):
        return f"refused:{int(out.error_code)}", 0
    if client.state in (ClientState.FAILED, ClientState.TIMED_OUT) and isinstance(out, int):
        return f"failed:{out}", 0
    return "pending", 0


@op("provision_result")
async def op_provision_result(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """What the agency made of the answer to request ``messageId``: ``state`` (the
    client's state), ``outcome`` (``pending``, ``provided``, ``refused:<code>`` or
    ``failed:<code>``) and ``persons`` (how many persons were provided)."""
    role = agency(node)
    try:
        mid = bytes.fromhex(text(req, "messageId"))
    except ValueError:
        raise bad("messageId must be hexadecimal") from None
    if len(mid) != 16:        # a message id is 16 octets: a malformed one is no id (R-NODE-98)
        raise bad("messageId must be 16 octets")
    client = role.clients.get(mid)
    if client is not None:
        outcome, persons = _outcome(client)
        return {"state": client.state.value, "outcome": outcome, "persons": persons}
    row = node.storage.conn.execute(
        "SELECT outcome, persons FROM provisions WHERE request_id = ?", (mid,)).fetchone()
    if row is None:
        raise JukiError("no provision request with this message id",
                        code=ErrorCode.UNKNOWN_CORRELATION)
    stored, persons = str(row[0]), int(row[1])
    state = "done" if stored == "provided" else stored.split(":", 1)[0]
    return {"state": state, "outcome": stored, "persons": persons}


__all__ = ["DEFAULT_BASIS", "op_provision_request", "op_provision_result"]
