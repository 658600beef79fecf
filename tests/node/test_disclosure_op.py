"""The upper tester's ``disclosures`` (spec/node.md section 4.13, R-NODE-94) on real
nodes over mutual TLS: a prefecture lists the agency's request under the person it
provided, nothing under a person not asked for, refuses a malformed resident code with
1030 and is answered 3003 at a municipality; the answer holds no resident code."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import residents, run, shared_pki, start

from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.node.node import Node
from juki_protocol.node.upper_tester import handle_line

OSAKA, OSAKA_PREF, AGENCY, PURPOSE = "271004", "270008", "AG0001", "S1-KENCHIKUSHI"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}).encode())


def test_a_provision_is_listed_under_the_person_provided(tmp_path: Path,
                                                         pki_dir: Path) -> None:
    async def go() -> None:
        nodes = [("national", "DC01"), ("prefecture", OSAKA_PREF), ("municipality", OSAKA),
                 ("agency", AGENCY)]
        net = await start(tmp_path, pki_dir, nodes, operators={AGENCY: {"op-1"}})
        try:
            role = net.role(OSAKA)
            asked, other = residents(OSAKA, 2, "disclosure")[:2]
            for person in (asked, other):
                change = ChangeInfo(change_reason=ChangeReason.MOVE_IN,
                                    change_date=person.resident_since)
                await net.nodes[OSAKA].local(
                    lambda now, p=person, c=change: role.record(p, c, now))
            await net.quiet()
            agency, pref = net.nodes[AGENCY], net.nodes[OSAKA_PREF]
            sent = await _op(agency, op="provision_request", provider=OSAKA_PREF,
                             purposeCode=PURPOSE, operatorId="op-1",
                             byResidentCode=[asked.resident_code])
            assert sent["ok"], sent
            for _ in range(400):
                result = await _op(agency, op="provision_result", messageId=sent["messageId"])
                if result["outcome"] != "pending":
                    break
                await asyncio.sleep(0.025)
            assert result["outcome"] == "provided", result
            listed = await _op(pref, op="disclosures", residentCode=asked.resident_code)
            assert listed["ok"], listed
            [entry] = listed["provided"]
            assert entry["messageId"] == sent["messageId"]
            assert (entry["body"], entry["legalBasis"], entry["purposeCode"],
                    entry["operatorId"], entry["delegatingPrefecture"]) == \
                ({"kind": "agency", "code": AGENCY}, "prefToAgency", PURPOSE, "op-1", None)
            assert asked.resident_code not in json.dumps(listed)
            none = await _op(pref, op="disclosures", residentCode=other.resident_code)
            assert none["provided"] == []
            bad = await _op(pref, op="disclosures", residentCode="12345")
            assert bad["error"]["code"] == 1030 and "residentCode" in bad["error"]["message"]
            missing = await _op(pref, op="disclosures")
            assert missing["error"]["code"] == 1030
            wrong = await _op(net.nodes[OSAKA], op="disclosures",
                              residentCode=asked.resident_code)
            assert wrong["error"]["code"] == 3003
        finally:
            await net.stop()
    run(go())
