"""Prefecture and national nodes hold identity info only (R-30-5-0-08, R-30-11-0-03):
no column exists for anything else, and municipality-to-municipality messages are
refused on the clear header (R-PDU-20)."""

from __future__ import annotations

from pathlib import Path

import pytest
from node_helpers import (
    Peer,
    dump,
    node_database,
    record_all,
    residents,
    run,
    shared_pki,
    start,
    update_of,
    with_unknown_extension,
)

from juki_protocol.codec import codec
from juki_protocol.messages.common import ChangeReason
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
)
from juki_protocol.node.storage import IDENTITY_COLUMNS


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)

FORBIDDEN = {"relationship", "family", "household", "domicile", "register", "insurance",
             "pension", "allowance", "record", "der", "json", "content"}


def _columns(tmp: Path, code: str) -> dict[str, list[str]]:
    with node_database(tmp, code) as db:
        return {t: db.columns(t) for t in db.tables()}


def test_central_schemas_have_identity_columns_only_and_hold_no_other_data(
        tmp_path: Path, pki_dir: Path) -> None:
    people = residents("271004", 3)

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("national", "DC01"),
                                              ("prefecture", "270008"),
                                              ("municipality", "271004")],
                          residents=tuple(people))
        try:
            await record_all(net, "271004", people, ChangeReason.MOVE_IN)
            await net.quiet(15)
        finally:
            await net.stop()

    run(body())
    for node in ("270008", "DC01"):
        schema = _columns(tmp_path, node)
        assert schema["identity_info"] == ["id", *IDENTITY_COLUMNS, "stored_at",
                                           "superseded_at", "erased_at"]
        for table, columns in schema.items():
            for column in columns:
                assert not FORBIDDEN & set(column.lower().split("_")), (table, column)
        text = dump(tmp_path, node)
        assert "世帯主" not in text               # relationship of the heads
        for p in people:
            assert p.family_register.permanent_domicile not in text
            assert p.household_id not in text
        with node_database(tmp_path, node) as c:
            assert c.execute("SELECT COUNT(*) FROM identity_info").fetchone()[0] == len(people)
    # The municipality's own register does hold the whole record (it never leaves it),
    # so the absence above is not an accident of the test data.
    muni_dump = dump(tmp_path, "271004")
    assert "世帯主" in muni_dump
    assert people[0].family_register.permanent_domicile in muni_dump


def test_municipality_flow_to_a_prefecture_is_refused_before_the_envelope(
        tmp_path: Path, pki_dir: Path) -> None:
    osaka = residents("271004", 1)
    head = osaka[0]
    request = WideAreaIssuanceRequest(
        issuing_municipality="131016", residence_municipality="271004",
        requester=Requester(name=head.name, birth_date=head.birth_date, address=head.address,
                            identity_check=IdentityCheckMethod.PHOTO_ID_DOCUMENT),
        targets=(TargetPerson(name=head.name, birth_date=head.birth_date),),
        include_relationship=True)

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        peer = await Peer(pki_dir, "271004").connect(net.directory["270008"])
        try:
            pdu = peer.sealed(request, "270008")
            await peer.send(pdu)
            answer = await peer.read()
            assert answer is not None and answer.error_report is not None
            assert answer.error_report.error_code == 3003          # ROLE_NOT_ALLOWED
            assert net.nodes["270008"].storage.count_identity(False) == 0
            with node_database(tmp_path, "270008") as c:
                assert c.execute("SELECT COUNT(*) FROM processed").fetchone()[0] == 0
        finally:
            await peer.close()
            await net.stop()

    run(body())


def test_update_with_unknown_extension_is_refused_5010_and_nothing_stored(
        tmp_path: Path, pki_dir: Path) -> None:
    person = residents("271004", 1)[0]
    update = update_of(person, 1)
    extended = with_unknown_extension(codec.encode(update))
    assert codec.decode_full(extended, "IdentityInfoUpdate").unknown_extensions == 1

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        peer = await Peer(pki_dir, "271004").connect(net.directory["270008"])
        try:
            await peer.send(peer.sealed(update, "270008", der=extended))
            answer = await peer.read()
            assert answer is not None and answer.error_report is not None
            assert answer.error_report.error_code == 5010      # DATA_MINIMISATION
            assert net.nodes["270008"].storage.count_identity(False) == 0
            await peer.send(peer.sealed(update, "270008"))      # the plain update is fine
            answer = await peer.read()
            assert answer is not None and answer.acknowledgement is not None
            assert net.nodes["270008"].storage.count_identity() == 1
        finally:
            await peer.close()
            await net.stop()

    run(body())
