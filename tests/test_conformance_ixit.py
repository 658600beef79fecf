"""The ICS proforma, the IXIT and the inconclusive verdict (spec/conformance.md sections
2, 3 and 6): a mandatory capability cannot be declined, an IXIT is read from the file
the ICS names (or --ixit) and validated naming the field, a case needing what the IXIT
does not declare is not_applicable, and a case whose preamble was never reached is
inconclusive (exit status 3), in every report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node import NodeCase
from juki_conformance.cli import main
from juki_conformance.model import Outcome, Verdict
from juki_conformance.reports import junit_xml, to_json
from juki_conformance.runner import run_cases
from juki_conformance.sut import AdapterSut, Inconclusive

ICS: dict[str, Any] = {"implementation": {"name": "vendor node", "version": "1"},
                       "role": "municipality", "profiles": ["current"], "modes": ["node"]}
IXIT: dict[str, Any] = {"restart": {"method": "command", "command": "true"},
                        "clock": {"method": "upperTester"}}


def test_a_mandatory_capability_cannot_be_declined() -> None:
    with pytest.raises(ValueError, match="capabilities/specialMove: mandatory"):
        ics_mod.parse({**ICS, "capabilities": {"specialMove": False}})
    with pytest.raises(ValueError, match="capabilities/teleport: not a capability"):
        ics_mod.parse({**ICS, "capabilities": {"teleport": True}})
    # An optional one may be declined; a mandatory one of another role too.
    ics_mod.parse({**ICS, "capabilities": {"residentCard": False, "provision": False}})


def test_the_ixit_is_read_from_the_file_the_ics_names(tmp_path: Path) -> None:
    (tmp_path / "ixit.json").write_text(json.dumps(IXIT), encoding="utf-8")
    (tmp_path / "ics.json").write_text(json.dumps({**ICS, "ixit": "ixit.json"}),
                                       encoding="utf-8")
    ics = ics_mod.load(tmp_path / "ics.json")
    assert ics.declared("ixit.restart") == IXIT["restart"]
    assert ics.declared("ixit.faultInjection") is None
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"clock": {"method": "upperTester"}}), encoding="utf-8")
    assert ics_mod.load(tmp_path / "ics.json", other).declared("ixit.restart") is None


def test_a_bad_ixit_is_refused_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "ixit.json").write_text(json.dumps({"restart": {"method": "reboot"}}),
                                        encoding="utf-8")
    (tmp_path / "ics.json").write_text(json.dumps({**ICS, "ixit": "ixit.json"}),
                                       encoding="utf-8")
    with pytest.raises(ValueError, match="field restart/method"):
        ics_mod.load(tmp_path / "ics.json")
    res = CliRunner().invoke(main, ["run", "--ics", str(tmp_path / "ics.json"),
                                    "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "restart/method" in res.output
    assert "Traceback" not in res.output


def _case(needs: str, run: Any) -> NodeCase:
    return NodeCase(id=f"node/node/test/{needs.replace(' ', '-') or 'none'}", title="t",
                    clause="node", requirements=("R-NODE-03",), level="MUST",
                    remediation="r", mode="node", ops=(), run=run, role="municipality",
                    needs=needs)


class _Sut(AdapterSut):
    def __init__(self) -> None:
        super().__init__(["true"])
        self.hello = {"ok": True}

    def stop(self) -> None:
        pass


def _inconclusive(sut: AdapterSut) -> Outcome:
    raise Inconclusive("the node never recorded the move-in")


def _passes(sut: AdapterSut) -> Outcome:
    return Outcome(Verdict.PASS, "x", "x")


def test_needs_of_the_ixit_and_the_proforma_decide_applicability() -> None:
    # Checks R-CONF-07.
    plain = ics_mod.parse(ICS)
    declared = ics_mod.parse({**ICS, "ixit": IXIT, "capabilities": {"residentCard": False}})
    restart = _case("ixit.restart", _passes)
    card = _case("capability:residentCard", _passes)
    both = _case("ixit.clock capability:specialMove", _passes)
    assert "IXIT declare no ixit.restart" in (restart.not_applicable_reason(plain) or "")
    assert restart.not_applicable_reason(declared) is None
    assert card.not_applicable_reason(plain) is not None        # optional: not answered
    assert card.not_applicable_reason(declared) is not None     # answered no
    assert both.not_applicable_reason(declared) is None          # mandatory: assumed
    assert both.not_applicable_reason(plain) is not None


def test_an_unreached_preamble_is_inconclusive_in_every_report() -> None:
    # Checks R-CONF-14 and R-CONF-08 (exit 3).
    ics = ics_mod.parse(ICS)
    result = run_cases([_case("", _inconclusive)], _Sut(), ics)
    [only] = result.results
    assert only.outcome.verdict is Verdict.INCONCLUSIVE
    assert "never recorded" in only.outcome.actual
    assert result.exit_code == 3
    mixed = run_cases([_case("", _inconclusive), _case("ixit.clock", _passes)], _Sut(),
                      ics)
    assert mixed.exit_code == 3
    import datetime as dt
    report = to_json(result, ics, vector_set_hash="0" * 64,
                     started=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                     all_cases=[only.case], requirements=[])
    schema = json.loads((Path(ics_mod.__file__).with_name("report.schema.json"))
                        .read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    assert report["summary"]["inconclusive"] == 1 and report["summary"]["exitCode"] == 3
    case = ET.fromstring(junit_xml(report)).find(".//testcase")
    assert case is not None and case.find("skipped") is not None
    assert "inconclusive" in (case.find("skipped").get("message") or "")  # type: ignore[union-attr]


def test_the_progress_line_has_a_mark_for_every_verdict() -> None:
    """An inconclusive case once crashed the runner's progress line (KeyError)."""
    from juki_conformance.cli import _MARK

    assert set(_MARK) == set(Verdict)
    assert len(set(_MARK.values())) == len(Verdict)
