"""Model-based node cases: the model's answers, the step language, and the exploration
against the reference prefecture node and faulty nodes it was not written against."""

from __future__ import annotations

import datetime as dt

import pytest

from juki_conformance import cases_node_explore
from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_explore import (
    KINDS,
    Step,
    explore,
    explore_cases,
    format_steps,
    parse_steps,
)
from juki_conformance.explore_model import Sent, SequencedModel
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import CaseResult, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import RunResult, run_cases
from juki_conformance.selftest import (
    faulty_durability,
    faulty_national,
    faulty_node,
    faulty_retention,
)
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation

PREF, MUNI, OTHER = "270008", "271004", "272035"
NOW = dt.datetime(2030, 4, 1, 12, 0, tzinfo=dt.UTC)


def _update(seq: int, n: int = 0) -> IdentityInfoUpdate:
    person = generate_households(1, f"model-test:{n}", municipalities=[MUNI])[0].head
    return IdentityInfoUpdate(
        municipality=MUNI, update_sequence=seq, operation=UpdateOperation.RECORD,
        identity_info=person.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                               change_date=person.birth_date))


def _sent(update: IdentityInfoUpdate, mid: bytes = b"\x01" * 16, **changes: object) -> Sent:
    fields: dict[str, object] = {"peer": MUNI, "sender": MUNI, "recipient": PREF,
                                 "version": 1, "time": NOW, "message_id": mid,
                                 "message": update}
    fields.update(changes)
    return Sent(**fields)  # type: ignore[arg-type]


def _model(last: int = 0) -> SequencedModel:
    return SequencedModel("prefecture", PREF, {MUNI: last}, dt.timedelta(seconds=600))


def _step(model: SequencedModel, sent: Sent, now: dt.datetime = NOW) -> set[tuple[object, ...]]:
    allowed = model.expect(sent, now)
    model.follow(sent, now, sorted(allowed, key=str)[0])
    return allowed


def test_the_model_applies_the_next_number_and_answers_resends_as_duplicates() -> None:
    model = _model(4)
    first = _sent(_update(5))
    assert _step(model, first) == {("ack", "accepted")}
    assert model.last(MUNI) == 5 and model.versions(
        first.message.identity_info.resident_code) == (1, True)
    assert _step(model, first) == {("ack", "duplicate")}
    # The same content under a new message id: identical to the applied one (R-30-5-0-06).
    assert _step(model, _sent(first.message, b"\x02" * 16)) == {("ack", "duplicate")}
    # Other content under the first message id: a replay (R-PDU-24).
    assert _step(model, _sent(_update(6, 1))) == {("error", int(ErrorCode.REPLAY))}
    # A gap, and a lower number with other content: out of order.
    assert _step(model, _sent(_update(8, 2), b"\x03" * 16)) == {
        ("error", int(ErrorCode.OUT_OF_ORDER))}
    assert _step(model, _sent(_update(5, 3), b"\x04" * 16)) == {
        ("error", int(ErrorCode.OUT_OF_ORDER))}
    assert model.last(MUNI) == 5


def test_the_model_checks_the_header_in_the_order_of_section_8() -> None:
    model = _model()
    update = _update(1)
    # The version comes before the recipient, the recipient before the peer, the peer
    # before the time.
    assert _step(model, _sent(update, version=2, recipient=OTHER)) == {
        ("error", int(ErrorCode.UNSUPPORTED_VERSION))}
    assert _step(model, _sent(update, recipient="130001", peer=OTHER)) == {
        ("error", int(ErrorCode.WRONG_RECIPIENT))}
    assert _step(model, _sent(update, peer=OTHER, time=NOW - dt.timedelta(hours=1))) == {
        ("error", int(ErrorCode.CERT_SENDER_MISMATCH))}
    assert _step(model, _sent(update, time=NOW - dt.timedelta(seconds=301))) == {
        ("error", int(ErrorCode.STALE_TIME))}
    assert _step(model, _sent(update, time=NOW + dt.timedelta(seconds=300))) == {
        ("ack", "accepted")}
    assert _step(model, _sent(_update(2, 1), b"\x05" * 16, extended=True)) == {
        ("error", int(ErrorCode.DATA_MINIMISATION))}
    assert model.last(MUNI) == 1


def test_past_the_duplicate_window_a_forgotten_id_is_allowed_either_way() -> None:
    model = _model()
    first = _sent(_update(1))
    _step(model, first)
    later = NOW + dt.timedelta(hours=25)
    replay = _sent(_update(2, 1), time=later)
    # Remembered: a replay; forgotten: the flow applies number 2.
    assert model.expect(replay, later) == {("error", int(ErrorCode.REPLAY)),
                                           ("ack", "accepted")}
    model.follow(replay, later, ("ack", "accepted"))
    assert model.last(MUNI) == 2


