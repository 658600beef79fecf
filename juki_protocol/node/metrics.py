"""A node's metrics in the Prometheus exposition format, and its health.

Theory of operation
-------------------
:class:`NodeMetrics` holds one node's metrics in a registry of its own (never
prometheus_client's global one, so that several nodes in one process, as in the tests
and ``juki network up``, keep theirs apart). ``juki node serve --metrics HOST:PORT``
makes one and hands it to the node in :class:`~juki_protocol.node.node.NodeConfig`, so
that a restart through the upper tester keeps counting in the same registry. The node
calls it at a few points of :mod:`juki_protocol.node.node` (as the endpoint's
observer); nothing here decides anything about a PDU:

``juki_pdus_received_total{type, result}``
    PDUs received, by the header's message type (``unknown`` when it could not be read)
    and what became of them: the status of the acknowledgement (``accepted``,
    ``duplicate``) or the registered error code of the refusal sent (``2001``...); for
    answers received, the acknowledgement's status or the error report's code. A
    refusal is counted when it is sent, the rest once their transaction is committed.
``juki_pdu_handling_seconds``
    For each PDU, the seconds from the read that brought it to the end of its
    answering (each PDU of one read observes that read's time: the group is committed
    and answered together, spec/node.md section 6).
``juki_storage_commit_seconds``
    The commit (with its fsync) of each receiving transaction, alone.
``juki_unacknowledged_messages``, ``juki_pending_handshakes``, ``juki_connections``
    Queue lengths read at each scrape: sealed messages sent and not yet answered, TLS
    handshakes pending at the gate (R-NODE-46), open connections with peer nodes.
``juki_node_info{node, role}``, ``juki_uptime_seconds``
    Which node this is, and since when it serves.

:class:`MetricsServer` serves ``GET /metrics`` (the text format) and ``GET /health``
(JSON: ``ok``, ``node``, ``role``, ``uptime``, ``db``; status 503 when not ok) with a
plain asyncio server, on loopback unless told otherwise. A request is one line and its
headers, read within a few seconds and a few kilobytes; every answer closes the
connection. Neither page carries personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Protocol, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

T = TypeVar("T")
#: Seconds for a scraper to send its request line and headers.
REQUEST_TIMEOUT = 5.0
#: Octets of one request line or header; lines of headers in a request.
MAX_LINE = 8192
MAX_HEADERS = 100
_COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0)


class Watched(Protocol):
    """What the metrics read of a running node (:class:`~juki_protocol.node.node.Node`)."""

    node: Any
    config: Any
    storage: Any
    gate: Any
    connections: dict[str, Any]
    port: int | None

    @property
    def waiting(self) -> dict[bytes, Any]: ...


class _Timed(AbstractContextManager[T]):
    """A transaction whose commit (its ``__exit__`` without an error) is timed."""

    def __init__(self, inner: AbstractContextManager[T], histogram: Histogram) -> None:
        self._inner = inner
        self._histogram = histogram

    def __enter__(self) -> T:
        return self._inner.__enter__()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        start = time.perf_counter()
        suppress = self._inner.__exit__(kind, exc, tb)
        if kind is None:              # committed (a failed commit raised above)
            self._histogram.observe(time.perf_counter() - start)
        return suppress


class _Queues(Collector):
    """The gauges read from the node at each scrape."""

    def __init__(self, metrics: NodeMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        node = self._metrics.current()
        info = GaugeMetricFamily("juki_node_info", "The node this is.",
                                 labels=["node", "role"])
        info.add_metric([self._metrics.node, self._metrics.role], 1)
        yield info
        yield GaugeMetricFamily("juki_uptime_seconds", "Seconds since the node started.",
                                value=self._metrics.uptime())
        if node is None:
            return
        yield GaugeMetricFamily("juki_unacknowledged_messages",
                                "Sealed messages sent and not yet answered.",
                                value=len(node.waiting))
        yield GaugeMetricFamily("juki_pending_handshakes",
                                "TLS handshakes pending at the gate (R-NODE-46).",
                                value=len(node.gate))
        yield GaugeMetricFamily("juki_connections", "Open connections with peer nodes.",
                                value=len(node.connections))


class NodeMetrics:
    """The metrics of one node, in a registry of their own (see the module docstring)."""

    def __init__(self, node: str, role: str) -> None:
        self.node = node
        self.role = role
        self.registry = CollectorRegistry(auto_describe=False)
        self.started = time.monotonic()
        self._current: Callable[[], Watched | None] = lambda: None
        self.pdus = Counter("juki_pdus_received", "PDUs received, by message type and "
                            "what became of them (acknowledgement status or error code).",
                            ["type", "result"], registry=self.registry)
        self.handling = Histogram("juki_pdu_handling_seconds", "Seconds from the read of "
                                  "a PDU to the end of its answering.",
                                  registry=self.registry)
        self.commits = Histogram("juki_storage_commit_seconds", "Seconds of the commit "
                                 "(with its fsync) of a receiving transaction.",
                                 buckets=_COMMIT_BUCKETS, registry=self.registry)
        self.registry.register(_Queues(self))

    def watch(self, current: Callable[[], Watched | None]) -> None:
        """Read the queue gauges and the health of ``current()`` (the node now serving:
        a restart replaces it)."""
        self._current = current

    def current(self) -> Watched | None:
        """The node being watched, if any."""
        return self._current()

    def uptime(self) -> float:
        """Seconds since these metrics were made (when the node was started)."""
        return time.monotonic() - self.started

    # Called by the node ---------------------------------------------------------------

    def received(self, mtype: str, result: str) -> None:
        """Count one PDU received of type ``mtype`` and its ``result``."""
        self.pdus.labels(mtype if mtype and mtype != "-" else "unknown", result).inc()

    def handled(self, count: int, seconds: float) -> None:
        """``count`` PDUs of one read, answered ``seconds`` after the read."""
        for _ in range(count):
            self.handling.observe(seconds)

    def timed(self, transaction: AbstractContextManager[T]) -> AbstractContextManager[T]:
        """``transaction`` with its commit timed."""
        return _Timed(transaction, self.commits)

    # Served ---------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)

    def health(self) -> dict[str, object]:
        """``ok`` when the node listens and its database answers; its id, role, uptime
        and whether the database is reachable."""
        node = self.current()
        db = False
        if node is not None:
            # Any failure of the database, whatever its driver, means "not reachable".
            with contextlib.suppress(Exception):
                db = node.storage.conn.execute("SELECT 1").fetchone() is not None
        listening = node is not None and (node.port is not None
                                          or node.config.listen is None)
        return {"ok": bool(db and listening), "node": self.node, "role": self.role,
                "uptime": round(self.uptime(), 3), "db": db}


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}


class MetricsServer:
    """``/metrics`` and ``/health`` of ``metrics`` on ``host:port`` (port 0: any)."""

    def __init__(self, metrics: NodeMetrics, host: str = "127.0.0.1", port: int = 0) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the port."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port,
                                                  limit=MAX_LINE)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def answer(self, method: str, target: str) -> tuple[int, str, bytes]:
        """Status, content type and body of a request."""
        path = target.split("?", 1)[0]
        if path not in ("/metrics", "/health"):
            return 404, "text/plain; charset=utf-8", b"not found: try /metrics or /health\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"only GET\n"
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, self.metrics.exposition()
        health = self.metrics.health()
        return (200 if health["ok"] else 503, "application/json",
                json.dumps(health).encode("ascii") + b"\n")

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str] | None:
        line = await reader.readline()
        for _ in range(MAX_HEADERS):
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
        else:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return None
        return parts[0], parts[1]

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(self._read_request(reader), REQUEST_TIMEOUT)
            if request is None:
                status, kind, body = 400, "text/plain; charset=utf-8", b"bad request\n"
            else:
                status, kind, body = self.answer(*request)
            head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
            writer.write(head.encode("ascii")
                         + (b"" if request is not None and request[0] == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):
            pass       # a scraper that is too slow, too long, or gone: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


__all__ = ["MetricsServer", "NodeMetrics", "Watched"]
