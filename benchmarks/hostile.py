"""Hostile load: a valid peer's updates while others hold half-open sockets and TLS
connections (issue 16; spec/node.md section 6, R-NODE-46 to R-NODE-49).

The prefecture node 270008 runs as a separate process (``juki node serve``), with its
soft descriptor limit set to 1,024, the common default. From this process:

* **half-open**: ``half_open`` TCP connections from 127.0.0.1 that never begin their
  TLS handshake, each reopened as soon as the node drops it, so the attacker keeps
  trying to hold them all for the whole run;
* **connections**: ``connections`` authenticated TLS connections from 127.0.0.3, with
  the certificates of 64 synthetic municipalities, each sending a garbage frame every
  ``garbage_every`` seconds, and reconnecting a second after the node closes it;
* **the valid peer**: municipality 271004 from 127.0.0.2 (declared with
  ``--known-address``) opens a connection and sends ``updates`` identity info updates
  one after another; every ``reconnect_every`` updates it opens a new connection, so
  the figures include handshakes under attack.

Figures: the valid peer's latency per update (sealed PDU handed to TLS to its
acknowledgement), the time to connect, failures; what the attackers held. The same run
is made twice: with the node's admission bounds (the defaults) and with them lifted
(``--max-handshakes``, ``--max-address-handshakes``, ``--handshake-rate`` and
``--max-refusals`` set beyond the attack), close to how the node behaved before issue
16 (the listener's smaller accept batch, ``ACCEPT_BACKLOG``, stays in both).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import resource
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from juki_protocol.codec import codec
from juki_protocol.codec.wire import encode_frame
from juki_protocol.envelope import pki
from juki_protocol.envelope.envelope import seal
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.identifiers import local_gov_code_check_digit
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import JukiPdu, MessageType, PduHeader
from juki_protocol.node.network import create_pki
from juki_protocol.node.node import node_of_code
from juki_protocol.node.transport import client_context

PREFECTURE, VALID = "270008", "271004"
GARBAGE = encode_frame(b"\x30\x03bad")


def attacker_codes(count: int) -> list[str]:
    """``count`` synthetic municipality codes of Osaka prefecture (27xxx + check)."""
    out = []
    for n in range(300, 300 + count):
        first5 = f"27{n:03d}"
        out.append(first5 + str(local_gov_code_check_digit(first5)))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


@dataclass
class HostileFigures:
    admission: bool
    updates: int
    acknowledged: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    connects: list[float] = field(default_factory=list)
    half_open_opened: int = 0
    half_open_dropped: int = 0
    half_open_held_max: int = 0
    tls_connected: int = 0
    tls_refused: int = 0
    tls_held_max: int = 0
    node_alive: bool = True
    seconds: float = 0.0
    node_log: str = ""

    def row(self) -> str:
        lat = self.latencies
        return (f"| {'bounds on (defaults)' if self.admission else 'bounds lifted'} | "
                f"{self.acknowledged}/{self.updates} | "
                f"{percentile(lat, 50) * 1000:.0f} | {percentile(lat, 99) * 1000:.0f} | "
                f"{(max(lat) if lat else float('nan')) * 1000:.0f} | "
                f"{percentile(self.connects, 50) * 1000:.0f} / "
                f"{(max(self.connects) if self.connects else float('nan')) * 1000:.0f} | "
                f"{self.half_open_held_max} ({self.half_open_opened} opened) | "
                f"{self.tls_held_max} ({self.tls_connected} made) | "
                f"{len(self.failures)} |")


HEADER = ("| node | updates acknowledged | p50 ms | p99 ms | max ms | connect p50 / max ms "
          "| half-open held at most (opened) | TLS held at most (made) | failures |\n"
          "|---|---|---|---|---|---|---|---|---|")


class _Held:
    def __init__(self) -> None:
        self.now = 0
        self.max = 0

    def up(self) -> None:
        self.now += 1
        self.max = max(self.max, self.now)

    def down(self) -> None:
        self.now -= 1


def _update(person: SyntheticResident, sequence: int) -> IdentityInfoUpdate:
    return IdentityInfoUpdate(
        municipality=person.address.local_gov_code, update_sequence=sequence,
        operation=UpdateOperation.RECORD,
        identity_info=person.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                               change_date=person.birth_date))


class _ValidPeer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.key = pki.load_private_key((root / f"{VALID}.key").read_bytes())
        self.cert = pki.load_certificate((root / f"{VALID}.pem").read_bytes())
        self.to = pki.load_certificate((root / f"{PREFECTURE}.pem").read_bytes())
        self.ctx = client_context(root / f"{VALID}.pem", root / f"{VALID}.key",
                                  root / "ca.pem", root / "crl.pem")

    def sealed(self, message: IdentityInfoUpdate) -> bytes:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        header = PduHeader(version=1, message_id=secrets.token_bytes(16),
                           message_type=MessageType.IDENTITY_INFO_UPDATE,
                           sender=node_of_code(VALID), recipient=node_of_code(PREFECTURE),
                           time=now, sequence_number=0, profile=Profile.CURRENT)
        envelope = seal(header, codec.encode(message), self.key, self.cert, self.to, now)
        return codec.encode(JukiPdu(header=header, sealed=envelope), profile=None)


async def _read_pdu(reader: asyncio.StreamReader, timeout: float) -> JukiPdu:
    head = await asyncio.wait_for(reader.readexactly(4), timeout)
    body = await asyncio.wait_for(reader.readexactly(int.from_bytes(head, "big")), timeout)
    pdu = codec.decode(body, "JukiPdu")
    assert isinstance(pdu, JukiPdu)
    return pdu


async def _valid(root: Path, address: tuple[str, int], fig: HostileFigures,
                 reconnect_every: int) -> None:
    peer = _ValidPeer(root)
    people = [m for h in generate_households(fig.updates, f"hostile:{VALID}",
                                             municipalities=[VALID]) for m in h.members]
    writer = None
    reader = None
    sequence = 1           # the next update's number: a refused one is sent again
    for i in range(fig.updates):
        try:
            if writer is None or i % reconnect_every == 0:
                if writer is not None:
                    writer.close()
                t0 = time.perf_counter()
                reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    *address, ssl=peer.ctx, local_addr=("127.0.0.2", 0)), 10)
                fig.connects.append(time.perf_counter() - t0)
            der = peer.sealed(_update(people[(sequence - 1) % len(people)], sequence))
            t0 = time.perf_counter()
            writer.write(encode_frame(der))
            await writer.drain()
            pdu = await _read_pdu(reader, 10)
            fig.latencies.append(time.perf_counter() - t0)
            if pdu.acknowledgement is not None:
                fig.acknowledged += 1
                sequence += 1
            else:
                assert pdu.error_report is not None
                fig.failures.append(f"update {sequence}: error "
                                    f"{pdu.error_report.error_code}")
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            fig.failures.append(f"update {sequence}: {type(exc).__name__} {exc}")
            writer = None
        await asyncio.sleep(0.05)
    if writer is not None:
        writer.close()


async def _half_open(address: tuple[str, int], fig: HostileFigures, held: _Held,
                     stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(*address,
                                                           local_addr=("127.0.0.1", 0))
        except OSError:
            await asyncio.sleep(0.2)
            continue
        fig.half_open_opened += 1
        held.up()
        try:
            stopped = asyncio.ensure_future(stop.wait())
            closed = asyncio.ensure_future(reader.read(1))
            await asyncio.wait({stopped, closed}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            closed.cancel()
            if not stop.is_set():
                fig.half_open_dropped += 1
        except OSError:
            fig.half_open_dropped += 1
        finally:
            held.down()
            writer.transport.abort()
        await asyncio.sleep(0.01)


async def _tls_attacker(root: Path, code: str, address: tuple[str, int],
                        fig: HostileFigures, held: _Held, stop: asyncio.Event,
                        garbage_every: float) -> None:
    ctx = client_context(root / f"{code}.pem", root / f"{code}.key", root / "ca.pem",
                         root / "crl.pem")
    while not stop.is_set():
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                *address, ssl=ctx, local_addr=("127.0.0.3", 0)), 10)
        except (OSError, TimeoutError, ssl.SSLError):
            fig.tls_refused += 1
            await asyncio.sleep(1)
            continue
        fig.tls_connected += 1
        held.up()
        try:
            while not stop.is_set():
                writer.write(GARBAGE)
                await writer.drain()
                await _read_pdu(reader, 10)
                await asyncio.wait_for(stop.wait(), garbage_every)
        except TimeoutError:
            pass
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            held.down()
            writer.transport.abort()
        await asyncio.sleep(1)


def _start_node(tmp: Path, root: Path, admission: bool, nofile: int) -> tuple[
        subprocess.Popen[str], tuple[str, int]]:
    args = [sys.executable, "-m", "juki_protocol.tools.cli", "node", "serve",
            "--role", "prefecture", "--node", PREFECTURE, "--db", str(tmp / "p.db"),
            "--cert", str(root / f"{PREFECTURE}.pem"),
            "--key", str(root / f"{PREFECTURE}.key"), "--trust", str(root / "ca.pem"),
            "--crl", str(root / "crl.pem"), "--listen", "127.0.0.1:0",
            "--known-address", "127.0.0.2"]
    if not admission:
        args += ["--max-handshakes", "100000", "--max-address-handshakes", "100000",
                 "--handshake-rate", "1000000", "--max-refusals", "1000"]

    def limit() -> None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), hard))

    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(
        tmp / "node.log", "w"), text=True, preexec_fn=limit)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"the node did not start: {line!r}, "
                           f"{(tmp / 'node.log').read_text()[-2000:]}")
    host, port = line.rsplit(" ", 1)[-1].strip().rsplit(":", 1)
    return proc, (host, int(port))


async def _attack(root: Path, address: tuple[str, int], fig: HostileFigures, *,
                  half_open: int, connections: int, garbage_every: float,
                  reconnect_every: int, warmup: float) -> None:
    stop = asyncio.Event()
    held_half, held_tls = _Held(), _Held()
    codes = attacker_codes(64)
    tasks = [asyncio.create_task(_half_open(address, fig, held_half, stop))
             for _ in range(half_open)]
    tasks += [asyncio.create_task(_tls_attacker(root, codes[i % len(codes)], address, fig,
                                                held_tls, stop, garbage_every))
              for i in range(connections)]
    await asyncio.sleep(warmup)
    try:
        await _valid(root, address, fig, reconnect_every)
    finally:
        stop.set()
        fig.half_open_held_max, fig.tls_held_max = held_half.max, held_tls.max
        await asyncio.wait(tasks, timeout=15)
        for t in tasks:
            t.cancel()


def run_hostile(*, half_open: int = 2000, connections: int = 500, updates: int = 200,
                admission: bool = True, nofile: int = 1024, garbage_every: float = 2.0,
                reconnect_every: int = 20, warmup: float = 5.0) -> HostileFigures:
    """One run (see the module docstring)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    need = half_open + connections + 256
    if hard < need:
        raise RuntimeError(f"the attacker needs {need} descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(need, resource.getrlimit(
        resource.RLIMIT_NOFILE)[0]), hard))
    fig = HostileFigures(admission=admission, updates=updates)
    with tempfile.TemporaryDirectory(prefix="juki-hostile-") as tmpdir:
        tmp = Path(tmpdir)
        now = dt.datetime.now(dt.UTC)
        nodes = [("prefecture", PREFECTURE), ("municipality", VALID)] + [
            ("municipality", c) for c in attacker_codes(64)]
        root = create_pki(tmp / "pki", nodes, now)
        proc, address = _start_node(tmp, root, admission, nofile)
        t0 = time.perf_counter()
        try:
            asyncio.run(_attack(root, address, fig, half_open=half_open,
                                connections=connections, garbage_every=garbage_every,
                                reconnect_every=reconnect_every, warmup=warmup))
        finally:
            fig.seconds = time.perf_counter() - t0
            fig.node_alive = proc.poll() is None
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            fig.node_log = (tmp / "node.log").read_text(errors="replace")[-20000:]
    return fig


