"""``juki node serve``, ``juki network up`` and ``juki audit verify`` (click groups).

Register them on the main ``juki`` group with ``main.add_command(node_group)``,
``main.add_command(network_group)`` and ``main.add_command(audit_group)``; the module
also runs on its own: ``python -m juki_protocol.tools.cli_node node serve ...``.
Every failure is one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import signal
import tempfile
from pathlib import Path
from typing import Any

import click

from juki_protocol.cli_errors import CliError, ErrorHandlingGroup
from juki_protocol.errors import JukiError
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import (
    Role,
    is_prefecture_code,
    validate_local_gov_code,
    validate_node_id,
)
from juki_protocol.messages.provision import BodyKind
from juki_protocol.node import logjson
from juki_protocol.node.clock import TestClock
from juki_protocol.node.metrics import MetricsServer, NodeMetrics
from juki_protocol.node.network import network_up
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.operators import load_registry
from juki_protocol.node.sql import is_url, redact_url
from juki_protocol.node.upper_tester import UpperTester, check_upper_address
from juki_protocol.tools import audit_verify
from juki_protocol.tools.cli_config import config_option
from juki_protocol.tools.cli_operators import analyse, operators_group
from juki_protocol.tools.cli_pki import (
    INFORM,
    passphrase_options,
    read_certificate,
    read_passphrase,
)
from juki_protocol.tools.cli_suspension import SUSPENSION_COMMANDS

ROLES = ("municipality", "prefecture", "national", "agency")


def _default(name: str) -> Any:
    """The default of :class:`NodeConfig` field ``name``: the options of ``serve`` take
    their defaults from it, so that the node's limits have one source."""
    return next(f.default for f in dataclasses.fields(NodeConfig) if f.name == name)


def _address(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"{text!r} is not HOST:PORT", param_hint=what)
    return host, int(port)


