"""Deterministic synthetic residents: fixtures for tests, vectors and load runs.

Theory of operation
-------------------
Everything comes from one :class:`random.Random` seeded with the caller's ``seed`` (an
``int`` or a ``str``; a string seed is hashed with SHA-512 by :mod:`random`, never with
``hash()``), and from an explicit ``today``. No clock, no global random state, no
iteration over sets: the same arguments give the same residents in every process,
whatever ``PYTHONHASHSEED`` is.

Households (世帯) are drawn one after another from that stream, so the first ``n``
households of a batch do not depend on how many follow, and
``generate_residents(n)`` is the flattened member list of the households, the last
one cut to make exactly ``n``. Each household:

1. picks a municipality (weighted by population) and an address in one of its real
   towns;
2. picks a shape (single, couple, couple with children, single parent, three
   generations either way, sharers) and draws the members top-down: a child's birth
   date is drawn so that every parent named in the household was 18 to 45 years old
   on it (24 to 40 when possible), and spouses are adults;
3. gives each member a family register (戸籍の表示): spouses and their unmarried
   children share the register of the 筆頭者; a married child and their own children
   have their own; a young single adult usually still belongs to a parent's register.
   A register's 筆頭者 always bears the member's family name (氏), as the Family
   Register Act requires;
4. dates the members' residence: either the household has always lived there
   (resident since birth, no previous address) or it moved in on one day from another
   municipality (resident since that day, same previous address); children born after
   the move are resident since birth, and a spouse may have joined later from
   elsewhere. The notification date (住所を定めた旨の届出の年月日) is at most 14 days
   after the event (Art. 22 and the 14-day rule for births), and never after ``today``;
5. draws a unique resident code and individual number for each member.

The generator makes only current records (``status == "current"``). With
``foreign_share`` above 0 (default 0, which keeps every earlier output), each household
is, with that probability, one of foreign residents (外国人住民, Art. 30-45): no family
register, the items of Art. 30-45 instead (:mod:`juki_protocol.synth_foreign`). The
draw is made only when the share is above 0, so the stream of a share of 0 is unchanged.

The records (:class:`~juki_protocol.record.ResidentRecord`, alias ``SyntheticResident``,
and :class:`Household`) and their vocabulary (relationships, record states) are the
register's domain types of :mod:`juki_protocol.record`, re-exported here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from typing import Final

from juki_protocol.errors import ValidationError
from juki_protocol.identifiers import (
    new_individual_number,
    new_resident_code,
    validate_local_gov_code,
)
from juki_protocol.messages.common import Address, PersonName, Sex
from juki_protocol.messages.special_move import FamilyRegister
from juki_protocol.record import (
    CHILD,
    CHILDS_HUSBAND,
    CHILDS_WIFE,
    FATHER,
    GRANDCHILD,
    HEAD,
    HUSBAND,
    LODGER,
    MOTHER,
    RELATIONSHIPS,
    STATUSES,
    WIFE,
    Household,
    SyntheticResident,
)
from juki_protocol.synth_data import (
    BUILDINGS,
    ERA_STARTS,
    FAMILY_NAMES,
    FEMALE_GIVEN_NAMES,
    MALE_GIVEN_NAMES,
    MUNICIPALITY_TABLE,
    Municipality,
)
from juki_protocol.synth_foreign import FOREIGN_REGISTER_START, draw_household

# The message classes use ``messages.base.message``, an alias of ``dataclasses.dataclass``
# that mypy does not see as a dataclass decorator; hence the ``type: ignore[call-arg]``
# where they are built. Drop them once ``message`` is marked with dataclass_transform.

__all__ = [
    "DEFAULT_TODAY", "MAX_COUNT", "MUNICIPALITIES", "RELATIONSHIPS", "STATUSES",
    "Household", "SyntheticResident", "generate_households", "generate_residents",
    "iter_households",
]

MAX_COUNT: Final = 1_000_000
DEFAULT_TODAY: Final = dt.date(2026, 4, 1)
_EARLIEST_TODAY: Final = dt.date(1970, 1, 1)   # Oldest member is 101: born after 1868.
_LATEST_TODAY: Final = dt.date(2199, 12, 31)
_SPACE: Final = "\u3000"                      # Between family and given name.
_DAY: Final = dt.timedelta(days=1)
_NOTIFY_DAYS: Final = 14                       # Art. 22: move-in within 14 days.

#: The municipality table keyed by 6-digit local government code.
MUNICIPALITIES: Final[dict[str, Municipality]] = {m.code: m for m in MUNICIPALITY_TABLE}


# Public functions -----------------------------------------------------------------------

def generate_households(count: int, seed: int | str, *,
                        municipalities: Sequence[str] | None = None,
                        today: dt.date = DEFAULT_TODAY,
                        foreign_share: float = 0.0) -> list[Household]:
    """``count`` synthetic households, the same for the same arguments.

    municipalities: restrict addresses to these 6-digit codes of :data:`MUNICIPALITIES`
    (previous addresses and permanent domiciles may be anywhere in the table).
    today: the reference date; no date in the output is later.
    foreign_share: the probability (0 to 1) that a household is one of foreign
    residents (Art. 30-45); 0 gives exactly the output of earlier versions.
    Raises ValueError for a count outside 0..1,000,000, an unknown municipality code,
    a ``today`` outside 1970..2199, or a share outside 0..1 or above 0 with a ``today``
    before 2012-07-09; TypeError for arguments of the wrong type.
    """
    _check_count(count)
    households = iter_households(seed, municipalities=municipalities, today=today,
                                 foreign_share=foreign_share)
    return [next(households) for _ in range(count)]


def generate_residents(count: int, seed: int | str, *,
                       municipalities: Sequence[str] | None = None,
                       today: dt.date = DEFAULT_TODAY,
                       foreign_share: float = 0.0) -> list[SyntheticResident]:
    """Exactly ``count`` residents: whole households in order, the last one cut short.

    The result is the flattened members of :func:`generate_households` with the same
    arguments, so ``generate_residents(n)`` is a prefix of ``generate_residents(m)``
    for ``n <= m``. Raises as :func:`generate_households`.
    """
    _check_count(count)
    out: list[SyntheticResident] = []
    households = iter_households(seed, municipalities=municipalities, today=today,
                                 foreign_share=foreign_share)
    while len(out) < count:
        out.extend(next(households).members[:count - len(out)])
    return out


def iter_households(seed: int | str, *, municipalities: Sequence[str] | None = None,
                    today: dt.date = DEFAULT_TODAY,
                    foreign_share: float = 0.0) -> Iterator[Household]:
    """An endless stream of households; the first ``n`` are ``generate_households(n)``.

    Arguments are checked here, before the first household is asked for. Resident codes
    and individual numbers stay unique along the stream.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise TypeError(f"seed must be an int or a str, got {type(seed).__name__}")
    if not isinstance(today, dt.date) or isinstance(today, dt.datetime):
        raise TypeError(f"today must be a datetime.date, got {type(today).__name__}")
    if not _EARLIEST_TODAY <= today <= _LATEST_TODAY:
        raise ValueError(f"today must be between {_EARLIEST_TODAY} and {_LATEST_TODAY} "
                         f"(birth dates must stay after 1868-01-01), got {today}")
    if isinstance(foreign_share, bool) or not isinstance(foreign_share, (int, float)):
        raise TypeError(f"foreign_share must be a number, got {type(foreign_share).__name__}")
    if not 0 <= foreign_share <= 1:
        raise ValueError(f"foreign_share must be between 0 and 1, got {foreign_share}")
    if foreign_share and today < FOREIGN_REGISTER_START:
        raise ValueError(f"foreign residents are in the register from "
                         f"{FOREIGN_REGISTER_START} (Art. 30-45), got today {today}")
    gen = _Generator(random.Random(seed), today, _select(municipalities), float(foreign_share))
    return gen.households()


