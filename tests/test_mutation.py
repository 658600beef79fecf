"""juki-conformance mutation: what is mutated, the interval, the equivalents file, and a
small real run (the CI sample that keeps the command working)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from juki_conformance import mutation
from juki_conformance.cli import main

MODULE = '''from __future__ import annotations

import dataclasses
import logging

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Box:
    size: int = 1


def check(value: int | None, limit: int = 3) -> bool:
    """Rule R-DER-03 (a made-up citation for the test)."""
    log.info("checking %d", value + 1)
    return value is not None and value < limit  # pragma: no mutate


def grow(value: int) -> int:
    return value * 2


def observe(metrics: object, value: int) -> None:
    if metrics is not None:
        metrics.handled(value, value - 1)
'''


@pytest.fixture()
def package(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    (root / "codec").mkdir(parents=True)
    (root / "codec/der.py").write_text(MODULE, encoding="utf-8")
    return root


def test_annotations_logging_metrics_dataclass_flags_and_pragmas_are_not_mutated(
        package: Path) -> None:
    mutants = mutation.enumerate_mutants(package, ["codec/der.py"])
    lines = {m.line for m in mutants}
    text = MODULE.splitlines()
    by_text = {text[line - 1].strip() for line in lines}
    assert "return value * 2" in by_text                      # ordinary code is
    # int | None is an annotation; the default 3 is code.
    on_def = [m for m in mutants if text[m.line - 1].startswith("def check")]
    assert on_def and all(m.operator == "core/NumberReplacer" for m in on_def)
    assert not any(t.startswith("log.info") for t in by_text)   # a log call
    # A metrics call's arguments are not mutated; the test around it is.
    assert not any(t.startswith("metrics.handled") for t in by_text)
    assert "if metrics is not None:" in by_text
    # frozen=True is not flipped; removing the whole decorator is a mutant.
    on_decorator = [m for m in mutants if text[m.line - 1].startswith("@dataclasses")]
    assert [m.operator for m in on_decorator] == ["core/RemoveDecorator"]
    assert not any("pragma" in t for t in by_text)
    grow = [m for m in mutants if m.function == "grow"]
    assert grow and all(m.cites == () for m in grow)


def test_a_mutant_names_its_function_its_citations_and_its_statement(package: Path) -> None:
    source = '''def rule(a: int) -> bool:
    """R-PDU-16: the window."""
    return (a
            + 1 > 300)
'''
    (package / "codec/der.py").write_text(source, encoding="utf-8")
    [plus, *_] = [m for m in mutation.enumerate_mutants(package, ["codec/der.py"])
                  if m.operator.startswith("core/ReplaceBinaryOperator_Add")]
    assert plus.function == "rule" and plus.cites == ("R-PDU-16",)
    assert (plus.line, plus.statement) == (4, 3)   # coverage.py records line 3


def test_the_sample_is_seeded_and_skips_mutants_that_do_not_compile(package: Path) -> None:
    mutants = mutation.enumerate_mutants(package, ["codec/der.py"])
    first, invalid = mutation.sample(mutants, 5, 7, package)
    again, _ = mutation.sample(mutants, 5, 7, package)
    other, _ = mutation.sample(mutants, 5, 8, package)
    assert [m.id for m in first] == [m.id for m in again] != [m.id for m in other]
    assert invalid >= 0 and len(first) == 5
    for m in first:
        compile(mutation.mutated_source(package, m), "codec/der.py", "exec")


@pytest.mark.parametrize(("killed", "total", "low", "high"), [
    (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (81, 90, 0.8210, 0.9465),
    (270, 300, 0.8609, 0.9289)])
def test_the_wilson_interval(killed: int, total: int, low: float, high: float) -> None:
    got_low, got_high = mutation.wilson(killed, total)
    assert got_low == pytest.approx(low, abs=5e-4)
    assert got_high == pytest.approx(high, abs=5e-4)


def test_equivalents_name_the_line_they_judged(tmp_path: Path) -> None:
    path = tmp_path / "eq.txt"
    path.write_text("# comment\nder.py:3:4:core/AddNot 0123456789ab  the flag is never read\n",
                    encoding="utf-8")
    [entry] = mutation.load_equivalents(path).values()
    assert entry.digest == "0123456789ab" and entry.reason == "the flag is never read"
    path.write_text("codec/der.py:3:4:core/AddNot no-digest reason\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"eq\.txt:1"):
        mutation.load_equivalents(path)


def test_the_shipped_equivalents_file_parses() -> None:
    for entry in mutation.load_equivalents().values():
        assert entry.reason.strip()
        module = entry.mutant_id.split(":")[0]
        assert module in mutation.target_modules(mutation.package_root())


def test_every_target_module_has_a_clause() -> None:
    for module in mutation.target_modules(mutation.package_root()):
        assert mutation.clauses(module), module


def test_a_kill_cites_the_right_clause_by_spec_file_or_by_the_function() -> None:
    files = {"R-DER-03": "spec/README.md", "R-NODE-05": "spec/node.md"}
    m = mutation.Mutant("codec/der.py", "core/AddNot", 0, 1, 0, "x", "f", ("R-NODE-05",), 1)
    assert mutation.right_clause(m, [{"requirements": ["R-DER-03"]}], files) is True
    assert mutation.right_clause(m, [{"requirements": ["R-NODE-05"]}], files) is True
    other = mutation.Mutant("codec/der.py", "core/AddNot", 0, 1, 0, "x", "f", (), 1)
    assert mutation.right_clause(other, [{"requirements": ["R-NODE-05"]}], files) is False
    assert mutation.right_clause(other, [{"requirements": []}], files) is None


def test_a_small_real_run_scores_and_reports(tmp_path: Path) -> None:
    """The CI sample: a few mutants of codec/der.py judged by the DER and PDU codec cases."""
    out = tmp_path / "report"
    result = CliRunner().invoke(main, [
        "mutation", "--sample", "4", "--seed", "3", "--module", "codec/der.py", "--jobs", "2",
        "--cases", "der/*", "--cases", "pdu/codec/*", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "mutation.json").read_text(encoding="utf-8"))
    summary = report["summary"]
    assert summary["sampled"] == 4 and report["population"] > 100
    assert summary["killed"] >= 1
    assert summary["killed"] + summary["survived"] + summary["equivalent"] \
        + summary["errors"] == 4
    low, high = summary["interval95"]
    assert 0 <= low <= summary["score"] <= high <= 1
    killed = [m for m in report["mutants"] if m["status"] == "killed"]
    assert all(m["failing"] and m["diff"].startswith("- ") for m in killed)
    # Each mutant that ran, ran the cases that can reach its line: at least those that
    # executed it, at most the control's.
    assert report["selection"] == "cases that can reach the line"
    ran = [m for m in report["mutants"] if m["casesRun"] is not None]
    assert ran and all(1 <= m["casesExecuting"] <= m["casesRun"] <= report["controlCases"]
                       for m in ran)
    assert "mutation score:" in result.output
    assert (out / "summary.txt").read_text(encoding="utf-8").startswith("mutation score:")


def test_a_module_that_is_not_mutated_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["mutation", "--module", "tools/adapter.py",
                                       "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "no mutated module matches" in result.output


def test_rescoring_applies_the_hand_classification_after_a_run(tmp_path: Path) -> None:
    def row(mid: str, status: str, digest: str = "0123456789ab") -> dict[str, object]:
        return {"id": mid, "digest": digest, "module": "codec/der.py", "status": status,
                "function": "f", "diff": "- a\n+ b",
                "rightClause": True if status == "killed" else None, "note": ""}
    report = {"mutants": [row("a", "killed"), row("b", "survived"), row("c", "survived"),
                          row("d", "survived", "ffffffffffff")], "staleEquivalents": [],
              "seed": 1, "population": 10}
    equivalents = {
        "b": mutation.Equivalent("b", "0123456789ab", "a cache size"),
        "d": mutation.Equivalent("d", "0123456789ab", "the line has changed since"),
    }
    out = mutation.rescore(report, equivalents)
    assert out["summary"]["equivalent"] == 1 and out["summary"]["nonEquivalent"] == 3
    assert out["summary"]["killed"] == 1 and out["summary"]["score"] == pytest.approx(1 / 3)
    assert out["staleEquivalents"] == ["d"]
    assert out["mutants"][1]["note"] == "a cache size"
    path = tmp_path / "mutation.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    result = CliRunner().invoke(main, ["mutation", "--rescore", str(path),
                                       "--out", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    assert "mutation score: 1 of" in result.output


def test_the_equivalents_follow_the_code(tmp_path: Path) -> None:
    """Every hand-classified equivalent still names its mutant where the code is now: an
    entry whose line moved (code above it changed) is followed with
    ``python tools/mutant_check.py --reanchor``; a stale one must be judged again."""
    from juki_conformance.mutant_check import reanchor
    copy = tmp_path / "equivalents.txt"
    copy.write_text(mutation.EQUIVALENTS_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    moved, stale = reanchor(copy)
    assert (moved, stale) == ([], []), "run: python tools/mutant_check.py --reanchor"


def test_reanchoring_follows_a_moved_line(tmp_path: Path) -> None:
    entry = next(iter(mutation.load_equivalents().values()))
    module, line, column, operator = entry.mutant_id.rsplit(":", 3)
    shifted = f"{module}:{int(line) + 7}:{column}:{operator}"
    copy = tmp_path / "equivalents.txt"
    copy.write_text(f"{shifted} {entry.digest}  {entry.reason}\n", encoding="utf-8")
    from juki_conformance.mutant_check import reanchor
    assert reanchor(copy) == ([shifted], [])
    assert copy.read_text(encoding="utf-8").startswith(entry.mutant_id + " ")


def test_a_run_out_of_time_is_killed_with_the_nodes_it_launched(tmp_path: Path) -> None:
    # The node cases launch reference nodes; the run is stopped long before it ends.
    # Left behind, such nodes loaded the machine of a sample and slowed the mutants
    # after them into timeouts (counted killed).
    import os
    import time

    tree = tmp_path / "tree"
    tree.mkdir()
    from juki_conformance.cli import all_node_cases
    rc, failing = mutation._run_suite(tree, tmp_path / "out", [], 6.0,
                                      [c.id for c in all_node_cases()])
    assert (rc, failing) == (None, [])
    time.sleep(0.5)
    left = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if f"PYTHONPATH={tree}".encode() in environ.split(b"\0"):
                left.append(entry.name)
    assert left == [], f"processes of the run left running: {left}"
    assert os.path.isdir(tree / "cwd")
