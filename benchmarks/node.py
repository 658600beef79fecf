"""Node benchmark: identity info updates end to end, municipality -> prefecture ->
national, over real mutual TLS 1.3 on loopback, every step durably committed.

Layout: ``prefectures`` prefectures with ``per_prefecture`` municipalities each and the
designated centre DC01, all in this process on one asyncio loop (one core), each node
with its own SQLite database (WAL, ``synchronous=FULL``) in a temporary directory.

Load: every municipality records ``updates`` changes (the residents of a small synthetic
pool, recorded again and again; a ``record`` update supersedes the previous version), one
local event each (one commit at the municipality), keeping at most ``backlog`` updates
queued in its IdentityUpdater. With ``window`` 1 the updater sends one update at a time
(spec/identity.md: the sequenced sender waits for the acknowledgement of the outstanding
update before it sends the next); with more, every node runs with ``send_window`` set
(``juki node serve --send-window``), so the municipalities' updaters and the prefectures'
relay senders keep up to ``window`` numbered messages on the wire, and the node puts
them on the wire in order.

Figures:

* throughput: updates applied at the centre per second, from the first local event to
  the last relay stored at DC01;
* latency, per update: from the moment the municipality hands the update's PDU to TLS,
  to (a) the prefecture's acknowledgement processed by the municipality, and (b) the
  centre's acknowledgement of the relay processed by the prefecture. Queueing time in the
  municipality's outbox before the send is not included (it depends only on the backlog
  the load generator keeps).
"""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from juki_protocol.codec.schema import compiled
from juki_protocol.fixtures.synth import SyntheticResident, generate_residents
from juki_protocol.identifiers import prefecture_of
from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.messages.identity import IdentityInfoRelay, IdentityInfoUpdate
from juki_protocol.messages.pdu import Acknowledgement
from juki_protocol.node.network import Network, create_pki, node_config
from juki_protocol.node.node import Node
from juki_protocol.node.roles import CentralRole, MunicipalityRole

#: Municipalities by prefecture, in the order the benchmark takes them.
MUNICIPALITIES = ("271004", "272035", "131016", "131041", "141003", "141305",
                  "231002", "232017")


@dataclass
class NodeFigures:
    """What :func:`run_node_benchmark` measured."""

    municipalities: int
    prefectures: int
    updates: int
    seconds: float
    per_second: float
    pref_ack_ms: tuple[float, float]      # p50, p99: municipality send -> prefecture ack
    national_ack_ms: tuple[float, float]  # p50, p99: municipality send -> DC01 ack of relay
    stored_at_national: int
    processes: int = 1
    window: int = 1
    cpu_ms_per_update: float = 0.0   # CPU time of every node (all processes) / updates
    commits_per_update: float = 0.0  # durable commits (fsync) of all nodes / updates
    messages_per_group: float = 0.0  # received messages stored per group commit


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def _layout(prefectures: int, per_prefecture: int) -> list[tuple[str, str]]:
    by_pref: dict[str, list[str]] = {}
    for code in MUNICIPALITIES:
        by_pref.setdefault(prefecture_of(code), []).append(code)
    prefs = list(by_pref)[:prefectures]
    if len(prefs) < prefectures or any(len(by_pref[p]) < per_prefecture for p in prefs):
        raise ValueError("not enough municipalities in the benchmark's table")
    nodes = [("national", "DC01")] + [("prefecture", p) for p in prefs]
    nodes += [("municipality", m) for p in prefs for m in by_pref[p][:per_prefecture]]
    return nodes


