"""Deterministic example messages of every type, built from synthetic residents.

Used by ``juki fixtures messages``, the golden vectors and the tests. Everything comes
from ``random.Random(seed)`` and fixed dates, so the same seed gives the same messages.
Each builder returns a minimal and a maximal variant; :func:`edge_cases` adds the
non-ASCII and size edge cases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from juki_protocol import PROTOCOL_VERSION
from juki_protocol.identifiers import new_resident_code, prefecture_of
from juki_protocol.messages import (
    Acknowledgement,
    AckStatus,
    Address,
    AddressNotification,
    BodyKind,
    ChangeInfo,
    ChangeReason,
    ErrorReport,
    FamilyRegister,
    FamilyRegisterEvent,
    FamilyRegisterItems,
    FamilyRegisterNotice,
    FourItems,
    IdentityCheckMethod,
    IdentityInfoRelay,
    IdentityInfoUpdate,
    InsuranceStatus,
    JukiPdu,
    LegalBasis,
    MessageType,
    MoveInNotice,
    MoveOutCertificate,
    MoveOutCertificateEntry,
    NodeId,
    NodeRole,
    PduHeader,
    PensionCategory,
    PensionStatus,
    PersonName,
    PersonRef,
    Profile,
    ProvidedIdentity,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    Requester,
    RequestingBody,
    ResidentRecordCopy,
    Sex,
    SpecialMoveInNotice,
    TargetPerson,
    UpdateOperation,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
    WideAreaRefusal,
)
from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatus,
    CardStatusAnswer,
    CardStatusChange,
    CardStatusNotice,
    CardStatusQuery,
)
from juki_protocol.messages.designation import (
    MAX_CODES,
    CodeDesignation,
    CodeDesignationRequest,
    new_designated_code,
)
from juki_protocol.synth import Household, SyntheticResident, generate_households

#: The two municipalities of the examples: Osaka city (former / residence) and
#: Chiyoda ward, Tokyo (new / issuing).
HOME = "271004"
AWAY = "131016"
BASE_TIME = dt.datetime(2026, 4, 1, 9, 0, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 4, 1)
AGENCY_CODE = "AG0001"
PURPOSE_CODE = "S1-KENCHIKUSHI"  # spec/tables/schedule_1.json: AG0001, architects


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """One example message: a short label, the message, and its profile."""

    label: str
    message: Any
    profile: Profile


class _Ctx:
    """The residents and randomness one seed gives."""

    def __init__(self, seed: int | str, profile: Profile) -> None:
        self.rng = random.Random(f"samples:{seed}")
        self.profile = profile
        homes = generate_households(4, f"{seed}:home", municipalities=[HOME], today=TODAY)
        aways = generate_households(1, f"{seed}:away", municipalities=[AWAY], today=TODAY)
        # The largest household makes the richest examples.
        self.household: Household = max(homes, key=lambda h: len(h.members))
        self.single: Household = min(homes, key=lambda h: len(h.members))
        self.away: SyntheticResident = aways[0].members[0]

    @property
    def head(self) -> SyntheticResident:
        return self.household.members[0]

    def new_address(self) -> Address:
        return dataclasses.replace(self.away.address)

    def ident(self, r: SyntheticResident) -> Any:
        return r.identity_info(self.profile)

    def msg_id(self) -> bytes:
        return self.rng.randbytes(16)


def _move_in_notice(c: _Ctx, maximal: bool) -> MoveInNotice:
    people = c.household.members if maximal else c.single.members[:1]
    return MoveInNotice(new_municipality=AWAY, former_municipality=HOME,
                        residents=tuple(p.person_ref() for p in people),
                        moved_date=TODAY - dt.timedelta(days=3), recorded_date=TODAY,
                        new_address=c.new_address())


def _wide_area_request(c: _Ctx, maximal: bool) -> WideAreaIssuanceRequest:
    head = c.head
    people = c.household.members if maximal else (head,)
    requester = Requester(
        name=head.name, birth_date=head.birth_date, address=head.address,
        identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN if maximal
        else IdentityCheckMethod.PHOTO_ID_DOCUMENT,
        resident_code=head.resident_code if maximal else None)
    targets = tuple(TargetPerson(name=p.name, birth_date=p.birth_date,
                                 resident_code=p.resident_code if maximal else None)
                    for p in people)
    return WideAreaIssuanceRequest(
        issuing_municipality=AWAY, residence_municipality=HOME, requester=requester,
        targets=targets, include_relationship=maximal, include_resident_code=maximal)


def _record_copy(p: SyntheticResident, maximal: bool) -> ResidentRecordCopy:
    return ResidentRecordCopy(
        name=p.name, birth_date=p.birth_date, sex=p.sex, resident_since=p.resident_since,
        address=p.address,
        address_notification=AddressNotification(
            notification_date=p.address_notification_date,
            previous_address=p.previous_address if maximal else None),
        relationship=p.relationship if maximal else None,
        resident_code=p.resident_code if maximal else None,
        foreign_resident=None if p.foreign_resident is None
        else dataclasses.replace(p.foreign_resident, card_number=None))


def _wide_area_response(c: _Ctx, maximal: bool) -> WideAreaIssuanceResponse:
    if not maximal:
        return WideAreaIssuanceResponse(residence_municipality=HOME,
                                        issuing_municipality=AWAY,
                                        refusal=WideAreaRefusal.MOVED_OUT)
    return WideAreaIssuanceResponse(
        residence_municipality=HOME, issuing_municipality=AWAY,
        copies=tuple(_record_copy(p, True) for p in c.household.members))


def _special_move_in(c: _Ctx, maximal: bool) -> SpecialMoveInNotice:
    people = c.household.members if maximal else c.single.members[:1]
    return SpecialMoveInNotice(new_municipality=AWAY, former_municipality=HOME,
                               movers=tuple(p.person_ref() for p in people),
                               moved_date=TODAY - dt.timedelta(days=5),
                               move_in_filed_date=TODAY, new_address=c.new_address())


def _certificate_entry(c: _Ctx, p: SyntheticResident, maximal: bool) -> MoveOutCertificateEntry:
    adult = (TODAY - p.birth_date).days >= 20 * 365
    return MoveOutCertificateEntry(
        name=p.name, birth_date=p.birth_date, sex=p.sex, relationship=p.relationship,
        family_register=p.family_register, address=p.address,
        destination=c.new_address(), planned_move_date=TODAY - dt.timedelta(days=10),
        resident_code=p.resident_code,
        national_health_insurance=InsuranceStatus(
            insured=maximal, qualified_since=p.resident_since if maximal else None),
        long_term_care_insurance=InsuranceStatus(insured=False),
        national_pension=PensionStatus(
            category=PensionCategory.CATEGORY1 if adult else PensionCategory.NONE),
        child_allowance=maximal and p.relationship == "世帯主",
        individual_number=p.individual_number if c.profile is Profile.CURRENT else None,
        foreign_resident=p.foreign_resident)


def _move_out_certificate(c: _Ctx, maximal: bool) -> MoveOutCertificate:
    people = c.household.members if maximal else c.single.members[:1]
    return MoveOutCertificate(former_municipality=HOME, new_municipality=AWAY,
                              entries=tuple(_certificate_entry(c, p, maximal) for p in people))


def _identity_update(c: _Ctx, maximal: bool) -> IdentityInfoUpdate:
    if not maximal:
        return IdentityInfoUpdate(
            municipality=HOME, update_sequence=1, operation=UpdateOperation.RECORD,
            identity_info=c.ident(c.head),
            change_info=ChangeInfo(change_reason=ChangeReason.MOVE_IN,
                                   change_date=c.head.resident_since))
    old = new_resident_code(c.rng)
    while old == c.head.resident_code:
        old = new_resident_code(c.rng)
    return IdentityInfoUpdate(
        municipality=HOME, update_sequence=2**63 - 1, operation=UpdateOperation.CORRECT,
        identity_info=c.ident(c.head),
        change_info=ChangeInfo(change_reason=ChangeReason.RESIDENT_CODE_CHANGE,
                               change_date=TODAY),
        previous_resident_code=old)


def _identity_relay(c: _Ctx, maximal: bool) -> IdentityInfoRelay:
    return IdentityInfoRelay(prefecture=prefecture_of(HOME),
                             relay_sequence=987654321 if maximal else 1,
                             update=_identity_update(c, maximal))


def _provision_request(c: _Ctx, maximal: bool) -> ProvisionRequest:
    body = RequestingBody(kind=BodyKind.AGENCY, code=AGENCY_CODE)
    if not maximal:
        return ProvisionRequest(requester=body, legal_basis=LegalBasis.CENTER_TO_AGENCY,
                                purpose_code=PURPOSE_CODE, operator_id="op-0001",
                                by_resident_code=(c.head.resident_code,))
    h = c.head
    return ProvisionRequest(
        requester=body, legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code=PURPOSE_CODE,
        operator_id="operator.kinki-0042",
        by_four_items=FourItems(name=h.name, birth_date=h.birth_date, sex=h.sex,
                                address=h.address))


def _provision_response(c: _Ctx, maximal: bool) -> ProvisionResponse:
    if not maximal:
        return ProvisionResponse(refusal=ProvisionRefusal.PURPOSE_NOT_ALLOWED)
    return ProvisionResponse(provided=tuple(
        ProvidedIdentity(identity_info=c.ident(p),
                         change_info=ChangeInfo(change_reason=ChangeReason.MOVE_IN,
                                                change_date=p.resident_since))
        for p in c.household.members))


#: The permanent domicile (本籍) of the examples' new family registers: in AWAY, the
#: municipality of the family register that sends the Art. 9(2) notice.
AWAY_DOMICILE = "東京都千代田区千代田一丁目1番"


def _renamed(name: PersonName, *, family: tuple[str, str] | None = None,
             given: tuple[str, str] | None = None) -> PersonName:
    """``name`` with another family name (氏) or given name (名), kanji and kana."""
    kanji = name.kanji.split("\u3000")
    kana = name.kana.split("\u3000") if name.kana else None
    for i, part in ((0, family), (1, given)):
        if part is not None:
            kanji[i] = part[0]
            if kana is not None:
                kana[i] = part[1]
    return PersonName(kanji="\u3000".join(kanji),
                      kana="\u3000".join(kana) if kana is not None else None)


def family_register_notices(seed: int | str = 0) -> list[Sample]:
    """One Art. 9(2) notice of each event, from AWAY (the family register) to HOME (the
    residence), for the residents of ``seed`` (spec/family_register.md)."""
    c = _Ctx(seed, Profile.CURRENT)
    E, head, one = FamilyRegisterEvent, c.head, c.single.members[0]
    born, entered = TODAY - dt.timedelta(days=9), TODAY - dt.timedelta(days=2)
    spouse = _renamed(one.name, family=("佐藤", "サトウ"))
    new_register = FamilyRegister(permanent_domicile=AWAY_DOMICILE,
                                  head_name=_renamed(head.name, family=("佐藤", "サトウ")).kanji)
    other_sex = Sex.FEMALE if one.sex is Sex.MALE else Sex.MALE
    items: dict[FamilyRegisterEvent, FamilyRegisterItems] = {
        E.BIRTH: FamilyRegisterItems(
            name=_renamed(head.name, given=("陽向", "ヒナタ")), birth_date=born,
            sex=Sex.FEMALE, relationship="子", family_register=head.family_register),
        E.DEATH: FamilyRegisterItems(),
        E.MARRIAGE: FamilyRegisterItems(name=spouse, relationship="妻",
                                        family_register=new_register),
        E.DIVORCE: FamilyRegisterItems(relationship="同居人", family_register=new_register),
        E.ADOPTION: FamilyRegisterItems(relationship="子", family_register=new_register),
        E.ADOPTION_DISSOLUTION: FamilyRegisterItems(family_register=new_register),
        E.NAME_CHANGE: FamilyRegisterItems(name=_renamed(one.name, given=("一真", "カズマ"))),
        E.SEX_CHANGE: FamilyRegisterItems(sex=other_sex),
        E.DOMICILE_CHANGE: FamilyRegisterItems(family_register=new_register),
        E.CORRECTION: FamilyRegisterItems(birth_date=one.birth_date + dt.timedelta(days=1)),
    }
    out = []
    for event, got in items.items():
        birth = event is E.BIRTH
        out.append(Sample(f"event {event.value}", FamilyRegisterNotice(
            register_municipality=AWAY, residence_municipality=HOME, event=event,
            event_date=born if birth else TODAY - dt.timedelta(days=5),
            entry_date=entered, person=None if birth else one.person_ref(),
            household=head.resident_code if birth else None, items=got), Profile.CURRENT))
    return out


def _family_register_notice(c: _Ctx, maximal: bool) -> FamilyRegisterNotice:
    """Minimal: a death (no items). Maximal: a correction of every item (Art. 9(2))."""
    p = c.head if maximal else c.single.members[0]
    ref = PersonRef(resident_code=p.resident_code, name=p.name, birth_date=p.birth_date)
    items = FamilyRegisterItems()
    if maximal:
        items = FamilyRegisterItems(
            name=_renamed(p.name, given=("正和", "マサカズ")),
            birth_date=p.birth_date - dt.timedelta(days=1), sex=p.sex,
            relationship=p.relationship, family_register=FamilyRegister(
                permanent_domicile=AWAY_DOMICILE, head_name=p.name.kanji))
    return FamilyRegisterNotice(
        register_municipality=AWAY, residence_municipality=HOME,
        event=FamilyRegisterEvent.CORRECTION if maximal else FamilyRegisterEvent.DEATH,
        event_date=TODAY - dt.timedelta(days=6), entry_date=TODAY - dt.timedelta(days=1),
        person=ref, items=items)


def _ack(c: _Ctx, maximal: bool) -> Acknowledgement:
    return Acknowledgement(acknowledged_id=c.msg_id(),
                           status=AckStatus.DUPLICATE if maximal else AckStatus.ACCEPTED)


def _error_report(c: _Ctx, maximal: bool) -> ErrorReport:
    if not maximal:
        return ErrorReport(error_code=5002)
    return ErrorReport(error_code=5010, refers_to=c.msg_id(),
                       detail="prefecture nodes hold identity info only (Art. 30-5)")


def _code_request(c: _Ctx, maximal: bool) -> CodeDesignationRequest:
    return CodeDesignationRequest(municipality=HOME, count=MAX_CODES if maximal else 1)


def _code_designation(c: _Ctx, maximal: bool) -> CodeDesignation:
    """Codes of Osaka's allotment (spec/designation.md section 3), from the seed."""
    codes: dict[str, None] = {}
    while len(codes) < (8 if maximal else 1):
        codes[new_designated_code(c.rng, HOME)] = None
    return CodeDesignation(municipality=HOME, codes=tuple(codes))


