"""Node-mode cases on the fields of a municipality's flow ops (spec/node.md section 4.5,
R-NODE-90, and the JSON forms of spec/json.md, R-JSON-02): every field of every op,
missing or of the wrong JSON type, is 1030 INVALID_JSON, and nothing is sent, recorded
or put on file.

Each case starts from a valid request of one op (the fields the flow cases use) and
derives, field by field, the requests a careless client or a hostile one sends:

- each field the op requires, left out (the optional ones of the op table are not);
- each field with a value of another JSON type (a number for a string, a string for a
  boolean or a number, a boolean for a number, a list or an object for a scalar, a
  scalar for a list or an object, a fraction for a count);
- inside each JSON form of a message type the request carries (the requester, a
  target, a mover, an address), each key with a value of another type, and a key the
  type does not have (R-JSON-02).

The node must answer every one of them 1030 (a malformed field is never a refusal of
the flow's rules, 5xxx, nor a success), and then must not have sent the op's message
to the runner's municipality, recorded the persons of an ordinary move-in, or put an
annotated move-out on file. The valid request itself is then taken (its message sent,
which the runner refuses so that the flow ends; the annotated move-out put on file), so
the refusals were of the fields. Values of the right type that the op's rules refuse
(counts on both sides of their bounds, impossible dates, an address in another
municipality, a person named twice) are 1030 as well. The result ops answer 1030 for a
malformed ``messageId``. Fields are derived from the valid request, not
listed by hand, so a field added to an op is covered without a new case.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from typing import Any

from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node_agency import (
    OWN_PURPOSE,
    PREFECTURE,
    agency_operator,
    finish_request,
    fresh_persons,
    next_request,
)
from juki_conformance.cases_node_flows import wide_area_application
from juki_conformance.flow_steps import (
    CLOSE_CODE,
    address_of,
    as_json,
    gather,
    listening,
    move_in_fields,
    node_today,
    peer_household,
    registered_household,
    sealed_of,
    seed_with,
    sent_nothing,
)
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, node_sut
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import new_resident_code
from juki_protocol.messages.pdu import MessageType

#: The fields of each op that its table in spec/node.md section 4.5 marks optional.
OPTIONAL = {"wide_area_request": {"applicant", "includeRelationship", "includeResidentCode"},
            "special_move_in": {"filedDate", "identityCheck", "identityConfirmed",
                                "cardCheck"},
            "ordinary_move_in": {"members"},
            "annotated_move_out": set(), "ordinary_move_out": set(),
            # spec/node.md section 4.6 (R-NODE-87)
            "record_death": {"date"}, "record_move_out": {"date"},
            "erase": {"reason", "date"}, "change_resident_code": {"date"},
            # section 4.4 (R-NODE-95)
            # operatorId: with a session, the session's operator (section 4.8)
            "provision_request": {"legalBasis", "delegatingPrefecture", "operatorId"},
            # section 4.11
            "suspend_provision": set(), "resume_provision": set(), "stop_feed": set()}
#: The fields whose value is the JSON form of a message type (spec/json.md).
FORMS = {"requester", "targets", "movers", "newAddress", "destination", "byFourItems"}
BAD = ErrorCode.INVALID_JSON
Variant = tuple[str, dict[str, Any]]


def wrong_types(value: Any) -> list[Any]:
    """Values of other JSON types than ``value``'s."""
    if isinstance(value, bool):
        return ["true", 1, [value]]
    if isinstance(value, int):
        return [str(value), value + 0.5, True]
    if isinstance(value, str):
        return [7, [value], {"value": value}, True]
    if isinstance(value, list):
        return ["x", {"0": value[0] if value else 1}, 3]
    if isinstance(value, dict):
        return ["x", [value], 5]
    return ["x"]


def _nested(label: str, field: str, form: dict[str, Any], base: dict[str, Any],
            put: Callable[[dict[str, Any]], Any]) -> Iterator[Variant]:
    """Variants of the JSON form ``form`` inside the op's ``field`` (``label`` names
    where): each key of another type, and a key the type does not have. ``put`` puts a
    changed form back into the field's value."""
    for key, value in form.items():
        for wrong in wrong_types(value):
            yield f"{label}.{key} = {wrong!r}", {**base, field: put({**form, key: wrong})}
    yield f"{label} with an unknown key", {**base, field: put({**form, "unknownKey": "x"})}


