"""Upper tester ops that start the municipality-to-municipality flows at a municipality
under test, and read what became of them (spec/node.md section 4.5).

A conformance runner plays the other municipality (272035 beside 271004) and must see
the node on both sides of every flow; the node's side of the residence municipality
and of the former municipality answers messages the runner sends, but the issuing side
of Art. 12-2 and the new side of Art. 24-2 start at the node's counter. These ops are
that counter:

* ``wide_area_request``: an application for a wide-area copy (Art. 12-2(1)); the
  counter's identity check and the applicant's standing decide whether a request is
  sent at all (R-12-2-1-01), through
  :meth:`~juki_protocol.node.roles.MunicipalityRole.apply_wide_area`;
  ``wide_area_result`` reads the application's outcome.
* ``annotated_move_out``: an annotated move-out notice received by post at the former
  municipality (Art. 24-2(1)), through
  :meth:`~juki_protocol.node.roles.MunicipalityRole.annotated_move_out`.
* ``ordinary_move_out``: a move-out filed at the former municipality's counter, for
  which the paper certificate was issued (Art. 24): on file, the records current, until
  the new municipality's Art. 9(1) notice finalises it, through
  :meth:`~juki_protocol.node.roles.MunicipalityRole.ordinary_move_out`.
* ``special_move_in``: a move-in filed with the card at the new municipality (Art.
  24-2(3)), through :meth:`~juki_protocol.node.roles.MunicipalityRole.special_move_in`;
  ``move_in_result`` reads whether the residents were recorded and the Art. 9(1)
  notice sent.
* ``ordinary_move_in``: a move-in filed with a paper move-out certificate at the new
  municipality (Art. 22, an ordinary move), through
  :meth:`~juki_protocol.node.roles.MunicipalityRole.ordinary_move_in`: the residents
  are recorded and the Art. 9(1) notice sent at once; ``move_in_result`` reads it too.

Each runs through :meth:`~juki_protocol.node.node.Node.local`, so what it sends is
committed first; a refusal raises before anything is sent or stored. The flows are
kept in memory (see :mod:`juki_protocol.node.roles`): after a restart the result ops
answer 4002 UNKNOWN_CORRELATION.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.card import IdentityCheck
from juki_protocol.machines.move_in import MoveInNotifier, NotifierState, OrdinaryMoveIn
from juki_protocol.machines.special_move import AnnotatedMoveOut, OrdinaryMoveOut
from juki_protocol.machines.special_move_in import MoveInState, SpecialMoveInCounter
from juki_protocol.machines.wide_area import IssuingCounter, IssuingState
from juki_protocol.messages.common import Address
from juki_protocol.messages.record import ResidentRecord
from juki_protocol.messages.special_move import SpecialMoveInNotice
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    WideAreaIssuanceRequest,
    WideAreaRefusal,
)
from juki_protocol.node.node import Node
from juki_protocol.node.roles import MunicipalityRole, Owned
from juki_protocol.node.upper_card_register import presented_card_refusal
from juki_protocol.node.upper_ops import bad, day, municipality, op, seeded_household, text

#: Who applies at the counter (Art. 12-2(1)): the person recorded at the residence
#: municipality, for themselves or members of their household, may; a proxy with a
#: letter of attorney and a third party may not.
APPLICANTS = ("person", "proxy", "thirdParty")


def _flag(req: dict[str, Any], name: str, default: bool) -> bool:
    value = req.get(name, default)
    if not isinstance(value, bool):
        raise bad(f"{name} must be true or false")
    return value


def _day(req: dict[str, Any], name: str, default: dt.date | None = None) -> dt.date:
    """A date field ``name`` (YYYY-MM-DD); required unless ``default`` is given."""
    if name not in req and default is not None:
        return default
    return day(text(req, name), name)


def _message_id(req: dict[str, Any]) -> bytes:
    try:
        mid = bytes.fromhex(text(req, "messageId"))
    except ValueError:
        raise bad("messageId must be hexadecimal") from None
    if len(mid) != 16:
        raise bad("messageId must be 16 octets")
    return mid


def _build(type_name: str, form: dict[str, Any]) -> Any:
    """The message ``form`` describes (spec/json.md); 1030 for anything malformed or
    for a message its own rules refuse."""
    try:
        return codec.from_json(type_name, form)
    except JukiError as exc:
        raise bad(f"not a valid {type_name}: {exc.error_code.name}: {exc}") from None


def _card_method(req: dict[str, Any]) -> IdentityCheckMethod:
    """The ``identityCheck`` method of a move-in (default: a resident card and PIN)."""
    value = req.get("identityCheck", IdentityCheckMethod.RESIDENT_CARD_WITH_PIN.value)
    if not isinstance(value, str) or value not in {m.value for m in IdentityCheckMethod}:
        raise bad("identityCheck must be an IdentityCheckMethod of spec/asn1")
    return IdentityCheckMethod(value)


# Art. 12-2: the issuing municipality -------------------------------------------------

@op("wide_area_request")
async def op_wide_area_request(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """An application for a wide-area copy at this (issuing) municipality: the request
    is sent to ``residenceMunicipality`` only when the applicant is the ``person``
    and the counter confirmed them (R-12-2-1-01); otherwise 5022, nothing sent."""
    role = municipality(node)
    applicant = req.get("applicant", "person")
    if applicant not in APPLICANTS:
        raise bad(f"applicant must be one of {', '.join(APPLICANTS)}")
    confirmed = req.get("identityConfirmed")
    if not isinstance(confirmed, bool):
        raise bad("identityConfirmed must be true or false")
    requester, targets = req.get("requester"), req.get("targets")
    if not isinstance(requester, dict):
        raise bad("requester must be an object (the JSON form of Requester)")
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise bad("targets must be a list of objects (the JSON form of TargetPerson)")
    request = _build("WideAreaIssuanceRequest", {
        "issuing_municipality": role.code,
        "residence_municipality": text(req, "residenceMunicipality"),
        "requester": requester, "targets": targets,
        "include_relationship": _flag(req, "includeRelationship", False),
        "include_resident_code": _flag(req, "includeResidentCode", False)})
    assert isinstance(request, WideAreaIssuanceRequest)
    # Art. 12-2(1): only the person may apply; a proxy or a third party is never
    # confirmed as the applicant, whatever document they show.
    check = IdentityCheck(method=request.requester.identity_check,
                          confirmed=confirmed and applicant == "person",
                          resident_code=request.requester.resident_code)
    holder: list[IssuingCounter] = []

    def action(now: dt.datetime) -> list[Owned]:
        counter, owned = role.apply_wide_area(check, request, now)
        holder.append(counter)
        return owned
    await node.local(action)
    assert holder and holder[0].request_id is not None
    return {"messageId": holder[0].request_id.hex()}


def _wide_area_outcome(counter: IssuingCounter) -> tuple[str, int]:
    """The outcome string and the number of copies issued."""
    out, state = counter.outcome, counter.state
    if state is IssuingState.ISSUED and isinstance(out, tuple):
        return "issued", len(out)
    if state is IssuingState.REFUSED and isinstance(out, WideAreaRefusal):
        return f"refused:{int(out.error_code)}", 0
    if state in (IssuingState.FAILED, IssuingState.TIMED_OUT) and isinstance(out, int):
        return f"failed:{out}", 0
    return "pending", 0


@op("wide_area_result")
async def op_wide_area_result(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """What became of the wide-area request ``messageId``: ``state``, ``outcome``
    (``pending``, ``issued``, ``refused:<code>``, ``failed:<code>``), ``copies``."""
    role = municipality(node)
    counter = role.counters.get(_message_id(req))
    if counter is None:
        raise JukiError("no wide-area request with this message id",
                        code=ErrorCode.UNKNOWN_CORRELATION)
    outcome, copies = _wide_area_outcome(counter)
    return {"state": counter.state.value, "outcome": outcome, "copies": copies}


# Art. 24-2: the former municipality ---------------------------------------------------

def _address(req: dict[str, Any], name: str) -> Address:
    value = req.get(name)
    if not isinstance(value, dict) or set(value) != {"local_gov_code", "text"}:
        raise bad(f"{name} must be an object with local_gov_code and text")
    try:
        return Address(local_gov_code=value["local_gov_code"], text=value["text"])
    except (JukiError, TypeError) as exc:
        raise bad(f"{name} is not a valid address: {exc}") from None


def _move_out(req: dict[str, Any], kind: type[AnnotatedMoveOut] | type[OrdinaryMoveOut]
              ) -> AnnotatedMoveOut | OrdinaryMoveOut:
    """The move-out of ``kind`` that ``req`` names (1030 when a field is malformed)."""
    movers = req.get("movers")
    if not isinstance(movers, list) or not all(isinstance(m, str) for m in movers):
        raise bad("movers must be a list of resident codes")
    try:
        return kind(movers=tuple(movers), destination=_address(req, "destination"),
                    planned_move_date=_day(req, "plannedMoveDate"))
    except JukiError as exc:
        if exc.error_code == ErrorCode.INVALID_JSON:
            raise
        raise bad(f"not a valid move-out: {exc}") from None


@op("annotated_move_out")
async def op_annotated_move_out(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """An annotated move-out notice received by post (Art. 24-2(1)) for the registered
    residents ``movers`` (the card holder first), moving to ``destination`` in another
    municipality on ``plannedMoveDate``."""
    role = municipality(node)
    notice = _move_out(req, AnnotatedMoveOut)
    assert isinstance(notice, AnnotatedMoveOut)
    await node.local(lambda now: role.annotated_move_out(notice, now))
    return {"movers": len(notice.movers)}


@op("ordinary_move_out")
async def op_ordinary_move_out(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """A move-out filed at this municipality's counter for the registered residents
    ``movers``, for which the paper move-out certificate was issued (Art. 24): on file,
    the records current, until a ``MoveInNotice`` finalises it (R-9-1-04, R-MOVE-02)."""
    role = municipality(node)
    move_out = _move_out(req, OrdinaryMoveOut)
    assert isinstance(move_out, OrdinaryMoveOut)
    await node.local(lambda now: role.ordinary_move_out(move_out, now))
    return {"movers": len(move_out.movers)}


# Arts. 24-2(3), 9(1): the new municipality ---------------------------------------------

@op("special_move_in")
async def op_special_move_in(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """A move-in filed with the card at this (new) municipality (Art. 24-2(3)): the
    SpecialMoveInNotice naming every mover is sent to ``formerMunicipality``, unless
    the card check failed (5022 or the card's code) or the move-in was filed more than
    14 days after the move (5020, R-24-2-1-02)."""
    role = municipality(node)
    movers = req.get("movers")
    if not isinstance(movers, list) or not all(isinstance(m, dict) for m in movers):
        raise bad("movers must be a list of objects (the JSON form of PersonRef)")
    holder_code = text(req, "cardHolder")
    filed = _day(req, "filedDate", node.now().date())
    notice = _build("SpecialMoveInNotice", {
        "new_municipality": role.code,
        "former_municipality": text(req, "formerMunicipality"), "movers": movers,
        "moved_date": _day(req, "movedDate").isoformat(),
        "move_in_filed_date": filed.isoformat(),
        "new_address": req.get("newAddress")})
    assert isinstance(notice, SpecialMoveInNotice)
    # R-CARDREG-07, R-24-2-1-01: a card the centre does not answer valid is refused
    # with the card's code, whatever this municipality's own records hold.
    refusal = presented_card_refusal(node, req, holder_code)
    if refusal is not None:
        raise JukiError("the card presented may not be used (the centre's answer)",
                        code=refusal)
    check = IdentityCheck(method=_card_method(req),
                          confirmed=_flag(req, "identityConfirmed", True),
                          resident_code=holder_code)
    holder: list[SpecialMoveInCounter] = []

    def action(now: dt.datetime) -> list[Owned]:
        counter, owned = role.special_move_in(check, notice, now)
        holder.append(counter)
        return owned
    await node.local(action)
    assert holder and holder[0].notice_id is not None
    return {"messageId": holder[0].notice_id.hex()}


def _move_in_outcome(counter: SpecialMoveInCounter) -> str:
    state, code = counter.state, counter.outcome
    if state is MoveInState.RECORDED:
        return "recorded"
    if state is MoveInState.DONE:
        return "completed"
    if state is MoveInState.REFUSED:
        return f"refused:{code}"
    if state in (MoveInState.FAILED, MoveInState.TIMED_OUT):
        return f"failed:{code}"
    return "pending"


def _recorded(role: MunicipalityRole, counter: SpecialMoveInCounter) -> list[str]:
    """The movers of ``counter`` that its certificate put into the register."""
    if counter.certificate is None or counter.notice is None:
        return []
    return [m.resident_code for m in counter.notice.movers
            if m.resident_code in role.register.records]


def _ordinary_result(role: MunicipalityRole, notifier: MoveInNotifier) -> dict[str, Any]:
    """``move_in_result`` of an ordinary move-in: recorded at once, ``completed`` once
    its notice is acknowledged, ``failed:<code>`` once refused (the records stay,
    R-MOVE-05)."""
    state = notifier.state
    outcome = ("completed" if state is NotifierState.DONE
               else f"failed:{notifier.outcome}" if state is NotifierState.FAILED
               else "recorded")
    people = notifier.move_in.residents if notifier.move_in is not None else ()
    assert notifier.notice is not None
    return {"state": state.value, "outcome": outcome, "recorded": True,
            "residents": [p.resident_code for p in people
                          if p.resident_code in role.register.records],
            "moveInNotice": notifier.notice.message_id.hex()}


@op("move_in_result")
async def op_move_in_result(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """What became of the special move-in ``messageId`` (its SpecialMoveInNotice):
    ``state``, ``outcome`` (``pending``, ``recorded``, ``completed``,
    ``refused:<code>``, ``failed:<code>``), ``recorded``, ``residents`` and, once sent,
    ``moveInNotice`` (the message id of the Art. 9(1) notice); or of the ordinary
    move-in whose MoveInNotice is ``messageId``."""
    role = municipality(node)
    mid = _message_id(req)
    notifier = role.ordinary_move_ins.get(mid)
    if notifier is not None:
        return _ordinary_result(role, notifier)
    counter = role.move_ins.get(mid)
    if counter is None:
        raise JukiError("no special move-in with this message id",
                        code=ErrorCode.UNKNOWN_CORRELATION)
    residents = _recorded(role, counter)
    out: dict[str, Any] = {"state": counter.state.value,
                           "outcome": _move_in_outcome(counter),
                           "recorded": counter.certificate is not None,
                           "residents": residents}
    if counter.move_in is not None:
        out["moveInNotice"] = counter.move_in.message_id.hex()
    return out


# Art. 9(1), an ordinary move: the new municipality ---------------------------------------

def _newcomers(req: dict[str, Any], role: MunicipalityRole, former: str,
               moved: dt.date, filed: dt.date) -> tuple[ResidentRecord, ...]:
    """The new records of an ordinary move-in: the first ``members`` persons of the
    household ``generate_households(1, seed, municipalities=[former])`` makes, as the
    paper certificate names them (same resident codes, names and birth dates), now at
    ``newAddress`` since ``moved``, their previous address the former one."""
    seed = text(req, "seed")
    try:
        household = seeded_household(role.code, seed, former)
    except ValueError:
        raise bad("formerMunicipality must be a municipality of the synthetic "
                  "table") from None
    count = req.get("members", len(household))
    if not isinstance(count, int) or isinstance(count, bool) or \
            not 1 <= count <= len(household):
        raise bad(f"members must be a number from 1 to {len(household)} (the household "
                  "of seed)")
    address = _address(req, "newAddress")
    if address.local_gov_code != role.code:
        raise bad("newAddress must lie in the node's municipality")
    try:
        return tuple(dataclasses.replace(
            p, address=address, resident_since=moved, address_notification_date=filed,
            previous_address=p.address, status="current") for p in household[:count])
    except JukiError as exc:
        raise bad(f"movedDate does not fit the household: {exc}") from None


@op("ordinary_move_in")
async def op_ordinary_move_in(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """A move-in filed with a paper move-out certificate at this (new) municipality
    (an ordinary move): the residents of ``seed`` who moved from ``formerMunicipality``
    on ``movedDate`` are recorded at ``newAddress`` and reported (record, moveIn), and
    the MoveInNotice, with no correlationId, sent to ``formerMunicipality`` (Art. 9(1),
    R-MOVE-01, R-MOVE-05); answers its message id and the residents' codes."""
    role = municipality(node)
    former = text(req, "formerMunicipality")
    if former == role.code:
        raise bad("formerMunicipality must be another municipality")
    today = node.now().date()
    moved = _day(req, "movedDate")
    if moved > today:
        raise bad("movedDate must not be after the node's date")
    try:
        move_in = OrdinaryMoveIn(residents=_newcomers(req, role, former, moved, today))
    except JukiError as exc:
        if exc.error_code == ErrorCode.INVALID_JSON:
            raise
        raise bad(f"not a valid move-in: {exc}") from None
    holder: list[MoveInNotifier] = []

    def action(now: dt.datetime) -> list[Owned]:
        notifier, owned = role.ordinary_move_in(move_in, now)
        holder.append(notifier)
        return owned
    await node.local(action)
    assert holder and holder[0].notice is not None
    return {"messageId": holder[0].notice.message_id.hex(),
            "residentCodes": [p.resident_code for p in move_in.residents]}


__all__ = ["APPLICANTS", "op_annotated_move_out", "op_move_in_result",
           "op_ordinary_move_in", "op_ordinary_move_out", "op_special_move_in",
           "op_wide_area_request", "op_wide_area_result"]
