"""A scripted misuse scenario on the demo network, and what the audit analysis finds
(``python -m juki_protocol.tools.misuse_scenario [DIR]``).

The network of ``juki network up`` runs on one test clock set to a weekday morning in
Japan. Its normal traffic runs first: the flows of ``juki network up``, then a working
day at Osaka city (271004), whose clerk records residents, and at the agency AG0001,
whose inquirer asks the prefecture 270008 about one or two persons at a time, a few
times an hour, through the upper tester with operator sessions (spec/node.md section
4.8). The audit logs are analysed: nothing is found. Then the night: at 02:00 a
captured terminal at the agency, using the inquirer's credential, sweeps identity info
through provision requests, two persons per request every 20 seconds. The logs are
analysed again: the sweep, the out-of-hours access and the volume are found, with the
inquirer, the agency and the time, minutes of log time after the sweep began.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juki_protocol.envelope import pki
from juki_protocol.node.clock import TestClock
from juki_protocol.node.network import (
    NODES,
    OPERATORS,
    Network,
    create_pki,
    households_for,
    node_config,
    run_flows,
)
from juki_protocol.node.node import Node
from juki_protocol.node.operator_issue import write_operators_file
from juki_protocol.node.upper_tester import handle_line
from juki_protocol.tools.audit_analyse import Thresholds, render_text, report

JST = dt.timezone(dt.timedelta(hours=9))
OSAKA, PREFECTURE, AGENCY = "271004", "270008", "AG0001"
#: The operators of the scenario: (node, operator id, roles, PIN).
SCENARIO_OPERATORS = ((OSAKA, "clerk-osaka", ("clerk",), "2468"),
                      (AGENCY, "op-1", ("inquirer",), "1357"))


def first_working_morning(now: dt.datetime) -> dt.datetime:
    """10:00 in Japan of the first weekday after ``now``."""
    day = now.astimezone(JST).date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(10, 0), JST)


class _Desk:
    """The upper tester of one node, driven in process (the JSON lines of section 4)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.session: str | None = None

    async def op(self, op: str, **fields: Any) -> dict[str, Any]:
        req = {"id": 1, "op": op, **fields}
        if self.session is not None:
            req["session"] = self.session
        answer = await handle_line(self.node, json.dumps(req).encode())
        if not answer.get("ok"):
            raise RuntimeError(f"{self.node.node} {op}: {answer.get('error')}")
        return answer

    async def login(self, operator: str, pin: str) -> None:
        self.session = None
        self.session = str((await self.op("operator_login", operatorId=operator,
                                          pin=pin))["session"])


async def _wait_provided(desk: _Desk, mids: list[str], timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for mid in mids:
        while (await desk.op("provision_result", messageId=mid))["outcome"] == "pending":
            if loop.time() > deadline:
                raise TimeoutError(f"no provision response for {mid}")
            await asyncio.sleep(0.02)


async def run_scenario(directory: Path, say: Callable[[str], None] = print, *,
                       residents: int = 60, sweep_requests: int = 30,
                       thresholds: Thresholds | None = None
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the scenario in ``directory`` (see the module docstring); returns the
    analysis reports after the normal day and after the night."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    pki_dir = create_pki(directory / "pki", NODES, now)
    clock = TestClock(first_working_morning(now))
    files: dict[str, Path] = {}
    for code, operator, roles, pin in SCENARIO_OPERATORS:
        cred = pki.Credential(pki.load_private_key((pki_dir / f"{code}.key").read_bytes()),
                              pki.load_certificate((pki_dir / f"{code}.pem").read_bytes()))
        files[code] = directory / f"{code}.operators.json"
        write_operators_file(files[code], cred, code, [(operator, roles, pin)], now)
    households = households_for("misuse-scenario")
    people = tuple(m for houses in households.values() for h in houses for m in h.members)
    configs = [node_config(directory, pki_dir, role, code, residents=people,
                           operators={k: set(v) for k, v in OPERATORS.items()},
                           operators_file=files.get(code)) for role, code in NODES]
    net = Network()
    await net.start(configs, clock=clock)
    dbs = [directory / f"{code}.db" for _, code in NODES]
    try:
        say(f"normal day from {clock().astimezone(JST):%a %Y-%m-%d %H:%M} JST: the flows "
            f"of juki network up")
        await run_flows(net, households, lambda line: None)
        clerk, inquirer = _Desk(net.nodes[OSAKA]), _Desk(net.nodes[AGENCY])
        await clerk.login("clerk-osaka", "2468")
        codes = [str((await clerk.op("record_resident", seed=f"scenario-{i}"))
                     ["residentCode"]) for i in range(residents)]
        await net.quiet()
        say(f"  clerk-osaka recorded {len(codes)} residents at {OSAKA}")
        await inquirer.login("op-1", "1357")
        asked = 0
        for _ in range(6):                  # 10:00 to 16:00, a few requests an hour
            for k in range(2):
                mid = (await inquirer.op("provision_request", provider=PREFECTURE,
                                         purposeCode="S1-KENCHIKUSHI",
                                         byResidentCode=codes[asked:asked + 1 + k]))
                await _wait_provided(inquirer, [mid["messageId"]])
                asked += 1 + k
                clock.advance(17 * 60)
            clock.advance(26 * 60)
        say(f"  op-1 at {AGENCY} asked {PREFECTURE} about {asked} persons in 12 requests")
        day = report(dbs, thresholds)
        say(render_text(day))

        night = dt.datetime.combine(clock().astimezone(JST).date() + dt.timedelta(days=1),
                                    dt.time(2, 0), JST)
        clock.set(night)
        say(f"night, {night:%a %H:%M} JST: a captured terminal at {AGENCY} sweeps "
            f"{2 * sweep_requests} persons with op-1's credential")
        await inquirer.login("op-1", "1357")
        mids = []
        for i in range(sweep_requests):
            pair = [codes[(2 * i) % len(codes)], codes[(2 * i + 1) % len(codes)]]
            mids.append((await inquirer.op("provision_request", provider=PREFECTURE,
                                           purposeCode="S1-KENCHIKUSHI",
                                           byResidentCode=pair))["messageId"])
            await _wait_provided(inquirer, mids[-1:])
            clock.advance(20)
        full = report(dbs, thresholds)
        say(render_text(full))
    finally:
        await net.stop()
    return day, full


def main(argv: list[str]) -> int:
    """Run the scenario in DIR (default: a new temporary directory); exit 0 when the
    analysis is quiet on the day and finds the sweep at night."""
    target = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="juki-misuse-"))
    day, night = asyncio.run(run_scenario(target))
    found = {f["pattern"] for f in night["findings"] if f["operator"] == "op-1"}
    print(f"databases in {target} (juki audit analyse {target}/*.db)")
    return 0 if not day["findings"] and "sweep" in found else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
