"""Crafted envelopes on a live node, over mutual TLS: each is answered with the opaque
2001 ENVELOPE_INVALID and audited, and the valid update written beside it in the same
write is acknowledged and committed (issue 16 item 1; R-PDU-31, R-PDU-32, R-NODE-01).

Before the fix the opener raised UnsupportedAlgorithm, InvalidVersion, ValueError or
KeyError for several of them: the node dropped the connection with no error report,
the update beside it was neither committed nor answered, and no audit row was written.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest
from node_helpers import Peer, residents, run, shared_pki, start, update_of

from fuzz import inputs
from juki_protocol.codec import codec
from juki_protocol.codec.wire import encode_frame
from juki_protocol.envelope import pki
from juki_protocol.envelope.envelope import BoundHeader
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType, PduHeader
from juki_protocol.node import audit
from juki_protocol.node.node import node_of_code

PREFECTURE = "270008"
MUNICIPALITY = "271004"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _crafted_pdu(pki_dir: Path, kind: str, message: object) -> tuple[bytes, bytes]:
    """(message id, DER) of a sealed PDU from the municipality whose envelope is crafted
    envelope ``kind`` (fuzz/inputs.py) encrypted to the prefecture; its header passes
    every check before the envelope (sender is the TLS peer, time, recipient)."""
    header = PduHeader(version=1, message_id=secrets.token_bytes(16),
                       message_type=MessageType.IDENTITY_INFO_UPDATE,
                       sender=node_of_code(MUNICIPALITY), recipient=node_of_code(PREFECTURE),
                       time=dt.datetime.now(dt.UTC).replace(microsecond=0),
                       sequence_number=0, profile=Profile.CURRENT)
    signer = pki.Credential(pki.load_private_key((pki_dir / f"{MUNICIPALITY}.key").read_bytes()),
                            pki.load_certificate((pki_dir / f"{MUNICIPALITY}.pem").read_bytes()))
    recipient = pki.load_certificate((pki_dir / f"{PREFECTURE}.pem").read_bytes())
    envelope = inputs.crafted_envelope(kind, signer, recipient, codec.encode(message),
                                       bound=BoundHeader.of(header))
    return header.message_id, codec.encode(JukiPdu(header=header, sealed=envelope),
                                           profile=None)


def test_crafted_envelopes_are_reported_and_audited_and_the_update_beside_is_committed(
        tmp_path: Path, pki_dir: Path) -> None:
    kinds = inputs.CRAFTED
    people = residents(MUNICIPALITY, 12)[:len(kinds)]
    assert len(people) == len(kinds)

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)])
        peer = await Peer(pki_dir, MUNICIPALITY).connect(net.directory[PREFECTURE])
        crafted_ids: dict[bytes, str] = {}
        valid_ids: list[bytes] = []
        try:
            for sequence, kind in enumerate(kinds, start=1):
                person = people[sequence - 1]
                crafted_id, crafted = _crafted_pdu(pki_dir, kind,
                                                   update_of(person, sequence))
                valid_id = secrets.token_bytes(16)
                valid = peer.sealed(update_of(person, sequence), PREFECTURE,
                                    message_id=valid_id)
                crafted_ids[crafted_id] = kind
                valid_ids.append(valid_id)
                # One write, so both frames arrive in the same read.
                await peer.send_raw(encode_frame(crafted) + encode_frame(valid))
                answers = [await peer.read(), await peer.read()]
                assert all(a is not None for a in answers), \
                    f"{kind}: the node closed the connection without answering"
                reports = {a.error_report.refers_to: a.error_report.error_code
                           for a in answers if a is not None and a.error_report is not None}
                acks = {a.acknowledgement.acknowledged_id: a.acknowledgement.status
                        for a in answers if a is not None and a.acknowledgement is not None}
                assert reports == {crafted_id: ErrorCode.ENVELOPE_INVALID}, \
                    f"{kind}: R-PDU-32 expects only 2001 for the crafted envelope: {answers}"
                assert acks == {valid_id: AckStatus.ACCEPTED}, \
                    f"{kind}: the valid update beside it was not acknowledged: {answers}"
            node = net.nodes[PREFECTURE]
            assert node.storage.count_identity() == len(kinds), "R-NODE-01"
            rows = audit.read(node.storage.conn)
        finally:
            await peer.close()
            await net.stop()
        by_id = {str(r["message_id"]): r for r in rows}
        for crafted_id, kind in crafted_ids.items():
            row = by_id.get(crafted_id.hex())
            assert row is not None, f"{kind}: the refusal left no audit row"
            assert row["direction"] == "refused" and row["peer"] == MUNICIPALITY, row
            assert str(row["result"]).startswith("2001 ENVELOPE_INVALID (local 2007"), row
        for valid_id in valid_ids:
            row = by_id.get(valid_id.hex())
            assert row is not None and row["direction"] == "received", row

    run(body(), timeout=120)
