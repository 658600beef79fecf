#!/usr/bin/env python3
"""Benchmarks: figures and ratios measured in one run on this machine.

    python -m benchmarks.run            # full
    python -m benchmarks.run --quick    # a few seconds

Codec: for each message type, encode+decode of the maximal sample through
``juki_protocol.codec`` (strict DER walk, constraints, canonical re-encoding check,
dataclass validation) against raw asn1tools on the same compiled schema with constraint
checks. The ratio is the price of the strictness and validation; the breakdown shows
where it goes. Timing uses the best of several repeats (noisy machines make the minimum
the most stable statistic).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

from juki_protocol import codec, der
from juki_protocol.messages import MESSAGE_TYPES, Profile
from juki_protocol.messages.base import from_form, to_form
from juki_protocol.samples import samples
from juki_protocol.schema import compiled


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    number, repeat = (50, 3) if args.quick else (300, 5)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.system()}")
    print(f"codec: encode+decode of each type's maximal sample, best of {repeat} x {number}")
    print(f"{'type':26} {'bytes':>6} {'ours us':>9} {'asn1tools us':>13} {'ratio':>6} "
          f"{'walk+objects us':>16}")
    rows = codec_rows(number, repeat)
    for name, size, ours, raw, extra in rows:
        print(f"{name:26} {size:6d} {ours:9.1f} {raw:13.1f} {ours / raw:6.2f} {extra:16.1f}")
    ratios = [ours / raw for _, _, ours, raw, _ in rows]
    print(f"codec ratio ours/asn1tools: median {statistics.median(ratios):.2f}, "
          f"max {max(ratios):.2f} (target in issue 7: at most 1.15)")


if __name__ == "__main__":
    main()
