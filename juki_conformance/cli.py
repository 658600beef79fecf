"""``juki-conformance``: run the suite, list cases.

Exit codes: 0 every applicable case passes; 1 at least one failure not listed as known;
2 harness error, bad usage, or no case run; 3 no failure but some cases inconclusive;
130 interrupted by Ctrl-C (``run`` then writes the report of the cases that finished,
marked ``"interrupted": true``). Errors are one line on stderr, ``error: [TAG] ...``
(:mod:`juki_protocol.cli_errors`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shlex
import shutil
import signal
import sys
import zipfile
from pathlib import Path
from typing import Any, NoReturn

import click
from cryptography import x509

from juki_conformance import SUITE_VERSION, evidence
from juki_conformance import ics as ics_mod
from juki_conformance import known as known_mod
from juki_conformance.lower_tester import write_case_captures
from juki_conformance.model import CaseResult, Verdict
from juki_conformance.node_sut import (
    LOCAL_PURPOSES,
    REFERENCE_IXIT,
    SUT_CODES,
    NodeSut,
    listened_as,
    prepare_pki,
    serve_options,
    write_test_operators,
)
from juki_conformance.proforma import PROFORMA
from juki_conformance.reports import summary_lines, to_json, write_all
from juki_conformance.runner import Timeline, choose, merge, run_cases, selection_text
from juki_conformance.suite import (
    DEFAULT_EXPLORE,
    all_cases,
    all_node_cases,
    codec_explore_cases,
    more_codec_cases,
    parse_steps,
)
from juki_conformance.sut import AdapterSut, HarnessError
from juki_protocol.cli_errors import EXIT_INTERRUPTED, ErrorHandlingGroup
from juki_protocol.cli_errors import report as report_error
from juki_protocol.envelope import pki
from juki_protocol.envelope.ca import create_root_ca
from juki_protocol.errors import JukiError
from juki_protocol.resources import spec_dir, vectors_dir
from juki_protocol.tools.cli_pki import INFORM, read_certificates_pem
from juki_protocol.tools.vectors.vector_set import set_hash

REFERENCE_ADAPTER = [sys.executable, "-m", "juki_protocol.tools.adapter"]

_MARK = {Verdict.PASS: ".", Verdict.FAIL: "F", Verdict.ACCEPTABLE: "a",
         Verdict.NOT_APPLICABLE: "-", Verdict.ERROR: "E", Verdict.INCONCLUSIVE: "I"}


class _Group(ErrorHandlingGroup):
    """Every error exits 2 here: 1 means failing cases (module docstring); the
    options' checks raise ValueError, a usage error."""

    error_exit = 2
    value_error_tag = "usage"


def _harness_error(text: str) -> NoReturn:
    report_error("harness", f"harness error: {text}")
    sys.exit(2)


@click.group(cls=_Group)
@click.version_option(SUITE_VERSION, prog_name="juki-conformance")
def main() -> None:
    """Conformance suite for Juki protocol implementations."""


def _requirements() -> list[dict[str, Any]]:
    doc = json.loads((spec_dir() / "requirements.json").read_text(encoding="utf-8"))
    return list(doc["requirements"])


#: The reference run's node roles, each with the key of its hello in the report.
REFERENCE_ROLES = (("prefecture", "node"), ("municipality", "municipalityNode"),
                   ("national", "nationalNode"), ("agency", "agencyNode"))


@main.command("run")
@click.option("--adapter", default=None,
              help="Codec-mode SUT: the adapter command line (default: the embedded "
                   "reference adapter).")
