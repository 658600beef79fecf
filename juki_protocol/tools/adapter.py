"""The reference codec-mode adapter: JSON lines on stdin, JSON lines on stdout.

This is the example a vendor copies: ``spec/conformance.md`` specifies the protocol and
``juki-conformance run --adapter "CMD"`` drives any program that speaks it. One request
per line, one response per line, in order:

    {"id": 1, "op": "hello"}
    {"id": 1, "ok": true, "implementation": "...", "version": "...", "ops": [...]}
    {"id": 2, "op": "decode", "type": "IdentityInfoUpdate", "profile": "current",
     "der": "66..."}
    {"id": 2, "ok": true, "type": "IdentityInfoUpdate", "value": {...}}
    {"id": 3, "op": "encode", "type": "...", "profile": "current", "value": {...}}
    {"id": 3, "ok": false, "error": {"code": 1020, "name": "INVALID_RESIDENT_CODE",
                                     "message": "..."}}

Run it with ``python -m juki_protocol.tools.adapter``. It never exits on bad input: a line that
is not a valid request gets an error response with code 1030 INVALID_JSON, with the
request's ``id`` or, for a line that is not a JSON object, ``null``; a blank line gets
no answer, nor does ``{"op": "quit"}``, after which it exits (spec/conformance.md
R-CONF-16, R-CONF-17).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import IO, Any

from juki_protocol import __version__
from juki_protocol import identifiers as ids
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.messages import PduHeader, Profile
from juki_protocol.messages.base import from_form, message

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@message
class _Now:
    """Parses a request's ``now`` with the JSON time rules (spec/json.md)."""

    now: dt.datetime


def _profile(req: dict[str, Any]) -> Profile | None:
    """The request's profile: ``current`` or ``p2002``, the ASN.1 identifiers of
    ``Profile`` that spec/conformance.md section 1 names for this field; ``2002`` is
    not one of them."""
    text = req.get("profile")
    if text is None:
        return None
    if text not in ("current", "p2002"):
        raise JukiError(f"profile {text!r} is not current or p2002",
                        code=ErrorCode.INVALID_JSON, field="profile")
    return Profile(text)


def _require(req: dict[str, Any], key: str, kind: type) -> Any:
    value = req.get(key)
    if not isinstance(value, kind):
        raise JukiError(f"request field {key!r} must be a {kind.__name__}",
                        code=ErrorCode.INVALID_JSON, field=key)
    return value


def op_hello(req: dict[str, Any]) -> dict[str, Any]:
    return {"implementation": "juki-protocol reference codec", "version": __version__,
            "ops": sorted(OPS), "profiles": ["current", "p2002"]}


def op_encode(req: dict[str, Any]) -> dict[str, Any]:
    type_name = _require(req, "type", str)
    value = _require(req, "value", dict)
    return {"der": codec.encode_json(type_name, value, _profile(req) or Profile.CURRENT).hex()}


def op_decode(req: dict[str, Any]) -> dict[str, Any]:
    text = _require(req, "der", str)
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise JukiError("request field 'der' is not hex", code=ErrorCode.INVALID_JSON,
                        field="der") from None
    type_name = req.get("type")
    if type_name is not None and not isinstance(type_name, str):
        raise JukiError("request field 'type' must be a string", code=ErrorCode.INVALID_JSON)
    # Codec mode checks the header's version too (R-PDU-45), not only a node.
    decoded = codec.decode_full(data, type_name, _profile(req), codec.PROTOCOL_VERSIONS)
    return {"type": decoded.type_name, "value": codec.to_json(decoded.message)}


def op_check_code(req: dict[str, Any]) -> dict[str, Any]:
    kind = _require(req, "kind", str)
    value = _require(req, "code", str)
    check = {"resident": ids.validate_resident_code, "local-gov": ids.validate_local_gov_code,
             "individual": ids.validate_individual_number}.get(kind)
    if check is None:
        raise JukiError(f"kind {kind!r} is not resident, local-gov or individual",
                        code=ErrorCode.INVALID_JSON, field="kind")
    check(value)
    return {"valid": True}


def _pems(req: dict[str, Any], key: str) -> list[str]:
    value = req.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise JukiError(f"request field {key!r} must be a list of PEM strings",
                        code=ErrorCode.INVALID_JSON, field=key)
    return value


def request_time(req: dict[str, Any]) -> dt.datetime:
    """The request's ``now`` as an aware datetime (1030 naming the field when it is
    missing or not a UTC time YYYY-MM-DDTHH:MM:SSZ). Public for handlers that replace an op
    (the selftest's faulty adapter) and must read time exactly as the real ones do."""
    value = _require(req, "now", str)
    return from_form(_Now, {"now": value}, json=True).now


def _header(obj: Any) -> PduHeader | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise JukiError("header must be an object or null", code=ErrorCode.INVALID_JSON,
                        field="header")
    return from_form(PduHeader, obj, json=True)


