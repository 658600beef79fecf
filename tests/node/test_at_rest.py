"""Personal data at rest (spec/node.md section 2.1, R-NODE-70 to R-NODE-74): private
database files, the CA key apart from the nodes' keys, encrypted private keys, the
disclosure log's key apart from the data, and purged rows that leave no trace in the
database files. Real nodes on 127.0.0.1, as the other node tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from node_helpers import Peer, residents, run, shared_pki, start, update_of

from juki_protocol.envelope import pki
from juki_protocol.errors import JukiError
from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.node.network import NODES, Network, node_config
from juki_protocol.node.node import Node
from juki_protocol.node.storage import DISCLOSURE_LOG_KEY, SqliteStorage, StorageError
from juki_protocol.tools import audit_verify
from juki_protocol.tools.cli_node import network_group
from juki_protocol.tools.cli_pki import pki_group

PREF, MUNI, AGENCY = "270008", "271004", "AG0001"
PASSPHRASE = b"correct horse battery staple 7f3a"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, so that the modes below do not depend on the test runner's."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def db_files(db: Path) -> list[Path]:
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


def file_bytes(db: Path) -> bytes:
    """The database and its write-ahead log as they are on disk."""
    return b"".join(p.read_bytes() for p in db_files(db)[:2] if p.exists())


# R-NODE-70: database files ---------------------------------------------------------------

def test_databases_are_created_0600_in_a_0700_directory(
        tmp_path: Path, pki_dir: Path, umask_022: None) -> None:
    data = tmp_path / "var" / "juki"            # does not exist yet
    people = residents(MUNI, 1)

    async def body() -> None:
        # The SQLite engine's files (also on a JUKI_TEST_BACKEND=postgresql run).
        net = await start(data, pki_dir, [("prefecture", PREF), ("municipality", MUNI)],
                          database=None)
        try:
            role = net.role(MUNI)
            change = ChangeInfo(change_reason=ChangeReason.BIRTH,
                                change_date=people[0].birth_date)
            await net.nodes[MUNI].local(lambda now: role.record(people[0], change, now))
            for code in (PREF, MUNI):
                for path in db_files(data / f"{code}.db"):
                    assert path.exists(), path
                    assert mode(path) == 0o600, (path, oct(mode(path)))
        finally:
            await net.stop()

    run(body())
    assert mode(data) == 0o700
    assert mode(data.parent) == 0o700            # missing parents too


def test_an_existing_database_with_a_wider_mode_is_tightened(
        tmp_path: Path, pki_dir: Path, umask_022: None) -> None:
    config = node_config(tmp_path, pki_dir, "prefecture", PREF)
    db = config.db
    sqlite3.connect(db).execute("PRAGMA journal_mode=WAL").close()   # an older node's
    os.chmod(db, 0o644)
    assert mode(db) == 0o644

    async def body() -> None:
        node = Node(config)
        try:
            await node.start()
            for path in db_files(db):
                assert mode(path) == 0o600, (path, oct(mode(path)))
        finally:
            await node.stop()

    run(body())


def test_a_directory_other_users_may_write_is_refused(tmp_path: Path, pki_dir: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)                     # as /tmp
    config = node_config(shared, pki_dir, "prefecture", PREF)
    with pytest.raises(StorageError) as exc:
        Node(config)
    assert "writable by other users" in str(exc.value) and "R-NODE-70" in str(exc.value)
    assert not config.db.exists()


# R-NODE-71: the CA key apart from the nodes' keys ----------------------------------------

def test_network_up_keeps_the_ca_key_out_of_the_nodes_directory(
        tmp_path: Path, umask_022: None) -> None:
    net_dir = tmp_path / "net"
    result = CliRunner().invoke(network_group, ["up", "--dir", str(net_dir)])
    assert result.exit_code == 0, result.output
    pki_dir, ca_dir = net_dir / "pki", net_dir / "ca"
    assert not (pki_dir / "ca.key").exists()
    assert (ca_dir / "ca.key").is_file() and mode(ca_dir / "ca.key") == 0o600
    assert mode(ca_dir) == mode(pki_dir) == mode(net_dir) == 0o700
    assert (pki_dir / "ca.pem").read_bytes() == (ca_dir / "ca.pem").read_bytes()
    for _, code in NODES:
        assert mode(pki_dir / f"{code}.key") == 0o600
        assert mode(net_dir / f"{code}.db") == 0o600          # R-NODE-70
        assert audit_verify.verify(net_dir / f"{code}.db").ok
    # The providers' disclosure log keys are files of their own (R-NODE-73).
    for code in ("270008", "130001", "DC01"):
        key_file = pki_dir / f"{code}.disclosure-key"
        assert mode(key_file) == 0o600
        key = bytes.fromhex(key_file.read_text().strip())
        assert key not in file_bytes(net_dir / f"{code}.db")
        with sqlite3.connect(net_dir / f"{code}.db") as c:
            assert c.execute("SELECT COUNT(*) FROM meta WHERE key = ?",
                             (DISCLOSURE_LOG_KEY,)).fetchone()[0] == 0


def pki_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(pki_group, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.output


def test_pki_cli_issues_into_the_nodes_directory_with_encrypted_keys(
        tmp_path: Path) -> None:
    ca, node_dir = tmp_path / "ca", tmp_path / "node-271004"
    secret_file = tmp_path / "node.pass"
    secret_file.write_bytes(PASSPHRASE + b"\n")           # one line break is not part of it
    env = {"JUKI_CA_PASSPHRASE": "ca passphrase 0b1e"}
    assert pki_cli("init-ca", "--dir", str(ca), "--ca-passphrase-env",
                   "JUKI_CA_PASSPHRASE", env=env)[0] == 0
    assert b"ENCRYPTED PRIVATE KEY" in (ca / "ca.key").read_bytes()
    code, out = pki_cli("issue", "--dir", str(ca), "--role", "municipality", "--node", MUNI,
                        "--out", str(node_dir), "--key-passphrase-file", str(secret_file))
    assert code != 0 and "the private key is encrypted" in out    # the CA key's
    code, out = pki_cli("issue", "--dir", str(ca), "--role", "municipality", "--node", MUNI,
                        "--out", str(node_dir), "--key-passphrase-file", str(secret_file),
                        "--ca-passphrase-env", "JUKI_CA_PASSPHRASE", env=env)
    assert code == 0, out
    assert sorted(p.name for p in node_dir.iterdir()) == [f"{MUNI}.key", f"{MUNI}.pem"]
    assert mode(node_dir) == 0o700 and mode(node_dir / f"{MUNI}.key") == 0o600
    assert not (ca / f"{MUNI}.key").exists()
    pem = (node_dir / f"{MUNI}.key").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    key = pki.load_private_key(pem, PASSPHRASE)
    cert = pki.load_certificate((node_dir / f"{MUNI}.pem").read_bytes())
    assert key.public_key() == cert.public_key()
    # OpenSSL, independently, decrypts the key with the passphrase file.
    openssl = subprocess.run(["openssl", "pkey", "-in", str(node_dir / f"{MUNI}.key"),
                              "-passin", f"file:{secret_file}", "-pubout"],
                             capture_output=True, check=True)
    assert openssl.stdout == cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # The CRL needs the CA key; revoking only writes the register.
    assert pki_cli("revoke", "--dir", str(ca), "--node", MUNI)[0] == 0
    assert pki_cli("crl", "--dir", str(ca))[0] != 0
    assert pki_cli("crl", "--dir", str(ca), "--ca-passphrase-env", "JUKI_CA_PASSPHRASE",
                   env=env)[0] == 0
    # A passphrase is never an argument itself, and a missing variable is named.
    code, out = pki_cli("init-ca", "--dir", str(tmp_path / "x"), "--ca-passphrase", "s")
    assert code == 2 and "No such option" in out
    code, out = pki_cli("init-ca", "--dir", str(tmp_path / "x"), "--ca-passphrase-env",
                        "JUKI_NOT_SET", env={"JUKI_NOT_SET": ""})
    assert code == 2 and "JUKI_NOT_SET" in out


# R-NODE-72: encrypted node keys ---------------------------------------------------------

def encrypted_copy(pki_dir: Path, code: str, directory: Path) -> Path:
    """The key of node ``code`` encrypted with :data:`PASSPHRASE`, in ``directory``."""
    directory.mkdir(mode=0o700, exist_ok=True)
    key = pki.load_private_key((pki_dir / f"{code}.key").read_bytes())
    path = directory / f"{code}.key"
    pki.write_private_file(path, pki.key_pem(key, PASSPHRASE))
    return path


def test_a_node_runs_with_an_encrypted_key(tmp_path: Path, pki_dir: Path) -> None:
    key = encrypted_copy(pki_dir, PREF, tmp_path / "keys")
    config = dataclasses.replace(node_config(tmp_path, pki_dir, "prefecture", PREF),
                                 key=key, key_passphrase=PASSPHRASE)
    assert PASSPHRASE.decode() not in repr(config)
    person = residents(MUNI, 1)[0]

    async def body() -> None:
        net = Network()
        await net.start([config])
        peer = await Peer(pki_dir, MUNI).connect(net.directory[PREF])   # TLS: the key
        try:
            await peer.send(peer.sealed(update_of(person, 1), PREF))      # the envelope
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None
            assert got.acknowledgement.status.value == "accepted"
        finally:
            await peer.close()
            await net.stop()

    run(body())
    for passphrase, says in ((None, "the private key is encrypted"),
                             (b"wrong", "wrong passphrase")):
        with pytest.raises(JukiError) as exc:
            Node(dataclasses.replace(config, key_passphrase=passphrase))
        assert says in str(exc.value)


def test_node_serve_reads_the_passphrase_from_a_file_or_the_environment(
        tmp_path: Path, pki_dir: Path) -> None:
    key = encrypted_copy(pki_dir, PREF, tmp_path / "keys")
    secret_file = tmp_path / "pass"
    pki.write_private_file(secret_file, PASSPHRASE + b"\n")
    base = [sys.executable, "-m", "juki_protocol.tools.cli_node", "node", "serve",
            "--role", "prefecture", "--node", PREF, "--db", str(tmp_path / "d" / "n.db"),
            "--cert", str(pki_dir / f"{PREF}.pem"), "--key", str(key),
            "--trust", str(pki_dir / "ca.pem"), "--crl", str(pki_dir / "crl.pem")]
    env = {**os.environ, "JUKI_KEY_PASSPHRASE": PASSPHRASE.decode()}
    for extra in (["--key-passphrase-file", str(secret_file)],
                  ["--key-passphrase-env", "JUKI_KEY_PASSPHRASE"]):
        proc = subprocess.Popen(base + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()
            assert "listening on 127.0.0.1:" in line, proc.stderr.read() if proc.stderr \
                else line
        finally:
            proc.terminate()
            proc.wait(10)
    without = subprocess.run(base, capture_output=True, env=env, timeout=60)
    assert without.returncode == 1
    assert b"the private key is encrypted" in without.stderr
    assert b"Traceback" not in without.stderr


# R-NODE-73: the disclosure log's key apart from the data ---------------------------------

def test_the_disclosure_log_key_is_a_file_apart_from_the_database(
        tmp_path: Path, pki_dir: Path) -> None:
    people = residents(MUNI, 1)
    key_file = tmp_path / "keys" / f"{PREF}.disclosure-key"
    key_file.parent.mkdir(mode=0o700)
    pref = node_config(tmp_path, pki_dir, "prefecture", PREF, disclosure_key=key_file,
                       operators={AGENCY: {"op-1"}})

    async def provide() -> None:
        net = Network()
        await net.start([pref, node_config(tmp_path, pki_dir, "agency", AGENCY)])
        peer = await Peer(pki_dir, MUNI).connect(net.directory[PREF])
        try:
            for n, person in enumerate(people, start=1):
                await peer.send(peer.sealed(update_of(person, n), PREF))
                got = await peer.read()
                assert got is not None and got.acknowledgement is not None
            agency = net.role(AGENCY)
            body = RequestingBody(kind=BodyKind.AGENCY, code=AGENCY)
            request = ProvisionRequest(
                requester=body, legal_basis=LegalBasis.PREF_TO_AGENCY,
                purpose_code="S1-KENCHIKUSHI", operator_id="op-1",
                by_resident_code=tuple(p.resident_code for p in people))
            holder: list[object] = []

            def ask(now: dt.datetime) -> list[object]:
                client, owned = agency.request(body, PREF, request, now)
                holder.append(client)
                return owned  # type: ignore[return-value]
            await net.nodes[AGENCY].local(ask)  # type: ignore[arg-type]
            client = holder[0]
            await net.nodes[AGENCY].wait_until(
                lambda: client.outcome is not None, 20)  # type: ignore[attr-defined]
            assert client.state.value == "done"   # type: ignore[attr-defined]
        finally:
            await peer.close()
            await net.stop()

    run(provide())
    assert mode(key_file) == 0o600
    key = bytes.fromhex(key_file.read_text().strip())
    assert key not in file_bytes(pref.db)
    with sqlite3.connect(pref.db) as c:
        assert c.execute("SELECT COUNT(*) FROM meta WHERE key = ?",
                         (DISCLOSURE_LOG_KEY,)).fetchone()[0] == 0
        masked = c.execute("SELECT resident_keys FROM provision_log WHERE outcome = "
                           "'provided'").fetchone()[0]
    # The log's masked codes are HMAC-SHA256 under the file's key (R-30-7-3-12).
    expected = {p.resident_code: hmac.new(key, p.resident_code.encode(),
                                          hashlib.sha256).hexdigest()[:32] for p in people}
    assert sorted(masked.split(",")) == sorted(expected.values())
    assert not any(code in masked for code in expected)

    # Without its key file, a log with masked entries refuses to start, naming it.
    key_file.rename(tmp_path / "elsewhere")
    with pytest.raises(StorageError) as exc:
        Node(pref)
    assert str(key_file) in str(exc.value) and "R-NODE-73" in str(exc.value)
    assert not key_file.exists()                 # no new key was made
    (tmp_path / "elsewhere").rename(key_file)
    node = Node(pref)                            # with it, the node starts
    code = people[0].resident_code
    assert node.handler.provider.log.key_of(code) == expected[code]
    node.storage.close()


def test_a_key_kept_in_the_database_is_moved_out_to_its_file(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    old = SqliteStorage(db, "prefecture")        # as an earlier node kept it: in meta
    legacy = old.secret(DISCLOSURE_LOG_KEY)
    old.close()
    assert legacy in file_bytes(db)
    key_file = tmp_path / "p.disclosure-key"
    store = SqliteStorage(db, "prefecture", key_file=key_file)
    assert store.secret(DISCLOSURE_LOG_KEY) == legacy
    assert bytes.fromhex(key_file.read_text().strip()) == legacy
    assert store.meta(DISCLOSURE_LOG_KEY) is None
    assert legacy not in file_bytes(db)          # overwritten, not left in a free block
    store.close()


# R-NODE-74: purged rows leave no trace -------------------------------------------------

@pytest.fixture
def sqlite_without_secure_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections as an SQLite built without SQLITE_SECURE_DELETE opens them (the
    upstream default; Debian's build, used here, turns it on): secure_delete off until
    the node sets it."""
    real = sqlite3.connect

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real(*args, **kwargs)  # type: ignore[arg-type]
        conn.execute("PRAGMA secure_delete=OFF")
        return conn
    monkeypatch.setattr(sqlite3, "connect", connect)


