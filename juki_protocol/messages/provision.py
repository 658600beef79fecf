"""Provision of identity info, Arts. 30-7(3)-(6), 30-8, 30-10(1)
(``spec/asn1/provision.asn``): the centre's own provision (iii)-(vi) and the provision it
performs on a prefecture's delegation (spec/provision.md section 6)."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import (
    is_prefecture_code,
    validate_local_gov_code,
    validate_resident_code,
)
from juki_protocol.messages.base import (
    choice,
    message,
    require,
    require_exactly_one,
    require_unique,
)
from juki_protocol.messages.common import (
    Address,
    ChangeInfo,
    IdentityInfo,
    PersonName,
    Sex,
    require_date,
)

_AGENCY = re.compile(r"AG[0-9]{4}\Z")
_PURPOSE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,15}\Z")
_OPERATOR = re.compile(r"[!-~]{1,32}\Z")


class BodyKind(StrEnum):
    """The kind of body asking for identity info."""

    AGENCY = "agency"                    # 別表 上欄の国の機関又は法人
    MUNICIPALITY = "municipality"        # 市町村長その他の執行機関
    PREFECTURE = "prefecture"            # 都道府県知事その他の執行機関
    PREFECTURE_ORGAN = "prefectureOrgan"  # Art. 30-8(2)


@message
class RequestingBody:
    """The requesting body: an agency (AGnnnn) or a local government (its code)."""

    kind: BodyKind
    code: str

    def __post_init__(self) -> None:
        if self.kind is BodyKind.AGENCY:
            require(bool(_AGENCY.match(self.code)), "code", "an agency code is AGnnnn "
                    "(spec/tables/schedule_1.json)", ErrorCode.INVALID_NODE_ID)
        else:
            validate_local_gov_code(self.code, "code")
            # R-30-7-5-01, R-30-8-2-01: prefectures and their organs use the
            # prefecture's own code (PP000C); municipalities never do.
            wants_prefecture = self.kind in (BodyKind.PREFECTURE, BodyKind.PREFECTURE_ORGAN)
            what = ("a prefecture code (PP000C)" if wants_prefecture
                    else "a municipality code")
            require(is_prefecture_code(self.code) == wants_prefecture, "code",
                    f"a body of kind {self.kind.value} must use {what}",
                    ErrorCode.INVALID_NODE_ID)


class LegalBasis(StrEnum):
    """The article under which identity info is provided."""

    PREF_TO_AGENCY = "prefToAgency"                          # Art. 30-7(3)
    PREF_TO_OWN_MUNICIPALITY = "prefToOwnMunicipality"       # Art. 30-7(4)
    PREF_TO_OTHER_PREFECTURE = "prefToOtherPrefecture"       # Art. 30-7(5)
    PREF_TO_OTHER_MUNICIPALITY = "prefToOtherMunicipality"   # Art. 30-7(6)
    PREF_OWN_USE = "prefOwnUse"                              # Art. 30-8
    CENTER_TO_AGENCY = "centerToAgency"                      # Art. 30-10(1)(iii)
    CENTER_TO_MUNICIPALITY = "centerToMunicipality"          # Art. 30-10(1)(iv)
    CENTER_TO_PREFECTURE = "centerToPrefecture"              # Art. 30-10(1)(v)
    CENTER_TO_OTHER_MUNICIPALITY = "centerToOtherMunicipality"  # Art. 30-10(1)(vi)
    # Art. 30-10(1): the centre performing a prefecture's provision on its delegation.
    DELEGATED_TO_AGENCY = "delegatedToAgency"                    # for Art. 30-7(3)
    DELEGATED_TO_OWN_MUNICIPALITY = "delegatedToOwnMunicipality"  # for Art. 30-7(4)
    DELEGATED_TO_OTHER_PREFECTURE = "delegatedToOtherPrefecture"  # for Art. 30-7(5)
    DELEGATED_TO_OTHER_MUNICIPALITY = "delegatedToOtherMunicipality"  # for Art. 30-7(6)

    @property
    def body_kinds(self) -> frozenset[BodyKind]:
        """The kinds of requesting body this basis can serve."""
        performed = self.performs
        if performed is not None:
            return performed.body_kinds
        by_value = {
            "prefToAgency": {BodyKind.AGENCY},
            "prefToOwnMunicipality": {BodyKind.MUNICIPALITY},
            "prefToOtherPrefecture": {BodyKind.PREFECTURE},
            "prefToOtherMunicipality": {BodyKind.MUNICIPALITY},
            "prefOwnUse": {BodyKind.PREFECTURE_ORGAN},
            "centerToAgency": {BodyKind.AGENCY},
            "centerToMunicipality": {BodyKind.MUNICIPALITY},
            "centerToPrefecture": {BodyKind.PREFECTURE},
            "centerToOtherMunicipality": {BodyKind.MUNICIPALITY},
        }
        return frozenset(by_value[self.value])

    @property
    def by_center(self) -> bool:
        """True if the designated centre provides (Art. 30-10), else the prefecture."""
        return self.value.startswith(("center", "delegated"))

    @property
    def performs(self) -> LegalBasis | None:
        """For a delegated basis, the prefecture's basis of Art. 30-7(3)-(6) that the
        centre performs on the prefecture's delegation (Art. 30-10(1)); else None."""
        if not self.value.startswith("delegated"):
            return None
        return LegalBasis("pref" + self.value.removeprefix("delegated"))


