"""juki-conformance in node mode: the reference prefecture and municipality nodes pass
every node case of their role, each faulty node fails exactly the cases that should
catch it, the ICS decides applicability, and the upper tester's municipality events
reach a prefecture."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node import node_cases
from juki_conformance.cases_node_municipality import municipality_cases
from juki_conformance.cli import all_node_cases, main
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import RunResult, run_cases, select
from juki_conformance.selftest.faulty_node import EXPECTED, FAULT_ROLES, FAULTS, command
from juki_protocol.node.network import Network, create_pki, node_config
from juki_protocol.node.transport import client_context
from juki_protocol.node.upper_tester import UpperTester

ROOT = Path(__file__).resolve().parent.parent
NODE_ICS = {"implementation": {"name": "reference node", "version": "0.1.0"},
            "role": "prefecture", "profiles": ["current"], "modes": ["node"],
            "limits": REFERENCE_LIMITS, "localPurposes": REFERENCE_LOCAL_PURPOSES,
            "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"},
                     "faultInjection": {"method": "upperTester"}}}


def _verdicts(result: RunResult) -> dict[str, Verdict]:
    return {r.case.id: r.outcome.verdict for r in result.results}


def test_an_adapter_without_an_ics_runs_no_node_case(tmp_path: Path) -> None:
    import sys
    res = CliRunner().invoke(main, ["run", "--quiet", "--vectors", str(ROOT / "vectors"),
                                    "--adapter", f"{sys.executable} -m juki_protocol.tools.adapter",
                                    "--out", str(tmp_path), "--cases", "pdu/*"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert not [c for c in report["cases"] if "/node/" in c["id"]]


def test_a_node_only_ics_runs_the_node_cases(tmp_path: Path) -> None:
    """A node-only ICS (no adapter) runs the node cases of its role, and the codec
    cases its globs also select are not applicable.
    Two clauses stand for all: every prefecture case passes in the default run
    (tests/test_conformance.py), so running them all again here only cost CI time."""
    ics = tmp_path / "ics.json"
    ics.write_text(json.dumps(NODE_ICS), encoding="utf-8")
    globs = ("30-11/*", "pdu/node/*")
    res = CliRunner().invoke(main, ["run", "--quiet", "--vectors", str(ROOT / "vectors"),
                                    "--ics", str(ics), *(a for g in globs for a in
                                                         ("--cases", g)),
                                    "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    mine = [c for c in select(all_node_cases(), list(globs), [])
            if c.role == "prefecture"]  # type: ignore[attr-defined]
    assert len(mine) >= 10
    assert report["summary"]["pass"] + report["summary"]["acceptable"] == len(mine)
    codec = [c for c in report["cases"] if "/codec/" in c["id"]]
    assert codec and {c["verdict"] for c in codec} == {"not_applicable"}


def test_a_municipality_ics_runs_the_municipality_cases(tmp_path: Path) -> None:
    """The runner launches the node an ICS declares (the reference's municipality, with
    the ICS's IXIT). The clauses chosen are those that lean on the IXIT (limits,
    restarts, the clock); every municipality case passes on a hand-started node in
    tests/test_conformance_attach.py and on the runner's own in the default run."""
    ics = tmp_path / "ics.json"
    ics.write_text(json.dumps({**NODE_ICS, "role": "municipality"}), encoding="utf-8")
    globs = ("pdu/node/*", "node/node/*", "card/node/*", "suspension/node/*")
    res = CliRunner().invoke(main, ["run", "--quiet", "--vectors", str(ROOT / "vectors"),
                                    "--ics", str(ics), *(a for g in globs for a in
                                                         ("--cases", g)),
                                    "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    chosen = select(all_node_cases(), list(globs), [])
    mine = [c for c in chosen if c.role == "municipality"]  # type: ignore[attr-defined]
    assert len(mine) >= 40 and len(chosen) > len(mine)
    assert report["summary"]["pass"] + report["summary"]["acceptable"] == len(mine)
    assert report["summary"]["not_applicable"] == len(chosen) - len(mine)
    assert report["sut"]["node"]["node"] == "municipality:271004"


def test_node_cases_are_not_applicable_to_another_role() -> None:
    # Checks R-CONF-07.
    ics = ics_mod.parse({**NODE_ICS, "role": "municipality"})
    result = run_cases(node_cases(), NodeSut(timeout=5), ics)
    assert set(_verdicts(result).values()) == {Verdict.NOT_APPLICABLE}
    assert result.exit_code == 2        # nothing applicable ran


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_faulty_node_fails_exactly_its_cases(fault: str) -> None:
    role = FAULT_ROLES.get(fault, "prefecture")
    result = run_cases(node_cases() + municipality_cases(),
                       NodeSut(command(fault), timeout=2, role=role),
                       ics_mod.parse({**NODE_ICS, "role": role}))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    failed = {cid for cid, v in verdicts.items() if v is Verdict.FAIL}
    assert failed == set(EXPECTED[fault]), {r.case.id: r.outcome for r in result.results
                                            if r.outcome.verdict is not Verdict.PASS}
    ran = {r.case.id for r in result.results if r.case.role == role}  # type: ignore[attr-defined]
    assert all(v is Verdict.PASS for cid, v in verdicts.items()
               if cid not in failed and cid in ran)
    assert all(v is Verdict.NOT_APPLICABLE for cid, v in verdicts.items() if cid not in ran)
    assert result.exit_code == 1


def test_the_reference_municipality_passes_and_its_failures_carry_frames() -> None:
    # Checks R-CONF-13.
    ics = ics_mod.parse({**NODE_ICS, "role": "municipality"})
    result = run_cases(municipality_cases(), NodeSut(timeout=5, role="municipality"), ics)
    assert result.exit_code == 0, [(r.case.id, r.outcome) for r in result.results]
    faulty = run_cases(municipality_cases(),
                       NodeSut(command("returns-family-register"), timeout=2,
                               role="municipality"), ics)
    failed = [r for r in faulty.results if r.outcome.verdict is Verdict.FAIL]
    assert [r.case.id for r in failed] == EXPECTED["returns-family-register"]
    assert failed[0].frames and any(f.from_runner for f in failed[0].frames)
    assert all(not r.frames for r in faulty.results if r not in failed)


def test_attaching_to_a_running_node_through_the_ics_endpoint() -> None:
    launched = NodeSut(timeout=5)
    launched.start()
    try:
        endpoint = {"node": "270008", "pki": str(launched.pki_dir),
                    "address": "{}:{}".format(*launched.address),
                    "upperTester": "{}:{}".format(*launched.upper_address)}
        # An attached node cannot be restarted by the runner; its clock is the upper
        # tester's, as the IXIT says.
        ixit = {"clock": {"method": "upperTester"}}
        ics = ics_mod.parse({**NODE_ICS, "endpoint": endpoint, "ixit": ixit})
        result = run_cases(node_cases(), NodeSut(
            timeout=5, endpoint=endpoint, limits=REFERENCE_LIMITS,
            local_purposes=REFERENCE_LOCAL_PURPOSES, ixit=ixit), ics)
        assert result.exit_code == 0, [(r.case.id, r.outcome) for r in result.results]
        assert launched.proc is not None and launched.proc.poll() is None
    finally:
        launched.stop()


# The upper tester on a municipality, in process ------------------------------------------

async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, op: str,
               **fields: Any) -> dict[str, Any]:
    writer.write((json.dumps({"id": op, "op": op, **fields}) + "\n").encode())
    await writer.drain()
    answer: dict[str, Any] = json.loads(await asyncio.wait_for(reader.readline(), 5))
    assert answer["id"] == op
    return answer


def test_upper_tester_records_a_change_that_reaches_the_prefecture(tmp_path: Path) -> None:
    import datetime as dt
    now = dt.datetime.now(dt.UTC)
    pki_dir = create_pki(tmp_path / "pki", [("prefecture", "270008"),
                                            ("municipality", "271004")], now)
    rogue = create_pki(tmp_path / "rogue", [("municipality", "271004")], now)

    async def body() -> None:
        net = Network()
        await net.start([node_config(tmp_path, pki_dir, "prefecture", "270008"),
                         node_config(tmp_path, pki_dir, "municipality", "271004")])
        city = UpperTester(net.nodes["271004"])
        pref = UpperTester(net.nodes["270008"])
        await city.start()
        await pref.start()
        try:
            ctx = client_context(pki_dir / "270008.pem", pki_dir / "270008.key",
                                 pki_dir / "ca.pem")
            r, w = await asyncio.open_connection("127.0.0.1", city.port, ssl=ctx)
            reg = await _ask(r, w, "register_resident", seed="ut")
            assert reg["ok"] and reg["residentCodes"]
            code = reg["residentCodes"][0]
            rec = await _ask(r, w, "record_change", residentCode=code)
            assert rec["ok"] and rec["updateSequence"] == 1
            missing = await _ask(r, w, "record_change", residentCode="0" * 11)
            assert missing["error"]["code"] == 5001
            pr, pw = await asyncio.open_connection("127.0.0.1", pref.port, ssl=ctx)
            assert (await _ask(pr, pw, "register_resident", seed="x"))["error"][
                "code"] == 3003
            for _ in range(100):
                status = await _ask(pr, pw, "status")
                if status["lastSequence"].get("271004") == 1:
                    break
                await asyncio.sleep(0.05)
            assert status["lastSequence"] == {"271004": 1}
            assert status["identityInfo"]["current"] == 1
            city_status = await _ask(r, w, "status")
            assert city_status["updates"] == {"lastSequence": 1, "unacknowledged": 0}
            for wr in (w, pw):
                wr.close()
            # A client certificate of another CA gets no answer.
            bad = client_context(rogue / "271004.pem", rogue / "271004.key",
                                 pki_dir / "ca.pem")
            with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError,
                                json.JSONDecodeError)):
                br, bw = await asyncio.open_connection("127.0.0.1", city.port, ssl=bad)
                await _ask(br, bw, "hello")
        finally:
            await city.stop()
            await pref.stop()
            await net.stop()

    asyncio.run(asyncio.wait_for(body(), 30))


