"""Node-mode cases on the paths of the centre's card register (spec/card_register.md
section 3, R-CARDREG-01, R-CARDREG-02, R-CARDREG-04, R-CARDREG-06): every cell of the
table of an entry's changes, the notices that conflict with the entry, and validity by
the day.

The cases of :mod:`juki_conformance.cases_node_card_register` take a card through
applied, issued, suspended, resumed and lost once. A centre that takes a change in a
state the table refuses it in, answers another code, lets a refused change touch the
entry, takes a notice naming another resident code, reuses a serial, or counts the
last day of validity as expired (or the day after as valid) passes them. Here the
runner plays the issuing municipality 271004 and the municipality 131016 where a card
is presented; each card has a fresh resident code and serial; ``card_entry`` reads the
entry after every refused change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

from juki_conformance.card_steps import (
    ask_centre,
    card_serial,
    other_codes,
    random_resident_code,
    send_as,
)
from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatus,
    CardStatusChange,
    CardStatusNotice,
    CardStatusQuery,
)
from juki_protocol.messages.pdu import JukiPdu

ISSUER, ELSEWHERE = "271004", "131016"
#: The inputs of section 3's table: ``issue`` (a CardIssueNotice) and the changes.
ISSUE = "issue"
#: Section 3: per state, the code of each refused input and the state each allowed one
#: leads to (a string).
TABLE: dict[str, dict[str, ErrorCode | str]] = {
    "applied": {ISSUE: "issued", "suspended": ErrorCode.CARD_NOT_ACTIVE,
                "resumed": ErrorCode.CARD_NOT_ACTIVE, "lost": ErrorCode.CARD_NOT_ACTIVE,
                "revoked": "revoked"},
    "issued": {ISSUE: ErrorCode.CARD_ALREADY_ISSUED, "suspended": "suspended",
               "resumed": ErrorCode.UNEXPECTED_MESSAGE, "lost": "lost",
               "revoked": "revoked"},
    "suspended": {ISSUE: ErrorCode.CARD_SUSPENDED, "suspended": ErrorCode.CARD_SUSPENDED,
                  "resumed": "issued", "lost": "lost", "revoked": "revoked"},
    "lost": {i: ErrorCode.CARD_LOST for i in (ISSUE, "suspended", "resumed", "lost",
                                               "revoked")},
    "revoked": {i: ErrorCode.CARD_NOT_ACTIVE for i in (ISSUE, "suspended", "resumed",
                                                        "lost", "revoked")},
}
#: The changes that take a new card to each state of :data:`TABLE`.
ROUTE = {"applied": (), "issued": (ISSUE,), "suspended": (ISSUE, "suspended"),
         "lost": (ISSUE, "lost"), "revoked": ("revoked",)}

REM_TABLE = ("Apply each change the issuing municipality reports as the table of "
             "spec/card_register.md section 3 says, refuse the others with its code and "
             "change nothing of the entry then (R-CARDREG-04).")
REM_CONFLICT = ("Refuse a status notice of a card the register does not hold (4012) and "
                "a notice naming another resident code than the entry's (1024); never "
                "reuse a serial (5027 while its card may be used, 1024 after); refuse a "
                "second card for a resident whose card is applied for, valid or "
                "suspended (5027), and take one whose card is lost, revoked or expired; "
                "refuse a query whose municipality is not its sender (1024) "
                "(spec/card_register.md sections 3 and 4).")
REM_EXPIRY = ("Answer a card valid through the last day of its validity, in Japan's "
              "calendar, and expired from the day after, suspended or not; an expired "
              "card no longer keeps its holder from a new one (R-CARDREG-02, "
              "R-CARDREG-06).")


def _today(node: NodeSut) -> dt.date:
    """The node's date in Japan (the register's calendar)."""
    return (node.node_now() + dt.timedelta(hours=9)).date()


def _refused_with(answer: JukiPdu | None, code: ErrorCode | None) -> bool:
    """Whether ``answer`` is an acknowledgement (``code`` None) or error ``code``."""
    if code is None:
        return answer is not None and answer.acknowledgement is not None
    return answer is not None and answer.error_report is not None and \
        answer.error_report.error_code == int(code)


def _apply(node: NodeSut, serial: str, code: str, sender: str = ISSUER) -> JukiPdu | None:
    return send_as(node, CardApplication(municipality=sender, card_serial=serial,
                                         resident_code=code,
                                         application_date=_today(node)), sender)


def _issue(node: NodeSut, serial: str, code: str, until: dt.date | None = None
           ) -> JukiPdu | None:
    until = until or _today(node) + dt.timedelta(days=3000)
    return send_as(node, CardIssueNotice(municipality=ISSUER, card_serial=serial,
                                         resident_code=code,
                                         issue_date=until - dt.timedelta(days=1)
                                         if until <= _today(node) else _today(node),
                                         valid_until=until), ISSUER)


def _input(node: NodeSut, serial: str, code: str, inp: str) -> JukiPdu | None:
    """Send input ``inp`` of :data:`TABLE` for card ``serial`` as its issuer."""
    if inp == ISSUE:
        return _issue(node, serial, code)
    return send_as(node, CardStatusNotice(municipality=ISSUER, card_serial=serial,
                                          resident_code=code, change=CardStatusChange(inp),
                                          change_date=_today(node)), ISSUER)


def _entry(node: NodeSut, serial: str) -> object:
    got = node.request("card_entry", serial=serial)
    if not got.get("ok"):
        raise SutFault(f"card_entry answered {(got.get('error') or {}).get('code')}")
    return got.get("state")


def _card_in(node: NodeSut, state: str) -> tuple[str, str]:
    """A new card of a new resident taken to ``state`` (SutFault if a step is refused)."""
    serial, code = card_serial(ISSUER), random_resident_code()
    for inp in ("apply", *ROUTE[state]):
        got = _apply(node, serial, code) if inp == "apply" else \
            _input(node, serial, code, inp)
        if not _refused_with(got, None):
            raise SutFault(f"taking a card to {state}: {inp} answered {describe(got)}")
    return serial, code


def _table(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("every cell of spec/card_register.md section 3: a refused input answers "
                "its code and leaves the entry's state; an allowed one leads to its state")
    for state, row in TABLE.items():
        serial, code = _card_in(node, state)
        for inp, then in row.items():
            if isinstance(then, str):
                continue
            got = _input(node, serial, code, inp)
            if not _refused_with(got, then):
                return Outcome(Verdict.FAIL, expected, f"{inp} of a {state} card answered "
                               f"{describe(got)}, expected {int(then)}")
            if _entry(node, serial) != state:
                return Outcome(Verdict.FAIL, expected, f"the refused {inp} of a {state} "
                               f"card left it {_entry(node, serial)}")
        first = True
        for inp, then in row.items():
            if not isinstance(then, str):
                continue
            if not first:
                serial, code = _card_in(node, state)
            first = False
            got = _input(node, serial, code, inp)
            if not _refused_with(got, None) or _entry(node, serial) != then:
                return Outcome(Verdict.FAIL, expected, f"{inp} of a {state} card answered "
                               f"{describe(got)}, the entry {_entry(node, serial)}; "
                               f"expected {then}")
    return Outcome(Verdict.PASS, expected, "every cell as the table says")


def _conflicts(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a notice of an unknown card 4012; notices naming another resident code "
                "1024, the entry unchanged; a held serial applied for again 5027 (valid) "
                "or 1024 (lost, another code); a holder of an applied card refused a "
                "second 5027 (application and one-step issue); a holder of a lost or "
                "revoked card given a new one; a query from another municipality than "
                "named 1024")
    valid, holder = _card_in(node, "issued")
    lost, lost_holder = _card_in(node, "lost")
    applied, applied_holder = _card_in(node, "applied")
    revoked, revoked_holder = _card_in(node, "revoked")
    checks: list[tuple[str, Callable[[], JukiPdu | None], ErrorCode | None]] = [
        ("a suspension of a card never applied for",
         lambda: _input(node, card_serial(ISSUER), random_resident_code(), "suspended"),
         ErrorCode.CARD_NOT_ACTIVE),
        ("the valid card's serial applied for again",
         lambda: _apply(node, valid, holder), ErrorCode.CARD_ALREADY_ISSUED),
        ("the lost card's serial applied for again",
         lambda: _apply(node, lost, lost_holder), ErrorCode.INVALID_FIELD),
        ("a second application of the applied card's holder",
         lambda: _apply(node, card_serial(ISSUER), applied_holder), ErrorCode.CARD_ALREADY_ISSUED),
        ("a one-step issue notice for the applied card's holder",
         lambda: _issue(node, card_serial(ISSUER), applied_holder), ErrorCode.CARD_ALREADY_ISSUED),
        ("a query of 131016 sent by 271004",
         lambda: send_as(node, CardStatusQuery(municipality=ELSEWHERE, card_serial=valid,
                                               resident_code=holder), ISSUER),
         ErrorCode.INVALID_FIELD),
        ("a new application of the lost card's holder",
         lambda: _apply(node, card_serial(ISSUER), lost_holder), None),
        ("a one-step issue notice of the revoked card's holder",
         lambda: _issue(node, card_serial(ISSUER), revoked_holder), None),
    ]
    # Another resident code sorting before the holder's, and one after it.
    for other in other_codes(holder):
        side = "before" if other < holder else "after"
        checks += [
            (f"a suspension naming another resident code (sorting {side} the holder's)",
             partial(_input, node, valid, other, "suspended"), ErrorCode.INVALID_FIELD),
            (f"the valid card's serial applied for with another code (sorting {side})",
             partial(_apply, node, valid, other), ErrorCode.INVALID_FIELD)]
    for other in other_codes(applied_holder):
        side = "before" if other < applied_holder else "after"
        checks.append((f"an issue notice naming another code (sorting {side}) than the "
                       "application", partial(_issue, node, applied, other),
                       ErrorCode.INVALID_FIELD))
    for what, step, code in checks:
        got = step()
        if not _refused_with(got, code):
            return Outcome(Verdict.FAIL, expected, f"{what} answered {describe(got)}, "
                           f"expected {'an acknowledgement' if code is None else int(code)}")
    for serial, state in ((valid, "issued"), (applied, "applied"), (lost, "lost"),
                          (revoked, "revoked")):
        if _entry(node, serial) != state:
            return Outcome(Verdict.FAIL, expected, f"the {state} card's entry is now "
                           f"{_entry(node, serial)}")
    return Outcome(Verdict.PASS, expected, "as expected")


def _expiry(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    today = _today(node)
    expected = (f"a card valid until today ({today}, Japan) answered valid with that "
                "date, and its holder refused a second card 5027; one valid until "
                "yesterday answered expired, suspended or not, and its holder given a new "
                "card; an applied card answered unknown")
    cards: list[tuple[str, dt.date, tuple[str, ...], CardStatus, ErrorCode | None]] = [
        ("a card valid until today", today, (), CardStatus.VALID,
         ErrorCode.CARD_ALREADY_ISSUED),
        ("a card valid until yesterday", today - dt.timedelta(days=1), (),
         CardStatus.EXPIRED, None),
        ("a suspended card valid until yesterday", today - dt.timedelta(days=1),
         ("suspended",), CardStatus.EXPIRED, None),
    ]
    for what, until, changes, status, again in cards:
        serial, code = card_serial(ISSUER), random_resident_code()
        steps = [_apply(node, serial, code), _issue(node, serial, code, until)]
        steps += [_input(node, serial, code, change) for change in changes]
        if not all(_refused_with(got, None) for got in steps):
            raise SutFault(f"{what}: the centre refused a step")
        answer = ask_centre(node, serial, code)
        if isinstance(answer, str):
            return Outcome(Verdict.FAIL, expected, f"{what}: {answer}")
        if (answer.status, answer.valid_until, answer.issuing_municipality) != \
                (status, until, ISSUER):
            return Outcome(Verdict.FAIL, expected, f"{what} answered "
                           f"{answer.status.value}, valid until {answer.valid_until}, "
                           f"issuer {answer.issuing_municipality}")
        got = _apply(node, card_serial(ISSUER), code)
        if not _refused_with(got, again):
            return Outcome(Verdict.FAIL, expected, f"{what}: a new application of its "
                           f"holder answered {describe(got)}")
    serial, code = _card_in(node, "applied")
    answer = ask_centre(node, serial, code)
    if isinstance(answer, str) or answer.status is not CardStatus.UNKNOWN:
        return Outcome(Verdict.FAIL, expected, "the applied card: "
                       f"{answer if isinstance(answer, str) else answer.status.value}")
    return Outcome(Verdict.PASS, expected, "as expected")


def card_centre_paths_cases() -> list[Case]:
    """The cases of this module (a national SUT)."""
    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause="30-44", requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="national")
    return [
        case("30-44/node/register/every-cell-of-the-entry-table",
             "each state of an entry takes or refuses each change as section 3 says",
             ("R-CARDREG-04", "R-CARDREG-03"), REM_TABLE, _table),
        case("30-44/node/register/conflicting-notices-and-serials",
             "notices of unknown cards or other codes, reused serials, second cards and "
             "misaddressed queries are refused; a lost or revoked card's holder gets one",
             ("R-CARDREG-01", "R-CARDREG-02", "R-CARDREG-04"), REM_CONFLICT, _conflicts),
        case("30-44/node/register/validity-by-the-day",
             "a card is valid through its last day and expired the day after",
             ("R-CARDREG-06", "R-CARDREG-02"), REM_EXPIRY, _expiry),
    ]


__all__ = ["card_centre_paths_cases"]
