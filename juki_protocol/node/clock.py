"""A node's clocks: the system clock, and a test clock a conformance runner controls.

A :class:`~juki_protocol.node.node.Node` reads the time only through the callable it is
given (``clock``). In service that is :func:`system_clock`. A node under test may be
started with a :class:`TestClock` instead (``juki node serve --test-clock``): it runs at
the speed of the system clock from a point the runner sets or moves forward through the
upper tester's ``clock`` op (spec/node.md section 4), so that cases check retention,
deadlines, plan expiry, the header time window at its edges and retry timers without
waiting. Time never goes back: a runner that sets an earlier time gets an error.

>>> import datetime as dt
>>> c = TestClock(start=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
>>> c.advance(86400).date()
datetime.date(2030, 1, 2)
"""

from __future__ import annotations

import datetime as dt
import time

from juki_protocol.errors import ErrorCode, JukiError


def system_clock() -> dt.datetime:
    """The system time, aware UTC."""
    return dt.datetime.now(dt.UTC)


class TestClock:
    """A clock the runner sets (see the module docstring); callable like a clock."""

    __test__ = False          # not a pytest test class

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._base = (start or system_clock()).astimezone(dt.UTC)
        self._mono = time.monotonic()

    def __call__(self) -> dt.datetime:
        return self._base + dt.timedelta(seconds=time.monotonic() - self._mono)

    def set(self, when: dt.datetime) -> dt.datetime:
        """Jump to ``when`` (aware); an earlier time than now is refused (1024)."""
        if when.tzinfo is None:
            raise JukiError("the time must carry a UTC offset", code=ErrorCode.INVALID_FIELD)
        if when < self():
            raise JukiError("a test clock never goes back", code=ErrorCode.INVALID_FIELD)
        self._base, self._mono = when.astimezone(dt.UTC), time.monotonic()
        return self()

    def advance(self, seconds: float) -> dt.datetime:
        """Move forward by ``seconds`` (0 or more, R-NODE-89); returns the new time."""
        if not seconds >= 0:
            raise JukiError("a test clock only moves forward", code=ErrorCode.INVALID_FIELD)
        # One reading of the monotonic clock for both the time now and the new origin:
        # going through set() would read it twice, and the later reading would make an
        # advance of 0 look like a step back.
        mono = time.monotonic()
        now = self._base + dt.timedelta(seconds=mono - self._mono)
        self._base, self._mono = now + dt.timedelta(seconds=seconds), mono
        return self()


__all__ = ["TestClock", "system_clock"]
