"""Codec-mode cases of the adapter protocol itself (spec/conformance.md section 1):
blank and unparseable lines, quit, the profile names of hello and of a request, an
unknown op, and serving on after a bad request. Two of them run a fresh copy of the
adapter on raw text (:func:`_raw_exchange`), since the runner's own connection never
sends such lines.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from juki_conformance.codec_checks import error_of, expect_error
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut


def _raw_exchange(sut: AdapterSut, text: str) -> tuple[list[Any], int | None]:
    """Run a fresh copy of the adapter on ``text`` with standard input left open: its
    answer lines (parsed, or the raw text of a line that is not JSON) and its exit
    status, or None when it is still running after the request timeout."""
    proc = subprocess.Popen(sut.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={**os.environ, **(sut.env or {})})
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(text.encode("utf-8"))
        proc.stdin.flush()
        try:
            status: int | None = proc.wait(timeout=sut.timeout)
        except subprocess.TimeoutExpired:
            status = None
            proc.kill()
            proc.wait()
        out = proc.stdout.read().decode("utf-8", "replace")
    finally:
        if not proc.stdin.closed:
            proc.stdin.close()
        proc.stdout.close()
    answers: list[Any] = []
    for line in out.splitlines():
        try:
            answers.append(json.loads(line))
        except ValueError:
            answers.append(line)
    return answers, status


def _ids_and_codes(answers: list[Any]) -> list[tuple[Any, int | None]]:
    return [(a.get("id"), error_of(a)[0] if a.get("ok") is False else None)
            if isinstance(a, dict) else ("not JSON", None) for a in answers]


def _blank_and_unparseable(sut: AdapterSut) -> Outcome:
    text = '\n \t\r\nnot json\n[1, 2]\n{"id": 7}\n{"id": 8, "op": "no-such-op"}\n'
    answers, _ = _raw_exchange(sut, text + '{"op": "quit"}\n')
    want = [(None, 1030), (None, 1030), (7, 1030), (8, 1030)]
    expected = ("no answer to the two blank lines; 1030 with id null for 'not json' and "
                "'[1, 2]'; 1030 with ids 7 and 8")
    got = _ids_and_codes(answers)
    verdict = Verdict.PASS if got == want else Verdict.FAIL
    return Outcome(verdict, expected, f"answers (id, code): {got}")


def _quit_not_answered(sut: AdapterSut) -> Outcome:
    answers, status = _raw_exchange(
        sut, '{"id": 1, "op": "hello"}\n{"id": 2, "op": "quit"}\n{"id": 3, "op": "hello"}\n')
    expected = "one answer (id 1), none to quit or after it, exit status 0 with input open"
    got = [a.get("id") if isinstance(a, dict) else "not JSON" for a in answers]
    if status is None:
        return Outcome(Verdict.FAIL, expected, f"still running after quit; answered ids {got}")
    ok = got == [1] and status == 0
    return Outcome(Verdict.PASS if ok else Verdict.FAIL, expected,
                   f"answered ids {got}, exit status {status}")


def _hello_profiles(sut: AdapterSut) -> Outcome:
    profiles = sut.request("hello").get("profiles")
    expected = "hello.profiles: a non-empty list of 'current' and 'p2002'"
    ok = isinstance(profiles, list) and bool(profiles) and \
        all(p in ("current", "p2002") for p in profiles) and len(set(profiles)) == len(profiles)
    return Outcome(Verdict.PASS if ok else Verdict.FAIL, expected, f"profiles {profiles!r}")


def _profile_2002_refused(sut: AdapterSut) -> Outcome:
    ack = "7415801057441f5b0e9483e7b2d3c21c71943310810101"  # codec_acknowledgement tcId 1
    return expect_error(sut.request("decode", type="Acknowledgement", der=ack,
                                    profile="2002"), 1030)


def adapter_cases() -> list[Case]:
    """The adapter protocol itself (spec/conformance.md section 1)."""
    def unknown_op(sut: AdapterSut) -> Outcome:
        return expect_error(sut.request("no-such-op"), 1030)

    def keeps_serving(sut: AdapterSut) -> Outcome:
        sut.request("no-such-op")
        answer = sut.request("check_code", kind="resident", code="12345678903")
        ok = bool(answer.get("ok"))
        return Outcome(Verdict.PASS if ok else Verdict.FAIL,
                       "a valid answer after an unknown op",
                       "answered" if ok else f"refused: {error_of(answer)[1]}")

    fix = "Follow spec/conformance.md section 1: answer every line, never exit on input."
    edges = "Follow spec/conformance.md section 1 (R-CONF-16, R-CONF-17) for blank, " \
            "unparseable and quit lines."
    return [
        Case(id="conformance/codec/adapter/blank-and-unparseable-lines",
             title="blank lines skipped; unparseable lines get 1030 with id null",
             clause="conformance", requirements=("R-CONF-16",), level="MUST",
             remediation=edges, mode="codec", ops=(), run=_blank_and_unparseable),
        Case(id="conformance/codec/adapter/quit-not-answered",
             title="quit gets no answer, later lines none, exit status 0",
             clause="conformance", requirements=("R-CONF-17",), level="MUST",
             remediation=edges, mode="codec", ops=(), run=_quit_not_answered),
        Case(id="conformance/codec/adapter/hello-profile-names",
             title="hello lists profiles by their ASN.1 names",
             clause="conformance", requirements=("R-CONF-18",), level="MUST",
             remediation="List `current` and/or `p2002` in hello.profiles, nothing else.",
             mode="codec", ops=(), run=_hello_profiles),
        Case(id="conformance/codec/adapter/profile-name-2002-refused",
             title="a request profile '2002' gets 1030 (the name is p2002)",
             clause="conformance", requirements=("R-CONF-18",), level="MUST",
             remediation="Accept only `current` and `p2002` as a request's profile.",
             mode="codec", ops=("decode",), message_type="Acknowledgement",
             run=_profile_2002_refused),
        Case(id="conformance/codec/adapter/unknown-op", title="unknown op gets 1030",
             clause="conformance", requirements=("R-CONF-03", "R-CONF-02"), level="MUST",
             remediation=fix, mode="codec", ops=(), run=unknown_op),
        Case(id="conformance/codec/adapter/keeps-serving", title="serves after a bad request",
             clause="conformance", requirements=("R-CONF-03", "R-CONF-01"), level="MUST",
             remediation=fix, mode="codec", ops=("check_code",), run=keeps_serving),
    ]