def variants(op: str, base: dict[str, Any]) -> Iterator[Variant]:
    """Every malformed request derived from the valid ``base`` of ``op``."""
    for name, value in base.items():
        if name not in OPTIONAL[op]:
            yield f"{name} missing", {k: v for k, v in base.items() if k != name}
        for wrong in wrong_types(value):
            yield f"{name} = {wrong!r}", {**base, name: wrong}
        if name in FORMS and isinstance(value, dict):
            yield from _nested(name, name, value, base, lambda f: f)
        elif name in FORMS and isinstance(value, list) and value \
                and isinstance(value[0], dict):
            rest = value[1:]
            def put(form: dict[str, Any], rest: list[Any] = rest) -> list[Any]:
                return [form, *rest]
            yield from _nested(f"{name}[0]", name, value[0], base, put)


def edges(op: str, base: dict[str, Any], node: NodeSut) -> Iterator[Variant]:
    """Requests whose every field has a valid JSON type but a value the op's rules
    refuse as malformed (spec/node.md section 4.5): on both sides of each count's
    bounds, an impossible date, an address or municipality the op cannot take."""
    today = node_today(node)
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    elsewhere = as_json(address_of(node.peer_municipality))
    if op == "ordinary_move_in":
        size = len(generate_households(1, base["seed"], municipalities=[
            base["formerMunicipality"]])[0].members)
        for count in (0, -1, size + 1):
            yield f"members = {count} (household of {size})", {**base, "members": count}
        yield "movedDate tomorrow", {**base, "movedDate": tomorrow}
        yield "movedDate 2026-02-30", {**base, "movedDate": "2026-02-30"}
        yield "newAddress in another municipality", {**base, "newAddress": elsewhere}
        yield "formerMunicipality 999999", {**base, "formerMunicipality": "999999"}
        yield "seed ''", {**base, "seed": ""}
    elif op in ("special_move_in", "annotated_move_out", "ordinary_move_out",
                "wide_area_request"):
        field = "targets" if op == "wide_area_request" else "movers"
        one = base[field][0]
        yield f"{field} empty", {**base, field: []}
        yield f"{field} of 21", {**base, field: [one] * 21}
        if op in MOVE_OUTS:
            yield "movers of 21 distinct codes", {**base, "movers": distinct_codes(21)}
            yield "movers naming one person twice", {**base, "movers": [one, one]}
            yield "a mover with a broken check digit", {
                **base, "movers": [one[:-1] + str((int(one[-1]) + 1) % 10)]}
            yield "plannedMoveDate 2026-02-30", {**base, "plannedMoveDate": "2026-02-30"}
        if op == "special_move_in":
            yield "newAddress in another municipality", {**base, "newAddress": elsewhere}
            yield "movedDate 2026-02-30", {**base, "movedDate": "2026-02-30"}
            yield "filedDate before movedDate", {
                **base, "filedDate": (today - dt.timedelta(days=1)).isoformat()}
        if op == "wide_area_request":
            yield "residenceMunicipality 27100", {**base, "residenceMunicipality": "27100"}
    elif op in OPTIONAL and "date" in base:
        yield "date 2026-02-30", {**base, "date": "2026-02-30"}
        yield "date 20260101", {**base, "date": "20260101"}
        if op == "erase":
            yield "reason birth (not an erase reason)", {**base, "reason": "birth"}


def distinct_codes(count: int) -> list[str]:
    """``count`` distinct resident codes with their check digits (none registered)."""
    rng = random.Random(f"op-fields-{count}")
    codes: list[str] = []
    while len(codes) < count:
        code = new_resident_code(rng)
        if code not in codes:
            codes.append(code)
    return codes


def refused_all(node: NodeSut, op: str, base: dict[str, Any]) -> tuple[int, str | None]:
    """How many variants of ``base`` were tried, and None if every one was answered
    1030, else the first that was not."""
    count = 0
    for label, fields in (*variants(op, base), *edges(op, base, node)):
        answer = node.request(op, **fields)
        error = answer.get("error") or {}
        count += 1
        if answer.get("ok") or error.get("code") != int(BAD):
            said = "ok" if answer.get("ok") else f"{error.get('code')} {error.get('name')}"
            return count, f"{op} with {label} answered {said}"
    return count, None