def _serial(maximal: bool) -> str:
    """A card serial of the home municipality (spec/card_register.md section 2)."""
    return f"{HOME}-{'0' * 11 + '17' if maximal else '000017'}"


def _card_application(c: _Ctx, maximal: bool) -> CardApplication:
    return CardApplication(municipality=HOME, card_serial=_serial(maximal),
                           resident_code=c.head.resident_code, application_date=TODAY)


def _card_issue(c: _Ctx, maximal: bool) -> CardIssueNotice:
    until = dt.date(2036, 4, 1) if maximal else dt.date(2031, 4, 1)
    return CardIssueNotice(municipality=HOME, card_serial=_serial(maximal),
                           resident_code=c.head.resident_code, issue_date=TODAY,
                           valid_until=until)


def _card_status(c: _Ctx, maximal: bool) -> CardStatusNotice:
    return CardStatusNotice(municipality=HOME, card_serial=_serial(maximal),
                            resident_code=c.head.resident_code,
                            change=CardStatusChange.LOST if maximal
                            else CardStatusChange.SUSPENDED, change_date=TODAY)


def _card_query(c: _Ctx, maximal: bool) -> CardStatusQuery:
    return CardStatusQuery(municipality=AWAY, card_serial=_serial(maximal),
                           resident_code=c.head.resident_code)