def _check_count(count: object) -> None:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an int, got {type(count).__name__}")
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"count must be between 0 and {MAX_COUNT:,}, got {count}")


def _select(codes: Sequence[str] | None) -> tuple[Municipality, ...]:
    if codes is None:
        return MUNICIPALITY_TABLE
    if isinstance(codes, str):
        raise ValueError(f"municipalities must be a sequence of 6-digit codes, not one "
                         f"string; write [{codes!r}]")
    chosen: dict[str, Municipality] = {}
    for code in codes:
        if code not in MUNICIPALITIES:
            try:
                validate_local_gov_code(code, "municipalities")
            except ValidationError as exc:
                raise ValueError(f"municipality code {code!r} is not a valid local "
                                 f"government code: {exc}") from None
            raise ValueError(f"municipality code {code!r} is not in the synthetic "
                             f"table (juki_protocol.synth.MUNICIPALITIES)")
        chosen.setdefault(code, MUNICIPALITIES[code])
    if not chosen:
        raise ValueError("municipalities must name at least one code (or be None)")
    return tuple(chosen.values())


# Dates ------------------------------------------------------------------------------------

def _after_birth(birth: dt.date, years: int) -> dt.date:
    """The day one born on ``birth`` turns ``years`` (29 Feb -> 1 Mar)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return dt.date(birth.year + years, 3, 1)


def _before(day: dt.date, years: int) -> dt.date:
    """The latest birth date of one who is ``years`` old on ``day`` (29 Feb -> 28 Feb)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return dt.date(day.year - years, 2, 28)


