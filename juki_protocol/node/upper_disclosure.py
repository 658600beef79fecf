"""The upper tester's reading of a provider's disclosure log (spec/node.md section 4.13,
R-30-7-3-12): every provision of one person's identity info, as the resident's request
for disclosure of who received it would be answered.

The log holds keyed digests of the resident codes provided, never the codes; the op
masks the code asked with the log's key and lists the requests served whose digests
include it (refusals provide no one). Nothing else of the log is read: the answer holds
no other person's code or digest.
"""

from __future__ import annotations

from typing import Any

from juki_protocol.errors import JukiError
from juki_protocol.identifiers import validate_resident_code
from juki_protocol.machines.disclosure import PROVIDED
from juki_protocol.node.node import Node
from juki_protocol.node.storage_rows import stamp
from juki_protocol.node.upper_ops import bad, op
from juki_protocol.node.upper_suspension import provider


@op("disclosures")
async def op_disclosures(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The provisions of ``residentCode``'s identity info, oldest first: ``provided``, a
    list of ``time``, ``messageId`` (the request's, hex), ``body`` (``kind``, ``code``),
    ``legalBasis``, ``purposeCode``, ``operatorId`` and ``delegatingPrefecture`` (null
    unless the centre answered on a prefecture's delegation)."""
    role = provider(node)
    try:
        code = validate_resident_code(req.get("residentCode"), "residentCode")
    except JukiError as exc:
        raise bad(f"residentCode: {exc}") from None
    key = role.provider.log.key_of(code)
    return {"provided": [
        {"time": stamp(r.time), "messageId": r.message_id.hex(),
         "body": {"kind": r.body.kind.value, "code": r.body.code},
         "legalBasis": r.legal_basis.value, "purposeCode": r.purpose_code,
         "operatorId": r.operator_id, "delegatingPrefecture": r.delegating_prefecture}
        for r in role.storage.disclosures(key) if r.outcome == PROVIDED]}


__all__ = ["op_disclosures"]