def op_open(req: dict[str, Any]) -> dict[str, Any]:
    """Open an envelope as its recipient, checking everything (spec/pdu.md section 7).

    Replay checks are stateless here: ``preceding`` lists envelopes (with headers)
    opened first, with the same replay cache, before ``envelope`` itself."""
    from juki_protocol.envelope import envelope as env
    from juki_protocol.envelope import pki

    creds_in = req.get("credentials")
    if not isinstance(creds_in, list) or not creds_in:
        raise JukiError("request field 'credentials' must be a non-empty list",
                        code=ErrorCode.INVALID_JSON, field="credentials")
    creds = [pki.Credential(pki.load_private_key(_require(c, "privateKey", str).encode()),
                            pki.load_certificate(_require(c, "certificate", str).encode()))
             for c in creds_in]
    trust = pki.TrustStore(
        anchors=tuple(pki.load_certificate(p.encode()) for p in _pems(req, "trustAnchors")),
        crls=tuple(pki.load_crl(p.encode()) for p in _pems(req, "crls")))
    now = request_time(req)
    window = dt.timedelta(seconds=int(req.get("timeWindowSeconds", 300)))
    cache = env.ReplayCache(window)
    items = [*req.get("preceding", []), {"envelope": _require(req, "envelope", str),
                                         "header": req.get("header")}]
    opened = None
    for item in items:
        try:
            data = bytes.fromhex(_require(item, "envelope", str))
        except ValueError:
            raise JukiError("envelope is not hex", code=ErrorCode.INVALID_JSON,
                            field="envelope") from None
        opened = env.open_envelope(data, creds, trust, now, header=_header(item.get("header")),
                                   replay_cache=cache, time_window=window)
    assert opened is not None
    return {"message": opened.message_der.hex(), "signer": str(opened.signer)}


def op_seal(req: dict[str, Any]) -> dict[str, Any]:
    """Seal ``message`` (hex DER) under ``header`` from the sender to the recipient."""
    from juki_protocol.envelope import envelope as env
    from juki_protocol.envelope import pki

    header = _header(_require(req, "header", dict))
    assert header is not None
    try:
        message = bytes.fromhex(_require(req, "message", str))
    except ValueError:
        raise JukiError("message is not hex", code=ErrorCode.INVALID_JSON,
                        field="message") from None
    sealed = env.seal(header, message,
                      pki.load_private_key(_require(req, "senderKey", str).encode()),
                      pki.load_certificate(_require(req, "senderCert", str).encode()),
                      pki.load_certificate(_require(req, "recipientCert", str).encode()),
                      request_time(req))
    return {"envelope": sealed.hex()}


OPS: dict[str, Handler] = {"hello": op_hello, "encode": op_encode, "decode": op_decode,
                           "check_code": op_check_code, "seal": op_seal, "open": op_open}


def handle_line(line: str, ops: dict[str, Handler] | None = None) -> dict[str, Any]:
    """Answer one request line; never raises."""
    table = OPS if ops is None else ops
    rid: Any = None
    try:
        req = json.loads(line)
        if not isinstance(req, dict):
            raise JukiError("a request is a JSON object", code=ErrorCode.INVALID_JSON)
        rid = req.get("id")
        op = req.get("op")
        handler = table.get(op) if isinstance(op, str) else None
        if handler is None:
            raise JukiError(f"unknown op {op!r}; known: {', '.join(sorted(table))}",
                            code=ErrorCode.INVALID_JSON, field="op")
        return {"id": rid, "ok": True, **handler(req)}
    except JukiError as exc:
        return {"id": rid, "ok": False, "error": {"code": int(exc.error_code),
                                                  "name": exc.error_code.name,
                                                  "message": str(exc)}}
    except (ValueError, RecursionError) as exc:
        return {"id": rid, "ok": False, "error": {"code": int(ErrorCode.INVALID_JSON),
                                                  "name": "INVALID_JSON",
                                                  "message": f"bad request: {exc}"}}
    except Exception as exc:  # the adapter reports its own failures, never dies
        return {"id": rid, "ok": False, "error": {"code": int(ErrorCode.INTERNAL_ERROR),
                                                  "name": "INTERNAL_ERROR",
                                                  "message": repr(exc)}}


def serve(stdin: IO[str], stdout: IO[str], ops: dict[str, Handler] | None = None) -> None:
    """Answer requests until end of input or an ``{"op": "quit"}`` request, which is
    not answered (R-CONF-17). A line of spaces, tabs and a carriage return is skipped;
    any other line is answered, even one of other white space (R-CONF-16)."""
    for line in stdin:
        if not line.strip(" \t\r\n"):
            continue
        if _is_quit(line):
            break
        stdout.write(json.dumps(handle_line(line, ops), ensure_ascii=False) + "\n")
        stdout.flush()


def _is_quit(line: str) -> bool:
    try:
        req = json.loads(line)
    except ValueError:
        return False
    return isinstance(req, dict) and req.get("op") == "quit"


def main() -> None:
    sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