class _Clock:
    """Send and acknowledgement times per (municipality, update number); commits, and
    received messages stored, per node."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, int], float] = {}
        self.pref_ack: dict[tuple[str, int], float] = {}
        self.nat_ack: dict[tuple[str, int], float] = {}
        self.nat_done: dict[str, int] = {}     # relays acknowledged, per prefecture
        self.commits = 0
        self.received = 0
        self.groups = 0


def _count_commits(node: Node, clock: _Clock) -> None:
    """Count ``node``'s transactions, and the transactions that stored received
    messages (a group commit stores several)."""
    storage = node.storage
    plain, mark = storage.transaction, storage.mark_processed
    marked = [False]

    @contextmanager
    def counted() -> Iterator[Any]:
        outer = not storage.db.in_transaction
        marked[0] = marked[0] and not outer
        with plain() as c:
            yield c
        if outer:
            clock.commits += 1
            clock.groups += marked[0]
            marked[0] = False

    def counted_mark(*args: Any) -> None:
        clock.received += 1
        marked[0] = True
        mark(*args)

    storage.transaction = counted  # type: ignore[method-assign]
    storage.mark_processed = counted_mark  # type: ignore[method-assign,assignment]


def _instrument_municipality(node: Node, clock: _Clock) -> None:
    role = node.handler
    assert isinstance(role, MunicipalityRole)
    send = node._send
    answered = role.answered

    async def timed_send(owner: Any, eff: Any, reply: Any, turn: Any = None) -> None:
        msg = eff.message
        if isinstance(msg, IdentityInfoUpdate):
            clock.sent.setdefault((msg.municipality, msg.update_sequence),
                                  time.perf_counter())
        await send(owner, eff, reply, turn)

    def timed_answered(owner: Any, inbound: Any, now: dt.datetime) -> Any:
        if owner is role.updater and isinstance(inbound.message, Acknowledgement) \
                and role.updater.outbox:
            upd = role.updater.outbox[0][1]
            clock.pref_ack.setdefault((upd.municipality, upd.update_sequence),
                                      time.perf_counter())
        return answered(owner, inbound, now)

    node._send = timed_send  # type: ignore[method-assign,assignment]
    role.answered = timed_answered  # type: ignore[method-assign]


def _instrument_prefecture(node: Node, clock: _Clock) -> None:
    role = node.handler
    assert isinstance(role, CentralRole)
    answered = role.answered

    def timed_answered(owner: Any, inbound: Any, now: dt.datetime) -> Any:
        relays = getattr(role.receiver, "relays", None)
        if owner is relays and relays is not None and relays.outbox \
                and isinstance(inbound.message, Acknowledgement):
            relay = relays.outbox[0][1]
            assert isinstance(relay, IdentityInfoRelay)
            key = (relay.update.municipality, relay.update.update_sequence)
            if key not in clock.nat_ack:
                clock.nat_ack[key] = time.perf_counter()
                clock.nat_done[role.code] = clock.nat_done.get(role.code, 0) + 1
        return answered(owner, inbound, now)

    role.answered = timed_answered  # type: ignore[method-assign]


def _record(role: MunicipalityRole, person: SyntheticResident, change: ChangeInfo,
            now: dt.datetime) -> list[Any]:
    return role.record(person, change, now)


async def _load(node: Node, people: list[SyntheticResident], updates: int,
                backlog: int) -> None:
    role = node.handler
    assert isinstance(role, MunicipalityRole)
    for i in range(updates):
        while len(role.updater.outbox) >= backlog:
            await asyncio.sleep(0.005)
        person = people[i % len(people)]
        change = ChangeInfo(change_reason=ChangeReason.BIRTH, change_date=person.birth_date)
        await node.local(partial(_record, role, person, change))


def _expected(nodes: list[tuple[str, str]], code: str, role: str, updates: int) -> int:
    """How many updates node ``code`` has to see through before it is done."""
    munis = [c for r, c in nodes if r == "municipality"]
    if role == "prefecture":
        return updates * sum(1 for m in munis if prefecture_of(m) == code)
    if role == "national":
        return updates * len(munis)
    return updates


async def _worker_main(tmp: Path, nodes: list[tuple[str, str]], mine: list[str],
                       people: dict[str, list[SyntheticResident]], updates: int,
                       backlog: int, window: int, profile: str | None, pipe: Any) -> None:
    net = Network()
    roles = dict((c, r) for r, c in nodes)
    await net.start([node_config(tmp, tmp / "pki", roles[code], code, send_window=window,
                                 residents=tuple(people.get(code, ()))) for code in mine])
    pipe.send({code: net.directory[code] for code in mine})
    net.directory.update(await asyncio.to_thread(pipe.recv))   # every node's address
    clock = _Clock()
    for code in mine:
        _count_commits(net.nodes[code], clock)
        if roles[code] == "municipality":
            _instrument_municipality(net.nodes[code], clock)
        elif roles[code] == "prefecture":
            _instrument_prefecture(net.nodes[code], clock)
    finished: dict[str, float] = {}

    async def run_node(code: str) -> None:
        node, role = net.nodes[code], roles[code]
        want = _expected(nodes, code, role, updates)
        if role == "municipality":
            await _load(node, people[code], updates, backlog)
            muni = node.handler
            assert isinstance(muni, MunicipalityRole)
            done = lambda: not muni.updater.outbox  # noqa: E731
        elif role == "prefecture":
            done = lambda: clock.nat_done.get(code, 0) >= want  # noqa: E731
        else:
            central = node.handler
            assert isinstance(central, CentralRole)
            done = lambda: sum(central.receiver.last.values()) >= want  # noqa: E731
        await node.wait_until(done, timeout=max(120.0, want / 10))
        finished[code] = time.perf_counter()

    compiled()     # The schema is compiled once per process, at start, not per update.
    assert await asyncio.to_thread(pipe.recv) == "go"
    cpu0 = time.process_time()
    clock.commits = clock.received = clock.groups = 0
    profiler = cProfile.Profile() if profile else None
    try:
        if profiler is not None:
            profiler.enable()
        await asyncio.gather(*(run_node(code) for code in mine))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(Path(profile or ".") / f"{os.getpid()}.prof"))
        cpu = time.process_time() - cpu0
        stored = (net.nodes["DC01"].storage.count_identity(current_only=False)
                  if "DC01" in net.nodes else None)
        pipe.send((finished, clock.sent, clock.pref_ack, clock.nat_ack, stored, cpu,
                   (clock.commits, clock.received, clock.groups)))
        assert await asyncio.to_thread(pipe.recv) == "stop"
    finally:
        await net.stop()


def _worker(tmp: str, nodes: list[tuple[str, str]], mine: list[str],
            people: dict[str, list[SyntheticResident]], updates: int, backlog: int,
            window: int, profile: str | None, pipe: Any) -> None:
    asyncio.run(_worker_main(Path(tmp), nodes, mine, people, updates, backlog, window,
                             profile, pipe))


def _groups(nodes: list[tuple[str, str]], processes: int) -> list[list[str]]:
    """Nodes per process. With two: the prefectures in one, the municipalities and the
    centre in the other, which splits the cryptography about evenly (a municipality
    seals updates, a prefecture opens them and seals relays, the centre opens relays)."""
    if processes == 1:
        return [[c for _, c in nodes]]
    if processes == 2:
        return [[c for r, c in nodes if r == "prefecture"],
                [c for r, c in nodes if r != "prefecture"]]
    raise ValueError("processes must be 1 or 2")


def _run(tmp: Path, prefectures: int, per_prefecture: int, updates: int, backlog: int,
         pool: int, processes: int, window: int, profile: str | None,
         say: Callable[[str], None]) -> NodeFigures:
    import multiprocessing as mp
    nodes = _layout(prefectures, per_prefecture)
    create_pki(tmp / "pki", nodes, dt.datetime.now(dt.UTC))
    people = {code: generate_residents(pool, f"bench:{code}", municipalities=[code])
              for role, code in nodes if role == "municipality"}
    ctx = mp.get_context("spawn")
    workers = []
    for mine in _groups(nodes, processes):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(str(tmp), nodes, mine, people, updates,
                                                 backlog, window, profile, child),
                           daemon=True)
        proc.start()
        workers.append((proc, parent))
    try:
        directory: dict[str, tuple[str, int]] = {}
        for _, pipe in workers:
            directory.update(pipe.recv())
        for _, pipe in workers:
            pipe.send(directory)
        t0 = time.perf_counter()
        for _, pipe in workers:
            pipe.send("go")
        clock = _Clock()
        finished: dict[str, float] = {}
        stored, cpu = 0, 0.0
        for _, pipe in workers:
            fin, sent, pref_ack, nat_ack, dc, used, counts = pipe.recv()
            cpu += used
            clock.commits += counts[0]
            clock.received += counts[1]
            clock.groups += counts[2]
            finished.update(fin)
            clock.sent.update(sent)
            clock.pref_ack.update(pref_ack)
            clock.nat_ack.update(nat_ack)
            stored = dc if dc is not None else stored
        for _, pipe in workers:
            pipe.send("stop")
        for proc, _ in workers:
            proc.join(30)
    finally:
        for proc, _ in workers:
            if proc.is_alive():
                proc.kill()
    seconds = max(finished.values()) - t0
    total = updates * sum(1 for r, _ in nodes if r == "municipality")
    pref_ms = [(clock.pref_ack[k] - t) * 1000 for k, t in clock.sent.items()
               if k in clock.pref_ack]
    nat_ms = [(clock.nat_ack[k] - t) * 1000 for k, t in clock.sent.items()
              if k in clock.nat_ack]
    say(f"  {total} updates in {seconds:.2f} s, {processes} process(es), window {window}")
    return NodeFigures(
        municipalities=total // updates, prefectures=prefectures, updates=total,
        seconds=seconds, per_second=total / seconds, processes=processes, window=window,
        pref_ack_ms=(percentile(pref_ms, 50), percentile(pref_ms, 99)),
        national_ack_ms=(percentile(nat_ms, 50), percentile(nat_ms, 99)),
        stored_at_national=stored, cpu_ms_per_update=cpu / total * 1000,
        commits_per_update=clock.commits / total,
        messages_per_group=clock.received / max(clock.groups, 1))


def run_node_benchmark(updates: int = 200, *, prefectures: int = 2, per_prefecture: int = 2,
                       backlog: int = 64, pool: int = 20, processes: int = 2,
                       window: int = 1, profile: Path | None = None,
                       say: Callable[[str], None] = lambda s: None) -> NodeFigures:
    """Run the node benchmark (see the module docstring) in a temporary directory that
    is deleted afterwards; ``updates`` per municipality, the nodes spread over
    ``processes`` processes (1 or 2), the municipalities' and prefectures' sequenced
    senders with ``window`` messages on the wire at most (1: the reference node's
    one-at-a-time sender). With ``profile``, each process writes a cProfile of the
    measured part there (see :func:`breakdown`)."""
    with tempfile.TemporaryDirectory(prefix="juki-bench-node-") as tmp:
        return _run(Path(tmp), prefectures, per_prefecture, updates, max(backlog, window),
                    pool, processes, window, str(profile) if profile else None, say)


#: Where the CPU goes: (label, functions whose cumulative time is counted).
CATEGORIES = (
    ("envelope open (CMS parse, certificate validation, ECDH, AES-GCM, ECDSA verify)",
     ("envelope.py", "open_envelope")),
    ("envelope seal (ECDSA sign, ECDH, CMS build)", ("envelope.py", "seal")),
    ("codec encode (messages and PDUs)", ("codec.py", "encode")),
    ("codec decode (PDUs and messages; decode calls decode_full)",
     ("codec.py", "decode_full")),
    ("SQLite (statements, and commits with their fsync)",
     ("~", "<method 'execute' of 'sqlite3.Connection' objects>")),
)


def breakdown(profile: Path) -> list[tuple[str, float, float]]:
    """(label, seconds, share) from the cProfile files in ``profile``, by the
    cumulative time of the functions of :data:`CATEGORIES`. cProfile measures wall time
    spent in the event loops' Python code, so a commit's fsync counts (it blocks the
    loop) but time idle in ``select`` does not."""
    import pstats
    stats = pstats.Stats(*[str(p) for p in sorted(profile.glob("*.prof"))])
    table: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for (f, _, name), v in table.items()
                if not (f == "~" and "select" in name))    # idle waiting, not work
    cum: dict[tuple[str, str], float] = {}
    for (filename, _, name), v in table.items():
        key = (Path(filename).name if filename != "~" else "~", name)
        cum[key] = cum.get(key, 0.0) + v[3]
    out = []
    for label, key in CATEGORIES:
        seconds = cum.get(key, 0.0)
        out.append((label, seconds, seconds / total if total else 0.0))
    rest = total - sum(sec for _, sec, _ in out)
    out.append(("everything else (asyncio, TLS, machines, storage code, audit, logging)",
                rest,
                rest / total if total else 0.0))
    return out


def report(fig: NodeFigures) -> list[str]:
    """The lines printed by ``benchmarks.run``."""
    return [
        f"node: {fig.updates} identity info updates, {fig.municipalities} municipalities "
        f"-> {fig.prefectures} prefectures -> DC01, mutual TLS 1.3, SQLite WAL "
        f"synchronous=FULL, {fig.processes} process(es), sender window {fig.window}",
        f"  throughput: {fig.per_second:.0f} updates/s end to end "
        f"(target in issue 7: at least 1,000/s on 2 cores)",
        f"  CPU: {fig.cpu_ms_per_update:.1f} ms per update, all three hops (ceiling "
        f"if CPU-bound on 2 idle cores: {2000 / fig.cpu_ms_per_update:.0f}/s)",
        f"  commits: {fig.commits_per_update:.1f} per update over the three nodes; "
        f"{fig.messages_per_group:.2f} received messages per group commit",
        f"  latency municipality send -> prefecture ack:  p50 {fig.pref_ack_ms[0]:.1f} ms,"
        f" p99 {fig.pref_ack_ms[1]:.1f} ms",
        f"  latency municipality send -> DC01 ack of the relay: p50 "
        f"{fig.national_ack_ms[0]:.1f} ms, p99 {fig.national_ack_ms[1]:.1f} ms",
    ]


if __name__ == "__main__":
    import sys
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    procs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    win = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    with tempfile.TemporaryDirectory() as prof:
        print("\n".join(report(run_node_benchmark(n, processes=procs, window=win, say=print,
                                                   profile=Path(prof)))))
        for label, sec, share in breakdown(Path(prof)):
            print(f"  {share:6.1%} {sec:7.2f} s  {label}")