@message
class FourItems:
    """基本4情報: name, birth date, sex and address, to find a person without a code."""

    name: PersonName
    birth_date: dt.date
    sex: Sex
    address: Address

    def __post_init__(self) -> None:
        require_date(self.birth_date, "birth_date")


@message
class ProvisionRequest:
    """A request for identity info by a body for a schedule purpose.

    requester: the body; legal_basis: the article relied on, which must fit the body's
    kind; purpose_code: the schedule purpose id; operator_id: the authenticated
    operator; exactly one of by_resident_code (1 to 100 codes) or by_four_items;
    delegating_prefecture: the prefecture (PP000C) on whose delegation the centre
    provides, given exactly with a delegated legal basis (Art. 30-10(1), R-30-10-1-01).
    """

    requester: RequestingBody
    legal_basis: LegalBasis
    purpose_code: str
    operator_id: str
    by_resident_code: tuple[str, ...] | None = choice("query")
    by_four_items: FourItems | None = choice("query")
    delegating_prefecture: str | None = None

    def __post_init__(self) -> None:
        require(self.requester.kind in self.legal_basis.body_kinds, "legal_basis",
                f"{self.legal_basis.value} cannot serve a body of kind "
                f"{self.requester.kind.value}", ErrorCode.LEGAL_BASIS_MISMATCH)
        require(bool(_PURPOSE.match(self.purpose_code)), "purpose_code",
                "must be 1 to 16 letters, digits or hyphens")
        require(bool(_OPERATOR.match(self.operator_id)), "operator_id",
                "must be 1 to 32 visible ASCII characters")
        require_exactly_one(self, ("by_resident_code", "by_four_items"), "query")
        if self.by_resident_code is not None:
            require(1 <= len(self.by_resident_code) <= 100, "by_resident_code",
                    "must list 1 to 100 codes")
            for i, code in enumerate(self.by_resident_code):
                validate_resident_code(code, f"by_resident_code[{i}]")
            require_unique(self.by_resident_code, "by_resident_code")
        # R-30-10-1-01: the delegating prefecture exactly with a delegated basis.
        delegated = self.legal_basis.performs is not None
        require((self.delegating_prefecture is not None) == delegated,
                "delegating_prefecture", f"{'required' if delegated else 'not allowed'} "
                f"with legal basis {self.legal_basis.value}")
        if self.delegating_prefecture is not None:
            validate_local_gov_code(self.delegating_prefecture, "delegating_prefecture")
            require(is_prefecture_code(self.delegating_prefecture), "delegating_prefecture",
                    "must be a prefecture's own code (PP000C)")


@message
class ProvidedIdentity:
    """One provided person: identity info and its latest change info."""

    identity_info: IdentityInfo
    change_info: ChangeInfo


class ProvisionRefusal(StrEnum):
    """Why a provision request is refused."""

    UNKNOWN_BODY = "unknownBody"
    PURPOSE_NOT_ALLOWED = "purposeNotAllowed"
    LEGAL_BASIS_MISMATCH = "legalBasisMismatch"
    OPERATOR_UNAUTHENTICATED = "operatorUnauthenticated"
    THROTTLED = "throttled"
    SUSPENDED = "suspended"   # spec/suspension.md (an extension addition)

    @property
    def error_code(self) -> ErrorCode:
        return {
            "unknownBody": ErrorCode.UNKNOWN_BODY,
            "purposeNotAllowed": ErrorCode.PURPOSE_NOT_ALLOWED,
            "legalBasisMismatch": ErrorCode.LEGAL_BASIS_MISMATCH,
            "operatorUnauthenticated": ErrorCode.OPERATOR_UNAUTHENTICATED,
            "throttled": ErrorCode.OPERATOR_THROTTLED,
            "suspended": ErrorCode.PROVISION_SUSPENDED,
        }[self.value]


@message
class ProvisionResponse:
    """The answer: exactly one of ``provided`` (0 to 100, empty = no match within the
    retention period) or ``refusal``."""

    provided: tuple[ProvidedIdentity, ...] | None = choice("outcome")
    refusal: ProvisionRefusal | None = choice("outcome")

    def __post_init__(self) -> None:
        require_exactly_one(self, ("provided", "refusal"), "outcome")
        if self.provided is not None:
            require(len(self.provided) <= 100, "provided", "must hold at most 100")