def _case(op: str, build: Callable[[NodeSut], dict[str, Any]], mtype: MessageType,
          check: Callable[[NodeSut, dict[str, Any]], str | None] | None = None
          ) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = (f"every {op} with a field missing or of another type answered "
                    f"{error_text(BAD)}; nothing sent to {node.peer_municipality}")
        node.drain(node.peer_municipality)
        base = build(node)
        total, wrong = refused_all(node, op, base)
        if wrong:
            return Outcome(Verdict.FAIL, expected, wrong)
        sent = sent_nothing(node, node.peer_municipality, mtype)
        if sent:
            return Outcome(Verdict.FAIL, expected, f"after the refused requests {sent}")
        problem = check(node, base) if check else None
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        if op not in MOVE_OUTS:      # its check made the valid request
            problem = _valid_taken(node, op, base, mtype)
            if problem:
                return Outcome(Verdict.FAIL, expected, problem)
        return Outcome(Verdict.PASS, expected, f"{total} malformed requests refused 1030")
    return run


def _valid_taken(node: NodeSut, op: str, base: dict[str, Any], mtype: MessageType
                 ) -> str | None:
    """The valid request itself is taken and its message sent (so that the refusals
    were of the fields, not of the request); the runner then ends that flow with an
    error report."""
    answer = node.request(op, **base)
    mid = answer.get("messageId")
    if not answer.get("ok") or not isinstance(mid, str):
        return f"the valid {op} the variants came from answered {answer.get('error')}"
    got = gather(listening(node, node.peer_municipality),
                 {"sent": sealed_of(mtype, bytes.fromhex(mid))}, node.timeout).get("sent")
    if got is None:
        return f"the valid {op} sent no {mtype.value} to {node.peer_municipality}"
    message = node.opened(got[1], node.peer_municipality)
    node.report_error(got[0], got[1], node.peer_municipality, int(CLOSE_CODE))
    return _as_asked(op, base, message)


def _as_asked(op: str, base: dict[str, Any], message: Any) -> str | None:
    """None if the message the valid request sent says what the request asked: the
    options' defaults of the op table, as many persons as asked."""
    want: tuple[Any, ...]
    got: tuple[Any, ...]
    if op == "wide_area_request":
        want = (bool(base.get("includeRelationship", False)),
                bool(base.get("includeResidentCode", False)), len(base["targets"]))
        got = (message.include_relationship, message.include_resident_code,
               len(message.targets))
    elif op == "special_move_in":
        want, got = (len(base["movers"]),), (len(message.movers),)
    else:
        want, got = (base.get("members"),), (len(message.residents),)
    if want != got:
        return f"the valid {op} sent a {type(message).__name__} with {got}, not {want}"
    return None


def _wide_area(node: NodeSut) -> dict[str, Any]:
    return wide_area_application(node, peer_household(node, 2))


def _special(node: NodeSut) -> dict[str, Any]:
    today = node_today(node)
    return move_in_fields(node, peer_household(node, 2), today, today)


def _ordinary(node: NodeSut) -> dict[str, Any]:
    seed, _ = seed_with(node.peer_municipality, 2)
    return {"formerMunicipality": node.peer_municipality, "seed": seed, "members": 1,
            "movedDate": node_today(node).isoformat(),
            "newAddress": as_json(address_of(node.code))}


def _not_recorded(node: NodeSut, base: dict[str, Any]) -> str | None:
    people = generate_households(1, base["seed"],
                                 municipalities=[base["formerMunicipality"]])[0].members
    for p in people:
        state = node.request("resident", residentCode=p.resident_code)
        if state.get("ok") and state.get("state") == "current":
            return "a refused ordinary_move_in recorded one of its persons"
    return None


def _annotated(node: NodeSut) -> dict[str, Any]:
    people = registered_household(node)
    return {"movers": [p.resident_code for p in people],
            "destination": as_json(address_of(node.peer_municipality)),
            "plannedMoveDate": node_today(node).isoformat()}


#: The ops that put a move-out on file and send nothing (their check makes the valid
#: request).
MOVE_OUTS = ("annotated_move_out", "ordinary_move_out")


