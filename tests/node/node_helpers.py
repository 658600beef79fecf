"""Helpers of the node tests: the network PKI fixture, nodes on 127.0.0.1, synthetic
updates, a raw peer.

There is deliberately no ``conftest.py`` in this directory: ``tests/machines`` imports
names ``from conftest``, which a second conftest module would shadow when both
directories are collected in one run. Each test module defines its ``pki_dir`` fixture
with :func:`shared_pki`."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from juki_protocol.codec import codec
from juki_protocol.codec.wire import encode_frame
from juki_protocol.envelope import pki
from juki_protocol.envelope.ca import (
    CertificateAuthority,
    RevokedCertificate,
    build_crl,
    issue_node_certificate,
)
from juki_protocol.envelope.envelope import seal
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import JukiPdu, PduHeader
from juki_protocol.node import audit
from juki_protocol.node.network import NODES, Network, create_pki, node_config
from juki_protocol.node.node import message_type_of, node_of_code
from juki_protocol.node.sql import Database, open_database, with_schema
from juki_protocol.node.storage import NodeStorage, open_storage
from juki_protocol.node.transport import client_context
from juki_protocol.tools import audit_verify

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/pg.py
import pg

T = TypeVar("T")
REVOKED_SERIAL = 9999


def run(coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    """Run one async test body with a hard timeout."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


_PKI: list[Path] = []


def shared_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The network PKI of juki network up (made once per session), plus: a revoked
    certificate of 272035 (``272035-revoked.pem``, on ``crl.pem``) and a certificate of
    271004 from a rogue CA (``rogue/271004.pem``)."""
    if _PKI:
        return _PKI[0]
    now = dt.datetime.now(dt.UTC)
    root = create_pki(tmp_path_factory.mktemp("pki"), NODES, now)
    ca = CertificateAuthority(pki.load_private_key((root / "ca.key").read_bytes()),
                              pki.load_certificate((root / "ca.pem").read_bytes()))
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(days=2)
    key = pki.generate_key()
    cert = issue_node_certificate(ca, key.public_key(), node_of_code("272035"),
                                  not_before=start, not_after=end,
                                  serial=REVOKED_SERIAL)
    (root / "272035-revoked.pem").write_bytes(pki.cert_pem(cert))
    (root / "272035-revoked.key").write_bytes(pki.key_pem(key))
    crl = build_crl(ca, [RevokedCertificate(REVOKED_SERIAL, now - dt.timedelta(
        minutes=5))], this_update=start, next_update=end, number=2)
    (root / "crl.pem").write_bytes(pki.crl_pem(crl))
    create_pki(root / "rogue", [("municipality", "271004")], now)
    _PKI.append(root)
    return root


def residents(code: str, households: int = 1, seed: str = "tests") -> list[SyntheticResident]:
    """Synthetic residents of municipality ``code``."""
    return [m for h in generate_households(households, f"{seed}:{code}",
                                           municipalities=[code]) for m in h.members]


def update_of(person: SyntheticResident, sequence: int) -> IdentityInfoUpdate:
    """A ``record`` update of ``person`` numbered ``sequence``."""
    return IdentityInfoUpdate(
        municipality=person.address.local_gov_code, update_sequence=sequence,
        operation=UpdateOperation.RECORD, identity_info=person.identity_info(
            Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                               change_date=person.birth_date))


async def record_all(net: Network, code: str, people: list[SyntheticResident],
                     reason: ChangeReason) -> None:
    """Record each of ``people`` at municipality ``code`` (a birth uses the birth date,
    anything else the date the person became resident), one local event each."""
    muni = net.role(code)
    for person in people:
        date = person.birth_date if reason is ChangeReason.BIRTH else person.resident_since
        change = ChangeInfo(change_reason=reason, change_date=date)
        await net.nodes[code].local(
            lambda now, p=person, c=change: muni.record(p, c, now))


async def start(tmp: Path, pki_root: Path, nodes: list[tuple[str, str]],
                **extra: Any) -> Network:
    """Start ``nodes`` on 127.0.0.1 with databases in ``tmp``."""
    net = Network()
    if pg.backend() == "postgresql":       # JUKI_TEST_BACKEND: the nodes' tables in a
        extra.setdefault("database", database_for(tmp))   # database of the test cluster
    await net.start([node_config(tmp, pki_root, role, code, **extra)
                     for role, code in nodes])
    return net


#: The PostgreSQL database of the nodes whose files are in a directory (tests on that
#: backend); a directory absent here holds SQLite databases.
_DATABASES: dict[Path, str] = {}


def database_for(tmp: Path) -> str:
    """The database of the nodes of directory ``tmp`` on the PostgreSQL backend (made on
    first use, the same for every network later started there)."""
    key = Path(tmp).resolve()
    if key not in _DATABASES:
        _DATABASES[key] = pg.database()
    return _DATABASES[key]


def node_db(tmp: Path, code: str) -> str | Path:
    """Where node ``code`` of directory ``tmp`` keeps its tables: its SQLite file, or on
    the PostgreSQL backend a URL naming its schema (what ``audit_verify.verify`` and
    ``open_database`` take)."""
    key = Path(tmp).resolve()
    if key in _DATABASES:
        return with_schema(_DATABASES[key], f"n{code.lower()}")
    return Path(tmp) / f"{code}.db"


def verify_node(tmp: Path, code: str) -> audit_verify.Verification:
    """Verify node ``code``'s audit log and its checkpoint file, on either backend."""
    return audit_verify.verify(node_db(tmp, code),
                               checkpoints=audit.checkpoint_path(Path(tmp) / f"{code}.db"))


