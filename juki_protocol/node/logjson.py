"""Structured logs of a node: ``juki node serve --log-format json``.

Theory of operation
-------------------
Each record becomes one JSON object on one line, with the keys:

``time``       ISO 8601 in UTC, to the millisecond;
``level``      ``INFO``, ``WARNING``...;
``event``      a stable name: the one the code gave (``pdu.taken``, ``pdu.refused``), or
               else one made from the message's template (``could-not-send-to``), so
               that lines of one kind can be counted without reading their text;
``node``       the node id (the ``NODE: ...`` prefix of the node's messages);
``peer``       the peer node, when the line concerns one;
``messageId``  the PDU's message id in hex, when it concerns one;
``code``       the registered error code, when there is one;
``logger``, ``message`` and, for an exception, ``exception``: the text, masked.

Personal data (spec/node.md: none in logs): the node does not log names, addresses,
birth dates or resident codes, and the text of every line is masked once more here
(:func:`mask`), since an exception's text is not the node's to choose: a run of 10 to
12 digits (a resident code, with or without its check digit, or an individual number)
becomes ``[number]``; a date without a time (a birth date) becomes ``[date]``; a run of
characters outside ASCII (Japanese names and addresses) becomes ``[text]``. The
structured fields are set by the code from values that are not personal (node ids,
random message ids, codes), and are not masked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import traceback
from typing import Any

#: The attribute of a log record that holds the fields the code gave (``extra``).
FIELDS = "juki"
_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{10,12}(?![0-9A-Za-z])")
_DATE = re.compile(r"(?<![0-9])\d{4}-\d{2}-\d{2}(?![0-9]|[T ]\d{2}:)")
_NOT_ASCII = re.compile(r"[^\x00-\x7f]+")
_SLUG = re.compile(r"[^a-z0-9]+")


def mask(text: str) -> str:
    """``text`` with what could be personal data replaced (see the module docstring).

    >>> mask("resident 12345678901 born 1990-04-01, seen 2026-01-02T03:04:05Z")
    'resident [number] born [date], seen 2026-01-02T03:04:05Z'
    >>> mask("name 山田太郎 at node 271004")
    'name [text] at node 271004'
    """
    text = _NUMBER.sub("[number]", text)
    text = _DATE.sub("[date]", text)
    return _NOT_ASCII.sub("[text]", text)


def fields(event: str, node: object = None, *, peer: str | None = None,
           message_id: bytes | None = None, code: int | None = None) -> dict[str, Any]:
    """The ``extra`` of a structured log call: ``logger.info(..., extra=fields(...))``."""
    return {FIELDS: {"event": event, "node": None if node is None else str(node),
                     "peer": peer, "messageId": message_id.hex() if message_id else None,
                     "code": code}}


def event_of(template: str) -> str:
    """A stable event name made of a message template: its words before the first
    placeholder after the ``%s: `` of the node (``"%s: could not send to %s: %s"`` is
    ``could-not-send-to``)."""
    if template.startswith("%s: "):
        template = template[4:]
    head = template.split("%", 1)[0].lower()
    return _SLUG.sub("-", head).strip("-")[:60] or "log"


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        given: dict[str, Any] = getattr(record, FIELDS, None) or {}
        args = record.args if isinstance(record.args, tuple) else ()
        template = str(record.msg)
        node = given.get("node")
        if node is None and args and template.startswith("%s: "):
            node = str(args[0])           # the node's messages start "NODE: "
        code = given.get("code")
        if code is None:                  # an error in the arguments carries its code
            for arg in args:
                found = getattr(arg, "error_code", None)
                if found is not None:
                    code = int(found)
                    break
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "event": given.get("event") or event_of(template),
            "node": mask(node) if node is not None else None,
            "peer": given.get("peer"),
            "messageId": given.get("messageId"),
            "code": code,
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = mask("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(out, ensure_ascii=True, separators=(",", ":"))


def configure(level: int, log_format: str) -> None:
    """Configure the root logger for ``juki node serve``: ``text`` (the default) or
    ``json`` lines on stderr."""
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level, handlers=[handler], force=True)
    else:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s")


__all__ = ["FIELDS", "JsonFormatter", "configure", "event_of", "fields", "mask"]
