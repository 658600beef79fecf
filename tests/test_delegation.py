"""The centre's provision on a prefecture's delegation (Art. 30-10(1), spec/provision.md
section 6) without a running node: the extension additions keep every earlier encoding,
the delegated request round-trips in DER and JSON, schedule 1 serves a delegated basis
for the affairs of the prefecture's basis, and the serve option is checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.schedule import load_schedule_1
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.tools.cli_node import main

ROOT = Path(__file__).resolve().parents[1]
AGENCY = RequestingBody(kind=BodyKind.AGENCY, code="AG0001")


def _request(basis: LegalBasis, delegator: str | None) -> ProvisionRequest:
    return ProvisionRequest(requester=AGENCY, legal_basis=basis,
                            purpose_code="S1-KENCHIKUSHI", operator_id="op-1",
                            by_resident_code=("12345678903",),
                            delegating_prefecture=delegator)


def test_a_delegated_request_round_trips_and_the_others_are_unchanged() -> None:
    delegated = _request(LegalBasis.DELEGATED_TO_AGENCY, "270008")
    data = codec.encode(delegated)
    assert codec.decode(data) == delegated
    assert codec.from_json("ProvisionRequest", codec.to_json(delegated)) == delegated
    # The addition is the last element: [5] IMPLICIT NumericString "270008".
    assert data.endswith(bytes.fromhex("8506") + b"270008")
    own = codec.encode(_request(LegalBasis.CENTER_TO_AGENCY, None))
    # Without the addition the query ([4]) is the last element, as before.
    assert own.endswith(bytes.fromhex("a40fa00d120b") + b"12345678903")


def test_the_published_provision_vectors_are_unchanged_before_the_new_group() -> None:
    """Existing tcIds keep their DER; the additions are a group of their own at the end."""
    for name, first_new in (("codec_provision_request.json", 15),
                            ("codec_provision_response.json", 22)):
        doc = json.loads((ROOT / "vectors" / name).read_text(encoding="utf-8"))
        last = doc["testGroups"][-1]["tests"]
        assert last[0]["tcId"] == first_new
        assert {f for t in last for f in t["flags"]} & {"Delegation", "Suspension"}
        for group in doc["testGroups"][:-1]:
            for t in group["tests"]:
                assert "Delegation" not in t["flags"] and "Suspension" not in t["flags"]


def test_a_delegated_basis_serves_the_affairs_of_the_prefectures_basis() -> None:
    schedule = load_schedule_1()
    purpose = schedule.authorise("AG0001", "S1-KENCHIKUSHI", LegalBasis.DELEGATED_TO_AGENCY)
    assert LegalBasis.PREF_TO_AGENCY in purpose.legal_bases
    with pytest.raises(JukiError) as exc:
        schedule.authorise("AG0001", "S1-KENCHIKUSHI", LegalBasis.DELEGATED_TO_OTHER_PREFECTURE)
    assert exc.value.error_code is ErrorCode.LEGAL_BASIS_MISMATCH


@pytest.mark.parametrize("role, node, value, says", [
    ("national", "DC01", "271004", "prefecture's own code"),
    ("national", "DC01", "270009", "--delegated-by"),
    ("prefecture", "270008", "270008", "only the national centre"),
])
def test_a_bad_delegation_is_a_usage_error(tmp_path: Path, role: str, node: str, value: str,
                                           says: str) -> None:
    files = {name: tmp_path / name for name in ("c.pem", "k.pem", "ca.pem")}
    for path in files.values():
        path.write_text("unused")
    res = CliRunner().invoke(main, [
        "node", "serve", "--role", role, "--node", node, "--db", str(tmp_path / "n.db"),
        "--cert", str(files["c.pem"]), "--key", str(files["k.pem"]),
        "--trust", str(files["ca.pem"]), "--delegated-by", value])
    assert res.exit_code == 2, res.output
    assert says in res.output
    assert not (tmp_path / "n.db").exists()