def node_storage(tmp: Path, code: str, role: str) -> NodeStorage:
    """Node ``code``'s storage opened again (after its node stopped), on either backend."""
    key = Path(tmp).resolve()
    if key in _DATABASES:
        return open_storage(_DATABASES[key], role, code)
    return open_storage(Path(tmp) / f"{code}.db", role, code)


def dump(tmp: Path, code: str) -> str:
    """Every row of every table of node ``code``'s database as text (to search for data
    that must not be there), on either backend."""
    with node_database(tmp, code) as db:
        return "\n".join(f"{t}: {tuple(r)!r}" for t in db.tables()
                         for r in db.execute(f'SELECT * FROM "{t}"'))


@contextmanager
def node_database(tmp: Path, code: str) -> Iterator[Database]:
    """Node ``code``'s database, opened for a test to read or change (autocommit)."""
    db = open_database(node_db(tmp, code))
    try:
        yield db
    finally:
        db.close()


class Peer:
    """A hand-driven peer node (a lower tester): raw frames over mutual TLS."""

    def __init__(self, pki_root: Path, code: str, *, cert: Path | None = None,
                 key: Path | None = None, crl: bool = True) -> None:
        self.root = pki_root
        self.code = code
        self.cert = cert or pki_root / f"{code}.pem"
        self.key = key or pki_root / f"{code}.key"
        self.crl = pki_root / "crl.pem" if crl else None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, address: tuple[str, int]) -> Peer:
        ctx = client_context(self.cert, self.key, self.root / "ca.pem", self.crl)
        self.reader, self.writer = await asyncio.open_connection(*address, ssl=ctx)
        return self

    async def send_raw(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, pdu_der: bytes) -> None:
        await self.send_raw(encode_frame(pdu_der))

    async def read(self, timeout: float = 5) -> JukiPdu | None:
        """The next PDU, or None when the node closed the connection."""
        assert self.reader is not None
        try:
            head = await asyncio.wait_for(self.reader.readexactly(4), timeout)
            body = await asyncio.wait_for(
                self.reader.readexactly(int.from_bytes(head, "big")), timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        pdu = codec.decode(body, "JukiPdu")
        assert isinstance(pdu, JukiPdu)
        return pdu

    def sealed(self, message: object, recipient: str, *, message_id: bytes | None = None,
               time: dt.datetime | None = None, version: int = 1, sender: str | None = None,
               header_recipient: str | None = None,
               signer: tuple[Path, Path] | None = None, der: bytes | None = None) -> bytes:
        """The DER of a sealed PDU carrying ``message`` (or its given ``der``) to
        ``recipient``."""
        now = (time or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        header = PduHeader(version=version, message_id=message_id or secrets.token_bytes(16),
                           message_type=message_type_of(message),
                           sender=node_of_code(sender or self.code),
                           recipient=node_of_code(header_recipient or recipient),
                           time=now, sequence_number=0, profile=Profile.CURRENT)
        cert_path, key_path = signer or (self.cert, self.key)
        key = pki.load_private_key(key_path.read_bytes())
        cert = pki.load_certificate(cert_path.read_bytes())
        to = pki.load_certificate((self.root / f"{recipient}.pem").read_bytes())
        body = der if der is not None else codec.encode(message)
        envelope = _seal_unchecked(header, body, key, cert, to, now)
        return codec.encode(JukiPdu(header=header, sealed=envelope), profile=None)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), 2)
            except (OSError, TimeoutError, ConnectionError):
                pass


def with_unknown_extension(der: bytes) -> bytes:
    """``der`` (one SEQUENCE with a short or long length) with an extension addition
    unknown to the schema appended: context tag [6], one octet."""
    if der[1] < 0x80:
        start, length = 2, der[1]
    else:
        k = der[1] & 0x7F
        start, length = 2 + k, int.from_bytes(der[2:2 + k], "big")
    body = der[start:start + length] + b"\x86\x01\x78"
    n = len(body)
    size = bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 0x100
                                        else b"\x82" + n.to_bytes(2, "big"))
    return der[:1] + size + body


def _seal_unchecked(header: PduHeader, der: bytes, key: Any, cert: Any, to: Any,
                    now: dt.datetime) -> bytes:
    """Seal even what the recipient must refuse (a lower tester forges on purpose)."""
    from juki_protocol.envelope.envelope_parts import seal_from_parts
    try:
        return seal(header, der, key, cert, to, now)
    except Exception:
        return seal_from_parts(header, der, key, cert, to,
                               ephemeral_key=pki.generate_key(), cek=os.urandom(32),
                               iv=os.urandom(12), now=now, deterministic=False)


Checker = Callable[[], bool]