def _era(birth: dt.date) -> int:
    return sum(birth.year >= start for start in ERA_STARTS)


def _kanji_number(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")


# Tables prepared once -------------------------------------------------------------------

_FAMILY_CUM: Final = tuple(accumulate(w for _, _, w in FAMILY_NAMES))


def _pools(rows: tuple[tuple[str, str, str], ...]) -> tuple[tuple[tuple[str, str], ...], ...]:
    return tuple(tuple((k, r) for k, r, eras in rows if str(era) in eras)
                 for era in range(len(ERA_STARTS) + 1))


_GIVEN: Final = {Sex.MALE: _pools(MALE_GIVEN_NAMES), Sex.FEMALE: _pools(FEMALE_GIVEN_NAMES)}
_ALL_CUM: Final = tuple(accumulate(m.weight for m in MUNICIPALITY_TABLE))

# Household shapes and their weights per mille (2020 census, rounded).
_SHAPES: Final = ("single", "couple", "nuclear", "single_parent", "with_parents",
                  "with_grandchildren", "sharers")
_SHAPE_CUM: Final = tuple(accumulate((360, 200, 260, 90, 35, 40, 15)))
_SPOUSE_GAPS: Final = tuple(range(-4, 11))   # Husband older by this many years.
_SPOUSE_GAP_CUM: Final = tuple(accumulate((1, 2, 3, 5, 8, 12, 14, 14, 12, 9, 7, 5, 4, 2, 2)))


@dataclasses.dataclass(slots=True)
class _Draft:
    """A member before dates of residence and codes are drawn."""

    family: tuple[str, str]
    given: tuple[str, str]
    sex: Sex
    birth: dt.date
    relationship: str
    register: FamilyRegister | None = None

    @property
    def kanji(self) -> str:
        return self.family[0] + _SPACE + self.given[0]


class _Generator:
    """The state of one batch: the random stream, the chosen towns, the codes in use."""

    def __init__(self, rng: random.Random, today: dt.date,
                 municipalities: tuple[Municipality, ...], foreign_share: float = 0.0) -> None:
        self.rng = rng
        self.today = today
        self.foreign_share = foreign_share
        self.card_numbers: set[str] = set()
        self.munis = municipalities
        self.muni_cum = tuple(accumulate(m.weight for m in municipalities))
        self.resident_codes: set[str] = set()
        self.individual_numbers: set[str] = set()
        self.builders: dict[str, Callable[[Municipality], list[_Draft] | None]] = {
            "single": self._single, "couple": self._couple, "nuclear": self._nuclear,
            "single_parent": self._single_parent, "with_parents": self._with_parents,
            "with_grandchildren": self._with_grandchildren, "sharers": self._sharers,
        }

    # Small draws ---------------------------------------------------------------------

    def _between(self, lo: dt.date, hi: dt.date) -> dt.date:
        return dt.date.fromordinal(self.rng.randint(lo.toordinal(), hi.toordinal()))

    def _chance(self, p: float) -> bool:
        return self.rng.random() < p

    def _birth_aged(self, lo: int, hi: int) -> dt.date:
        """A birth date of one aged ``lo`` to ``hi`` today."""
        return self._between(_before(self.today, hi + 1) + _DAY, _before(self.today, lo))

    def _family(self) -> tuple[str, str]:
        kanji, kana, _ = self.rng.choices(FAMILY_NAMES, cum_weights=_FAMILY_CUM)[0]
        return kanji, kana

    def _given(self, sex: Sex, birth: dt.date, avoid: Sequence[str] = ()) -> tuple[str, str]:
        pool = _GIVEN[sex][_era(birth)]
        name = self.rng.choice(pool)
        for _ in range(4):
            if name[0] not in avoid:
                break
            name = self.rng.choice(pool)
        return name

    def _person(self, family: tuple[str, str], sex: Sex, birth: dt.date, relationship: str,
                avoid: Sequence[str] = ()) -> _Draft:
        return _Draft(family=family, given=self._given(sex, birth, avoid), sex=sex,
                      birth=birth, relationship=relationship)

    def _municipality(self, cum: tuple[int, ...] | None = None) -> Municipality:
        if cum is None:
            return self.rng.choices(self.munis, cum_weights=self.muni_cum)[0]
        return self.rng.choices(MUNICIPALITY_TABLE, cum_weights=cum)[0]

    def _other_municipality(self, code: str) -> Municipality:
        while True:
            m = self._municipality(_ALL_CUM)
            if m.code != code:
                return m

    def _address(self, m: Municipality) -> Address:
        town, chome = self.rng.choice(m.towns)
        rng = self.rng
        if chome:
            rest = f"{_kanji_number(rng.randint(1, chome))}丁目{rng.randint(1, 30)}番" \
                   f"{rng.randint(1, 25)}号"
        else:
            rest = f"{rng.randint(1, 2500)}番地"
            if self._chance(0.35):
                rest += str(rng.randint(1, 20))
        if self._chance(0.25):
            room = f"{rng.randint(1, 9)}{rng.randint(1, 12):02d}号室"
            rest += _SPACE + rng.choice(BUILDINGS) + room
        text = m.prefecture + m.city + town + rest
        return Address(local_gov_code=m.code, text=text)

    def _domicile(self, home: Municipality) -> str:
        """本籍: half the time in the home municipality, else anywhere in the table."""
        m = home if self._chance(0.5) else self._municipality(_ALL_CUM)
        town, chome = self.rng.choice(m.towns)
        if chome:
            place = f"{_kanji_number(self.rng.randint(1, chome))}丁目{self.rng.randint(1, 30)}番"
        else:
            place = f"{self.rng.randint(1, 2500)}番地"
        return m.prefecture + m.city + town + place

    def _register(self, head_name: str, domicile: str) -> FamilyRegister:
        return FamilyRegister(permanent_domicile=domicile, head_name=head_name)

    def _spouse_birth(self, birth: dt.date, of_husband: bool) -> dt.date:
        """A spouse's birth date: husband older by -4..10 years, spouse aged 20..100."""
        years = self.rng.choices(_SPOUSE_GAPS, cum_weights=_SPOUSE_GAP_CUM)[0]
        shift = years * 365 + years // 4 + self.rng.randint(-180, 180)
        ordinal = birth.toordinal() + (shift if of_husband else -shift)
        youngest, oldest = _before(self.today, 20), _before(self.today, 101) + _DAY
        if ordinal > youngest.toordinal():
            return self._between(_before(self.today, 24), youngest)
        return max(dt.date.fromordinal(ordinal), oldest)

    def _spouse(self, partner: _Draft, relationship: str,
                family: tuple[str, str] | None = None) -> _Draft:
        sex = Sex.FEMALE if partner.sex is Sex.MALE else Sex.MALE
        birth = self._spouse_birth(partner.birth, of_husband=partner.sex is Sex.MALE)
        return self._person(family or partner.family, sex, birth, relationship)

    def _child_birth(self, parents: Sequence[dt.date], *, min_age: int = 0,
                     max_age: int | None = None) -> dt.date | None:
        """A birth date at which every parent was 24..40 (else 18..45) years old."""
        for lo_gap, hi_gap in ((24, 40), (18, 45)):
            lo = max(_after_birth(p, lo_gap) for p in parents)
            hi = min(_after_birth(p, hi_gap + 1) for p in parents) - _DAY
            hi = min(hi, _before(self.today, min_age))
            if max_age is not None:
                lo = max(lo, _before(self.today, max_age + 1) + _DAY)
            if lo <= hi:
                return self._between(lo, hi)
        return None

    def _children(self, parents: Sequence[_Draft], n: int, *, relationship: str = CHILD,
                  max_age: int = 30) -> list[_Draft]:
        family = parents[0].family if parents[0].sex is Sex.MALE or len(parents) == 1 \
            else parents[1].family
        kids: list[_Draft] = []
        for _ in range(n):
            birth = self._child_birth([p.birth for p in parents], max_age=max_age)
            if birth is None:
                break
            sex = Sex.MALE if self._chance(0.51) else Sex.FEMALE
            kids.append(self._person(family, sex, birth, relationship,
                                     [k.given[0] for k in kids]))
        kids.sort(key=lambda k: k.birth)
        return kids

    def _parents_register(self, member: _Draft, home: Municipality) -> FamilyRegister:
        """The register of a parent (筆頭者 the father) that a single adult still
        belongs to."""
        father_era_birth = _before(member.birth, 30)
        father = self._given(Sex.MALE, father_era_birth)
        return self._register(member.family[0] + _SPACE + father[0], self._domicile(home))

    def _single_register(self, person: _Draft, home: Municipality) -> FamilyRegister:
        age = _age(person.birth, self.today)
        if (age < 30 and self._chance(0.85)) or (30 <= age < 60 and self._chance(0.4)):
            return self._parents_register(person, home)
        if person.sex is Sex.FEMALE and age >= 60 and self._chance(0.6):
            # A widow stays in the register of her late husband, its 筆頭者.
            husband = self._given(Sex.MALE, _before(person.birth, 3))
            return self._register(person.family[0] + _SPACE + husband[0],
                                  self._domicile(home))
        return self._register(person.kanji, self._domicile(home))

    # Household shapes ------------------------------------------------------------------

    def _single(self, home: Municipality) -> list[_Draft] | None:
        lo, hi = self.rng.choices(((18, 29), (30, 44), (45, 64), (65, 95)),
                                  cum_weights=(28, 44, 64, 100))[0]
        birth = self._birth_aged(lo, hi)
        female = self._chance(0.6 if lo >= 65 else 0.48)
        head = self._person(self._family(), Sex.FEMALE if female else Sex.MALE, birth, HEAD)
        head.register = self._single_register(head, home)
        return [head]

    def _couple_of(self, home: Municipality, lo: int, hi: int) -> tuple[_Draft, _Draft]:
        """A married couple sharing a register: (husband, wife)."""
        husband = self._person(self._family(), Sex.MALE, self._birth_aged(lo, hi), HEAD)
        wife = self._spouse(husband, WIFE)
        # The 筆頭者 is the spouse whose surname the couple took: mostly the husband.
        first = husband if self._chance(0.95) else wife
        register = self._register(first.kanji, self._domicile(home))
        husband.register = wife.register = register
        if self._chance(0.1):
            husband.relationship, wife.relationship = HUSBAND, HEAD
        return husband, wife

    @staticmethod
    def _head_first(couple: tuple[_Draft, _Draft]) -> list[_Draft]:
        a, b = couple
        return [a, b] if a.relationship == HEAD else [b, a]

    def _couple(self, home: Municipality) -> list[_Draft] | None:
        lo, hi = self.rng.choices(((22, 39), (40, 64), (65, 92)),
                                  cum_weights=(20, 50, 100))[0]
        return self._head_first(self._couple_of(home, lo, hi))

    def _nuclear(self, home: Municipality) -> list[_Draft] | None:
        couple = self._couple_of(home, 25, 60)
        n = self.rng.choices((1, 2, 3, 4), cum_weights=(38, 82, 96, 100))[0]
        kids = self._children(couple, n)
        for kid in kids:
            kid.register = couple[0].register
        return self._head_first(couple) + kids

    def _single_parent(self, home: Municipality) -> list[_Draft] | None:
        female = self._chance(0.8)
        head = self._person(self._family(), Sex.FEMALE if female else Sex.MALE,
                            self._birth_aged(25, 80), HEAD)
        if female and _age(head.birth, self.today) >= 60:
            husband = self._given(Sex.MALE, _before(head.birth, 3))
            head.register = self._register(head.family[0] + _SPACE + husband[0],
                                           self._domicile(home))
        else:
            head.register = self._register(head.kanji, self._domicile(home))
        n = self.rng.choices((1, 2, 3), cum_weights=(55, 90, 100))[0]
        kids = self._children([head], n, max_age=50)
        if not kids:
            return None
        for kid in kids:
            kid.register = head.register
        return [head, *kids]

    def _with_parents(self, home: Municipality) -> list[_Draft] | None:
        father, mother = self._couple_of(home, 60, 95)
        father.relationship, mother.relationship = FATHER, MOTHER
        # The parents' register keeps its 筆頭者 even after his or her death.
        parents_register = father.register
        assert parents_register is not None
        born = self._child_birth([father.birth, mother.birth], min_age=30, max_age=65)
        if born is None:
            return None
        son = self._chance(0.8)
        head = self._person(father.family, Sex.MALE if son else Sex.FEMALE, born, HEAD,
                            [father.given[0], mother.given[0]])
        members = [head]
        if son and self._chance(0.85):
            wife = self._spouse(head, WIFE)
            same_domicile = parents_register.permanent_domicile
            head.register = wife.register = self._register(
                head.kanji, same_domicile if self._chance(0.6) else self._domicile(home))
            kids = self._children([head, wife], self.rng.randint(0, 2))
            for kid in kids:
                kid.register = head.register
            members += [wife, *kids]
        else:
            # An unmarried son or daughter is still in the parents' register.
            head.register = parents_register
        alive = self.rng.choices(((father, mother), (mother,), (father,)),
                                 cum_weights=(60, 90, 100))[0]
        return members + list(alive)

    def _with_grandchildren(self, home: Municipality) -> list[_Draft] | None:
        if self._chance(0.85):
            parents = list(self._head_first(self._couple_of(home, 58, 88)))
        else:
            head = self._person(self._family(), Sex.MALE, self._birth_aged(58, 88), HEAD)
            head.register = self._register(head.kanji, self._domicile(home))
            parents = [head]
        born = self._child_birth([p.birth for p in parents], min_age=25, max_age=50)
        if born is None:
            return None
        son = self._chance(0.75)
        child = self._person(parents[0].family, Sex.MALE if son else Sex.FEMALE, born, CHILD)
        if son:
            in_law = self._spouse(child, CHILDS_WIFE)
            husband = child
        else:
            in_law = self._spouse(child, CHILDS_HUSBAND, self._family())
            husband = in_law
            child.family = in_law.family   # The couple took the husband's surname.
        child.register = in_law.register = self._register(husband.kanji,
                                                          self._domicile(home))
        grandchildren = self._children([child, in_law], self.rng.randint(1, 2),
                                       relationship=GRANDCHILD, max_age=25)
        for g in grandchildren:
            g.register = child.register
        return [*parents, child, in_law, *grandchildren]

    def _sharers(self, home: Municipality) -> list[_Draft] | None:
        members = []
        for i in range(self.rng.randint(2, 3)):
            sex = Sex.MALE if self._chance(0.5) else Sex.FEMALE
            p = self._person(self._family(), sex, self._birth_aged(20, 45),
                             HEAD if i == 0 else LODGER)
            p.register = self._single_register(p, home)
            members.append(p)
        return members

    # Residence and codes -------------------------------------------------------------

    def households(self) -> Iterator[Household]:
        index = 0
        while True:
            index += 1
            yield self._household(index)

    def _household(self, index: int) -> Household:
        home = self._municipality()
        address = self._address(home)
        if self.foreign_share and self._chance(self.foreign_share):
            return self._foreign_household(index, home, address)
        drafts: list[_Draft] | None = None
        while drafts is None:
            shape = self.rng.choices(_SHAPES, cum_weights=_SHAPE_CUM)[0]
            drafts = self.builders[shape](home)
        household_id = f"{home.code}-{index:07d}"
        dates = self._residence(drafts, home)
        return Household(household_id=household_id, members=tuple(
            self._resident(d, address, household_id, *dates[i])
            for i, d in enumerate(drafts)))

    def _foreign_household(self, index: int, home: Municipality, address: Address
                           ) -> Household:
        """A household of foreign residents (Art. 30-45): no family register."""
        household_id = f"{home.code}-{index:07d}"
        members = []
        for m in draw_household(self.rng, self.today, self.card_numbers, self._birth_aged):
            since = m.items.foreign_resident_since
            members.append(SyntheticResident(
                resident_code=self._unique(new_resident_code, self.resident_codes),
                individual_number=self._unique(new_individual_number,
                                               self.individual_numbers),
                name=m.name, birth_date=m.birth, sex=m.sex, address=address,
                household_id=household_id, relationship=m.relationship,
                resident_since=since, address_notification_date=self._notified(since),
                previous_address=self._previous(home) if m.moved_within_japan else None,
                family_register=None, foreign_resident=m.items))
        return Household(household_id=household_id, members=tuple(members))

    def _notified(self, event: dt.date) -> dt.date:
        return min(event + dt.timedelta(days=self.rng.randint(0, _NOTIFY_DAYS)), self.today)

    def _residence(self, drafts: list[_Draft], home: Municipality
                   ) -> list[tuple[dt.date, dt.date, Address | None]]:
        """(resident_since, address_notification_date, previous_address) per member."""
        head = drafts[0]
        moved: dt.date | None = None
        if not self._chance(0.15):
            span = self.rng.choices((730, 3650, 16425), cum_weights=(3, 7, 10))[0]
            lo = max(_after_birth(head.birth, 18), self.today - dt.timedelta(days=span))
            moved = self._between(min(lo, self.today), self.today)
        family = (moved, self._notified(moved), self._previous(home)) if moved else None
        out: list[tuple[dt.date, dt.date, Address | None]] = []
        for d in drafts:
            joined = self._joined_later(d, drafts, moved)
            if joined is not None:
                out.append((joined, self._notified(joined), self._previous(home)))
            elif family is None or d.birth >= family[0]:
                out.append((d.birth, self._notified(d.birth), None))
            else:
                out.append(family)
        return out

    def _joined_later(self, d: _Draft, drafts: list[_Draft],
                      moved: dt.date | None) -> dt.date | None:
        """A spouse who moved in after the household, or a lodger: their own date."""
        if d.relationship in (WIFE, HUSBAND, CHILDS_WIFE, CHILDS_HUSBAND):
            if not self._chance(0.25 if moved else 0.8):
                return None
            kids = (CHILD,) if d.relationship in (WIFE, HUSBAND) else (GRANDCHILD,)
            upper = min([self.today] + [k.birth for k in drafts if k.relationship in kids])
        elif d.relationship == LODGER:
            upper = self.today
        else:
            return None
        # Not before the household was here: the head, resident since birth or the move.
        lower = max(_after_birth(d.birth, 18), moved or drafts[0].birth)
        return self._between(lower, upper) if lower <= upper else None

    def _previous(self, home: Municipality) -> Address:
        return self._address(self._other_municipality(home.code))

    def _resident(self, d: _Draft, address: Address, household_id: str,
                  since: dt.date, notified: dt.date, previous: Address | None
                  ) -> SyntheticResident:
        if d.register is None:
            raise AssertionError("every household shape assigns a family register")
        return SyntheticResident(
            resident_code=self._unique(new_resident_code, self.resident_codes),
            individual_number=self._unique(new_individual_number, self.individual_numbers),
            name=PersonName(
                kanji=d.kanji, kana=d.family[1] + _SPACE + d.given[1]),
            birth_date=d.birth, sex=d.sex, address=address, household_id=household_id,
            relationship=d.relationship, resident_since=since,
            address_notification_date=notified, previous_address=previous,
            family_register=d.register)

    def _unique(self, new: Callable[[random.Random], str], used: set[str]) -> str:
        code = new(self.rng)
        while code in used:
            code = new(self.rng)
        used.add(code)
        return code


def _age(birth: dt.date, on: dt.date) -> int:
    """Completed years from ``birth`` to ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
