"""Synthetic foreign residents (外国人住民, Art. 30-45) for :mod:`juki_protocol.synth`.

Theory of operation
-------------------
Since 9 July 2012 the register also holds foreign residents: their record has no family
register (戸籍の表示, Art. 7(5)) but the items of Art. 30-45: nationality or region
(国籍等), the day the person became a foreign resident (外国人住民となった年月日) and the
items of the person's category (mid- to long-term resident, special permanent resident,
...). :func:`draw_household` draws one household of foreign residents from the
caller's :class:`random.Random` only, so the generator stays deterministic by seed:

1. a nationality (weighted roughly like the foreign population of Japan) and a shape
   (single 60 %, couple 20 %, couple with one or two children 20 %);
2. names in the alphabet, family name first, with a katakana reading, as a record
   writes a foreign resident's name (氏名, the alphabet for most foreign residents);
3. a category: a Korean household is a special permanent residents' one two times in
   five, every other household mid- to long-term residents with a residence status
   (在留資格) and, except permanent residents, a period of stay and its expiry after
   ``today``; a child born in the last 60 days is a 出生による経過滞在者;
4. the day each member became a foreign resident (the household's arrival, or the
   child's birth, or 9 July 2012 for a special permanent resident already living here)
   and whether they came from another municipality (a previous address in Japan).

The data rows are invented combinations of common names; no row describes a real person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from itertools import accumulate
from typing import Final

from juki_protocol.messages.common import (
    ForeignResident,
    ForeignResidentCategory,
    PersonName,
    Sex,
)

__all__ = ["FOREIGN_REGISTER_START", "NATIONALITIES", "ForeignMember", "draw_household"]

#: The day the Act's chapter on foreign residents (Art. 30-45) came into force.
FOREIGN_REGISTER_START: Final = dt.date(2012, 7, 9)

_Name = tuple[str, str]   # (alphabet, katakana)

#: (nationality or region as recorded, weight, family names, male and female given
#: names). Weights are rough shares of the foreign resident population, in percent.
NATIONALITIES: Final[tuple[tuple[str, int, tuple[_Name, ...], tuple[_Name, ...],
                                 tuple[_Name, ...]], ...]] = (
    ("中国", 27,
     (("WANG", "ワン"), ("LI", "リー"), ("ZHANG", "チャン"), ("LIU", "リュウ"),
      ("CHEN", "チェン")),
     (("WEI", "ウェイ"), ("JUN", "ジュン"), ("HAO", "ハオ")),
     (("FANG", "ファン"), ("LING", "リン"), ("MEI", "メイ"))),
    ("ベトナム", 18,
     (("NGUYEN", "グエン"), ("TRAN", "チャン"), ("LE", "レー"), ("PHAM", "ファム")),
     (("VAN DUC", "ヴァン　ドゥック"), ("MINH", "ミン"), ("VAN HUNG", "ヴァン　フン")),
     (("THI LAN", "ティ　ラン"), ("THI HOA", "ティ　ホア"), ("NGOC ANH", "ゴック　アイン"))),
    ("韓国", 14,
     (("KIM", "キム"), ("LEE", "イ"), ("PARK", "パク"), ("CHOI", "チェ")),
     (("MINJUN", "ミンジュン"), ("JIHO", "ジホ"), ("SEONGHO", "ソンホ")),
     (("SEOYEON", "ソヨン"), ("JIWOO", "ジウ"), ("YOUNGJA", "ヨンジャ"))),
    ("フィリピン", 10,
     (("SANTOS", "サントス"), ("REYES", "レイエス"), ("CRUZ", "クルス")),
     (("JOSE", "ホセ"), ("MARK", "マーク")),
     (("MARIA", "マリア"), ("ANGELICA", "アンジェリカ"))),
    ("ブラジル", 7,
     (("SILVA", "シルバ"), ("OLIVEIRA", "オリベイラ"), ("SOUZA", "ソウザ")),
     (("LUCAS", "ルーカス"), ("PEDRO", "ペドロ")),
     (("ANA", "アナ"), ("JULIANA", "ジュリアナ"))),
    ("ネパール", 6,
     (("GURUNG", "グルン"), ("TAMANG", "タマン"), ("SHRESTHA", "シュレスタ")),
     (("RAM", "ラム"), ("BIKASH", "ビカシュ")),
     (("SITA", "シタ"), ("ANJALI", "アンジャリ"))),
    ("米国", 3,
     (("SMITH", "スミス"), ("JOHNSON", "ジョンソン"), ("BROWN", "ブラウン")),
     (("JOHN", "ジョン"), ("MICHAEL", "マイケル")),
     (("EMILY", "エミリー"), ("SARAH", "サラ"))),
    ("台湾", 3,
     (("LIN", "リン"), ("HUANG", "ホアン"), ("TSAI", "ツァイ")),
     (("CHIH-MING", "チーミン"), ("CHUN-HAO", "チュンハオ")),
     (("YA-TING", "ヤーティン"), ("SHU-FEN", "シューフェン"))),
)
_NATIONALITY_CUM: Final = tuple(accumulate(row[1] for row in NATIONALITIES))

#: A head's residence status (在留資格) with its period of stay in months (0: none, as
#: for a permanent resident) and weight; the spouse and children of a holder of one of
#: the first three get 家族滞在 (dependant) for the same period.
_STATUSES: Final[tuple[tuple[str, int, int], ...]] = (
    ("技術・人文知識・国際業務", 36, 20), ("技能実習", 12, 15), ("留学", 27, 15),
    ("特定技能", 12, 10), ("永住者", 0, 30), ("定住者", 36, 10),
)
_STATUS_CUM: Final = tuple(accumulate(w for _, _, w in _STATUSES))
_DEPENDANT: Final = {"技術・人文知識・国際業務": "家族滞在", "留学": "家族滞在",
                     "特定技能": "家族滞在", "永住者": "永住者の配偶者等", "定住者": "定住者"}
_TRANSITIONAL_DAYS: Final = 60   # A child born in Japan may stay 60 days without status.
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ForeignMember:
    """One member of a drawn foreign household, before codes and addresses.

    ``items.foreign_resident_since`` is the member's 住民となった年月日 in this
    municipality too; ``moved_within_japan``: the member came from another municipality
    (a previous address in Japan), rather than from abroad, by birth here, or by the
    coming into force of Art. 30-45.
    """

    name: PersonName
    sex: Sex
    birth: dt.date
    relationship: str
    items: ForeignResident
    moved_within_japan: bool


def _period_label(months: int) -> str:
    years, rest = divmod(months, 12)
    return (f"{years}年" if years else "") + (f"{rest}月" if rest else "")


def _card_number(rng: random.Random, used: set[str]) -> str:
    """A residence card number as its format is: two letters, eight digits, two letters."""
    while True:
        number = (rng.choice(_LETTERS) + rng.choice(_LETTERS)
                  + f"{rng.randrange(10 ** 8):08d}" + rng.choice(_LETTERS) + rng.choice(_LETTERS))
        if number not in used:
            used.add(number)
            return number


def draw_household(rng: random.Random, today: dt.date, card_numbers: set[str],
                   birth_aged: Callable[[int, int], dt.date]) -> list[ForeignMember]:
    """One household of foreign residents, the head first.

    ``birth_aged(lo, hi)``: the caller's draw of a birth date of one aged ``lo`` to ``hi``
    today (it draws from the same ``rng``). ``card_numbers``: the numbers in use; the
    drawn ones are added. ``today`` must not precede :data:`FOREIGN_REGISTER_START`.
    """
    nationality, _, families, males, females = rng.choices(
        NATIONALITIES, cum_weights=_NATIONALITY_CUM)[0]
    family = rng.choice(families)
    shape = rng.choices(("single", "couple", "family"), cum_weights=(60, 80, 100))[0]
    special = nationality == "韓国" and rng.random() < 0.4
    head_sex = Sex.MALE if shape != "single" or rng.random() < 0.55 else Sex.FEMALE
    head_birth = birth_aged(40, 85) if special else birth_aged(19, 55)
    earliest = max(FOREIGN_REGISTER_START, dt.date.fromordinal(head_birth.toordinal() + 6575))
    status, months, _ = rng.choices(_STATUSES, cum_weights=_STATUS_CUM)[0]
    if months:        # A status with a period: arrived within the last eight years.
        earliest = max(earliest, today - dt.timedelta(days=8 * 365))
    arrived = dt.date.fromordinal(rng.randint(earliest.toordinal(), today.toordinal())) \
        if earliest <= today else today
    if status == "技能実習":
        shape = "single"      # A technical intern cannot bring a family.
    expiry = today + dt.timedelta(days=rng.randint(30, max(30, months * 30))) if months else None

    def member(name: _Name, sex: Sex, birth: dt.date, relationship: str,
               own_status: str | None, since: dt.date) -> ForeignMember:
        since = max(since, birth)
        if special:
            items = ForeignResident(
                nationality=nationality, foreign_resident_since=since,
                category=ForeignResidentCategory.SPECIAL_PERMANENT_RESIDENT,
                card_number=_card_number(rng, card_numbers))
        elif own_status is None:
            items = ForeignResident(
                nationality=nationality, foreign_resident_since=since,
                category=ForeignResidentCategory.TRANSITIONAL_BY_BIRTH)
        else:
            items = ForeignResident(
                nationality=nationality, foreign_resident_since=since,
                category=ForeignResidentCategory.MID_TO_LONG_TERM_RESIDENT,
                residence_status=own_status,
                period_of_stay=_period_label(months) if expiry else None,
                period_expiry=expiry, card_number=_card_number(rng, card_numbers))
        return ForeignMember(
            name=PersonName(kanji=f"{family[0]} {name[0]}", kana=f"{family[1]}\u3000{name[1]}"),
            sex=sex, birth=birth, relationship=relationship, items=items,
            moved_within_japan=not special and since != birth and rng.random() < 0.4)

    head_given = rng.choice(males if head_sex is Sex.MALE else females)
    members = [member(head_given, head_sex, head_birth, "世帯主", status,
                      arrived if not special else FOREIGN_REGISTER_START)]
    if shape == "single":
        return members
    spouse_birth = dt.date.fromordinal(head_birth.toordinal() + rng.randint(-1500, 2500))
    spouse_birth = min(spouse_birth, dt.date.fromordinal(today.toordinal() - 6575))
    dependant = _DEPENDANT.get(status, status)
    members.append(member(rng.choice(females), Sex.FEMALE, spouse_birth, "妻", dependant,
                          members[0].items.foreign_resident_since))
    if shape == "family":
        youngest = max(head_birth, spouse_birth).toordinal() + 6575   # parents 18 or more
        for _ in range(rng.randint(1, 2)):
            sex = Sex.MALE if rng.random() < 0.5 else Sex.FEMALE
            birth = dt.date.fromordinal(rng.randint(min(youngest, today.toordinal()),
                                                    today.toordinal()))
            newborn = not special and (today - birth).days < _TRANSITIONAL_DAYS
            members.append(member(rng.choice(males if sex is Sex.MALE else females), sex,
                                  birth, "子", None if newborn else dependant,
                                  members[0].items.foreign_resident_since))
    return members