def _nothing_on_file(op: str) -> Callable[[NodeSut, dict[str, Any]], str | None]:
    def check(node: NodeSut, base: dict[str, Any]) -> str | None:
        answer = node.request(op, **base)
        if answer.get("ok"):
            return None
        return (f"after the refused requests the valid {op} answered "
                f"{answer.get('error')} (one of them was put on file)")
    return check


def _register_events(sut: AdapterSut) -> Outcome:
    """R-NODE-87: the erasing and correcting events of section 4.6, every field missing
    or of another type, a date that is no date and a reason the op does not allow: 1030
    each; the resident stays current and no update is sent."""
    node = node_sut(sut)
    expected = ("every record_death, record_move_out, erase and change_resident_code with "
                f"a malformed field answered {error_text(BAD)}; the resident still "
                "current, no update sent")
    code = registered_household(node)[0].resident_code
    node.drain(node.prefecture)
    today = node_today(node).isoformat()
    bases: dict[str, dict[str, Any]] = {"record_death": {"residentCode": code, "date": today},
             "record_move_out": {"residentCode": code, "date": today,
                                 "destination": as_json(address_of(node.peer_municipality))},
             "erase": {"residentCode": code, "reason": "erasedExOfficio", "date": today},
             "change_resident_code": {"residentCode": code, "date": today}}
    total = 0
    for op, base in bases.items():
        count, wrong = refused_all(node, op, base)
        total += count
        if wrong:
            return Outcome(Verdict.FAIL, expected, wrong)
        state = node.request("resident", residentCode=code)
        if state.get("state") != "current":
            return Outcome(Verdict.FAIL, expected, f"after the malformed {op} requests the "
                           f"resident is {state.get('state') or state.get('error')}")
    sent = sent_nothing(node, node.prefecture, MessageType.IDENTITY_INFO_UPDATE)
    if sent:
        return Outcome(Verdict.FAIL, expected, f"after the refused requests {sent}")
    return Outcome(Verdict.PASS, expected, f"{total} malformed requests refused 1030")


def _agency_request(sut: AdapterSut) -> Outcome:
    """R-NODE-95: every malformed field of provision_request, and each query that breaks
    R-30-7-3-08, is 1030 and sends nothing; the valid request is then sent."""
    node = node_sut(sut)
    provider = PREFECTURE
    expected = (f"every provision_request with a malformed field or query answered "
                f"{error_text(BAD)}, nothing sent to {provider}; the valid one sent")
    node.drain(provider)
    codes = [p.resident_code for p in fresh_persons(2)]
    base: dict[str, Any] = {"provider": provider, "purposeCode": OWN_PURPOSE,
            "operatorId": agency_operator(node), "byResidentCode": codes}
    count, wrong = refused_all(node, "provision_request", base)
    if wrong:
        return Outcome(Verdict.FAIL, expected, wrong)
    extra: list[Variant] = [("byResidentCode naming one code twice", {**base, "byResidentCode":
                                                       [codes[0], codes[0]]}),
             ("byResidentCode of 101 codes", {**base, "byResidentCode": [
                 p.resident_code for p in fresh_persons(101)]}),
             ("a code with a broken check digit", {**base, "byResidentCode": [
                 codes[0][:-1] + str((int(codes[0][-1]) + 1) % 10)]}),
             ("byResidentCode empty", {**base, "byResidentCode": []}),
             ("both byResidentCode and byFourItems", {**base, "byFourItems": {}})]
    for label, fields in extra:
        answer = node.request("provision_request", **fields)
        error = answer.get("error") or {}
        if answer.get("ok") or error.get("code") != int(BAD):
            said = "ok" if answer.get("ok") else f"{error.get('code')} {error.get('name')}"
            return Outcome(Verdict.FAIL, expected, f"provision_request with {label} "
                           f"answered {said}")
    sent = sent_nothing(node, provider, MessageType.PROVISION_REQUEST)
    if sent:
        return Outcome(Verdict.FAIL, expected, f"after the refused requests {sent}")
    answer = node.request("provision_request", **base)
    if not answer.get("ok"):
        return Outcome(Verdict.FAIL, expected, f"the valid request answered "
                       f"{answer.get('error')}")
    got = next_request(node, provider)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, f"the valid request: {got}")
    finish_request(node, got, provider)
    if list(got[2].by_resident_code or ()) != codes:
        return Outcome(Verdict.FAIL, expected, "the valid request went with other codes")
    return Outcome(Verdict.PASS, expected, f"{count + len(extra)} malformed requests "
                   "refused 1030; the valid one sent as asked")