def load_directory(path: Path) -> dict[str, tuple[str, int]]:
    """The directory file: a JSON object mapping node ids to ``"host:port"``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--directory") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise click.BadParameter(f"{path}: must map node ids to \"host:port\" strings",
                                 param_hint="--directory")
    return {str(k): _address(v, "--directory") for k, v in data.items()}


@click.group("node", cls=ErrorHandlingGroup)
def node_group() -> None:
    """Run a reference node."""


@node_group.command("serve")
@config_option
@click.option("--role", type=click.Choice(ROLES), required=True, help="The node's role.")
@click.option("--node", "code", required=True, help="The node id (271004, 270008, DC01...).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The node's SQLite database (created if absent); with --database, "
              "the name its local files are kept beside (audit checkpoints).")
@click.option("--database", default=None, metavar="URL", envvar="JUKI_DATABASE",
              help="postgresql://USER@HOST:PORT/DB: keep the node's tables in that "
              "PostgreSQL database, schema n<node id>, instead of the SQLite file "
              "(env JUKI_DATABASE).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The node's certificate (PEM).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The node's private key (PEM; PKCS #8, encrypted if a "
              "--key-passphrase option is given).")
@passphrase_options("key", "the node's")
@click.option("--disclosure-key", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Providers: the file of the disclosure log's key, "
              "apart from the database (created mode 0600 at the first start; default: "
              "KEY's name with .disclosure-key; spec/node.md R-NODE-73).")
@click.option("--trust", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The network CA certificate, the only trust anchor.")
@click.option("--crl", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="The network CA's revocation list (PEM), required "
              "unless --no-crl; looked at while the node runs and reloaded when it "
              "changes (spec/pdu.md R-PDU-40, R-PDU-41).")
@click.option("--no-crl", is_flag=True, help="Run WITHOUT revocation data: revoked "
              "certificates are accepted. Not for production; logged at start and every "
              "hour.")
@click.option("--crl-reload-interval", default=_default("crl_reload_interval"), show_default=True,
              type=click.FloatRange(0, min_open=True),
              help="Seconds between looks at the --crl file for a new list.")
@click.option("--listen", default="127.0.0.1:0", show_default=True,
              help="HOST:PORT to listen on (port 0: any free port).")
@click.option("--directory", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="JSON file mapping node ids to \"host:port\".")
@click.option("--operator", "operators", multiple=True, metavar="BODY=OPERATOR",
              help="A registered operator of a requesting body (providers; repeatable).")
@click.option("--local-purpose", "local_purposes", multiple=True, metavar="KIND=PURPOSE",
              help="A purpose served to a local body of KIND (municipality, prefecture, "
              "prefectureOrgan) under Arts. 30-7(4)-(6), 30-8 (providers; repeatable).")
@click.option("--delegated-by", "delegations", multiple=True, metavar="PREFECTURE",
              help="National: a prefecture (PP000C) that delegated its provision of Art. "
              "30-7(3)-(6) to the centre (Art. 30-10(1); repeatable).")
@click.option("--households", default=0, show_default=True, type=click.IntRange(0, 10_000),
              help="Municipalities: synthetic households to register while the register "
              "is empty.")
@click.option("--retention-days", default=_default("retention").days, show_default=True,
              type=click.IntRange(1), help="Prefecture and national: the retention period "
              "of superseded identity info (R-30-5-0-09).")
@click.option("--retention-seconds", default=None, type=click.IntRange(1),
              help="Testing: a retention period in seconds instead of --retention-days, "
              "so that a runner sees the purge by moving the test clock (IXIT "
              "retentionSeconds).")
@click.option("--upper-tester", default=None, metavar="HOST:PORT",
              help="Also serve the upper tester (spec/node.md section 4), a test "
              "interface, on HOST:PORT (port 0: any free port); a loopback address "
              "unless --upper-tester-remote.")
@click.option("--upper-tester-remote", is_flag=True,
              help="Testing on an isolated test network only: let --upper-tester listen "
              "on an address other than loopback (logged; R-NODE-21).")
@click.option("--max-connections", default=_default("max_connections"),
              show_default=True, type=click.IntRange(1),
              help="Inbound connections at once; more get 9002 (spec/node.md "
              "section 6).")
@click.option("--max-peer-connections", default=_default("max_peer_connections"), show_default=True,
              type=click.IntRange(1), help="Inbound connections at once from one node.")
@click.option("--max-handshakes", default=_default("max_handshakes"),
              show_default=True, type=click.IntRange(1),
              help="TCP connections whose TLS handshake is pending, from addresses not "
              "in the directory; beyond it the oldest is dropped (R-NODE-46).")
@click.option("--max-address-handshakes", default=_default("max_address_handshakes"),
              show_default=True, type=click.IntRange(1),
              help="Of them from one source address.")
@click.option("--known-reserve", default=_default("known_reserve"),
              show_default=True, type=click.IntRange(0),
              help="Pending handshakes kept for the addresses of the directory and "
              "--known-address.")
@click.option("--known-address", "known_addresses", multiple=True, metavar="IP",
              help="A peer's source address that gets the reserve (repeatable).")
@click.option("--handshake-rate", default=_default("handshake_rate"), show_default=True,
              type=click.FloatRange(0, min_open=True),
              help="New TLS handshakes a second from one address not in the directory; "
              "beyond it connections are closed before any TLS work (R-NODE-46).")
@click.option("--max-refusals", default=_default("max_refusals"),
              show_default=True, type=click.IntRange(1),
              help="Refused PDUs in a row after which a connection is closed "
              "(R-NODE-48).")
@click.option("--max-inflight", default=_default("max_inflight"),
              show_default=True, type=click.IntRange(1),
              help="PDUs read and not yet answered; a sealed PDU beyond gets 9002.")
@click.option("--handshake-timeout", default=_default("handshake_timeout"), show_default=True,
              type=click.FloatRange(0, min_open=True), help="Seconds for the TLS handshake.")
@click.option("--frame-timeout", default=_default("frame_timeout"), show_default=True,
              type=click.FloatRange(0, min_open=True),
              help="Seconds for a begun frame to arrive (then 1002) or to be taken.")
@click.option("--idle-timeout", default=_default("idle_timeout"), show_default=True,
              type=click.FloatRange(0), help="Seconds of silence between frames before "
              "a connection is closed (0: never).")
@click.option("--send-window", default=_default("send_window"),
              show_default=True, type=click.IntRange(1, 1024),
              help="Numbered messages (identity info updates, relays) on the wire at "
              "once, still sent in order (spec/identity.md section 2).")
@click.option("--test-clock", "test_clock", default=None, metavar="[now|ISO-TIME]",
              help="Testing: run on a clock the upper tester's 'clock' op sets and moves "
              "forward, starting now or at ISO-TIME (spec/node.md section 4).")
@click.option("--fault-injection", is_flag=True,
              help="Testing: let the upper tester's 'fail_next_commit' make commits fail.")
@click.option("--operators-file", type=click.Path(exists=True, dir_okay=False,
                                                path_type=Path), default=None,
              help="The node's operators (juki node operators issue): every local action "
              "of the upper tester then needs an operator session (spec/node.md 4.8).")
@click.option("--no-operators", is_flag=True,
              help="Development only: serve the upper tester's local actions WITHOUT "
              "operator sessions (logged; spec/node.md R-NODE-80).")
@click.option("-v", "--verbose", is_flag=True, help="Log every event.")
@click.option("--log-format", type=click.Choice(("text", "json")), default="text",
              show_default=True, help="json: one JSON object a line (event, node, peer, "
              "messageId, code; personal data masked).")
@click.option("--metrics", "metrics_at", default=None, metavar="[HOST:]PORT",
              help="Serve /metrics (Prometheus text) and /health (JSON) on HOST:PORT, "
              "127.0.0.1 if only PORT is given (port 0: any free port).")
def serve(role: str, code: str, db: Path, database: str | None, cert: Path, key: Path,
          key_passphrase_file: Path | None, key_passphrase_env: str | None,
          disclosure_key: Path | None, trust: Path, crl: Path | None, no_crl: bool,
          crl_reload_interval: float, listen: str,
          directory: Path | None,
          operators: tuple[str, ...], local_purposes: tuple[str, ...],
          delegations: tuple[str, ...], households: int,
          retention_days: int, retention_seconds: int | None,
          upper_tester: str | None, upper_tester_remote: bool, max_connections: int,
          max_peer_connections: int, max_handshakes: int, max_address_handshakes: int,
          known_reserve: int, known_addresses: tuple[str, ...], handshake_rate: float,
          max_refusals: int,
          max_inflight: int, handshake_timeout: float, frame_timeout: float,
          idle_timeout: float, send_window: int, test_clock: str | None,
          fault_injection: bool, verbose: bool,
          operators_file: Path | None = None, no_operators: bool = False,
          log_format: str = "text", metrics_at: str | None = None) -> None:
    """Serve as node ID until interrupted; prints "listening on HOST:PORT" once ready."""
    logjson.configure(logging.INFO if verbose else logging.WARNING, log_format)
    metrics_address = None if metrics_at is None else _address(
        metrics_at if ":" in metrics_at else f"127.0.0.1:{metrics_at}", "--metrics")
    try:
        validate_node_id(Role(role), code)
    except JukiError as exc:
        raise click.BadParameter(str(exc), param_hint="--node") from None
    ops: dict[str, set[str]] = {}
    for item in operators:
        body, sep, op = item.partition("=")
        if not sep or not body or not op:
            raise click.BadParameter(f"{item!r} is not BODY=OPERATOR",
                                     param_hint="--operator")
        ops.setdefault(body, set()).add(op)
    purposes: dict[str, set[str]] = {}
    for item in local_purposes:
        kind, sep, purpose = item.partition("=")
        if not sep or kind not in {k.value for k in BodyKind} - {"agency"} or not purpose:
            raise click.BadParameter(f"{item!r} is not KIND=PURPOSE with KIND one of "
                                     "municipality, prefecture, prefectureOrgan",
                                     param_hint="--local-purpose")
        purposes.setdefault(kind, set()).add(purpose)
    for pref in delegations:
        if role != "national":
            raise click.BadParameter("only the national centre acts on a delegation",
                                     param_hint="--delegated-by")
        try:
            validate_local_gov_code(pref, "--delegated-by")
        except JukiError as exc:
            raise click.BadParameter(str(exc), param_hint="--delegated-by") from None
        if not is_prefecture_code(pref):
            raise click.BadParameter(f"{pref!r} is not a prefecture's own code (PP000C)",
                                     param_hint="--delegated-by")
    if crl is None and not no_crl:        # R-PDU-40: revocation data or an explicit opt-out
        raise click.UsageError("no revocation data: give --crl FILE (the network CA's "
                               "revocation list), or --no-crl to run without revocation "
                               "checks (logged; not for production)")
    if crl is not None and no_crl:
        raise click.UsageError("give --crl or --no-crl, not both")
    passphrase = read_passphrase(key_passphrase_file, key_passphrase_env,
                                 "--key-passphrase")     # R-NODE-72
    config = NodeConfig(role=role, code=code, db=db, cert=cert, key=key, trust=trust,
                        key_passphrase=passphrase, disclosure_key=disclosure_key,
                        crl=crl, no_crl=no_crl, crl_reload_interval=crl_reload_interval,
                        listen=_address(listen, "--listen"),
                        directory=load_directory(directory) if directory else {},
                        operators=ops, local_purposes=purposes,
                        delegations=tuple(sorted(set(delegations))),
                        retention=dt.timedelta(seconds=retention_seconds)
                        if retention_seconds else dt.timedelta(days=retention_days),
                        max_connections=max_connections,
                        max_peer_connections=max_peer_connections,
                        max_handshakes=max_handshakes,
                        max_address_handshakes=max_address_handshakes,
                        known_reserve=known_reserve, known_addresses=known_addresses,
                        handshake_rate=handshake_rate,
                        max_refusals=max_refusals,
                        max_inflight=max_inflight, handshake_timeout=handshake_timeout,
                        frame_timeout=frame_timeout, idle_timeout=idle_timeout or None,
                        send_window=send_window, fault_injection=fault_injection,
                        operators_file=operators_file, database=database,
                        metrics=NodeMetrics(code, role) if metrics_address else None,
                        residents=tuple(
                            m for h in generate_households(households, f"serve:{code}",
                                                           municipalities=[code])
                            for m in h.members) if role == "municipality" else ())
    upper = _address(upper_tester, "--upper-tester") if upper_tester else None
    if operators_file is not None and no_operators:
        raise click.UsageError("give --operators-file or --no-operators, not both")
    if upper is not None:           # spec/node.md section 4.8 (operators)
        if operators_file is None and not no_operators:
            raise click.UsageError(
                "--upper-tester serves local actions: give --operators-file FILE (juki "
                "node operators issue), or --no-operators to run without operator "
                "sessions (logged; development only)")
        try:
            if operators_file is not None:
                load_registry(operators_file)
            else:
                logging.getLogger(__name__).warning(
                    "--no-operators: local actions of the upper tester are not "
                    "authenticated (a development mode; spec/node.md R-NODE-80)")
        except JukiError as exc:
            raise click.BadParameter(str(exc), param_hint="--operators-file") from None
    if upper is not None:
        try:
            check_upper_address(upper[0], allow_remote=upper_tester_remote)  # R-NODE-21
        except JukiError as exc:
            raise click.BadParameter(str(exc), param_hint="--upper-tester") from None
    clock = None
    if test_clock is not None:
        try:
            start = None if test_clock == "now" else dt.datetime.fromisoformat(test_clock)
            if start is not None and start.tzinfo is None:
                raise ValueError("it has no UTC offset")
        except ValueError as exc:
            raise click.BadParameter(f"{test_clock!r} is not 'now' or an ISO time with a "
                                     f"UTC offset: {exc}", param_hint="--test-clock") from None
        clock = TestClock(start)
    try:
        asyncio.run(_serve(config, upper, clock, upper_remote=upper_tester_remote,
                           metrics_at=metrics_address))
    except JukiError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None


async def _serve(config: NodeConfig, upper: tuple[str, int] | None = None,
                 clock: TestClock | None = None, *, upper_remote: bool = False,
                 metrics_at: tuple[str, int] | None = None) -> None:
    node = Node(config, clock=clock) if clock is not None else Node(config)
    await node.start()
    tester = UpperTester(node, *upper) if upper else None
    exporter = None
    if config.metrics is not None and metrics_at is not None:
        # The node now serving: a restart through the upper tester replaces it.
        config.metrics.watch(lambda: tester.node if tester is not None else node)
        exporter = MetricsServer(config.metrics, *metrics_at)
    try:
        if tester is not None:
            await tester.start(allow_remote=upper_remote)     # R-NODE-21
        if exporter is not None:
            await exporter.start()
    except BaseException:
        if tester is not None:
            await tester.stop()
        await node.stop()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    click.echo(f"{node.node} listening on {config.listen[0] if config.listen else '-'}:"
               f"{node.port}", nl=True)
    if tester is not None:
        click.echo(f"upper tester listening on {tester.host}:{tester.port}")
    if exporter is not None:
        click.echo(f"metrics listening on {exporter.host}:{exporter.port}")
    try:
        await stop.wait()
    finally:
        if exporter is not None:
            await exporter.stop()
        if tester is not None:
            await tester.stop()
            node = tester.node          # a restart through the upper tester replaced it
        await node.stop()


@click.group("network", cls=ErrorHandlingGroup)
def network_group() -> None:
    """Run a whole network of reference nodes."""


@network_group.command("up")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="A new directory for the PKI and the databases "
              "(default: a new temporary directory).")
@click.option("--seed", default="network-up", show_default=True,
              help="Seed of the synthetic residents.")
@click.option("--database", default=None, metavar="URL", envvar="JUKI_DATABASE",
              help="postgresql://...: every node's tables in that PostgreSQL database, "
              "one schema per node (default: a SQLite file per node in --dir).")
def up(directory: Path | None, seed: str, database: str | None) -> None:
    """Start a small network on loopback and run every flow of the seeds once.

    Nodes: DC01; prefectures 270008 and 130001; municipalities 271004, 272035 (Osaka)
    and 131016, 131041 (Tokyo); agency AG0001. Personal data is masked in the output.
    """
    logging.basicConfig(level=logging.ERROR)
    target = directory or Path(tempfile.mkdtemp(prefix="juki-network-"))
    if any(target.glob("*.db")):
        raise click.ClickException(f"{target} already holds node databases; the flows "
                                   f"start from fresh registers, so give a new directory")
    click.echo(f"network directory: {target}")
    try:
        summary = asyncio.run(network_up(target, click.echo, seed=seed,
                                             database=database))
    except TimeoutError as exc:     # a JukiError or other OSError reaches the group as is
        raise CliError(f"a flow timed out: {exc or 'no answer'}") from None
    click.echo("summary:")
    for flow, text in summary.items():
        click.echo(f"  {flow:<16} {text}")
    bad = [p.name for p in sorted(target.glob("*.db")) if not audit_verify.verify(p).ok]
    if bad:
        raise click.ClickException(f"audit log broken in {', '.join(bad)}")
    click.echo(f"databases and audit logs in {target} (check: juki audit verify DB)")


@click.group("audit", cls=ErrorHandlingGroup)
def audit_group() -> None:
    """Check a node's audit log."""


