"""Scale benchmark: a national store (``SqliteStorage``, role ``national``) loaded with
``n`` synthetic residents' identity info, in a temporary directory deleted afterwards.

Data: a pool of synthetic residents from :mod:`juki_protocol.synth` (names, kana, sexes,
birth dates, addresses of its municipality table), expanded cheaply and deterministically
to ``n`` records: record ``i`` takes the name and sex of pool member ``i % P``, the
address of another member, a birth date shifted by a multiple of 37 days per round
through the pool, and a resident code and individual number made from ``i`` by a
bijective mixing with valid check digits. Every value passes the message validation
(the node rebuilds these rows into ``IdentityInfo`` objects). All synthetic.

Figures:

* load: rows/s through :meth:`SqliteStorage.bulk_load_identity` (executemany, a commit
  every 50,000 rows, both indexes in place); the size of the database on disk;
* the node's start: :meth:`SqliteStorage.load_identity_store` (the node holds the
  identity info in memory and rebuilds it from the database at every start), timed on
  a sample and extrapolated when ``n`` is large;
* lookups by resident code and by the four items (name, birth date, sex, address:
  R-30-7-3-10), p50/p99, two ways: the lookup the node really runs
  (:meth:`Provider.lookup` over the in-memory :class:`IdentityStore`), and the indexed
  SQL lookups of the store (:meth:`SqliteStorage.current_identity`,
  :meth:`SqliteStorage.find_by_four_items`).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from juki_protocol.identifiers import individual_number_check_digit, resident_code_check_digit
from juki_protocol.machines.provision import Provider
from juki_protocol.machines.stores import HeldIdentity, IdentityStore
from juki_protocol.messages.common import (
    Address,
    ChangeInfo,
    ChangeReason,
    IdentityInfo,
    PersonName,
    Sex,
)
from juki_protocol.messages.provision import (
    BodyKind,
    FourItems,
    LegalBasis,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.node.storage import SqliteStorage
from juki_protocol.synth import SyntheticResident, generate_residents

POOL = 20_000
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
#: Rows rebuilt into the in-memory store when measuring the node's start and its
#: in-memory lookups (the whole store up to this size).
MEMORY_SAMPLE = 2_000_000


@dataclass
class ScaleFigures:
    """What :func:`run_scale_benchmark` measured (times in ms unless named)."""

    residents: int
    load_seconds: float
    load_rows_per_second: float
    db_bytes: int
    sql_code_ms: tuple[float, float]
    sql_four_ms: tuple[float, float]
    memory_rows: int
    memory_load_seconds: float
    memory_bytes: int          # growth of the peak RSS while the store was built
    node_code_ms: tuple[float, float]
    node_four_ms: tuple[float, float]
    node_four_queries: int


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


def _peak_rss() -> int:
    """The process's peak resident set size in bytes (0 where unknown)."""
    try:
        import resource
    except ImportError:
        return 0
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


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


def _memory_store(rows: list[tuple[object, ...]]) -> IdentityStore:
    """The in-memory store, built as :meth:`SqliteStorage.load_identity_store` does."""
    store = IdentityStore()
    for r in rows:
        info = IdentityInfo(resident_code=str(r[0]),
                            name=PersonName(kanji=str(r[1]), kana=r[2]),  # type: ignore[arg-type]
                            birth_date=dt.date.fromisoformat(str(r[3])), sex=Sex(str(r[4])),
                            address=Address(local_gov_code=str(r[5]), text=str(r[6])),
                            individual_number=r[7])  # type: ignore[arg-type]
        store.put(HeldIdentity(
            identity_info=info, stored_at=NOW, change_info=ChangeInfo(
                change_reason=ChangeReason(str(r[8])),
                change_date=dt.date.fromisoformat(str(r[9])))))
    return store