def _card_answer(c: _Ctx, maximal: bool) -> CardStatusAnswer:
    if not maximal:
        return CardStatusAnswer(card_serial=_serial(False), status=CardStatus.UNKNOWN)
    return CardStatusAnswer(card_serial=_serial(True), status=CardStatus.SUSPENDED,
                            issuing_municipality=HOME, valid_until=dt.date(2036, 4, 1))


def header(c: _Ctx | None, mtype: MessageType, sender: NodeId, recipient: NodeId, *,
           seq: int = 0, correlation: bytes | None = None, profile: Profile,
           rng: random.Random | None = None) -> PduHeader:
    """A PDU header with a random message id from ``rng`` (or the context's)."""
    source = rng if rng is not None else (c.rng if c is not None else random.Random(0))
    return PduHeader(version=PROTOCOL_VERSION, message_id=source.randbytes(16),
                     correlation_id=correlation, message_type=mtype, sender=sender,
                     recipient=recipient, time=BASE_TIME + dt.timedelta(seconds=seq),
                     sequence_number=seq, profile=profile)


def _pdu(c: _Ctx, maximal: bool) -> JukiPdu:
    home = NodeId(role=NodeRole.MUNICIPALITY, code=HOME)
    pref = NodeId(role=NodeRole.PREFECTURE, code=prefecture_of(HOME))
    if not maximal:
        return JukiPdu(header=header(c, MessageType.ACKNOWLEDGEMENT, pref, home,
                                     profile=c.profile),
                       acknowledgement=_ack(c, False))
    # The sealed body here is opaque filler: the codec does not open envelopes.
    return JukiPdu(header=header(c, MessageType.IDENTITY_INFO_UPDATE, home, pref, seq=7,
                                 correlation=c.msg_id(), profile=c.profile),
                   sealed=c.rng.randbytes(300))