#: Reason codes and body codes that break section 4.11's forms, each beside a valid one.
BAD_REASONS = ("", "Conformance", "1st-reason", "has space", "a" * 33, "理由", "reason_1")
BAD_BODIES = ("AG001", "AG00001", "ag0001", "AGX001", "27100", "2710040", "271005", "")
#: A body no case suspends otherwise.
SPARE_BODY = "AG0009"


def _suspension_fields(sut: AdapterSut) -> Outcome:
    """Section 4.11 at a provider: suspend_provision and resume_provision with a field
    missing, of another type, or beside the forms of a body's code and a reason code,
    are 1030; the body is then not suspended."""
    node = node_sut(sut)
    expected = ("every malformed suspend_provision and resume_provision answered "
                f"{error_text(BAD)}; {SPARE_BODY} not suspended")
    total = 0
    try:
        for op, base in (("suspend_provision", {"body": SPARE_BODY,
                                                "reason": "conformance"}),
                         ("resume_provision", {"body": SPARE_BODY})):
            count, wrong = refused_all(node, op, base)
            total += count
            if wrong:
                return Outcome(Verdict.FAIL, expected, wrong)
            tries = [("body", b) for b in BAD_BODIES] + (
                [("reason", r) for r in BAD_REASONS] if "reason" in base else [])
            for field, value in tries:
                answer = node.request(op, **{**base, field: value})
                error = answer.get("error") or {}
                total += 1
                if answer.get("ok") or error.get("code") != int(BAD):
                    said = "ok" if answer.get("ok") else f"{error.get('code')}"
                    return Outcome(Verdict.FAIL, expected,
                                   f"{op} with {field} {value!r} answered {said}")
        listed = node.request("provision_suspensions").get("suspended") or []
        if any(isinstance(s, dict) and s.get("body") == SPARE_BODY for s in listed):
            return Outcome(Verdict.FAIL, expected, f"{SPARE_BODY} is then suspended")
    finally:
        node.request("resume_provision", body=SPARE_BODY)
    return Outcome(Verdict.PASS, expected, f"{total} malformed requests refused 1030")


def _feed_fields(sut: AdapterSut) -> Outcome:
    """Section 4.11 at a municipality: stop_feed with its reason missing, of another
    type or beside a reason code's form is 1030, and the feed is not stopped."""
    node = node_sut(sut)
    expected = f"every malformed stop_feed answered {error_text(BAD)}; the feed not stopped"
    try:
        total, wrong = refused_all(node, "stop_feed", {"reason": "conformance"})
        if wrong:
            return Outcome(Verdict.FAIL, expected, wrong)
        for value in BAD_REASONS:
            answer = node.request("stop_feed", reason=value)
            error = answer.get("error") or {}
            total += 1
            if answer.get("ok") or error.get("code") != int(BAD):
                said = "ok" if answer.get("ok") else f"{error.get('code')}"
                return Outcome(Verdict.FAIL, expected,
                               f"stop_feed with reason {value!r} answered {said}")
        state = node.request("feed_state")
        if state.get("feedStopped") is not False:
            return Outcome(Verdict.FAIL, expected, "feed_state then reports feedStopped "
                           f"{state.get('feedStopped')!r}")
    finally:
        if node.request("feed_state").get("feedStopped"):
            node.request("resume_feed")
    return Outcome(Verdict.PASS, expected, f"{total} malformed requests refused 1030")


