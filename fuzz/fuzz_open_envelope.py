"""Fuzz target: :func:`juki_protocol.envelope.envelope.open_envelope` must raise nothing but a
JukiError, whatever it is given (issue 16 item 1; fuzz/README.md).

Two ways to run it, both counting inputs and stopping at the first exception that is
not a JukiError (the exception and the input are printed; the atheris run also writes
the input as a crash file):

* ``python -m fuzz.fuzz_open_envelope atheris -runs=1000000 -max_len=16384 [CORPUS]``:
  coverage-guided with atheris (libFuzzer). An input is one octet choosing the recipient
  (a vector group or the synthetic world of :mod:`fuzz.inputs`) followed by the
  envelope. The custom mutator is structure-aware: it mutates the envelope's DER tree,
  or decrypts it, mutates the inner SignedData and encrypts it again, or makes a fresh
  case with :func:`fuzz.inputs.fuzz_case` (mutated and re-signed certificates), and
  now and then leaves the octets to libFuzzer's own mutations. Without a corpus
  directory the seeds are written to a temporary one: every envelope of the vectors
  and every crafted envelope.
* ``python -m fuzz.fuzz_open_envelope loop COUNT [SEED]``: no atheris needed; COUNT
  inputs from :func:`fuzz.inputs.fuzz_case` with ``random.Random(f"{SEED}:{i}")``, so
  input ``i`` of a seed can be made again alone. Prints a tally of the codes.
"""

from __future__ import annotations

import collections
import random
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from fuzz import der_tree, inputs
from juki_protocol.envelope import envelope as env
from juki_protocol.errors import JukiError


def recipients() -> list[inputs.Recipient]:
    """The recipients an input's first octet chooses from (modulo their number)."""
    return [*(s.recipient for s in inputs.vector_seeds()), inputs.world().recipient]


def split(data: bytes) -> tuple[inputs.Recipient, bytes]:
    """(recipient, envelope) of a fuzz input."""
    options = recipients()
    return options[data[0] % len(options)] if data else options[0], data[1:]


def test_one_input(data: bytes) -> None:
    """The target: open the envelope; a JukiError is a refusal, anything else a bug."""
    recipient, envelope = split(data)
    inputs.open_or_refuse(envelope, recipient)


def seeds() -> list[bytes]:
    """The initial corpus: the vectors' envelopes and the crafted envelopes."""
    out = []
    for i, group in enumerate(inputs.vector_seeds()):
        out += [bytes((i,)) + e for e in group.envelopes]
    w = inputs.world()
    world_index = len(inputs.vector_seeds())
    out += [bytes((world_index,)) + inputs.crafted_envelope(k, w.signer,
                                                             w.recipient.certificate)
            for k in inputs.CRAFTED]
    return out


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """A structure-aware mutation of ``data`` (see the module docstring)."""
    import atheris

    rng = random.Random(seed)
    roll = rng.random()
    outer_pool, inner_pool = inputs.splice_pools()
    if roll < 0.35 or not data:
        envelope, recipient, _ = inputs.fuzz_case(rng)
        index = recipients().index(recipient)
        out = bytes((index,)) + envelope
    elif roll < 0.65:
        recipient, envelope = split(data)
        try:
            inner = env.decrypt_content(envelope, recipient.credentials)
        except JukiError:
            inner = None
        if inner is None:
            out = data[:1] + der_tree.mutate(envelope, rng, outer_pool)
        else:
            out = data[:1] + env.encrypt_content(der_tree.mutate(inner, rng, inner_pool),
                                                 recipient.certificate)
    elif roll < 0.9:
        out = data[:1] + der_tree.mutate(data[1:], rng, outer_pool)
    else:
        out = bytes(atheris.Mutate(data, len(data) + 64))
    return out[:max_size]


def _run_atheris(argv: list[str]) -> None:
    import atheris

    warnings.simplefilter("ignore")
    if not any(not a.startswith("-") for a in argv[1:]):
        corpus = Path(tempfile.mkdtemp(prefix="juki-envelope-corpus-"))
        for i, s in enumerate(seeds()):
            (corpus / f"seed-{i:03d}").write_bytes(s)
        argv = [*argv, str(corpus)]
    inputs.splice_pools()         # build the seeds before instrumenting
    # Coverage of the Python code already imported: the opener, the parsers, asn1crypto
    # (cryptography's parsing is native and not seen).
    atheris.instrument_all()
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


def run_loop(count: int, seed: str = "0") -> collections.Counter[str]:
    """Open ``count`` inputs of :func:`fuzz.inputs.fuzz_case`; the tally of outcomes.
    Raises the first exception that is not a JukiError."""
    tally: collections.Counter[str] = collections.Counter()
    for i in range(count):
        envelope, recipient, kind = inputs.fuzz_case(random.Random(f"{seed}:{i}"))
        try:
            code = inputs.open_or_refuse(envelope, recipient)
        except Exception:
            print(f"input {seed}:{i} ({kind}) raised:\n{traceback.format_exc()}"
                  f"envelope: {envelope.hex()}", file=sys.stderr)
            raise
        tally[f"{kind} {code or 'opened'}"] += 1
    return tally


def _main(argv: list[str]) -> None:
    if len(argv) > 1 and argv[1] == "atheris":
        _run_atheris([argv[0], *argv[2:]])
        return
    if len(argv) < 3 or argv[1] != "loop":
        raise SystemExit(__doc__)
    warnings.simplefilter("ignore")
    count, seed = int(argv[2]), argv[3] if len(argv) > 3 else "0"
    started = time.monotonic()
    tally = run_loop(count, seed)
    seconds = time.monotonic() - started
    for outcome, n in sorted(tally.items()):
        print(f"{n:9d}  {outcome}")
    print(f"{count} inputs (seed {seed!r}), none unhandled, in {seconds:.0f} s")


if __name__ == "__main__":
    _main(sys.argv)
