"""A codec adapter with one fault that only the model-based codec cases look for.

Used by ``tests/test_conformance_explore_codec.py`` (run as a script, not collected by
pytest); ``juki_conformance/selftest/faulty_adapter.py`` holds the faults the whole suite
must catch.

    python tests/explore_faulty_adapter.py --fault accept-long-form-length
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from juki_protocol.codec.codec import message_class
from juki_protocol.codec.schema import compiled
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.messages.base import json_to_raw
from juki_protocol.tools import adapter


def _minimal(data: bytes, pos: int = 0) -> tuple[bytes, int]:
    """Re-encode the BER value at ``pos`` with minimal definite lengths (the lenient
    reading of a long-form length); the value and the offset past it."""
    ident_end = pos + 1
    if data[pos] & 0x1F == 0x1F:
        while data[ident_end] & 0x80:
            ident_end += 1
        ident_end += 1
    first = data[ident_end]
    if first < 0x80:
        length, start = first, ident_end + 1
    else:
        n = first & 0x7F
        length = int.from_bytes(data[ident_end + 1:ident_end + 1 + n], "big")
        start = ident_end + 1 + n
    end = start + length
    content = data[start:end]
    if data[pos] & 0x20:
        parts, p = [], start
        while p < end:
            part, p = _minimal(data, p)
            parts.append(part)
        content = b"".join(parts)
    n = len(content)
    raw = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    head = bytes([n]) if n < 0x80 else bytes([0x80 | len(raw)]) + raw
    return data[pos:ident_end] + head + content, end


def _accept_long_form(req: dict[str, Any]) -> dict[str, Any]:
    """Reads a long-form length below 128 (and one with a leading zero octet) as the
    short form: the BER reading DER forbids (R-DER-02)."""
    try:
        return adapter.op_decode(req)
    except JukiError as exc:
        if exc.error_code is not ErrorCode.DER_NON_CANONICAL or "long" not in str(exc):
            raise
        try:
            data = bytes.fromhex(req["der"])
            fixed, end = _minimal(data)
        except (IndexError, ValueError):
            raise exc from None
        return adapter.op_decode({**req, "der": (fixed + data[end:]).hex()})


def _encode_unchecked(req: dict[str, Any]) -> dict[str, Any]:
    """Encodes the JSON value with the schema's constraint checks off (R-DER-07)."""
    type_name = req["type"]
    raw = json_to_raw(message_class(type_name), req["value"])
    return {"der": bytes(compiled().encode(type_name, raw, check_constraints=False)).hex()}


def _remap(wrong: dict[ErrorCode, ErrorCode]) -> adapter.Handler:
    """decode reporting one registered code where the spec names another."""
    def decode(req: dict[str, Any]) -> dict[str, Any]:
        try:
            return adapter.op_decode(req)
        except JukiError as exc:
            if exc.error_code in wrong:
                raise JukiError(str(exc), code=wrong[exc.error_code]) from exc
            raise
    return decode


def _maps_for_codes(req: dict[str, Any]) -> dict[str, Any]:
    """decode: every error code sent as a map, {"code": 1010} (R-CONF-16 wants a
    number); the harness must fail it with the input, not crash (R-CONF-10)."""
    try:
        return adapter.op_decode(req)
    except JukiError as exc:
        return {"ok": False, "error": {"code": {"code": int(exc.error_code)}}}


def _map_for_der(req: dict[str, Any]) -> dict[str, Any]:
    """encode: the DER sent as a map, {"hex": ...}, where a string is expected."""
    return {"der": {"hex": adapter.op_encode(req)["der"]}}


FAULTS: dict[str, dict[str, adapter.Handler]] = {
    "maps-for-codes-and-der": {"decode": _maps_for_codes, "encode": _map_for_der},
    "accept-long-form-length": {"decode": _accept_long_form},
    "encode-without-constraints": {"encode": _encode_unchecked},
    # R-DER-06: an unregistered outer tag reported as another registered type's.
    "unknown-type-as-unexpected-tag": {"decode": _remap(
        {ErrorCode.UNKNOWN_MESSAGE_TYPE: ErrorCode.DER_UNEXPECTED_TAG})},
    # R-DER-05: a value running past its container reported as non-canonical.
    "malformed-as-non-canonical": {"decode": _remap(
        {ErrorCode.DER_MALFORMED: ErrorCode.DER_NON_CANONICAL})},
    # R-DER-07: a decoded SIZE violation reported as malformed.
    "constraint-as-malformed": {"decode": _remap(
        {ErrorCode.CONSTRAINT_VIOLATION: ErrorCode.DER_MALFORMED})},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fault", required=True, choices=sorted(FAULTS))
    args = ap.parse_args()
    ops = {**adapter.OPS, **FAULTS[args.fault]}
    sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    adapter.serve(sys.stdin, sys.stdout, ops)


if __name__ == "__main__":
    main()