def test_the_model_purges_past_retention_and_never_reuses_a_retired_code() -> None:
    model = _model()
    first = _sent(_update(1))
    _step(model, first)
    code = first.message.identity_info.resident_code
    corrected = IdentityInfoUpdate(
        municipality=MUNI, update_sequence=2, operation=UpdateOperation.CORRECT,
        identity_info=first.message.identity_info,
        change_info=ChangeInfo(change_reason=ChangeReason.CORRECTION,
                               change_date=dt.date(2030, 4, 1)))
    assert _step(model, _sent(corrected, b"\x06" * 16)) == {("ack", "accepted")}
    assert model.versions(code) == (2, True)
    model.advance(NOW + dt.timedelta(seconds=601))
    assert model.versions(code) == (1, True)


def test_steps_print_and_parse_back() -> None:
    steps = [Step(kind, i % 2, i) for i, kind in enumerate(KINDS)]
    assert parse_steps(format_steps(steps)) == steps
    for bad in ("record", "record(2,0)", "fly(0,0)", "record(0,x)"):
        with pytest.raises(ValueError):
            parse_steps(bad)


def test_no_budget_no_case() -> None:
    assert explore_cases(0) == []
    assert [c.role for c in explore_cases(0, replay="record(0,0)")] == [  # type: ignore[attr-defined]
        "prefecture", "national"]


def _ics(role: str = "prefecture") -> ics_mod.Ics:
    return ics_mod.parse({
        "implementation": {"name": "reference node", "version": "0.1.0"},
        "role": role, "profiles": ["current"], "modes": ["node"],
        "limits": REFERENCE_LIMITS, "localPurposes": REFERENCE_LOCAL_PURPOSES,
        "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"}}})


def _ran(result: RunResult) -> CaseResult:
    assert result.harness_error is None
    [only] = [r for r in result.results if r.outcome.verdict is not Verdict.NOT_APPLICABLE]
    return only


@pytest.mark.parametrize("role", ["prefecture", "national"])
def test_the_reference_agrees_with_the_model_over_generated_sequences(role: str) -> None:
    only = _ran(run_cases(explore_cases(25, seed=1), NodeSut(timeout=5, role=role),
                          _ics(role)))
    assert only.outcome.verdict is Verdict.PASS, only.outcome
    assert only.outcome.actual.startswith("25 sequences played")


def test_a_run_is_the_same_for_the_same_seed() -> None:
    node = NodeSut(timeout=5)
    node.start()
    runs: list[list[list[Step]]] = [[], [], []]
    try:
        for seed, played in zip((3, 3, 4), runs, strict=True):
            found, ran = explore(node, budget=10, seed=seed, played=played)
            assert found is None and ran == 10
    finally:
        node.stop()
    assert runs[0] == runs[1] != runs[2]


#: Faults of modules written for fixed cases, the role they run as, and the longest
#: minimal sequence that shows each: the exploration was not written against them.
FOUND = [
    (faulty_node, "no-replay-check", "prefecture", 4),
    (faulty_node, "stores-extensions", "prefecture", 4),
    (faulty_durability, "window-off-by-a-minute", "prefecture", 4),
    (faulty_retention, "purges-at-once", "prefecture", 8),
    (faulty_national, "accepts-gaps", "national", 4),
    (faulty_national, "reapplies-resent-relay", "national", 4),
    (faulty_national, "takes-updates-directly", "national", 4),
]
#: The other faults of those modules that the exploration finds with --explore 200
#: --seed 1 (README): no-time-window, ignores-version, never-purges,
#: number-only-duplicate, one-counter-for-all, skips-unknown-extensions,
#: trusts-relay-prefecture, routes-by-recipient-only. CI plays the ones above.


@pytest.mark.parametrize(("module", "fault", "role", "longest"), FOUND,
                         ids=[f for _, f, _, _ in FOUND])
def test_the_exploration_finds_faults_it_was_not_written_for(
        module: object, fault: str, role: str, longest: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A budget of wall time: generous, so that a loaded CI machine still shrinks fully.
    monkeypatch.setattr(cases_node_explore, "SHRINK_SECONDS", 30.0)
    command = module.command(fault)  # type: ignore[attr-defined]
    only = _ran(run_cases(explore_cases(200, seed=1),
                          NodeSut(command, timeout=3, role=role), _ics(role)))
    assert only.outcome.verdict is Verdict.FAIL, only.outcome
    detail = only.outcome.detail
    assert detail.startswith("minimal sequence (")
    size = int(detail.split("(")[1].split(" ")[0])
    assert 1 <= size <= longest, detail
    replay = detail.split("--explore-replay '")[1].rstrip("'")
    assert len(parse_steps(replay)) == size
    # The printed sequence fails again on its own.
    again = _ran(run_cases(explore_cases(0, replay=replay),
                           NodeSut(command, timeout=3, role=role), _ics(role)))
    assert again.outcome.verdict is Verdict.FAIL, again.outcome
