"""Cases written for surviving mutants of the mutation backlog (issue 12) kill them, and
pass the unmodified reference: six entries of benchmarks/mutation/backlog-kills.txt,
each checked end to end (the mutant applied to a copy of the package, the runner
unmutated, only the case selected), so that the file's claims cannot rot.

Also: the backlog tooling reads the files it keeps (every kill line names a case the
suite has and a mutant that still exists; every equivalence entry parses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from juki_conformance import mutant_check
from juki_conformance.cases_codec import all_cases
from juki_conformance.cli import all_node_cases, more_codec_cases
from juki_protocol.resources import vectors_dir

ROOT = Path(__file__).resolve().parents[1]
KILLS = ROOT / "benchmarks" / "mutation" / "backlog-kills.txt"

#: (backlog line of the mutant, the case written for it): one per role of the SUT.
PROVED = [
    ("machines/provision.py:582:32:core/ReplaceComparisonOperator_NotEq_Gt 92c9d41cc33a",
     "30-7/node/agency/response-not-matching-query-refused"),
    ("machines/special_move.py:577:26:core/ReplaceComparisonOperator_NotEq_Lt 64673d5e78a1",
     "24-2/3/node/special-move/former/movers-of-two-move-outs-refused"),
    ("node/audit.py:509:30:core/NumberReplacer b39291049738",
     "node/node/audit/checkpoints-linked-across-restarts"),
    ("envelope/cms.py:138:12:core/ReplaceComparisonOperator_LtE_IsNot b5785aeb7052",
     "pdu/envelope/seal/signing-time-last-second-of-1949"),
    ("endpoint/endpoint.py:581:55:core/NumberReplacer a0ca45ee0cfc",
     "node/node/audit/undelivered-message-logged-as-itself"),
    ("endpoint/frames.py:61:43:core/NumberReplacer 600b4ba7681d",
     "pdu/node/header/sequence-numbers-increase"),
]


def test_a_backlog_line_names_a_mutant_that_moved_with_its_code() -> None:
    mutant_id, digest = mutant_check.parse_line(PROVED[0][0] + "  a scenario")
    assert digest == "92c9d41cc33a"
    found = mutant_check.find(mutant_id, digest)
    assert found.line_digest == digest and found.operator.endswith("NotEq_Gt")
    with pytest.raises(ValueError, match="no such mutant"):
        mutant_check.find(mutant_id, "000000000000")
    with pytest.raises(ValueError, match="not a mutant line"):
        mutant_check.parse_line("codec/der.py AddNot")


def test_every_kill_line_names_a_case_of_the_suite() -> None:
    ids = {c.id for c in all_cases(vectors_dir()) + more_codec_cases()
           + all_node_cases(explore=0)}
    for raw in KILLS.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        mutant, _, judged = raw.partition(" -> ")
        assert mutant.count(":") >= 3 and judged, raw
        if judged.startswith(("equivalent:", "open:", "gone:")):
            continue
        assert judged.split()[0] in ids, raw


@pytest.mark.slow
@pytest.mark.parametrize(("line", "case"), PROVED, ids=[c for _, c in PROVED])
def test_the_case_kills_its_mutant(line: str, case: str) -> None:
    mutant = mutant_check.find(*mutant_check.parse_line(line))
    outcome = mutant_check.check(mutant, [case], timeout=300)
    assert outcome.status == "killed", (outcome.status, outcome.note, outcome.failing)
    assert [f["id"] for f in outcome.failing] == [case]


@pytest.mark.slow
def test_the_cases_pass_the_reference(tmp_path: Path) -> None:
    args = [a for _, case in PROVED for a in ("--cases", case)]
    done = subprocess.run([sys.executable, "-m", "juki_conformance.cli", "run", "--quiet",
                           "--out", str(tmp_path / "report"), *args],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
