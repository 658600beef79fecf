"""The upper tester's wire form: JSON lines over mutual TLS (spec/node.md section 4).

Theory of operation
-------------------
A conformance runner in node mode plays the node's peers over the network (the lower
tester) and, through this interface, triggers the node's local events and reads what
the node holds (the upper tester, ISO/IEC 9646). :class:`UpperTester` listens on its own
address, loopback only unless the operator allows another for an isolated test network
(``--upper-tester-remote``, logged; R-NODE-21), since any network certificate opens it,
with the node's own TLS server context: TLS 1.3, and the client must present a
certificate issued by the network CA (any role; the runner uses the certificate of one
of the peers it plays). It is a test interface, off unless the
operator starts it (``juki node serve --upper-tester HOST:PORT``).

Each request is one UTF-8 JSON object on one line, ``{"id": ..., "op": ..., ...}``;
each answer is one line with the same ``id`` and ``"ok": true`` and the op's fields, or
``"ok": false`` and ``error: {code, name, message}`` with a registered code
(spec/errors.md), as in the codec adapter protocol (spec/conformance.md). Local events
run through :meth:`Node.local`, so their effects are committed before anything is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import json
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from juki_protocol import __version__
from juki_protocol.envelope import pki
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.node import (
    audit,
    upper_agency,
    upper_audit,
    upper_card,
    upper_card_register,
    upper_designation,
    upper_disclosure,
    upper_family_register,
    upper_flows,
    upper_operators,
    upper_register,
    upper_suspension,
)
from juki_protocol.node.clock import TestClock
from juki_protocol.node.node import Node
from juki_protocol.node.roles import CentralRole, MunicipalityRole
from juki_protocol.node.transport import peer_certificate
from juki_protocol.node.upper_card import CARD_DESKS, CardDesk
from juki_protocol.node.upper_ops import OPS, bad, number, op, text, timestamp

logger = logging.getLogger(__name__)
#: The longest request line the upper tester reads.
MAX_LINE = 1024 * 1024
#: The op modules, imported for their registrations.
OP_MODULES = (upper_agency, upper_audit, upper_card, upper_card_register, upper_designation,
              upper_disclosure, upper_flows, upper_operators, upper_register,
              upper_family_register, upper_suspension)
#: Restart the node on its own storage and keys (see :meth:`UpperTester.restart`).
Restart = Callable[[], Awaitable[Node]]


def _error(code: ErrorCode, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": int(code), "name": code.name, "message": message}}


def _not_offered(what: str) -> JukiError:
    return JukiError(f"this node does not offer {what}", code=ErrorCode.NOT_OFFERED)


@op("hello")
async def op_hello(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Who the node is and what it offers (``ops``: the ops it serves, ``clock`` and
    ``fail_next_commit`` only when it was started with them); ``now``: its clock."""
    ops = [*OPS]
    if not isinstance(node.clock, TestClock):
        ops.remove("clock")
    if not node.config.fault_injection:
        ops.remove("fail_next_commit")
    return {"implementation": "juki-protocol reference node", "version": __version__,
            "node": str(node.node), "role": node.config.role, "ops": sorted(ops),
            "maxFrame": node.config.max_frame,
            "timeWindowSeconds": int(node.config.time_window.total_seconds()),
            "now": node.now().isoformat()}