BUILDERS: dict[str, Callable[[_Ctx, bool], Any]] = {
    "MoveInNotice": _move_in_notice,
    "WideAreaIssuanceRequest": _wide_area_request,
    "WideAreaIssuanceResponse": _wide_area_response,
    "SpecialMoveInNotice": _special_move_in,
    "MoveOutCertificate": _move_out_certificate,
    "IdentityInfoUpdate": _identity_update,
    "IdentityInfoRelay": _identity_relay,
    "ProvisionRequest": _provision_request,
    "ProvisionResponse": _provision_response,
    "FamilyRegisterNotice": _family_register_notice,
    "CodeDesignationRequest": _code_request,
    "CodeDesignation": _code_designation,
    "CardApplication": _card_application,
    "CardIssueNotice": _card_issue,
    "CardStatusNotice": _card_status,
    "CardStatusQuery": _card_query,
    "CardStatusAnswer": _card_answer,
    "Acknowledgement": _ack,
    "ErrorReport": _error_report,
    "JukiPdu": _pdu,
}

#: Types whose content depends on the profile (they carry identity info or entries).
PROFILED_TYPES = frozenset({"MoveOutCertificate", "IdentityInfoUpdate", "IdentityInfoRelay",
                            "ProvisionResponse"})


def samples(type_name: str, seed: int | str = 0,
            profile: Profile = Profile.CURRENT) -> list[Sample]:
    """The minimal and maximal example of ``type_name`` for ``seed`` and ``profile``."""
    build = BUILDERS[type_name]
    c = _Ctx(seed, profile)
    return [Sample("minimal", build(c, False), profile),
            Sample("maximal", build(c, True), profile)]