def _results(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("wide_area_result and move_in_result with messageId missing, not hex, "
                f"or not a string answered {error_text(BAD)}")
    for op in ("wide_area_result", "move_in_result"):
        for label, fields in (("messageId missing", {}), ("messageId 'zz'",
                                                           {"messageId": "zz"}),
                              ("messageId 12", {"messageId": 12}),
                              ("messageId ['00']", {"messageId": ["00"]})):
            answer = node.request(op, **fields)
            error = answer.get("error") or {}
            if answer.get("ok") or error.get("code") != int(BAD):
                said = "ok" if answer.get("ok") else f"{error.get('code')}"
                return Outcome(Verdict.FAIL, expected, f"{op} with {label} answered {said}")
    return Outcome(Verdict.PASS, expected, "eight malformed requests refused 1030")


REMEDIATION = ("Check every field of an upper tester op before acting: a field that is "
               "missing or of another JSON type, or a JSON form with a key of another "
               "type or a key its type does not have, is 1030 INVALID_JSON, and then "
               "nothing is sent, recorded or put on file (R-NODE-90, R-JSON-02).")


def op_field_cases() -> list[Case]:
    """The cases of this module, in a stable order."""
    def case(slug: str, clause: str, title: str, run: Callable[[AdapterSut], Outcome]
             ) -> Case:
        return NodeCase(id=f"{clause}/node/op-fields/{slug}", title=title, clause=clause,
                        requirements=("R-NODE-90", "R-JSON-02"), level="MUST",
                        remediation=REMEDIATION, mode="node", ops=(), run=run,
                        role="municipality")
    return [
        case("wide-area-request", "12-2", "every malformed field of wide_area_request is "
             "1030, nothing sent", _case("wide_area_request", _wide_area,
                                         MessageType.WIDE_AREA_ISSUANCE_REQUEST)),
        case("special-move-in", "24-2", "every malformed field of special_move_in is 1030, "
             "nothing sent", _case("special_move_in", _special,
                                   MessageType.SPECIAL_MOVE_IN_NOTICE)),
        case("ordinary-move-in", "9", "every malformed field of ordinary_move_in is 1030, "
             "nothing recorded or sent", _case("ordinary_move_in", _ordinary,
                                               MessageType.MOVE_IN_NOTICE, _not_recorded)),
        case("annotated-move-out", "24-2", "every malformed field of annotated_move_out is "
             "1030, nothing put on file", _case("annotated_move_out", _annotated,
                                                MessageType.MOVE_OUT_CERTIFICATE,
                                                _nothing_on_file("annotated_move_out"))),
        case("ordinary-move-out", "9", "every malformed field of ordinary_move_out is "
             "1030, nothing put on file", _case("ordinary_move_out", _annotated,
                                                MessageType.MOVE_IN_NOTICE,
                                                _nothing_on_file("ordinary_move_out"))),
        NodeCase(id="30-5/node/op-fields/register-events", title="every malformed field of "
                 "record_death, record_move_out, erase and change_resident_code is 1030, "
                 "nothing erased or sent", clause="30-5",
                 requirements=("R-NODE-87", "R-JSON-02"), level="MUST",
                 remediation=REMEDIATION.replace("R-NODE-90", "R-NODE-87"), mode="node",
                 ops=(), run=_register_events, role="municipality"),
        NodeCase(id="30-7/node/op-fields/provision-request", title="every malformed field "
                 "or query of an agency's provision_request is 1030, nothing sent",
                 clause="30-7", requirements=("R-NODE-95", "R-30-7-3-08", "R-JSON-02"),
                 level="MUST", remediation=REMEDIATION.replace("R-NODE-90", "R-NODE-95"),
                 mode="node", ops=(), run=_agency_request, role="agency"),
        *(NodeCase(id=f"suspension/node/op-fields/{role}/suspend-and-resume",
                   title="every malformed field of suspend_provision and resume_provision "
                   "is 1030, nothing suspended", clause="suspension",
                   requirements=("R-NODE-95", "R-SUSP-01"), level="MUST",
                   remediation=REMEDIATION.replace("R-NODE-90", "R-NODE-95"), mode="node",
                   ops=(), run=_suspension_fields, role=role)
          for role in ("prefecture", "national")),
        NodeCase(id="suspension/node/op-fields/municipality/stop-feed",
                 title="every malformed field of stop_feed is 1030, the feed not stopped",
                 clause="suspension", requirements=("R-NODE-95", "R-SUSP-05"),
                 level="MUST", remediation=REMEDIATION.replace("R-NODE-90", "R-NODE-95"),
                 mode="node", ops=(), run=_feed_fields, role="municipality"),
        case("result-ops", "24-2", "a malformed messageId of wide_area_result or "
             "move_in_result is 1030", _results),
    ]


__all__ = ["op_field_cases", "refused_all", "variants", "wrong_types"]