def report(figs: list[HostileFigures], half_open: int, connections: int) -> list[str]:
    lines = [f"Hostile load: {half_open} half-open sockets and {connections} TLS "
             "connections sending garbage, against a prefecture node with 1,024 "
             "descriptors; a valid peer's updates (reconnecting every 20).", "",
             HEADER]
    lines += [f.row() for f in figs]
    for f in figs:
        if f.failures:
            lines.append(f"  {'on' if f.admission else 'lifted'}: first failures: "
                         f"{f.failures[:3]}")
        if not f.node_alive:
            lines.append(f"  {'on' if f.admission else 'lifted'}: the node died")
    return lines


def main() -> None:
    quick = "--quick" in sys.argv
    kw = {"half_open": 300, "connections": 100, "updates": 40, "warmup": 2.0} if quick \
        else {}
    figs = [run_hostile(admission=True, **kw), run_hostile(admission=False, **kw)]
    for f in figs:        # the node's own account of the run, for reading afterwards
        Path(f"/tmp/juki-hostile-node-{'on' if f.admission else 'lifted'}.log").write_text(
            f.node_log)
    print("\n".join(report(figs, kw.get("half_open", 2000),
                           kw.get("connections", 500))))
    on = figs[0]
    ok = on.acknowledged == on.updates and percentile(on.latencies, 99) < 1.0
    print(f"\ntarget (all acknowledged, p99 < 1 s with the bounds on): "
          f"{'met' if ok else 'NOT met'}")
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    main()
