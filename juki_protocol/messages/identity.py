"""Identity info updates, Arts. 30-5 and 30-11 (``spec/asn1/identity.asn``)."""

from __future__ import annotations

from enum import StrEnum

from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import (
    is_prefecture_code,
    prefecture_of,
    validate_local_gov_code,
    validate_resident_code,
)
from juki_protocol.messages.base import message, require
from juki_protocol.messages.common import ChangeInfo, ChangeReason, IdentityInfo

MAX_SEQUENCE = 2**63 - 1

RECORD_REASONS = frozenset({ChangeReason.BIRTH, ChangeReason.MOVE_IN,
                            ChangeReason.RECORDED_EX_OFFICIO, ChangeReason.RECORDED_OTHER})
ERASE_REASONS = frozenset({ChangeReason.MOVE_OUT, ChangeReason.DEATH,
                           ChangeReason.ERASED_EX_OFFICIO})


class UpdateOperation(StrEnum):
    """What happened to the record: 記載 (record), 消除 (erase) or 修正 (correct)."""

    RECORD = "record"
    ERASE = "erase"
    CORRECT = "correct"


@message
class IdentityInfoUpdate:
    """Art. 30-5: municipality -> its prefecture, on every record, erase or correction.

    municipality: the sender (its local government code).
    update_sequence: 1, 2, 3... per municipality, no gaps (ordering and idempotence).
    operation: record / erase / correct; must agree with change_info.change_reason.
    identity_info: the identity info after the change (before it, for an erase).
    change_info: 異動事由 and 異動年月日.
    previous_resident_code: the retired code, on a resident code change only.
    """

    municipality: str
    update_sequence: int
    operation: UpdateOperation
    identity_info: IdentityInfo
    change_info: ChangeInfo
    previous_resident_code: str | None = None

    def __post_init__(self) -> None:
        validate_local_gov_code(self.municipality, "municipality")
        require(not is_prefecture_code(self.municipality), "municipality",
                "must be a municipality, not a prefecture's own code")
        require(isinstance(self.update_sequence, int)
                and 1 <= self.update_sequence <= MAX_SEQUENCE,
                "update_sequence", "must be 1 to 2**63-1")
        require(self.identity_info.address.local_gov_code == self.municipality,
                "identity_info.address.local_gov_code", "must be the sending municipality")
        reason = self.change_info.change_reason
        if self.operation is UpdateOperation.RECORD:
            require(reason in RECORD_REASONS, "change_info.change_reason",
                    "a record must have a record reason (birth, moveIn, recorded*)")
        elif self.operation is UpdateOperation.ERASE:
            require(reason in ERASE_REASONS, "change_info.change_reason",
                    "an erase must have an erase reason (moveOut, death, erasedExOfficio)")
        else:
            require(reason not in RECORD_REASONS | ERASE_REASONS,
                    "change_info.change_reason", "a correction must have a change reason")
        is_code_change = reason is ChangeReason.RESIDENT_CODE_CHANGE
        if is_code_change:
            require(self.previous_resident_code is not None, "previous_resident_code",
                    "is required with change_reason residentCodeChange")
        else:
            require(self.previous_resident_code is None, "previous_resident_code",
                    "only with change_reason residentCodeChange")
        if self.previous_resident_code is not None:
            validate_resident_code(self.previous_resident_code, "previous_resident_code")
            require(self.previous_resident_code != self.identity_info.resident_code,
                    "previous_resident_code", "must differ from the new resident code",
                    ErrorCode.INVALID_RESIDENT_CODE)


@message
class IdentityInfoRelay:
    """Art. 30-11: prefecture -> designated centre, one relay per update received.

    prefecture: the relaying prefecture, which must be the update's municipality's.
    relay_sequence: 1, 2, 3... per prefecture, no gaps.
    """

    prefecture: str
    relay_sequence: int
    update: IdentityInfoUpdate

    def __post_init__(self) -> None:
        validate_local_gov_code(self.prefecture, "prefecture")
        require(is_prefecture_code(self.prefecture), "prefecture",
                "must be a prefecture's own code (PP000C)")
        require(prefecture_of(self.update.municipality) == self.prefecture,
                "update.municipality", "must lie in the relaying prefecture")
        require(isinstance(self.relay_sequence, int)
                and 1 <= self.relay_sequence <= MAX_SEQUENCE,
                "relay_sequence", "must be 1 to 2**63-1")