@click.option("--ics", "ics_path", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Implementation conformance statement (JSON).")
@click.option("--ixit", "ixit_path", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Node mode: the IXIT (JSON; default: the file the ICS "
                                 "names in 'ixit').")
@click.option("--vectors", "vec_path", type=click.Path(file_okay=False, exists=True),
              default=None, help="Vector directory (default: the shipped vectors).")
@click.option("--out", "out_path", type=click.Path(file_okay=False),
              default="conformance-report", show_default=True)
@click.option("--cases", "include", multiple=True, help="Only case ids matching this glob.")
@click.option("--exclude", multiple=True, help="Skip case ids matching this glob.")
@click.option("--case-list", "case_list", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Only the case ids listed in this file, exactly (one per "
                                 "line, # comments), in the suite's order; with --cases "
                                 "and --exclude, the cases that all three select.")
@click.option("--timeline", "timeline_path", type=click.Path(dir_okay=False), default=None,
              help="Write where the run was when to this file (JSON lines): the time on "
                   "the system's monotonic clock just before each SUT starts, before each "
                   "case, and before each SUT stops, so that a tool can tell which case "
                   "the SUT's processes were serving (juki-conformance mutation).")
@click.option("--known-failures", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Case ids expected to fail: one per line (# comments), or JSON "
                   "[{\"id\", \"reason\", \"expires\": \"YYYY-MM-DD\"}] (an expired "
                   "entry counts as a failure again).")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Seconds the SUT may take to answer one request.")
@click.option("--node-command", default=None,
              help="Node mode: the command the runner launches as the node under test, "
                   "taking the options of 'juki node serve' (default: the reference "
                   "node).")
@click.option("--quiet", is_flag=True, help="No per-case progress.")
@click.option("--explore", type=click.IntRange(0), default=DEFAULT_EXPLORE,
              show_default=True,
              help="How many generated inputs (codec mode) and sequences (node mode) each "
                   "model-based case plays (0: none).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The seed of the generated sequences (the same seed, the same run).")
@click.option("--explore-replay", "replay", default=None, metavar="STEPS",
              help="Node mode: play this one sequence (as a failure printed it) instead "
                   "of generating.")
@click.option("--sut-env", "sut_env", multiple=True, metavar="NAME=VALUE",
              help="An environment variable for the SUT processes the runner starts "
                   "(adapter and node), not for the runner itself (repeatable).")
@click.option("--max-failures", type=click.IntRange(1), default=None,
              help="Stop after this many failed or errored cases (the report then holds "
                   "only the cases run).")
@click.option("--evidence", "evidence_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the signed evidence bundle (spec/evidence.md) to this file.")
@click.option("--evidence-key", type=click.Path(dir_okay=False, exists=True), default=None,
              help="The certifying body's PEM private key (with --evidence).")
@click.option("--evidence-cert", type=click.Path(dir_okay=False, exists=True), default=None,
              help="The certifying body's PEM certificate, then any intermediates "
                   "(with --evidence).")
@click.option("--sut-cert", type=click.Path(dir_okay=False, exists=True), default=None,
              help="The SUT's PEM certificate, to include in the evidence bundle.")
@click.option("--capture", "captures", type=click.Path(dir_okay=False, exists=True),
              multiple=True, help="A pcap/pcapng frame capture for the evidence bundle "
                                  "(repeatable).")
def run_cmd(adapter: str | None, ics_path: str | None, ixit_path: str | None,
            vec_path: str | None, out_path: str,
            include: tuple[str, ...], exclude: tuple[str, ...], case_list: str | None,
            timeline_path: str | None, known_failures: str | None,
            timeout: float, node_command: str | None, quiet: bool,
            explore: int, seed: int, replay: str | None,
            sut_env: tuple[str, ...], max_failures: int | None,
            evidence_path: str | None,
            evidence_key: str | None, evidence_cert: str | None, sut_cert: str | None,
            captures: tuple[str, ...]) -> None:
    """Run the suite (default: against the embedded reference implementation)."""
    started = dt.datetime.now(dt.UTC)
    signer = _evidence_signer(evidence_path, evidence_key, evidence_cert, sut_cert, captures)
    vectors = Path(vec_path) if vec_path else vectors_dir()
    if adapter is not None and not shlex.split(adapter):
        raise click.UsageError("--adapter is empty: give the adapter's command line, or "
                               "leave --adapter out to run against the embedded reference")
    command = shlex.split(adapter) if adapter else REFERENCE_ADAPTER
    honoured = known_mod.honour(known_mod.load(Path(known_failures))
                                if known_failures else [], started.date())
    for gone in honoured.expired:
        click.echo(f"known failure expired on {gone.expires}: {gone.id} counts again "
                   f"({gone.reason})", err=True)
    known = honoured.ids()
    # Node mode: when the ICS file declares it, and in the default run (no --adapter,
    # no --ics), against the reference prefecture and municipality nodes that the
    # runner starts.
    if ixit_path and not ics_path:
        raise ValueError("--ixit needs --ics")
    file_ics = ics_mod.load(Path(ics_path), Path(ixit_path) if ixit_path else None) \
        if ics_path else None
    node_mode = "node" in file_ics.modes if file_ics else adapter is None
    if replay:
        parse_steps(replay)           # a bad sequence is a usage error, before any start
    suite = (all_cases(vectors) + more_codec_cases() + codec_explore_cases(explore, seed)
             + (all_node_cases(explore, seed, replay) if node_mode else []))
    cases, selection = choose(suite, include, exclude, case_list)
    env = _sut_env(sut_env)
    sut = AdapterSut(command, timeout=timeout, env=env)
    timeline = Timeline(Path(timeline_path) if timeline_path else None)
    try:
        timeline.mark("codec", "start", "")
        hello = sut.start()
    except HarnessError as exc:
        _harness_error(str(exc))
    # Without an ICS file the adapter's own hello declares what it supports.
    ics = file_ics or ics_mod.from_hello(hello)
    if node_mode and file_ics is None:
        ics = ics_mod.with_reference_node(ics)
    sut_commands = _sut_commands(adapter, command, node_command, file_ics,
                                 any(c.mode == "node" for c in cases))
    click.echo(f"juki-conformance {SUITE_VERSION}: {len(cases)} cases; SUT "
               f"{'; '.join(f'{k}: {v}' for k, v in sut_commands.items())}; "
               f"ICS {ics.name} ({', '.join(sorted(ics.profiles))})")
    column = [0]
    failed = [0]
    interrupted = [False]

    def stop() -> bool:
        return interrupted[0] or (max_failures is not None and failed[0] >= max_failures)

    def progress(cr: CaseResult) -> None:
        if cr.outcome.verdict in (Verdict.FAIL, Verdict.ERROR) and not cr.known_failure:
            failed[0] += 1
        if quiet:
            return
        click.echo(_MARK[cr.outcome.verdict], nl=False)
        column[0] += 1
        if column[0] % 72 == 0:
            click.echo()

    result = run_cases([c for c in cases if c.mode != "node"], sut, ics,
                       known_failures=known, progress=progress, stop=stop,
                       marks=timeline.of("codec"))
    interrupted[0] = result.interrupted
    on_node = [c for c in cases if c.mode == "node"]
    node_cmd = shlex.split(node_command) if node_command else None
    if on_node and file_ics is None:
        # The reference run: each node case against the reference node of its role.
        for role, key in REFERENCE_ROLES:
            mine = [c for c in on_node if getattr(c, "role", None) == role]
            if mine:
                if stop():
                    break
                result = merge(result, run_cases(
                    mine, NodeSut(node_cmd, timeout=timeout, role=role, env=env),
                    ics_mod.parse({**ics.raw, "role": role}, "reference ICS",
                                  ixit=ics.ixit),
                    known_failures=known, progress=progress, stop=stop,
                    marks=timeline.of(f"node:{role}")), key)
                interrupted[0] = result.interrupted
    elif on_node:
        endpoint = ics.ixit.get("endpoint")
        if endpoint is None:      # the runner launches the node: it has the reference IXIT
            ics = dataclasses.replace(ics, ixit={**REFERENCE_IXIT, **ics.ixit})
        node_sut = NodeSut(node_cmd, timeout=timeout, endpoint=endpoint,
                           role=ics.role if ics.role in SUT_CODES else "prefecture",
                           limits=ics.ixit.get("limits"),
                           local_purposes=ics.raw.get("localPurposes"),
                           ixit=ics.ixit if endpoint is not None else None, env=env)
        if not stop():
            result = merge(result, run_cases(on_node, node_sut, ics, known_failures=known,
                                             progress=progress, stop=stop,
                                             marks=timeline.of("node")))
            interrupted[0] = result.interrupted
    timeline.mark("", "end", "")
    if not quiet and column[0] % 72:
        click.echo()
    report = to_json(result, ics, vector_set_hash=set_hash(vectors), started=started,
                     all_cases=cases, requirements=_requirements())
    report["sutCommands"] = sut_commands
    report["selection"] = selection
    for case in report["cases"]:
        if case["knownFailure"] and honoured.reason(case["id"]):
            case["knownFailureReason"] = honoured.reason(case["id"])
    paths = write_all(report, Path(out_path))
    # The frames of every failing node-mode case, one pcap each (spec/conformance.md).
    case_captures = write_case_captures(result.results, Path(out_path) / "captures")
    paths += case_captures
    if result.harness_error:
        report_error("harness", f"harness error: {result.harness_error}")
    for r in result.results:
        if r.outcome.verdict in (Verdict.FAIL, Verdict.ERROR):
            tag = "known failure" if r.known_failure else r.outcome.verdict.value.upper()
            click.echo(f"\n{tag}: {r.case.id}  [{', '.join(r.case.requirements)}]")
            click.echo(f"  expected: {r.outcome.expected}")
            click.echo(f"  actual:   {r.outcome.actual}")
            if r.outcome.detail:
                click.echo(f"  detail:   {r.outcome.detail}")
            if r.outcome.verdict is Verdict.FAIL:
                click.echo(f"  fix:      {r.case.remediation}")
    for line in summary_lines(report):
        click.echo(line)
    if stop() and not result.interrupted:
        click.echo(f"stopped after {failed[0]} failed cases (--max-failures): "
                   f"{len(result.results)} of {len(cases)} cases ran")
    if result.interrupted:          # a partial run is reported, never signed as evidence
        click.echo(f"reports: {', '.join(str(p) for p in paths)}")
        report_error("interrupted", f"stopped by Ctrl-C: {len(result.results)} of "
                                    f"{len(cases)} cases ran; the partial report is in "
                                    f"{out_path}")
        sys.exit(EXIT_INTERRUPTED)
    if evidence_path and signer:
        paths.append(evidence.write_bundle(
            evidence_path, report_dir=out_path, ics_path_or_obj=ics_path or ics,
            sut_certificate_pem=Path(sut_cert).read_bytes() if sut_cert else None,
            captures=[*(Path(c) for c in captures), *case_captures],
            signer_key=signer[0].key,
            signer_cert=signer[0].certificate, extra_certs=signer[1],
            now=dt.datetime.now(dt.UTC)))
    click.echo(f"reports: {', '.join(str(p) for p in paths)}")
    sys.exit(result.exit_code)


def _sut_commands(adapter: str | None, command: list[str], node_command: str | None,
                  file_ics: ics_mod.Ics | None, node_mode: bool) -> dict[str, str]:
    """What the run attaches to, by mode, exactly: the adapter command line (or the
    embedded reference adapter), and in node mode the node command the runner launches,
    the endpoint it attaches to, or the reference nodes of each role."""
    out = {"codec": "the embedded reference adapter (" + shlex.join(command) + ")"
           if adapter is None else shlex.join(command)}
    if not node_mode:
        return out
    endpoint = file_ics.ixit.get("endpoint") if file_ics is not None else None
    if endpoint is not None:
        out["node"] = f"the node at {endpoint} (attached, IXIT endpoint)"
    elif node_command:
        out["node"] = f"{node_command} (launched by the runner)"
    elif file_ics is None:
        out["node"] = ("the reference nodes, one per role "
                       f"({', '.join(role for role, _ in REFERENCE_ROLES)}), launched "
                       "by the runner")
    else:
        out["node"] = "the reference node (juki node serve), launched by the runner"
    return out


def _sut_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not name.replace("_", "a").isalnum():
            raise ValueError(f"--sut-env {pair!r}: expected NAME=VALUE with NAME made of "
                             f"letters, digits and underscores")
        env[name] = value
    return env


def _evidence_signer(evidence_path: str | None, key: str | None, cert: str | None,
                     sut_cert: str | None, captures: tuple[str, ...],
                     ) -> tuple[pki.Credential, tuple[x509.Certificate, ...]] | None:
    """Check the evidence options before the run: the key, its certificate and chain."""
    if not evidence_path:
        if key or cert or sut_cert or captures:
            raise ValueError("--evidence-key, --evidence-cert, --sut-cert and --capture "
                             "need --evidence")
        return None
    if not key or not cert:
        raise ValueError("--evidence needs --evidence-key and --evidence-cert")
    try:
        certs = pki.load_certificates(Path(cert).read_bytes())
        signer = pki.Credential(pki.load_private_key(Path(key).read_bytes()), certs[0]) \
            if certs else None
    except JukiError as exc:
        raise ValueError(f"--evidence-key/--evidence-cert: {exc.args[0]}") from None
    if signer is None:
        raise ValueError(f"--evidence-cert {cert}: no PEM certificate")
    return signer, certs[1:]


@main.command("evidence-signer")
@click.option("--out", "out_path", type=click.Path(file_okay=False), required=True,
              help="A new directory for ca.pem, ca.key, signer.pem and signer.key.")
@click.option("--organization", default="Example Certifying Body", show_default=True)
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True)
def evidence_signer_cmd(out_path: str, organization: str, days: int) -> None:
    """Create a certifying body's CA and evidence-signing key, to try --evidence and
    verify-evidence; a real certifying body signs with its own (spec/evidence.md)."""
    out = Path(out_path)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"--out {out}: exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(days=days)
    ca = create_root_ca(pki.generate_key(), common_name=f"{organization} CA",
                        not_before=start, not_after=end, serial=1)
    key = pki.generate_key()
    cert = evidence.issue_signer_certificate(
        ca, key.public_key(), organization=organization,
        common_name=f"{organization} evidence signer", not_before=start, not_after=end,
        serial=2)
    (out / "ca.pem").write_bytes(pki.cert_pem(ca.certificate))
    pki.write_private_file(out / "ca.key", pki.key_pem(ca.key))
    (out / "signer.pem").write_bytes(pki.cert_pem(cert))
    pki.write_private_file(out / "signer.key", pki.key_pem(key))
    click.echo(f"wrote {out}/ca.pem (the trust anchor for verify-evidence), {out}/ca.key, "
               f"{out}/signer.pem and {out}/signer.key (for --evidence-cert and "
               f"--evidence-key)")


@main.command("verify-evidence")
@click.argument("bundle", type=click.Path(dir_okay=False, exists=True))
@click.option("--trust", "trust_path", type=click.Path(dir_okay=False, exists=True),
              required=True, help="The certifying body's CA certificate (PEM, or DER "
                                  "with --inform DER).")
@INFORM
def verify_evidence_cmd(bundle: str, trust_path: str, inform: str | None) -> None:
    """Verify an evidence bundle offline: exit 0 valid, 1 invalid, 2 usage error."""
    result = evidence.verify_bundle(
        bundle, trust_anchor_pem=read_certificates_pem(Path(trust_path), inform))
    if not result.valid:
        click.echo(f"{bundle}: INVALID evidence bundle ({len(result.problems)} problem(s))")
        for problem in result.problems:
            click.echo(f"  {problem}")
        sys.exit(1)
    assert result.manifest is not None
    m = result.manifest
    click.echo(f"{bundle}: valid evidence bundle, signed by {result.signer}")
    click.echo(f"  created {m['created']}, suite {m['suiteVersion']}, vector set "
               f"{m['vectorSetSha256']}, SUT {m['sut']['implementation']} "
               f"{m['sut']['version']}, {len(m['files'])} files")
    selection = json.loads(zipfile.ZipFile(bundle).read("report.json")).get("selection")
    click.echo("  " + ("cases: not recorded" if selection is None else
                       selection_text(selection) or "cases: the whole suite"))


@main.command("list")
@click.option("--vectors", "vec_path", type=click.Path(file_okay=False, exists=True),
              default=None)
@click.option("--json", "as_json", is_flag=True,
              help="One JSON array: each case's id, title, clause, mode, role, level, "
                   "requirements and what it needs of the ICS.")
def list_cmd(vec_path: str | None, as_json: bool) -> None:
    """List every case id (codec mode, then node mode) with its requirements."""
    cases = (all_cases(Path(vec_path) if vec_path else vectors_dir()) + more_codec_cases()
             + codec_explore_cases(DEFAULT_EXPLORE) + all_node_cases())
    if as_json:
        click.echo(json.dumps([{
            "id": c.id, "title": c.title, "clause": c.clause, "mode": c.mode,
            "role": getattr(c, "role", None), "level": c.level,
            "requirements": list(c.requirements), "needs": getattr(c, "needs", None),
        } for c in cases], ensure_ascii=False, indent=1))
        return
    for case in cases:
        click.echo(f"{case.id}  [{', '.join(case.requirements)}]")


@main.command("prepare-node")
@click.option("--role", type=click.Choice(sorted(SUT_CODES)), required=True,
              help="The role of the vendor's node.")
@click.option("--node", "code", default=None,
              help="The node id of the vendor's node (default: 270008 for a prefecture, "
                   "271004 for a municipality, the ids the node cases are written for).")
@click.option("--out", "out_path", type=click.Path(file_okay=False), required=True,
              help="A new directory for the PKI, the ICS template and the directory file.")
@click.option("--address", default="127.0.0.1:47830", show_default=True,
              help="Where the vendor's node will listen for peers.")
@click.option("--upper-tester", "upper", default="127.0.0.1:47831", show_default=True,
              help="Where the vendor's node will serve its upper tester.")
@click.option("--lower-tester", "lower", default="127.0.0.1:47832", show_default=True,
              help="Municipality: where the runner will listen as its prefecture.")
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True,
              help="Validity of the certificates.")
def prepare_node_cmd(role: str, code: str | None, out_path: str, address: str, upper: str,
                     lower: str, days: int) -> None:
    """Prepare node mode against a vendor's running node: a network PKI (the SUT's
    credential, the peers the runner plays, a revoked peer and the CRL), an ICS with
    the endpoint filled in, and the node directory a municipality needs; then print
    how to start the node and run the suite (spec/conformance.md section 5)."""
    code = code or SUT_CODES[role]
    pki.node_id(role, code)                         # a bad id is a usage error
    out = Path(out_path)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"--out {out}: exists and is not empty")
    # It holds private keys and the node's database: the account's alone (R-NODE-70).
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    out.chmod(0o700)
    pki_dir = prepare_pki(out / "pki", role, code, dt.datetime.now(dt.UTC), days=days)
    host, _, port = lower.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--lower-tester {lower!r}: not HOST:PORT")
    lowers = {peer: f"{host}:{int(port) + i}"
              for i, peer in enumerate(listened_as(role, code))}
    endpoint: dict[str, Any] = {"node": code, "address": address, "upperTester": upper,
                                "pki": str(pki_dir.resolve())}
    directory = None
    if lowers:
        endpoint["lowerTester"] = lowers
        directory = out / "directory.json"
        directory.write_text(json.dumps(lowers, indent=1) + "\n", encoding="utf-8")
    operator = ics_mod.REFERENCE_IXIT["operator"]
    ixit = {"endpoint": endpoint, "limits": ics_mod.REFERENCE_LIMITS,
            "restart": {"method": "upperTester"}, "clock": {"method": "upperTester"},
            "faultInjection": {"method": "upperTester"}, "operator": operator,
            **({"retentionSeconds": ics_mod.TEST_RETENTION_SECONDS,
                "provisionLimits": ics_mod.REFERENCE_IXIT["provisionLimits"]}
               if role in ("prefecture", "national") else {}),
            **({"delegatingPrefectures": ics_mod.REFERENCE_IXIT["delegatingPrefectures"]}
               if role == "national" else {})}
    ics_mod.parse_ixit(ixit, "the IXIT template")
    ics = {"implementation": {"name": "FILL IN", "version": "FILL IN"}, "role": role,
           "profiles": ["current"], "modes": ["node"], "ixit": "ixit.json",
           "capabilities": {c.id: True for c in PROFORMA if role in c.roles},
           **({"localPurposes": LOCAL_PURPOSES} if role in ("prefecture", "national")
              else {})}
    ics_mod.parse({**ics, "ixit": ixit}, "the ICS template")
    for name, obj in (("ics.json", ics), ("ixit.json", ixit)):
        (out / name).write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    args = serve_options(role, code, pki_dir, listen=address, upper_tester=upper,
                         limits=ics_mod.REFERENCE_LIMITS, directory=directory,
                         runner_host=host)
    # The operator the runner logs in as (IXIT ``operator``), for a node that needs
    # operator sessions (spec/node.md section 4.8), as the reference does.
    operators = write_test_operators(out / "operators.json", pki_dir, code, operator,
                                     days=days)
    args += ["--operators-file", str(operators)]
    # Absolute paths and the juki this Python runs: the command runs as pasted, from
    # any directory, in a shell where the virtual environment is not activated.
    juki = ["juki"] if shutil.which("juki") else [sys.executable, "-m", "juki_protocol.tools.cli"]
    command = [*juki, "node", "serve", "--db", str(out.resolve() / f"{code}.db"),
               *_absolute(args)]
    lines: list[list[str]] = []
    for token in command:
        if token.startswith("--") or not lines:
            lines.append([])
        lines[-1].append(token)
    click.echo(f"wrote {out}/pki, {out}/ics.json, {out}/ixit.json, {out}/operators.json"
               + (f", {out}/directory.json" if directory else ""))
    click.echo("1. Fill in implementation.name and .version in ics.json, the capabilities "
               "of the proforma your node supports, and in ixit.json its limits, how the "
               "runner restarts it and controls its clock (spec/conformance.md "
               "section 6).")
    click.echo("2. Start the node; the reference node starts with this command:")
    click.echo("     " + " \\\n       ".join(shlex.join(line) for line in lines))
    click.echo(f"3. juki-conformance run --ics {shlex.quote(str(out.resolve() / 'ics.json'))}"
               f" --cases '*/node/*'")


def _absolute(args: list[str]) -> list[str]:
    """``args`` with each existing relative path made absolute."""
    return [str(Path(a).resolve()) if not a.startswith("-") and ("/" in a or "\\" in a)
            and Path(a).exists() else a for a in args]


@main.command("mutation")
@click.option("--sample", "size", type=click.IntRange(1), default=300, show_default=True,
              help="How many mutants to draw from all the reference's mutants.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The sample's seed (the same seed and code draw the same mutants).")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Mutants run at once.")
@click.option("--module", "modules", multiple=True,
              help="Only mutate modules whose path in juki_protocol starts with this "
                   "(repeatable), e.g. der.py or machines/.")
@click.option("--cases", "include", multiple=True,
              help="Only these case ids (globs) judge the mutants (default: all).")
@click.option("--timeout", type=click.FloatRange(10), default=None,
              help="Seconds one mutant's run may take (default: 4 times the unmutated "
                   "run, at least 120).")
@click.option("--out", "out_path", type=click.Path(file_okay=False),
              default="mutation-report", show_default=True)
@click.option("--rescore", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Run nothing: apply the equivalents file again to this mutation.json "
                   "and write the report anew.")
@click.option("--full-suite", is_flag=True,
              help="Judge each mutant by every case (the slow way), not only by the cases "
                   "that can reach its line in the control run.")
def mutation_cmd(size: int, seed: int, jobs: int, modules: tuple[str, ...],
                 include: tuple[str, ...], timeout: float | None, out_path: str,
                 rescore: str | None, full_suite: bool) -> None:
    """Measure the suite's power: run it against a seeded sample of mutants of the
    reference and report the share killed, with its 95% interval."""
    from juki_conformance import mutation

    if rescore:
        try:
            old = json.loads(Path(rescore).read_text(encoding="utf-8"))
            report = mutation.rescore(old)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"--rescore {rescore}: not a mutation report: {exc}") from None
        _write_mutation_report(report, Path(out_path))
        return

    suite_args = [a for case in include for a in ("--cases", case)]
    done = [0]

    def progress(o: mutation.Outcome) -> None:
        done[0] += 1
        ran = f" ({o.cases_run} cases, {o.seconds:.0f} s)" if o.cases_run else ""
        click.echo(f"[{done[0]}/{size}] {o.status:<11} {o.mutant.id}{ran}", err=True)

    try:
        report = mutation.run(seed=seed, size=size, jobs=jobs, modules=modules,
                              suite_args=suite_args, timeout=timeout, progress=progress,
                              full_suite=full_suite)
    except ImportError as exc:
        raise ValueError(f"mutation testing needs cosmic-ray: pip install "
                         f"'juki-protocol[mutation]' ({exc})") from None
    except RuntimeError as exc:
        _harness_error(str(exc))
    _write_mutation_report(report, Path(out_path))


def _write_mutation_report(report: dict[str, Any], out: Path) -> None:
    from juki_conformance.mutation_report import summary_text

    out.mkdir(parents=True, exist_ok=True)
    (out / "mutation.json").write_text(json.dumps(report, indent=2, ensure_ascii=False)
                                       + "\n", encoding="utf-8")
    lines = list(summary_text(report))
    (out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for line in lines:
        click.echo(line)
    click.echo(f"reports: {out / 'mutation.json'}, {out / 'summary.txt'}")


def console() -> None:
    """The ``juki-conformance`` command: as :func:`main`, with SIGTERM ending a run as
    Ctrl-C does (the nodes it launched stopped, the partial report written), so that a
    run killed by a timeout or a supervisor leaves no node running. Only for ``run``:
    the mutation command's worker threads would outlive a KeyboardInterrupt of its main
    thread (its suite runs are killed with their nodes on their own)."""
    if sys.argv[1:2] == ["run"]:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()


if __name__ == "__main__":  # pragma: no cover
    console()