def run_scale_benchmark(n: int = 20_000, *, queries: int = 2000, four_queries: int = 2000,
                        say: Callable[[str], None] = lambda s: None) -> ScaleFigures:
    """Load ``n`` residents into a national store and time the lookups."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="juki-bench-scale-") as tmp:
        db = Path(tmp) / "DC01.db"
        storage = SqliteStorage(db, "national")
        try:
            sample: list[tuple[object, ...]] = []
            keep = max(1, n // 5000)

            pool = resident_pool(n)

            def rows() -> Iterator[tuple[object, ...]]:
                for i, row in enumerate(identity_rows(n, pool)):
                    if i % keep == 0:
                        sample.append(row)
                    yield row

            t0 = time.perf_counter()
            loaded = storage.bulk_load_identity(rows(), NOW)
            load_s = time.perf_counter() - t0
            storage.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            storage.conn.execute("ANALYZE")
            size = sum(p.stat().st_size for p in Path(tmp).iterdir())
            say(f"  loaded {loaded:,} rows in {load_s:.1f} s ({loaded / load_s:,.0f} rows/s),"
                f" {size / 2**20:.0f} MiB")
            picks = [rng.choice(sample) for _ in range(queries)]
            it = iter(picks * 2)
            sql_code = _timed(lambda: storage.current_identity(str(next(it)[0])), queries)
            it = iter(picks * 2)

            def sql_four() -> None:
                r = next(it)
                found = storage.find_by_four_items(str(r[1]), dt.date.fromisoformat(
                    str(r[3])), Sex(str(r[4])), str(r[5]))
                assert found, r

            sql_four_t = _timed(sql_four, queries)
            # The node's own path: load_identity_store, then Provider.lookup.
            m = min(n, MEMORY_SAMPLE)
            rss0 = _peak_rss()
            if m == n:
                t0 = time.perf_counter()
                store = storage.load_identity_store(dt.timedelta(days=150 * 365))
                mem_s = time.perf_counter() - t0
            else:      # The first m rows through the same object building, extrapolated.
                first = [r for _, r in zip(range(m), identity_rows(n, pool), strict=False)]
                t0 = time.perf_counter()
                store = _memory_store(first)
                mem_s = time.perf_counter() - t0
            mem_bytes = max(0, _peak_rss() - rss0)
            say(f"  in-memory store of {len(store.current):,} rows built in {mem_s:.1f} s")
        finally:
            storage.close()
    provider = Provider("DC01", store, operators={"AG0001": {"op-1"}})
    held = sorted(store.current)
    by_code = iter([_request(rng.choice(held), None) for _ in range(queries)])
    node_code = _timed(lambda: provider.lookup(next(by_code), NOW), queries)
    infos = [store.current[rng.choice(held)].identity_info for _ in range(four_queries)]
    by_four = iter([_request(None, FourItems(name=i.name, birth_date=i.birth_date,
                                             sex=i.sex, address=i.address)) for i in infos])

    def node_four() -> None:
        assert provider.lookup(next(by_four), NOW)

    node_four_t = _timed(node_four, four_queries)
    return ScaleFigures(
        residents=n, load_seconds=load_s, load_rows_per_second=loaded / load_s,
        db_bytes=size, sql_code_ms=sql_code, sql_four_ms=sql_four_t,
        memory_rows=len(store.current), memory_load_seconds=mem_s, memory_bytes=mem_bytes,
        node_code_ms=node_code, node_four_ms=node_four_t, node_four_queries=four_queries)


def report(fig: ScaleFigures) -> list[str]:
    """The lines printed by ``benchmarks.run``."""
    per_row = fig.db_bytes / fig.residents
    mem_rate = fig.memory_rows / fig.memory_load_seconds
    return [
        f"scale: national store (SQLite, WAL, synchronous=FULL) with {fig.residents:,} "
        f"synthetic residents",
        f"  load: {fig.load_rows_per_second:,.0f} rows/s ({fig.load_seconds:.1f} s), "
        f"database {fig.db_bytes / 2**20:,.0f} MiB ({per_row:.0f} bytes/resident)",
        f"  SQL lookup (indexed) by resident code: p50 {fig.sql_code_ms[0]:.3f} ms, "
        f"p99 {fig.sql_code_ms[1]:.3f} ms (target p99 < 2 ms)",
        f"  SQL lookup (indexed) by the four items: p50 {fig.sql_four_ms[0]:.3f} ms, "
        f"p99 {fig.sql_four_ms[1]:.3f} ms (target p99 < 10 ms)",
        f"  node start: in-memory store rebuilt at {mem_rate:,.0f} rows/s "
        f"({fig.memory_rows:,} rows in {fig.memory_load_seconds:.1f} s), about "
        f"{fig.memory_bytes / max(fig.memory_rows, 1):,.0f} bytes of memory per resident",
        f"  node lookup (Provider.lookup, in memory, {fig.memory_rows:,} rows) by resident "
        f"code: p50 {fig.node_code_ms[0]:.3f} ms, p99 {fig.node_code_ms[1]:.3f} ms "
        f"(target p99 < 2 ms)",
        f"  node lookup by the four items ({fig.node_four_queries:,} queries, the store's "
        f"index): p50 {fig.node_four_ms[0]:.3f} ms, p99 {fig.node_four_ms[1]:.3f} ms "
        f"(target p99 < 10 ms)",
    ]


if __name__ == "__main__":
    import sys
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    print("\n".join(report(run_scale_benchmark(count, say=print))))