def example(type_name: str, seed: int | str = 0,
            profile: Profile = Profile.CURRENT) -> Any:
    """One representative (maximal) example of ``type_name``."""
    return samples(type_name, seed, profile)[1].message


#: The message types that carry register data beyond identity info, and so a foreign
#: resident's items of Art. 30-45 (spec/foreign_residents.md).
FOREIGN_TYPES = ("MoveOutCertificate", "WideAreaIssuanceResponse")


def foreign_households(seed: int | str = 0) -> list[Household]:
    """Foreign residents' households of the home municipality (Art. 30-45): the
    largest, one of special permanent residents if the seed gives one, and one single."""
    homes = generate_households(40, f"{seed}:foreign", municipalities=[HOME], today=TODAY,
                                foreign_share=1.0)
    largest = max(homes, key=lambda h: len(h.members))
    special = next((h for h in homes if h.head.foreign_resident is not None
                    and h.head.foreign_resident.category.value
                    == "specialPermanentResident"), None)
    single = next(h for h in homes if len(h.members) == 1)
    return [h for h in (largest, special, single) if h is not None]


def foreign_samples(type_name: str, seed: int | str = 0) -> list[Sample]:
    """Examples of ``type_name`` (one of :data:`FOREIGN_TYPES`) for foreign residents,
    in profile ``current`` (foreign residents are in the register since 2012)."""
    c = _Ctx(seed, Profile.CURRENT)
    out: list[Sample] = []
    for h in foreign_households(seed):
        fr = h.head.foreign_resident
        assert fr is not None
        n = len(h.members)
        label = f"foreign residents ({fr.category.value}, {n} person{'s' if n > 1 else ''})"
        if type_name == "MoveOutCertificate":
            msg: Any = MoveOutCertificate(
                former_municipality=HOME, new_municipality=AWAY,
                entries=tuple(_certificate_entry(c, p, True) for p in h.members))
        else:
            msg = WideAreaIssuanceResponse(
                residence_municipality=HOME, issuing_municipality=AWAY,
                copies=tuple(_record_copy(p, True) for p in h.members))
        out.append(Sample(label, msg, Profile.CURRENT))
    # A Japanese national and a foreign resident on one message.
    mixed = (c.single.members[0], foreign_households(seed)[-1].members[0])
    if type_name == "MoveOutCertificate":
        msg = MoveOutCertificate(former_municipality=HOME, new_municipality=AWAY,
                                 entries=tuple(_certificate_entry(c, p, False) for p in mixed))
    else:
        msg = WideAreaIssuanceResponse(residence_municipality=HOME, issuing_municipality=AWAY,
                                       copies=tuple(_record_copy(p, False) for p in mixed))
    out.append(Sample("a Japanese national and a foreign resident", msg, Profile.CURRENT))
    return out