@audit_group.command("verify")
@click.argument("db")
@click.option("--checkpoints", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The node's checkpoint file (default for a file: "
              "DB.audit-checkpoints; give it for a PostgreSQL node).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="The node's certificate (PEM): the only signer accepted "
              "for the checkpoints (default: the certificate each checkpoint carries).")
@INFORM
def verify(db: str, checkpoints: Path | None, cert: Path | None,
           inform: str | None) -> None:
    """Verify the hash chain of DB's audit log and its signed checkpoints (R-NODE-25):
    exit 0 if intact, 1 if tampered (rows edited, inserted or deleted, or the log
    shorter than, or different from, what a checkpoint covers). DB is a node's SQLite
    file or a PostgreSQL URL naming the node's schema (``...?schema=n270008``)."""
    if not is_url(db):
        path = Path(db)
        if not path.is_file():
            raise click.BadParameter(f"File {db!r} does not exist.", param_hint="'DB'")
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise CliError(f"{db} is not a node database (not an SQLite database "
                               f"file)")
    if is_url(db) and checkpoints is None:
        click.echo("note: a PostgreSQL node's checkpoints are checked only with "
                   "--checkpoints", err=True)
    signer = read_certificate(cert, inform) if cert is not None else None
    result = audit_verify.verify(db, checkpoints, signer)
    if result.ok:
        purged = f" (rows 1 to {result.base} purged)" if result.base else ""
        anchor = (f", {result.checkpoints} signed checkpoints match"
                  if result.checkpoints is not None else
                  ", NOT anchored: no checkpoint file")
        click.echo(f"{_shown(db)}: audit log intact, {result.rows} rows{purged}, head "
                   f"{result.head}{anchor}")
        return
    where = f" at row {result.first_bad}" if result.first_bad is not None else ""
    click.echo(f"{_shown(db)}: audit log TAMPERED{where}: {result.reason}", err=True)
    raise SystemExit(1)


def _shown(db: str) -> str:
    """``db`` as said in output: a URL without its password."""
    return redact_url(db) if is_url(db) else db


# Operators and the analysis of the audit logs (spec/node.md sections 4.8, 4.9), and the
# suspension of provision and of a municipality's feed (spec/suspension.md).
node_group.add_command(operators_group)
for _command in SUSPENSION_COMMANDS:
    node_group.add_command(_command)
audit_group.add_command(analyse)


@click.group(cls=ErrorHandlingGroup)
def main() -> None:
    """Reference nodes (standalone entry point; normally part of ``juki``)."""


main.add_command(node_group)
main.add_command(network_group)
main.add_command(audit_group)

if __name__ == "__main__":
    main()
