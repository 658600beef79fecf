"""Scale benchmark: a national node's store loaded with ``n`` synthetic residents'
identity info, on SQLite (a file in a temporary directory) or PostgreSQL (a database of
a throwaway cluster, or ``--database URL``), deleted afterwards.

Data: a pool of synthetic residents from :mod:`juki_protocol.fixtures.synth` (names, kana, sexes,
birth dates, addresses of its municipality table), expanded cheaply and deterministically
to ``n`` records: record ``i`` takes the name and sex of pool member ``i % P``, the
address of another member, a birth date shifted by a multiple of 37 days per round
through the pool, and a resident code and individual number made from ``i`` by a
bijective mixing with valid check digits. Every value passes the message validation
(the node rebuilds these rows into ``IdentityInfo`` objects). All synthetic.

Figures:

* load: rows/s through :func:`juki_protocol.node.bulk_load.bulk_load_identity` (SQLite:
  executemany, a commit every 50,000 rows; PostgreSQL: COPY, a commit every 50,000
  rows), both indexes in place; the bytes on disk per resident (SQLite: the files;
  PostgreSQL: the table with its TOAST and indexes, ``pg_total_relation_size``);
* lookups by resident code and by the four items (name, birth date, sex, address:
  R-30-7-3-10), p50/p99: the store's indexed queries, and the node's own path
  (:meth:`Provider.lookup` over :class:`StoredIdentities`, which queries, not loads);
* the node's start: a ``juki node serve --role national`` process over the loaded store,
  from its launch until it listens, and its resident memory then (VmRSS); the node
  reads none of the residents at start.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from juki_protocol.fixtures.synth import SyntheticResident, generate_residents
from juki_protocol.identifiers import individual_number_check_digit, resident_code_check_digit
from juki_protocol.machines.provision import Provider
from juki_protocol.messages.common import ChangeReason, Sex
from juki_protocol.messages.provision import (
    BodyKind,
    FourItems,
    LegalBasis,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.node.bulk_load import bulk_load_identity
from juki_protocol.node.network import create_pki
from juki_protocol.node.sql import StorageError
from juki_protocol.node.storage import NodeStorage, open_storage
from juki_protocol.node.stored_identity import StoredIdentities
from juki_protocol.tools.pg_cluster import Cluster

POOL = 20_000
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@dataclass
class ScaleFigures:
    """What :func:`run_scale_benchmark` measured (times in ms unless named)."""

    residents: int
    engine: str
    load_seconds: float
    load_rows_per_second: float
    db_bytes: int
    index_bytes: int
    sql_code_ms: tuple[float, float]
    sql_four_ms: tuple[float, float]
    node_code_ms: tuple[float, float]
    node_four_ms: tuple[float, float]
    node_four_queries: int
    start_seconds: float
    start_rss_bytes: int


def _mix(i: int, digits: int) -> str:
    """A bijection of ``0 .. 10**digits - 1`` (an odd multiplier prime to 10)."""
    return f"{(i * 2654435761 + 12345) % 10 ** digits:0{digits}d}"


def resident_pool(n: int, seed: str = "scale") -> list[SyntheticResident]:
    """The synthetic residents :func:`identity_rows` expands."""
    return generate_residents(min(n, POOL), seed)


def identity_rows(n: int, pool: list[SyntheticResident]) -> Iterator[tuple[object, ...]]:
    """``n`` rows of :data:`~juki_protocol.node.storage.IDENTITY_COLUMNS` (see the module
    docstring), the same for the same arguments."""
    size = len(pool)
    seq: dict[str, int] = {}
    for i in range(n):
        base, home = pool[i % size], pool[(i * 7919 + i // size) % size]
        birth = base.birth_date - dt.timedelta(days=37 * (i // size))
        code10, number11 = _mix(i, 10), _mix(i, 11)
        muni = home.address.local_gov_code
        seq[muni] = seq.get(muni, 0) + 1
        yield (code10 + str(resident_code_check_digit(code10)), base.name.kanji,
               base.name.kana, birth.isoformat(), base.sex.value, muni, home.address.text,
               number11 + str(individual_number_check_digit(number11)),
               ChangeReason.RECORDED_OTHER.value, birth.isoformat(), muni, seq[muni],
               "record", None)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))]


def _timed(fn: Callable[[], object], count: int) -> tuple[float, float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return _pct(times, 50), _pct(times, 99)


def _request(by_code: str | None, four: FourItems | None) -> ProvisionRequest:
    return ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code="AG0001"),
        legal_basis=LegalBasis.CENTER_TO_AGENCY,
        purpose_code="0001", operator_id="op-1",
        by_resident_code=(by_code,) if by_code is not None else None,
        by_four_items=four)


def _sizes(storage: NodeStorage, tmp: Path) -> tuple[int, int]:
    """Bytes on disk of the store, and of its indexes."""
    if storage.db.dialect == "postgresql":
        row = storage.conn.execute(
            "SELECT pg_total_relation_size('identity_info'), "
            "pg_indexes_size('identity_info')").fetchone()
        return int(row[0]), int(row[1])
    total = sum(p.stat().st_size for p in tmp.iterdir() if p.name.startswith("DC01.db"))
    row = storage.conn.execute(
        "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('identity_current', "
        "'identity_four_items')").fetchone() if _has_dbstat(storage) else None
    return total, int(row[0]) if row and row[0] is not None else 0


def _has_dbstat(storage: NodeStorage) -> bool:
    try:
        storage.conn.execute("SELECT 1 FROM dbstat LIMIT 1").fetchone()
    except StorageError:               # SQLite built without the dbstat table
        return False
    return True


def _node_start(tmp: Path, database: str | None) -> tuple[float, int]:
    """Launch ``juki node serve --role national`` over the loaded store; the seconds
    until it listens and its resident memory then."""
    pki = create_pki(tmp / "pki", [("national", "DC01")], dt.datetime.now(dt.UTC),
                     ca_dir=tmp / "ca")
    args = [sys.executable, "-m", "juki_protocol.tools.cli_node", "node", "serve",
            "--role", "national", "--node", "DC01", "--db", str(tmp / "DC01.db"),
            "--cert", str(pki / "DC01.pem"), "--key", str(pki / "DC01.key"),
            "--trust", str(pki / "ca.pem"), "--crl", str(pki / "crl.pem"),
            "--listen", "127.0.0.1:0"]
    if database:
        args += ["--database", database]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        started = time.perf_counter() - t0
        if " listening on " not in line:
            raise RuntimeError(f"the node did not start: {line!r}")
        rss = 0
        for status in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if status.startswith("VmRSS:"):
                rss = int(status.split()[1]) * 1024
        return started, rss
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_scale_benchmark(n: int = 20_000, *, queries: int = 2000, four_queries: int = 2000,
                        engine: str = "sqlite", database: str | None = None,
                        node_start: bool = True,
                        say: Callable[[str], None] = lambda s: None) -> ScaleFigures:
    """Load ``n`` residents into a national store on ``engine`` (``sqlite`` or
    ``postgresql``: ``database``, else a throwaway cluster) and time it."""
    rng = random.Random(7)
    cluster = Cluster().start() if engine == "postgresql" and database is None else None
    url = database or (cluster.url if cluster else None)
    try:
        with tempfile.TemporaryDirectory(prefix="juki-bench-scale-") as name:
            tmp = Path(name)
            storage = open_storage(url or tmp / "DC01.db", "national", "DC01")
            try:
                return _measure(storage, tmp, url, n, rng, queries, four_queries,
                                node_start, say)
            finally:
                if url:
                    storage.conn.execute("DROP SCHEMA ndc01 CASCADE")
                storage.close()
    finally:
        if cluster is not None:
            cluster.stop()


def _measure(storage: NodeStorage, tmp: Path, url: str | None, n: int,
             rng: random.Random, queries: int, four_queries: int, node_start: bool,
             say: Callable[[str], None]) -> ScaleFigures:
    sample: list[tuple[object, ...]] = []
    keep = max(1, n // 5000)
    pool = resident_pool(n)

    def rows() -> Iterator[tuple[object, ...]]:
        for i, row in enumerate(identity_rows(n, pool)):
            if i % keep == 0:
                sample.append(row)
            yield row

    t0 = time.perf_counter()
    loaded = bulk_load_identity(storage, rows(), NOW)
    load_s = time.perf_counter() - t0
    storage.scrub()
    storage.conn.execute("ANALYZE")
    size, index = _sizes(storage, tmp)
    say(f"  loaded {loaded:,} rows in {load_s:.1f} s ({loaded / load_s:,.0f} rows/s),"
        f" {size / 2**20:,.0f} MiB")
    picks = [rng.choice(sample) for _ in range(max(queries, four_queries))]
    it = iter(picks * 2)
    sql_code = _timed(lambda: storage.current_identity(str(next(it)[0])), queries)
    it = iter(picks * 2)

    def sql_four() -> None:
        r = next(it)
        found = storage.find_by_four_items(str(r[1]), dt.date.fromisoformat(str(r[3])),
                                           _sex(r[4]), str(r[5]))
        assert found, r

    sql_four_t = _timed(sql_four, queries)
    # The node's own path: Provider.lookup over the store's queries.
    store = StoredIdentities(storage, dt.timedelta(days=150 * 365))
    provider = Provider("DC01", store, operators={"AG0001": {"op-1"}})
    by_code = iter([_request(str(rng.choice(sample)[0]), None) for _ in range(queries)])
    node_code = _timed(lambda: provider.lookup(next(by_code), NOW), queries)
    infos = [storage.current_identity(str(rng.choice(sample)[0]))
             for _ in range(four_queries)]
    by_four = iter([_request(None, FourItems(
        name=u.identity_info.name, birth_date=u.identity_info.birth_date,
        sex=u.identity_info.sex, address=u.identity_info.address))
        for u in infos if u is not None])

    def node_four() -> None:
        assert provider.lookup(next(by_four), NOW)

    node_four_t = _timed(node_four, four_queries)
    start_s, rss = 0.0, 0
    if node_start:
        storage.conn.execute("SELECT 1")
        start_s, rss = _node_start(tmp, url)
        say(f"  node started in {start_s:.2f} s, {rss / 2**20:.0f} MiB resident")
    return ScaleFigures(
        residents=n, engine=storage.db.dialect, load_seconds=load_s,
        load_rows_per_second=loaded / load_s, db_bytes=size, index_bytes=index,
        sql_code_ms=sql_code, sql_four_ms=sql_four_t, node_code_ms=node_code,
        node_four_ms=node_four_t, node_four_queries=four_queries,
        start_seconds=start_s, start_rss_bytes=rss)


def _sex(value: object) -> Sex:
    return Sex(str(value))


def report(fig: ScaleFigures) -> list[str]:
    """The lines printed by ``benchmarks.run``."""
    per_row = fig.db_bytes / fig.residents
    engine = ("SQLite, WAL, synchronous=FULL" if fig.engine == "sqlite"
              else "PostgreSQL, synchronous_commit=on")
    return [
        f"scale: national store ({engine}) with {fig.residents:,} synthetic residents",
        f"  load: {fig.load_rows_per_second:,.0f} rows/s ({fig.load_seconds:.1f} s), "
        f"store {fig.db_bytes / 2**20:,.0f} MiB ({per_row:.0f} bytes/resident, of "
        f"which indexes {fig.index_bytes / fig.residents:.0f})",
        f"  SQL lookup (indexed) by resident code: p50 {fig.sql_code_ms[0]:.3f} ms, "
        f"p99 {fig.sql_code_ms[1]:.3f} ms (target p99 <= 1 ms)",
        f"  SQL lookup (indexed) by the four items: p50 {fig.sql_four_ms[0]:.3f} ms, "
        f"p99 {fig.sql_four_ms[1]:.3f} ms (target p99 <= 5 ms)",
        f"  node lookup (Provider.lookup over the queried store) by resident code: "
        f"p50 {fig.node_code_ms[0]:.3f} ms, p99 {fig.node_code_ms[1]:.3f} ms",
        f"  node lookup by the four items ({fig.node_four_queries:,} queries): "
        f"p50 {fig.node_four_ms[0]:.3f} ms, p99 {fig.node_four_ms[1]:.3f} ms",
        f"  node start (juki node serve over the store, until it listens): "
        f"{fig.start_seconds:.2f} s, resident memory {fig.start_rss_bytes / 2**20:.0f} MiB "
        f"(targets <= 5 s, < 500 MB)",
    ]


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="the scale benchmark of a national store")
    ap.add_argument("residents", type=int, nargs="?", default=20_000)
    ap.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--database", default=os.environ.get("JUKI_DATABASE"),
                    help="a PostgreSQL URL (default: a throwaway cluster)")
    a = ap.parse_args()
    print("\n".join(report(run_scale_benchmark(a.residents, engine=a.engine,
                                                database=a.database, say=print))))
