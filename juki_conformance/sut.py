"""The system under test in codec mode: an adapter process speaking JSON lines.

The protocol is specified in ``spec/conformance.md``; :mod:`juki_protocol.tools.adapter` is
the reference. Each request has a timeout; a SUT that hangs or dies is restarted and the
case that caused it fails (the SUT's fault). A SUT that cannot be started at all is a
harness error.

What a failing case needs to be understood is kept with it (:meth:`AdapterSut.case_record`):
the last requests of the case and the adapter's answers, the exit status of an adapter
that ended during the case, and the tail of what the adapter wrote on its standard error
during the case, each bounded. The adapter runs in a process group of its own, so that
Ctrl-C at the terminal reaches the runner only; the runner stops the adapter.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import tempfile
import time
from typing import IO, Any

#: Bounds of what a case record keeps: the last requests and answers of the case, each
#: cut to ``RECORD_CHARS`` characters, and the last ``STDERR_TAIL`` octets of stderr.
KEPT_EXCHANGES = 4
RECORD_CHARS = 4096
STDERR_TAIL = 4096


def _cut(text: str, limit: int = RECORD_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class HarnessError(Exception):
    """The runner or its environment failed (verdict ``error``)."""


class SutFault(Exception):
    """The SUT misbehaved: timed out, exited, or answered with something not JSON."""


class Inconclusive(Exception):
    """A case's preamble could not be established: the SUT never reached the state the
    case needs (an upper tester op refused, a flow that never started), so the case
    can say neither pass nor fail (verdict ``inconclusive``)."""


class AdapterSut:
    """A running adapter process, restarted on demand."""

    def __init__(self, command: list[str], *, timeout: float = 10.0,
                 env: dict[str, str] | None = None) -> None:
        self.command = command
        self.timeout = timeout
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.next_id = 0
        self.hello: dict[str, Any] = {}
        self.restarts = 0
        #: The current case's requests and answers (``request``, ``response`` or
        #: ``fault``), the exit statuses of adapters that ended during it, and where its
        #: part of the shared stderr file starts.
        self.exchanges: list[dict[str, str]] = []
        self.exits: list[int] = []
        self._stderr: IO[bytes] | None = None
        self._stderr_mark = 0

    def start(self) -> dict[str, Any]:
        """Start the adapter and return its hello answer."""
        self.stop()
        try:
            self.proc = self._popen()
        except OSError as exc:
            raise HarnessError(f"cannot start the adapter {self.command!r}: {exc}") from exc
        try:
            self.hello = self.request("hello")
        except SutFault as exc:
            raise HarnessError(f"the adapter did not answer hello: {exc}") from exc
        if not self.hello.get("ok"):
            raise HarnessError(f"the adapter refused hello: {self.hello}")
        return self.hello

    def _popen(self) -> subprocess.Popen[bytes]:
        if self._stderr is None:
            self._stderr = tempfile.TemporaryFile(prefix="juki-adapter-stderr-")
        return subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env={**os.environ, **(self.env or {})}, process_group=0)

    def begin_case(self) -> None:
        """A case is about to run (node mode: its frame log starts empty; codec mode:
        its record of requests, exits and stderr)."""
        self.exchanges = []
        self.exits = []
        self._stderr_mark = self._stderr_size()

    def _stderr_size(self) -> int:
        # Sizes and reads by fstat and pread: the file offset is shared with the adapter
        # writing to it, and moving it would make the adapter overwrite its own lines.
        return os.fstat(self._stderr.fileno()).st_size if self._stderr else 0

    def case_record(self) -> dict[str, Any] | None:
        """What the adapter was asked and did during the current case, for the report
        of a failing case: ``exchanges`` (the last requests with their ``response``, or
        the ``fault`` instead), ``exitStatus`` (of the last adapter that ended during
        the case, negative for a signal, None if none did) and ``stderrTail``; None
        when the case sent the adapter nothing."""
        if not self.exchanges and not self.exits:
            return None
        tail = ""
        if self._stderr is not None:
            end = self._stderr_size()
            start = max(self._stderr_mark, end - STDERR_TAIL)
            tail = os.pread(self._stderr.fileno(), end - start, start).decode("utf-8",
                                                                             "replace")
        return {"exchanges": list(self.exchanges),
                "exitStatus": self.exits[-1] if self.exits else None,
                "stderrTail": tail}

    def _note(self, **fields: str) -> None:
        self.exchanges.append({k: _cut(v) for k, v in fields.items()})
        del self.exchanges[:-KEPT_EXCHANGES]

    def _ended(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.returncode is not None:
            self.exits.append(proc.returncode)

    def case_frames(self) -> tuple[Any, ...]:
        """The frames the last case exchanged (none in codec mode)."""
        return ()

    def stop(self) -> None:
        if self.proc is not None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            for stream in (self.proc.stdout,):
                if stream:
                    stream.close()
            self.proc = None

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request and wait for its answer; raise SutFault on misbehaviour."""
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None:
                self.restarts += 1
                self._ended(self.proc)
            self.proc = None
            self._respawn()
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.next_id += 1
        rid = self.next_id
        line = json.dumps({"id": rid, "op": op, **fields}, ensure_ascii=False) + "\n"
        try:
            answer = self._exchange(line, rid)
        except SutFault as exc:
            self._note(request=line.rstrip("\n"), fault=str(exc))
            raise
        self._note(request=line.rstrip("\n"), response=answer)
        return json.loads(answer)  # type: ignore[no-any-return]

    def _exchange(self, line: str, rid: int) -> str:
        """Write ``line``, read the answer to ``rid`` and check that it follows the
        protocol; return the answer's text."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(line.encode("utf-8"))
            self.proc.stdin.flush()
        except OSError as exc:
            self._kill()
            raise SutFault(f"the adapter closed its input: {exc}") from exc
        answer = self._read_line(self.proc, self.timeout)
        try:
            obj = json.loads(answer)
        except ValueError as exc:
            self._kill()
            raise SutFault(f"the adapter answered with a line that is not JSON: "
                           f"{answer[:200]!r}") from exc
        if not isinstance(obj, dict) or obj.get("id") != rid or "ok" not in obj:
            self._kill()
            raise SutFault(f"the adapter's answer does not follow the protocol "
                           f"(id {rid} expected): {str(obj)[:200]}")
        return answer

    def _respawn(self) -> None:
        try:
            self.proc = self._popen()
        except OSError as exc:
            raise HarnessError(f"cannot restart the adapter: {exc}") from exc

    def _kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self._ended(self.proc)
            if self.proc.stdout:
                self.proc.stdout.close()
            self.restarts += 1
            self.proc = None

    def _read_line(self, proc: subprocess.Popen[bytes], timeout: float) -> str:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        buf = b""
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._kill()
                    raise SutFault(f"no answer within {timeout:g} s")
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    self._kill()
                    raise SutFault("the adapter exited")
                buf += chunk
                if len(buf) > 64 * 1024 * 1024:
                    self._kill()
                    raise SutFault("the adapter's answer exceeds 64 MiB")
        line, _, rest = buf.partition(b"\n")
        if rest.strip():
            self._kill()
            raise SutFault("the adapter wrote more than one line for one request")
        return line.decode("utf-8", "replace")