@op("status")
async def op_status(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """What the node holds: identity info and numbering (prefecture, national), or the
    register and the updates sent (municipality)."""
    h = node.handler
    out: dict[str, Any] = {"node": str(node.node), "role": node.config.role}
    if isinstance(h, CentralRole):
        last = node.storage.last_sequences()
        out["identityInfo"] = {"current": node.storage.count_identity(),
                               "versions": node.storage.count_identity(False)}
        out["lastSequence"] = dict(sorted(last.items()))
        relays = getattr(h.receiver, "relays", None)
        if relays is not None:
            out["relays"] = {"lastSequence": relays.next_sequence - 1,
                             "unacknowledged": len(relays.outbox)}
    elif isinstance(h, MunicipalityRole):
        out["residents"] = len(h.register.records)
        out["updates"] = {"lastSequence": h.updater.next_sequence - 1,
                          "unacknowledged": len(h.updater.outbox)}
    return out


@op("identity_versions")
async def op_identity_versions(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Prefecture, national: how many versions of one person's identity info the node
    holds and whether the person is current, so that a runner sees retention at work
    (R-NODE-05) without reading any personal data."""
    if not isinstance(node.handler, CentralRole):
        raise JukiError("identity_versions is a prefecture or national op",
                        code=ErrorCode.ROLE_NOT_ALLOWED)
    code = text(req, "residentCode")
    if not (len(code) == 11 and code.isascii() and code.isdigit()):
        raise bad("residentCode must be 11 digits")
    versions, current = node.storage.identity_versions(code)
    return {"versions": versions, "current": current}


@op("fire_timers")
async def op_fire_timers(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Fire every machine timer that is due now."""
    await node.fire_due_timers()
    return {}


@op("clock")
async def op_clock(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The test clock: read it (no field), ``set`` it to an ISO time or ``advance`` it
    by a number of seconds; then whatever fell due runs (timers, the retention purge,
    the duplicate window) as it would when that time had passed."""
    clock = node.clock
    if not isinstance(clock, TestClock):
        raise _not_offered("a test clock (juki node serve --test-clock)")
    if "set" in req and "advance" in req:
        raise bad("give set or advance, not both")
    if "set" in req:
        clock.set(timestamp(req, "set"))
    elif "advance" in req:
        clock.advance(number(req, "advance"))
    if "set" in req or "advance" in req:
        node.housekeep()
        await node.fire_due_timers()
    return {"now": node.now().isoformat()}


@op("audit_log")
async def op_audit_log(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The node's audit log rows numbered above ``after`` (default 0), at most
    ``limit`` (default 1000): what spec/node.md section 3 says an entry holds, with
    persons as masked resident codes only (R-NODE-07)."""
    after = int(number(req, "after", default=0))
    limit = int(number(req, "limit", default=1000, minimum=1))
    rows = audit.read(node.storage.conn, after, min(limit, 10_000))
    return {"rows": [{"seq": r["seq"], "at": r["at"], "direction": r["direction"],
                      "operator": r["operator"], "peer": r["peer"],
                      "messageType": r["message_type"], "messageId": r["message_id"],
                      "result": r["result"],
                      "subjects": [x for x in str(r["subjects"]).split(",") if x]}
                     for r in rows]}


@op("fail_next_commit")
async def op_fail_next_commit(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Fault injection: the next ``count`` (default 1) commits of the node's storage
    fail as a full disk would (``juki node serve --fault-injection``)."""
    if not node.config.fault_injection:
        raise _not_offered("fault injection (juki node serve --fault-injection)")
    count = int(number(req, "count", default=1, minimum=1))
    node.storage.fail_commits = min(count, 100)
    return {"armed": node.storage.fail_commits}


async def handle_line(node: Node, line: bytes, *, restart: Restart | None = None
                      ) -> dict[str, Any]:
    """The answer to one request line (never raises). ``restart``: how op ``restart``
    restarts the node (absent: the op is not offered)."""
    try:
        req = json.loads(line)
    except (ValueError, RecursionError):     # also bad UTF-8, deep nesting
        return _error(ErrorCode.INVALID_JSON, "the request is not JSON")
    if not isinstance(req, dict):
        return _error(ErrorCode.INVALID_JSON, "the request is not a JSON object")
    rid = req.get("id")
    name = req.get("op")
    handler = OPS.get(name) if isinstance(name, str) else None
    if name == "restart":
        if restart is None:
            return {"id": rid, **_error(ErrorCode.NOT_OFFERED,
                                        "this node does not offer restart")}
        try:
            node = await restart()
        except Exception as exc:  # the interface keeps serving; the log has the trace
            logger.exception("%s: restart failed", node.node)
            return {"id": rid, **_error(ErrorCode.INTERNAL_ERROR, type(exc).__name__)}
        return {"id": rid, "ok": True, "node": str(node.node), "now": node.now().isoformat()}
    if handler is None:
        return {"id": rid, **_error(ErrorCode.INVALID_JSON, f"unknown op {name!r}")}
    try:
        # Local actions run within an operator session (spec/node.md section 4.8).
        answer = {"id": rid, "ok": True, **await upper_operators.run(node, str(name), req, handler)}
        if name == "hello" and restart is not None:
            answer["ops"] = sorted([*answer["ops"], "restart"])
        return answer
    except JukiError as exc:
        code = exc.error_code if isinstance(exc.error_code, ErrorCode) \
            else ErrorCode.INTERNAL_ERROR
        return {"id": rid, **_error(code, str(exc))}
    except Exception as exc:  # the interface keeps serving; the log has the trace
        logger.exception("%s: upper tester op %s failed", node.node, req.get("op"))
        return {"id": rid, **_error(ErrorCode.INTERNAL_ERROR, type(exc).__name__)}


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _not_loopback(where: str) -> JukiError:
    return JukiError(f"the upper tester is a test interface and listens on loopback only, "
                     f"not on {where}, unless --upper-tester-remote allows it for an "
                     f"isolated test network (spec/node.md R-NODE-21)",
                     code=ErrorCode.NOT_OFFERED)


def check_upper_address(host: str, *, allow_remote: bool = False) -> None:
    """Raise 1032 NOT_OFFERED unless every address ``host`` stands for is a loopback
    address or ``allow_remote`` (R-NODE-21). An empty host means every interface."""
    if allow_remote:
        return
    try:
        infos = socket.getaddrinfo(host or None, 0, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise JukiError(f"the upper tester address {host!r} does not resolve: {exc}",
                        code=ErrorCode.NOT_OFFERED) from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses or not all(_is_loopback(a) for a in addresses):
        raise _not_loopback(host or "every interface")


class UpperTester:
    """The upper tester of ``node``, listening on ``host:port`` (port 0: any)."""

    def __init__(self, node: Node, host: str = "127.0.0.1", port: int = 0, *,
                 restartable: bool = True) -> None:
        self.node = node
        self.host = host
        self.port = port
        self.restartable = restartable
        self._server: asyncio.Server | None = None
        self._lock = asyncio.Lock()

    async def restart(self) -> Node:
        """Op ``restart``: stop the node as a shutdown would (connections closed,
        timers cancelled, storage closed, every machine dropped), then start a new node
        of the same class on the same configuration, database, keys, clock and listening
        port, rebuilt from its durable storage alone (spec/node.md section 4)."""
        old = self.node
        config = old.config
        if config.listen is not None and old.port:
            config = dataclasses.replace(config, listen=(config.listen[0], old.port))
        await old.stop()
        new = type(old)(config, clock=old.clock)
        await new.start()
        self.node = new
        return new

    async def start(self, *, allow_remote: bool = False) -> int:
        """Listen; returns the port. Only on loopback unless ``allow_remote`` (an
        isolated test network; logged): anything else is refused with 1032 NOT_OFFERED
        before and after binding (R-NODE-21)."""
        check_upper_address(self.host, allow_remote=allow_remote)
        self._server = await asyncio.start_server(self._on_client, self.host, self.port,
                                                  ssl=self.node.server_ctx, limit=MAX_LINE)
        bound = [str(s.getsockname()[0]) for s in self._server.sockets]
        if not allow_remote and not all(_is_loopback(a) for a in bound):
            await self.stop()
            raise _not_loopback(", ".join(bound))
        self.port = int(self._server.sockets[0].getsockname()[1])
        if allow_remote and not all(_is_loopback(a) for a in bound):
            logger.warning("%s: the upper tester, a test interface, listens on %s, not "
                           "on loopback (--upper-tester-remote): for an isolated test "
                           "network only", self.node.node, ", ".join(bound))
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        try:
            # The handshake already required a certificate of the network CA; check it
            # against the network profile as for a peer node.
            who = pki.validate_certificate(peer_certificate(writer), self.node.trust,
                                           self.node.now(), pki.KeyPurpose.SIGNING)
        except (JukiError, ValueError) as exc:
            logger.warning("%s: upper tester refused a client: %s", self.node.node, exc)
            writer.close()
            return
        logger.info("%s: upper tester client %s", self.node.node, who)
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    break
                except asyncio.LimitOverrunError:
                    writer.write((json.dumps(_error(ErrorCode.INVALID_JSON,
                                                    "request line too long")) + "\n")
                                 .encode())
                    break
                if not line.strip():
                    continue
                async with self._lock:       # one op at a time, across connections
                    answer = await handle_line(
                        self.node, line, restart=self.restart if self.restartable else None)
                writer.write((json.dumps(answer, ensure_ascii=False) + "\n").encode("utf-8"))
                await writer.drain()
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            logger.info("%s: upper tester connection ended: %s", self.node.node, exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)


__all__ = ["CARD_DESKS", "OPS", "OP_MODULES", "CardDesk", "UpperTester",
           "check_upper_address", "handle_line"]