def edge_names() -> list[tuple[str, PersonName]]:
    """Names that stress encoders: 4-byte UTF-8, old forms, alphabet, longest."""
    return [
        ("supplementary-plane kanji (𠮷, 4-byte UTF-8)",
         PersonName(kanji="𠮷田　𩸽子", kana="ヨシダ　ホッケコ")),
        ("old-form and variant kanji (髙, 﨑, 邊)",
         PersonName(kanji="髙﨑　邊", kana="タカサキ　ワタナベ")),
        ("alphabet name of a foreign resident, kana with ー and ・",
         PersonName(kanji="SMITH JOHN", kana="スミス・ジョーン")),
        ("longest name: 100 characters, kana 200",
         PersonName(kanji="寿" * 100, kana="ジュ" * 100)),
        ("shortest name: one character, no kana", PersonName(kanji="一")),
    ]


#: The message types whose vectors carry names with variation sequences (spec/names.md).
VARIATION_TYPES = ("IdentityInfoUpdate", "MoveInNotice")


def variation_names() -> list[tuple[str, PersonName]]:
    """Names that carry ideographic variation sequences (a base ideograph and a variation
    selector U+E0100 to U+E01EF) and a compatibility ideograph that NFC would change."""
    return [
        ("a variation sequence (U+845B U+E0100)",
         PersonName(kanji="葛\U000E0100城　一郎", kana="カツラギ　イチロウ")),
        ("two variation sequences, one on an astral ideograph (U+20BB7 U+E0100)",
         PersonName(kanji="𠮷\U000E0100田　辻\U000E0101子", kana="ヨシダ　ツジコ")),
        ("a compatibility ideograph with a canonical decomposition (U+FA19)",
         PersonName(kanji="\uFA19田　花子", kana="カミタ　ハナコ")),
    ]


def variation_samples(type_name: str, seed: int | str = 0,
                      profile: Profile = Profile.CURRENT) -> list[Sample]:
    """The maximal example of ``type_name`` (one of :data:`VARIATION_TYPES`) with each
    name of :func:`variation_names` in place of the first person's."""
    maximal = samples(type_name, seed, profile)[1].message
    out: list[Sample] = []
    for label, name in variation_names():
        if isinstance(maximal, IdentityInfoUpdate):
            info = dataclasses.replace(maximal.identity_info, name=name)
            msg: Any = dataclasses.replace(maximal, identity_info=info)
        else:
            first = dataclasses.replace(maximal.residents[0], name=name)
            msg = dataclasses.replace(maximal, residents=(first, *maximal.residents[1:]))
        out.append(Sample(f"{type_name} maximal, {label}", msg, profile))
    return out


def edge_cases(seed: int | str = 0, profile: Profile = Profile.CURRENT) -> list[Sample]:
    """IdentityInfoUpdate and MoveInNotice carrying each edge-case name."""
    c = _Ctx(seed, profile)
    out: list[Sample] = []
    for label, name in edge_names():
        base = _identity_update(c, False)
        info = dataclasses.replace(base.identity_info, name=name)
        out.append(Sample(f"IdentityInfoUpdate {label}",
                          dataclasses.replace(base, identity_info=info), profile))
        notice = _move_in_notice(c, False)
        ref = dataclasses.replace(notice.residents[0], name=name)
        out.append(Sample(f"MoveInNotice {label}",
                          dataclasses.replace(notice, residents=(ref,)), profile))
    return out
