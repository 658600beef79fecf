"""``juki node operators issue`` and ``juki audit analyse`` (click commands that
:mod:`juki_protocol.tools.cli_node` adds to its groups).

Every failure is one line on stderr and a non-zero exit status, never a traceback
(:mod:`juki_protocol.cli_errors`).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import click

from juki_protocol.cli_errors import CliError
from juki_protocol.envelope import pki
from juki_protocol.node.operator_issue import issue_operator, save_registry
from juki_protocol.node.operators import DEFAULT_ROLES, OperatorRegistry, load_registry
from juki_protocol.tools.audit_analyse import Thresholds, render_text, report


@click.group("operators")
def operators_group() -> None:
    """The node's operators (spec/node.md section 4.8)."""


@operators_group.command("issue")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="The node's operators file (created if absent, 0600).")
@click.option("--node", "code", required=True, help="The node id.")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The node's certificate (PEM): the issuer.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The node's private key (PEM): signs the credential.")
@click.option("--id", "operator_id", required=True, help="The operator id (no personal "
              "data: it is written in the audit log).")
@click.option("--role", "roles", multiple=True, required=True,
              help=f"A role (repeatable): {', '.join(DEFAULT_ROLES)} or one of the file.")
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="JUKI_OPERATOR_PIN", help="The operator's PIN, 4 to 16 digits "
              "(prompted; or JUKI_OPERATOR_PIN).")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650),
              help="Validity of the credential.")
def issue(path: Path, code: str, cert: Path, key: Path, operator_id: str,
          roles: tuple[str, ...], pin: str, days: int) -> None:
    """Issue an operator credential signed by the node and add it to the file."""
    try:
        registry = load_registry(path) if path.exists() else OperatorRegistry(
            node=code, operators={}, roles=dict(DEFAULT_ROLES))
        if registry.node != code:
            raise click.UsageError(f"{path} is the operators file of {registry.node}")
        unknown = set(roles) - set(registry.roles)
        if unknown:
            raise click.BadParameter(f"unknown roles {sorted(unknown)}; the file has "
                                     f"{sorted(registry.roles)}", param_hint="--role")
        node = pki.Credential(pki.load_private_key(key.read_bytes()),
                              pki.load_certificate(cert.read_bytes()))
        cred = issue_operator(node, code, operator_id, roles, pin, dt.datetime.now(dt.UTC),
                              days=days)
        save_registry(OperatorRegistry(
            node=code, operators={**registry.operators, operator_id: cred},
            roles=registry.roles, session_seconds=registry.session_seconds), path)
    except ValueError as exc:       # a JukiError or OSError reaches the group as it is
        raise CliError(str(exc)) from None
    click.echo(f"operator {operator_id} ({', '.join(sorted(roles))}) issued by {code} "
               f"in {path}")


@click.command("analyse")
@click.argument("dbs", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Thresholds (JSON object, camelCase keys; see "
              "spec/node.md section 4.9).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def analyse(dbs: tuple[Path, ...], config: Path | None, as_json: bool) -> None:
    """Read the audit logs of one or more nodes (read-only) and report misuse patterns
    of operators: volume far above baseline, out-of-hours access, sweeps over many
    persons, runs of refusals, one operator at two places. Exit 0 with no finding, 1
    with findings."""
    try:
        thresholds = Thresholds.from_json(json.loads(config.read_text("utf-8"))) \
            if config is not None else Thresholds()
    except ValueError as exc:
        raise CliError(f"{config}: {exc}") from None
    try:
        rep = report(list(dbs), thresholds)
    except sqlite3.DatabaseError as exc:
        raise CliError(f"{', '.join(map(str, dbs))}: not a node database, or one "
                       f"without an audit log ({exc})") from None
    click.echo(json.dumps(rep, indent=1) if as_json else render_text(rep))
    if rep["findings"]:
        raise SystemExit(1)


__all__ = ["analyse", "operators_group"]