def test_a_case_needing_an_undeclared_ics_value_is_not_applicable() -> None:
    bare = ics_mod.parse({k: v for k, v in NODE_ICS.items()
                          if k not in ("limits", "localPurposes")})
    full = ics_mod.parse(NODE_ICS)
    needing = {c.id: c.not_applicable_reason(bare) for c in node_cases()
               if getattr(c, "needs", "")}
    assert {"node/node/limits/stalled-frame",
            "30-7/node/provision/other-prefecture-provided"} <= set(needing)
    assert needing["node/node/limits/stalled-frame"] == \
        "the ICS and IXIT declare no limits.frameTimeoutSeconds"
    assert needing["30-7/node/provision/other-prefecture-provided"] == \
        "the ICS and IXIT declare no localPurposes.prefecture"
    assert all(c.not_applicable_reason(full) is None for c in node_cases())


def test_an_upper_tester_timeout_spoils_only_its_own_op() -> None:
    """A read that times out leaves the stream unusable (and a late answer on it would
    be taken for the next op's): the op is a SUT fault, and the next op reconnects."""
    from juki_conformance.sut import SutFault
    sut = NodeSut(timeout=5)
    sut.start()
    try:
        sut.timeout = 1e-6
        with pytest.raises(SutFault):
            sut.request("status")
        sut.timeout = 5
        assert sut.request("status").get("ok") is True
        assert sut.request("status").get("ok") is True
    finally:
        sut.stop()