@pytest.mark.parametrize("control", [False, True], ids=["node", "control"])
def test_a_purged_name_is_not_in_the_database_files(
        tmp_path: Path, pki_dir: Path, sqlite_without_secure_delete: None,
        control: bool) -> None:
    """The name of a superseded version is in the files (database and write-ahead
    log, read while the node runs) before the retention purge and not after it. The
    control run turns secure_delete off again on the node's connection: the name is
    then still in the files after the purge, which shows that the search finds it."""
    person = residents(MUNI, 1, seed="at-rest")[0]
    old_name = person.name.kanji.encode()
    new_name = "改名　花子"
    first = update_of(person, 1)
    renamed = dataclasses.replace(first.identity_info, name=dataclasses.replace(
        first.identity_info.name, kanji=new_name))
    second = IdentityInfoUpdate(
        municipality=MUNI, update_sequence=2, operation=UpdateOperation.CORRECT,
        identity_info=renamed, change_info=ChangeInfo(
            change_reason=ChangeReason.NAME_CHANGE,
            change_date=dt.datetime.now(dt.UTC).date()))
    retention = dt.timedelta(days=1)

    async def body() -> None:
        # What SQLite leaves in its files (also on a JUKI_TEST_BACKEND=postgresql run).
        net = await start(tmp_path, pki_dir, [("national", "DC01"), ("prefecture", PREF)],
                          retention=retention, database=None)
        peer = await Peer(pki_dir, MUNI).connect(net.directory[PREF])
        try:
            for update in (first, second):
                await peer.send(peer.sealed(update, PREF))
                got = await peer.read()
                assert got is not None and got.acknowledgement is not None
            await net.quiet()                   # the relays are acknowledged
            later = dt.datetime.now(dt.UTC) + 2 * retention
            for code in (PREF, "DC01"):
                node = net.nodes[code]
                db = node.config.db
                assert node.storage.count_identity(False) == 2
                assert old_name in file_bytes(db)
                if control:
                    node.storage.conn.execute("PRAGMA secure_delete=OFF")
                node.clock = lambda: later
                node.housekeep()
                assert node.storage.count_identity(False) == 1
                assert node.storage.current_identity(person.resident_code) is not None
                after = file_bytes(db)
                assert new_name.encode() in after
                assert (old_name in after) is control, code
        finally:
            await peer.close()
            await net.stop()

    run(body())
    for code in (PREF, "DC01"):                 # and once the node has stopped
        assert (old_name in file_bytes(tmp_path / f"{code}.db")) is control, code
