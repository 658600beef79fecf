#!/usr/bin/env python3
"""Benchmarks: figures and ratios measured in one run on this machine.

    python -m benchmarks.run            # full
    python -m benchmarks.run --quick    # a few seconds

Codec: for each message type, encode+decode of the maximal sample through
``juki_protocol.codec.codec`` (strict DER walk, constraints, canonical re-encoding check,
dataclass validation) against raw asn1tools on the same compiled schema with constraint
checks. The ratio is the price of the strictness and validation; the breakdown shows
where it goes. Timing uses the best of several repeats (noisy machines make the minimum
the most stable statistic).

Node (:mod:`benchmarks.node`): identity info updates end to end, municipality ->
prefecture -> national, over mutual TLS with durable commits, throughput, CPU per update
and latency percentiles; with the reference one-at-a-time sender and with a window.
Scale (:mod:`benchmarks.scale`): a national store with 20,000 (quick) or 1,000,000
synthetic residents: load rate, size, lookups. Conformance
(:mod:`benchmarks.conformance`): the wall time of the whole suite (quick: of its
codec-mode cases).

    python -m benchmarks.run --parts node,scale     # only some parts
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

from juki_protocol.codec import codec, der
from juki_protocol.codec.schema import compiled
from juki_protocol.fixtures.samples import samples
from juki_protocol.messages import MESSAGE_TYPES, Profile
from juki_protocol.messages.base import from_form, to_form


def best_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Best mean time per call in microseconds over ``repeat`` runs of ``number`` calls."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number * 1e6)
    return min(runs)


def codec_rows(number: int, repeat: int) -> list[tuple[str, int, float, float, float]]:
    schema = compiled()
    rows = []
    for name in MESSAGE_TYPES:
        msg = samples(name, "bench", Profile.CURRENT)[1].message
        data = codec.encode(msg)
        value = to_form(msg, json=False)

        def ours(msg: object = msg, data: bytes = data, name: str = name) -> None:
            codec.encode(msg)
            codec.decode(data, name)

        def raw(value: object = value, data: bytes = data, name: str = name) -> None:
            schema.encode(name, value, check_constraints=True)
            schema.decode(name, data, check_constraints=True)

        def walk(data: bytes = data) -> None:
            der.parse(data)

        cls = MESSAGE_TYPES[name]

        def build(value: object = value, cls: type = cls) -> None:
            from_form(cls, value, json=False)

        t_ours = best_us(ours, number, repeat)
        t_raw = best_us(raw, number, repeat)
        t_walk = best_us(walk, number, repeat)
        t_build = best_us(build, number, repeat)
        rows.append((name, len(data), t_ours, t_raw, t_walk + t_build))
    return rows


def envelope_rows(number: int, repeat: int) -> list[tuple[str, int, float, float]]:
    """seal+open per message against the floor: the raw primitives the envelope needs
    (ECDSA sign and verify, ephemeral key generation, ECDH on both sides, the X9.63 KDF
    twice, AES key wrap and unwrap, AES-256-GCM both ways, SHA-256 of the content)."""
    import datetime as dt
    import os

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
    from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

    from juki_protocol.envelope import envelope as env
    from juki_protocol.envelope import pki
    from juki_protocol.envelope.ca import create_root_ca, issue_node_certificate
    from juki_protocol.fixtures.samples import BASE_TIME, header
    from juki_protocol.messages import MessageType, NodeId, NodeRole

    now = BASE_TIME
    ca = create_root_ca(pki.generate_key(), common_name="bench CA",
                        not_before=now - dt.timedelta(days=1),
                        not_after=now + dt.timedelta(days=30), serial=1)
    nodes = {}
    for serial, code in enumerate(("271004", "131016"), start=2):
        key = pki.generate_key()
        node = NodeId(role=NodeRole.MUNICIPALITY, code=code)
        nodes[code] = (node, key, issue_node_certificate(
            ca, key.public_key(), node, not_before=now - dt.timedelta(days=1),
            not_after=now + dt.timedelta(days=30), serial=serial))
    trust = pki.TrustStore(anchors=(ca.certificate,), crls=())
    (s_node, s_key, s_cert), (r_node, r_key, r_cert) = nodes["271004"], nodes["131016"]
    rows = []
    for name in ("MoveInNotice", "WideAreaIssuanceResponse", "MoveOutCertificate"):
        data = codec.encode(samples(name, "bench", Profile.CURRENT)[1].message)
        mtype = MessageType(name[:1].lower() + name[1:])
        hdr = header(None, mtype, s_node, r_node, profile=Profile.CURRENT)

        def ours(data: bytes = data, hdr: object = hdr) -> None:
            sealed = env.seal(hdr, data, s_key, s_cert, r_cert, now)  # type: ignore[arg-type]
            env.open_envelope(sealed, [pki.Credential(r_key, r_cert)], trust, now,
                              header=hdr)  # type: ignore[arg-type]

        def floor(data: bytes = data) -> None:
            digest = hashes.Hash(hashes.SHA256())
            digest.update(data)
            digest.finalize()
            sig = s_key.sign(data, ec.ECDSA(hashes.SHA256()))
            s_key.public_key().verify(sig, data, ec.ECDSA(hashes.SHA256()))
            eph = ec.generate_private_key(ec.SECP256R1())
            z1 = eph.exchange(ec.ECDH(), r_cert.public_key())  # type: ignore[arg-type]
            z2 = r_key.exchange(ec.ECDH(), eph.public_key())
            kek1 = X963KDF(hashes.SHA256(), 32, b"info").derive(z1)
            kek2 = X963KDF(hashes.SHA256(), 32, b"info").derive(z2)
            cek, iv = os.urandom(32), os.urandom(12)
            wrapped = aes_key_wrap(kek1, cek)
            aes_key_unwrap(kek2, wrapped)
            ct = AESGCM(cek).encrypt(iv, data + sig, None)
            AESGCM(cek).decrypt(iv, ct, None)

        rows.append((name, len(data), best_us(ours, number, repeat),
                     best_us(floor, number, repeat)))
    return rows


PARTS = ("codec", "envelope", "node", "scale", "conformance")


def machine() -> str:
    """One line describing this machine."""
    import os
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            mem = f"{int(f.readline().split()[1]) / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        mem = "? GiB"
    import sqlite3
    return (f"machine: {platform.machine()} {cpu}, {os.cpu_count()} cores, {mem}, "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def node_part(quick: bool) -> None:
    from benchmarks import node
    updates = 50 if quick else 250
    print()
    for window in (1, 16):
        fig = node.run_node_benchmark(updates, processes=2, window=window)
        print("\n".join(node.report(fig)))
    if not quick:
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as prof:
            node.run_node_benchmark(100, processes=2, window=1, profile=Path(prof))
            print("  where the time of the event loops goes (cProfile, 400 updates, "
                  "window 1, both processes):")
            for label, sec, share in node.breakdown(Path(prof)):
                print(f"  {share:6.1%} {sec:7.2f} s  {label}")


def scale_part(quick: bool) -> None:
    from benchmarks import scale
    print()
    for engine in ("sqlite", "postgresql"):
        fig = scale.run_scale_benchmark(20_000 if quick else 1_000_000,
                                        four_queries=2000, engine=engine)
        print("\n".join(scale.report(fig)))


def conformance_part(quick: bool) -> None:
    from benchmarks import conformance
    print()
    if quick:        # the codec-mode cases only: the node cases take minutes
        print("\n".join(conformance.report(conformance.run_conformance_benchmark(
            "--cases", "*/codec/*"), "the codec-mode cases")))
    else:
        print("\n".join(conformance.report(conformance.run_conformance_benchmark())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"comma-separated, of {', '.join(PARTS)} (default: all)")
    args = ap.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if parts - set(PARTS):
        ap.error(f"unknown parts: {', '.join(sorted(parts - set(PARTS)))}")
    number, repeat = (50, 3) if args.quick else (300, 5)
    print(machine())
    print(f"mode: {'quick' if args.quick else 'full'}; figures are noisy on a shared "
          f"machine")
    if "codec" in parts:
        codec_part(number, repeat)
    if "envelope" in parts:
        envelope_part(number, repeat)
    if "node" in parts:
        node_part(args.quick)
    if "scale" in parts:
        scale_part(args.quick)
    if "conformance" in parts:
        conformance_part(args.quick)


def codec_part(number: int, repeat: int) -> None:
    print(f"codec: encode+decode of each type's maximal sample, best of {repeat} x {number}")
    print(f"{'type':26} {'bytes':>6} {'ours us':>9} {'asn1tools us':>13} {'ratio':>6} "
          f"{'walk+objects us':>16}")
    rows = codec_rows(number, repeat)
    for name, size, ours, raw, extra in rows:
        print(f"{name:26} {size:6d} {ours:9.1f} {raw:13.1f} {ours / raw:6.2f} {extra:16.1f}")
    ratios = [ours / raw for _, _, ours, raw, _ in rows]
    print(f"codec ratio ours/asn1tools: median {statistics.median(ratios):.2f}, "
          f"max {max(ratios):.2f} (target in issue 7: at most 1.15)")


def envelope_part(number: int, repeat: int) -> None:
    n_env = max(number // 10, 5)
    print(f"\nenvelope: seal+open (with certificate validation) against the raw "
          f"primitives, best of {repeat} x {n_env}")
    print(f"{'type':26} {'bytes':>6} {'ours us':>9} {'floor us':>9} {'ratio':>6}")
    env_rows = envelope_rows(n_env, repeat)
    for name, size, ours, floor in env_rows:
        print(f"{name:26} {size:6d} {ours:9.1f} {floor:9.1f} {ours / floor:6.2f}")
    env_ratios = [ours / floor for _, _, ours, floor in env_rows]
    print(f"envelope ratio ours/floor: median {statistics.median(env_ratios):.2f} "
          f"(target in issue 7: at most 2)")


if __name__ == "__main__":
    main()
