"""A codec adapter with one deliberate fault, chosen by ``--fault NAME``.

Each fault mimics a real implementation mistake. ``tests/test_conformance.py`` runs the
suite against every fault and checks that it fails on the cases named in
:data:`EXPECTED`; the README reports the kill rate.

    python -m juki_conformance.selftest.faulty_adapter --fault lenient-der
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import asn1tools
from asn1tools.codecs import constraints_checker

from juki_protocol import identifiers as ids
from juki_protocol.codec import codec
from juki_protocol.codec.schema import compiled
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.messages import MESSAGE_TYPES
from juki_protocol.messages.base import from_form
from juki_protocol.tools import adapter


def _lenient_decode(req: dict[str, Any]) -> dict[str, Any]:
    """Decodes with plain asn1tools: accepts BER lengths and trailing bytes."""
    type_name = req.get("type") or "JukiPdu"
    try:
        value = compiled().decode(type_name, bytes.fromhex(req["der"]), check_constraints=True)
    except asn1tools.Error as exc:
        raise JukiError(str(exc), code=ErrorCode.DER_MALFORMED) from exc
    msg: Any = from_form(MESSAGE_TYPES[type_name], value, json=False)
    return {"type": type_name, "value": codec.to_json(msg)}


def _wrong_weights(value: object, field: str = "resident_code") -> str:
    """Check digit with weights 2..11 left to right: a plausible misreading."""
    v = str(value)
    if len(v) != 11 or not v.isdigit():
        raise JukiError("bad length", code=ErrorCode.INVALID_RESIDENT_CODE, field=field)
    r = sum(int(d) * w for d, w in zip(v[:10], range(2, 12), strict=True)) % 11
    if int(v[10]) != (0 if r <= 1 else 11 - r):
        raise JukiError("bad check digit", code=ErrorCode.INVALID_RESIDENT_CODE, field=field)
    return v


def _exclusive_upper(self: Any, data: int) -> None:
    """Reads an INTEGER range ``(a..b)`` as half-open: ``b`` itself is refused."""
    if (self.has_lower_bound() and data < self.minimum) or \
            (self.has_upper_bound() and data >= self.maximum):
        raise constraints_checker.ConstraintsError(
            f"Expected an integer between {self.minimum} and {self.maximum}, but got {data}.")


def _hang_on_deep(req: dict[str, Any]) -> dict[str, Any]:
    if len(req.get("der", "")) > 4000 and req["der"].startswith("3082"):
        time.sleep(3600)
    return adapter.op_decode(req)


def _crash_on_random(req: dict[str, Any]) -> dict[str, Any]:
    try:
        return adapter.op_decode(req)
    except JukiError:
        first = int(req["der"][:2] or "0", 16)
        if "type" in req and not 0x60 <= first <= 0x7F and first != 0x30:
            sys.exit(3)   # dies on input that is not even a tagged value
        raise


def _reject_extensions(req: dict[str, Any]) -> dict[str, Any]:
    decoded = codec.decode_full(bytes.fromhex(req["der"]), req.get("type"))
    if decoded.unknown_extensions:
        raise JukiError("unknown element", code=ErrorCode.DER_MALFORMED)
    return adapter.op_decode(req)


def _skip_profile(req: dict[str, Any]) -> dict[str, Any]:
    return adapter.op_decode({k: v for k, v in req.items() if k != "profile"})


def _wrong_code_on_trailing(req: dict[str, Any]) -> dict[str, Any]:
    try:
        return adapter.op_decode(req)
    except JukiError as exc:
        if exc.error_code is ErrorCode.DER_TRAILING_DATA:
            raise JukiError(str(exc), code=ErrorCode.DER_MALFORMED) from exc
        raise


def _skip_signature_check(req: dict[str, Any]) -> dict[str, Any]:
    """Treats a bad signature as good: the fault the suite must never let through."""
    try:
        return adapter.op_open(req)
    except JukiError as exc:
        if exc.error_code is ErrorCode.SIGNATURE_INVALID:
            return {"message": "", "signer": "unchecked"}
        raise


def _accept_replays(req: dict[str, Any]) -> dict[str, Any]:
    """Keeps no memory of message ids: every envelope is opened as if new."""
    return adapter.op_open({k: v for k, v in req.items() if k != "preceding"})


def _seal_without_binding(req: dict[str, Any]) -> dict[str, Any]:
    """Seals like a generic CMS tool: no header-binding signed attributes."""
    import os

    from juki_protocol.envelope import pki
    from juki_protocol.envelope.envelope_parts import seal_from_parts

    sealed = seal_from_parts(
        None, bytes.fromhex(req["message"]), pki.load_private_key(req["senderKey"].encode()),
        pki.load_certificate(req["senderCert"].encode()),
        pki.load_certificate(req["recipientCert"].encode()),
        ephemeral_key=pki.generate_key(), cek=os.urandom(32), iv=os.urandom(12),
        now=adapter.request_time(req))
    return {"envelope": sealed.hex()}


FAULTS: dict[str, dict[str, adapter.Handler]] = {
    "skip-signature-check": {"open": _skip_signature_check},
    "accept-replays": {"open": _accept_replays},
    "seal-without-header-binding": {"seal": _seal_without_binding},
    "lenient-der": {"decode": _lenient_decode},
    "hang-on-deep-nesting": {"decode": _hang_on_deep},
    "crash-on-garbage": {"decode": _crash_on_random},
    "reject-unknown-extensions": {"decode": _reject_extensions},
    "ignore-profile": {"decode": _skip_profile},
    "wrong-code-for-trailing-data": {"decode": _wrong_code_on_trailing},
}

#: For each fault, case-id globs of which at least one must fail.
EXPECTED: dict[str, list[str]] = {
    "skip-signature-check": ["pdu/envelope/open/tc12-*", "pdu/envelope/open/tc13-*"],
    "accept-replays": ["pdu/envelope/open/tc23-*"],
    "seal-without-header-binding": ["pdu/envelope/seal/*"],
    "lenient-der": ["*/long-form*", "*/one-octet-after-the-value", "*/indefinite-length"],
    "hang-on-deep-nesting": ["der/codec/robustness/nested-2000-deep"],
    "crash-on-garbage": ["der/codec/robustness/random-*"],
    "reject-unknown-extensions": ["*/extension-addition-*"],
    "ignore-profile": ["*/individual-number-absent-in-profile-current",
                       "*/individual-number-present-in-profile-2002"],
    "wrong-code-for-trailing-data": ["*/one-octet-after-the-value"],
    "wrong-check-digit-weights": ["identifiers/codec/resident-code/*"],
    "integer-range-exclusive-upper": ["der/codec/*/constraint-bounds"],
    "accept-any-resident-code": ["identifiers/codec/resident-code/wrong-check-digit"],
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fault", required=True, choices=sorted(EXPECTED))
    args = ap.parse_args(argv)
    ops = dict(adapter.OPS)
    ops.update(FAULTS.get(args.fault, {}))

    def hello(req: dict[str, Any]) -> dict[str, Any]:
        return {**adapter.op_hello(req), "implementation": f"faulty adapter ({args.fault})"}

    ops["hello"] = hello
    if args.fault == "wrong-check-digit-weights":
        ids.validate_resident_code = _wrong_weights
    if args.fault == "integer-range-exclusive-upper":
        constraints_checker.Integer.encode = _exclusive_upper
    if args.fault == "accept-any-resident-code":
        ids.validate_resident_code = lambda value, field="resident_code": str(value)
    sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    adapter.serve(sys.stdin, sys.stdout, ops)


if __name__ == "__main__":
    main()
