"""The upper tester's view of the audit log's anchor (spec/node.md sections 3 and 4.7):
the lines of the node's checkpoint file, as written.

The log's entries are read with ``audit_log``; whether the node anchors them, and
whether each checkpoint links to the one before (R-NODE-24, R-NODE-29), can only be
seen in the checkpoint file, which lives beside the database on the node's host. This
op hands the runner those lines verbatim, so that it checks the links itself (the
SHA-256 of each line against the next one's ``prev``) without any access to the
node's files, and without the node judging its own file.
"""

from __future__ import annotations

from typing import Any

from juki_protocol.node.node import Node
from juki_protocol.node.upper_ops import number, op

#: The most lines one answer carries (a runner pages on with ``after``).
MAX_LINES = 200


@op("audit_checkpoints")
async def op_audit_checkpoints(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint file's lines after the first ``after`` (default 0), oldest first,
    at most :data:`MAX_LINES`, each without its line end; ``total``: how many the file
    holds (none before the node's first checkpoint); ``everyEntries`` and
    ``everySeconds``: the node's own intervals (R-NODE-23, R-NODE-32), which a runner
    holds it to."""
    after = int(number(req, "after", default=0))
    path = node.anchor.path
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    policy = node.anchor.policy
    return {"lines": lines[after:after + MAX_LINES], "total": len(lines),
            "everyEntries": policy.checkpoint_rows,
            "everySeconds": policy.checkpoint_seconds}


__all__ = ["MAX_LINES", "op_audit_checkpoints"]
