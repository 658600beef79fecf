"""Model-based codec cases: mutated DER and edge values, each compared with the model.

The fixed codec cases (:mod:`juki_conformance.cases_codec`) send the inputs their authors
thought of. Here hypothesis generates them, and the verdict the SUT's adapter gives is
compared with the verdict of the MODEL: the pristine reference adapter
(:func:`juki_protocol.tools.adapter.handle_line`) run inside the runner's own process.

``der/codec/explore/decode-mutated-der`` draws a valid golden vector (any message type,
its profile as the vector's group names it, only profiles the SUT's ``hello`` lists)
and one to three DER mutations, each at a drawn TLV of the (already mutated) tree:

- length field (R-DER-02, R-DER-05): long form for a short length (``81 7F`` at the
  127/128 boundary when a resize made the element 127 octets long), a long form with a
  leading zero octet, indefinite length ``80 ... 00 00``, five length octets, a length
  one more or one less than the content;
- identifier (R-DER-02, R-DER-06): the high-tag-number form for a low tag number, a
  leading zero septet, the constructed bit flipped, the class bits changed, the next
  tag number;
- primitive contents (R-DER-02): a one-octet value replaced by ``01``, ``7F``, ``80``,
  ``00`` or ``FF`` (BOOLEAN TRUE must be ``FF``); a redundant leading ``00`` or ``FF``
  octet, or empty content (INTEGER minimality);
- order: two adjacent elements of a constructed value swapped (the schema has no SET
  OF, so this checks SEQUENCE field order and SEQUENCE OF element order);
- an element removed (a missing mandatory field, an empty SEQUENCE OF below its SIZE
  bound, now and then the individual number in profile ``current``);
- truncation (R-DER-05) and trailing octets (R-DER-03);
- an unknown extension addition appended to a constructed value (R-DER-08:
  ``[29] IMPLICIT UTF8String "later"`` as the fixed cases use, or a constructed
  ``[30]``); skipped in an extensible SEQUENCE, an error elsewhere;
- a string resized (R-DER-07): one character fewer or more, or a count at a SIZE
  bound of spec/asn1 (0, 1, 4..13, 16, 17, 32, 33, 100, 101, 127, 128, 200, 201, 256,
  257), by repeating its first character.

Before the drawn inputs, each kind is tried once at the outermost value of the first
vector (an Acknowledgement), so that every rule is tried whatever the budget.

The SUT must give the model's verdict: both decode to the same JSON value, or both
refuse with the same error code (R-CONF-19: ``decode`` reports the first failure of
step 9 of spec/pdu.md section 8, with its registered code).

``der/codec/explore/encode-edge-values`` takes the JSON values of the valid vectors
(those without an unknown extension addition) and changes one or two leaves: a string
resized as above or replaced by a digit, letter, kana, kanji or astral character
string, an integer at 0, -1, its neighbours or 2^31, 2^63 and their negatives. Both
sides ``encode`` it (R-CONF-20, R-CONF-19: the same checks as decode, in the same order,
and the unique DER): the same DER, or the same error code.

Leniencies (where the spec lets implementations differ, a divergence is not failed):

- A vector the spec lets a decoder accept or refuse (result ``acceptable``: an
  ErrorReport with an unregistered code in range, 1024) makes that code and acceptance
  interchangeable for its message type, in decode and in encode (which applies the
  same checks, R-CONF-19).
- R-DER-17 leaves the faults of the structure against the schema (1010, 1011, 1013,
  1024 of R-DER-09, R-DER-11, R-DER-12, R-DER-15, R-DER-16, R-DER-18; a GeneralizedTime's
  contents) unordered, and R-CONF-21 the rules of the message. When the model's fault
  is of one of these phases, the SUT may report any other fault of that phase the input
  holds: every structural fault :func:`juki_protocol.codec.schema.structure_faults` finds, and,
  for an input made by two or more mutations, the model's code for one mutation applied
  alone when it is of the same phase. The TLV walk (R-DER-10, in the order of the
  octets), the outer tag, the canonical form of the primitives, the constraints and the
  profile are ordered: there only the model's code passes. ``encode`` keeps the groups
  of spec/pdu.md section 8 (1030; 1015; 1025; the rules): for two changes, another code
  of the model's group passes when one change alone gives it.
- A SUT answer of a shape the harness did not foresee (a map where a string is
  expected) is a divergence reported with its input (R-CONF-10), never an error.

A divergence is shrunk by hypothesis; the smallest failing input found (fewest
mutations, then shortest) is reported with the mutations, the message type, both
verdicts and the input in hex. Runs are deterministic for a seed and budget: every
choice comes from hypothesis draws seeded with ``seed``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from juki_conformance.der_mutations import FIRST_MUTATIONS, KINDS, RESIZES, Mutation, mutate
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.sut import AdapterSut, HarnessError, SutFault
from juki_protocol.codec import schema
from juki_protocol.errors import ErrorCode
from juki_protocol.resources import vectors_dir
from juki_protocol.tools.adapter import handle_line

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

#: Shrinking stops after this many seconds; the smallest failure found so far is kept.
SHRINK_SECONDS = 20.0
HEX_SHOWN = 600

Verdict_ = tuple[str, Any]          # ("ok", value or DER hex) | ("error", code) | ("fault", text)


@dataclasses.dataclass(frozen=True)
class Vector:
    """A valid golden vector: where it is from, its type, profile, DER and value."""

    label: str
    type_name: str
    profile: str | None
    der: bytes
    value: dict[str, Any]
    flags: tuple[str, ...]

    @property
    def extension(self) -> bool:
        """Whether the vector's DER carries an unknown extension addition."""
        return "UnknownExtension" in self.flags


@cache
def valid_vectors() -> tuple[Vector, ...]:
    """Every valid codec vector, in file, group and test order."""
    out = []
    for path in sorted(vectors_dir().glob("codec_*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for group in doc["testGroups"]:
            for t in group["tests"]:
                if t["result"] == "valid":
                    out.append(Vector(f"{path.name} tcId {t['tcId']}", group["messageType"],
                                      group["profile"], bytes.fromhex(t["der"]), t["value"],
                                      tuple(t["flags"])))
    return tuple(out)


@cache
def acceptable_codes() -> dict[str, frozenset[int]]:
    """Message type -> the codes its ``acceptable`` vectors let a decoder give or not."""
    out: dict[str, set[int]] = {}
    for path in sorted(vectors_dir().glob("codec_*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for group in doc["testGroups"]:
            for t in group["tests"]:
                if t["result"] == "acceptable":
                    out.setdefault(group["messageType"], set()).add(int(t["errorCode"]))
    return {k: frozenset(v) for k, v in out.items()}


# Verdicts --------------------------------------------------------------------------------

def _verdict(answer: dict[str, Any], key: str) -> Verdict_:
    if answer.get("ok"):
        got = answer.get(key)
        return ("ok", got.lower() if key == "der" and isinstance(got, str) else got)
    err = answer.get("error")
    code = err.get("code") if isinstance(err, dict) else None
    return ("error", code if isinstance(code, int) else None)


def model_verdict(op: str, fields: dict[str, Any]) -> Verdict_:
    return _verdict(handle_line(json.dumps({"id": 0, "op": op, **fields})),
                    "value" if op == "decode" else "der")


def verdict_words(v: Verdict_) -> str:
    if v[0] == "fault":
        return f"failed ({v[1]})"
    if v[0] == "ok":
        return "accepted" if not isinstance(v[1], str) else f"encoded to {v[1][:40]}..."
    if v[1] is None:
        return "rejected without a numeric error code"
    try:
        return f"rejected with {v[1]} {ErrorCode(v[1]).name}"
    except ValueError:
        return f"rejected with {v[1]} (unregistered)"


def _group(code: int) -> int:
    """The check group of an ``encode`` code (spec/pdu.md section 8, after reading the
    JSON form): the JSON form 1030, the constraints 1015, the profile 1025, the rules,
    which R-CONF-21 leaves unordered."""
    return {1030: 0, 1015: 1, 1025: 2}.get(code, 3)


def decode_phase(type_name: str, data: bytes, verdict: Verdict_) -> str:
    """The phase of spec/README.md section 6 and spec/pdu.md section 8 (step 9) in which
    the model found the fault it reports for ``data``: one of
    :data:`juki_protocol.codec.schema.PHASES`, "profile" (1025), or "rules" (the rules of the
    message, and the header checks of a ``JukiPdu``)."""
    if verdict[0] != "error":
        return ""
    phase = schema.decode_phase(type_name, data)
    if phase is not None:
        return phase
    return "profile" if verdict[1] == ErrorCode.PROFILE_VIOLATION else "rules"


#: Decode phases whose faults have no order among themselves: the structure against
#: the schema (R-DER-17) and the rules of the message (R-CONF-21). The walk (R-DER-10,
#: in the order of the octets), the outer tag, the canonical form, the constraints and
#: the profile each give one code.
UNORDERED = ("structure", "rules")


def decode_others(type_name: str, data: bytes, want: Verdict_,
                  alone: Callable[[], list[tuple[bytes, Verdict_]]]) -> set[int]:
    """The codes a SUT may report for ``data`` instead of the model's ``want``: when the
    model's fault is of an unordered phase, the code of any other fault of that phase
    the input holds. For the structure that is every fault
    :func:`juki_protocol.codec.schema.structure_codes` finds, and for both phases the code the
    model gives for each mutation applied alone (``alone``: its input and verdict) when
    its fault is of the same phase."""
    phase = decode_phase(type_name, data, want)
    if phase not in UNORDERED:
        return set()
    codes = set(schema.structure_codes(type_name, data)) if phase == "structure" else set()
    for one_data, verdict in alone():
        if verdict[0] == "error" and isinstance(verdict[1], int) \
                and decode_phase(type_name, one_data, verdict) == phase:
            codes.add(verdict[1])
    return codes


def agrees(got: Verdict_, want: Verdict_, acceptable: frozenset[int],
            others: Callable[[], set[int]]) -> bool:
    """Whether the SUT's verdict ``got`` is one the model's ``want`` allows: the same; an
    ``acceptable`` code against acceptance; or another code ``others`` allows."""
    if got == want:
        return True
    kinds = {got[0], want[0]}
    if kinds == {"ok", "error"}:
        code = got[1] if got[0] == "error" else want[1]
        return code in acceptable
    if kinds != {"error"} or not isinstance(got[1], int) or want[1] is None:
        return False
    return got[1] in others()


def judged(agrees: Callable[[], bool]) -> tuple[bool, str]:
    """``agrees()``, and a note when the answers could not be compared: a SUT's answer
    of a shape the harness did not foresee is a divergence reported with its input
    (R-CONF-10), never an error of the run."""
    try:
        return agrees(), ""
    except Exception as exc:     # any answer at all must give a verdict
        return False, f" (the answers could not be compared: {exc!r})"


class Divergence(AssertionError):
    """The SUT's verdict is not one the model allows."""


@dataclasses.dataclass
class _Found:
    size: tuple[int, int, str]
    actual: str
    shown: str


def _explore(budget: int, seed: int, strategy: SearchStrategy[Any],
             one: Callable[[Any], tuple[tuple[int, int, str], str, str] | None],
             first: tuple[Any, ...] = ()) -> tuple[_Found | None, int]:
    """Run ``one`` on the examples ``first``, then on ``budget`` drawn ones; ``one``
    returns (size, actual, shown) for a divergence. The smallest divergence found, and
    how many examples ran."""
    from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
    from hypothesis import seed as seed_of

    found: list[_Found] = []
    ran = [0]
    first_failure = [0.0]

    def check(drawn: Any) -> None:
        if found and time.monotonic() - first_failure[0] > SHRINK_SECONDS:
            return          # shrinking has had its time; keep the smallest so far
        ran[0] += 1
        result = one(drawn)
        if result is None:
            return
        size, actual, shown = result
        if not found:
            first_failure[0] = time.monotonic()
        if not found or size < found[0].size:
            found[:] = [_Found(size, actual, shown)]
        raise Divergence(actual)

    test = given(strategy)(check)
    for ex in reversed(first):
        test = example(ex)(test)
    test = settings(max_examples=budget, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                    phases=(Phase.explicit, Phase.generate, Phase.shrink),
                    derandomize=False, report_multiple_bugs=False)(test)
    test = seed_of(seed)(test)
    try:
        test()
    except Divergence:
        pass
    except Exception as exc:  # hypothesis's own complaints (flaky replays) after a find
        if not found:
            raise HarnessError(f"exploration stopped: {exc!r}") from exc
    return (found[0] if found else None), ran[0]


def ask(sut: AdapterSut, op: str, fields: dict[str, Any]) -> Verdict_:
    try:
        return _verdict(sut.request(op, **fields), "value" if op == "decode" else "der")
    except SutFault as fault:
        return ("fault", str(fault))


def profiles(sut: AdapterSut) -> list[str]:
    profiles = sut.hello.get("profiles") if sut.hello else None
    return [p for p in profiles or ["current"] if isinstance(p, str)]


def hex_shown(data: bytes) -> str:
    text = data.hex()
    return text[:HEX_SHOWN] + ("..." if len(text) > HEX_SHOWN else "")


# The decode case -------------------------------------------------------------------------

def _decode_strategy(count: int) -> SearchStrategy[tuple[int, list[Mutation]]]:
    from hypothesis import strategies as st
    # Position 0 (the outermost value) and 1 to 3 (its first elements) are drawn more
    # often: their tags and lengths decide the most checks (R-DER-06).
    position = st.one_of(st.just(0), st.integers(0, 3), st.integers(0, 255))
    mutation = st.tuples(st.sampled_from(KINDS), position, st.integers(0, 31))
    # Single mutations get a branch of their own (over a third of the inputs): a
    # second mutation often hides the first behind an earlier check.
    mutations = st.one_of(st.lists(mutation, min_size=1, max_size=1),
                          st.lists(mutation, min_size=2, max_size=3))
    return st.tuples(st.integers(0, count - 1), mutations)


def explore_decode(sut: AdapterSut, budget: int, seed: int) -> tuple[_Found | None, int]:
    """Decode ``budget`` mutated vectors on the SUT and the model."""
    vectors = [v for v in valid_vectors() if v.profile is None or v.profile in profiles(sut)]
    if not vectors:
        raise HarnessError("no valid vector in a profile the SUT declares")

    def fields(vector: Vector, data: bytes) -> dict[str, Any]:
        out = {"type": vector.type_name, "der": data.hex()}
        return {**out, "profile": vector.profile} if vector.profile else out

    def one(example: tuple[int, list[Mutation]]) -> tuple[tuple[int, int, str], str,
                                                            str] | None:
        index, mutations = example
        vector = vectors[index]
        data, said = mutate(vector.der, mutations)
        want = model_verdict("decode", fields(vector, data))
        got = ask(sut, "decode", fields(vector, data))

        def alone() -> list[tuple[bytes, Verdict_]]:
            inputs = [mutate(vector.der, [m])[0] for m in mutations] \
                if len(mutations) > 1 else []
            return [(d, model_verdict("decode", fields(vector, d))) for d in inputs]
        agreed, note = judged(lambda: agrees(
            got, want, acceptable_codes().get(vector.type_name, frozenset()),
            lambda: decode_others(vector.type_name, data, want, alone)))
        if agreed:
            return None
        if got[0] == want[0] == "ok":
            verdicts = "the SUT and the model decoded it to different values"
        else:
            verdicts = f"the SUT {verdict_words(got)}; the model {verdict_words(want)}"
        verdicts += note
        actual = (f"{vector.type_name} ({vector.label} {'/'.join(vector.flags)}, profile "
                  f"{vector.profile or 'none'}) with {'; '.join(said)}: {verdicts}")
        return ((len(mutations), len(data), data.hex()), actual,
                f"input DER ({len(data)} octets): {hex_shown(data)}")

    return _explore(budget, seed, _decode_strategy(len(vectors)), one, FIRST_MUTATIONS)


# The encode case -------------------------------------------------------------------------

STRING_FILLS = ("keep", "digit", "letter", "kana", "kanji", "astral")
FILL_CHARS = {"digit": "7", "letter": "A", "kana": "ア", "kanji": "長", "astral": "𠮷"}
INTEGERS = ("zero", "minus1", "plus1", "neg", "2^31", "-2^31-1", "2^63", "-2^63-1")

Change = tuple[int, int, int]      # (leaf position, variant, fill)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for k in sorted(value):
            yield from _leaves(value[k], (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        yield path, value


def change_value(value: dict[str, Any], changes: list[Change]) -> tuple[dict[str, Any],
                                                                         list[str]]:
    """``value`` with ``changes`` made in turn; the words for each."""
    out = copy.deepcopy(value)
    said = []
    for pos, variant, fill in changes:
        leaves = list(_leaves(out))
        if not leaves:
            break
        path, old = leaves[pos % len(leaves)]
        holder: Any = out
        for key in path[:-1]:
            holder = holder[key]
        name = ".".join(str(p) for p in path)
        if isinstance(old, int):
            form = INTEGERS[variant % len(INTEGERS)]
            new: Any = {"zero": 0, "minus1": old - 1, "plus1": old + 1, "neg": -old,
                        "2^31": 2**31, "-2^31-1": -2**31 - 1, "2^63": 2**63,
                        "-2^63-1": -2**63 - 1}[form]
            said.append(f"{name} {old} -> {new}")
        else:
            target = RESIZES[variant % len(RESIZES)]
            count = len(old) - 1 if target == "minus1" else \
                len(old) + 1 if target == "plus1" else int(target)
            how = STRING_FILLS[fill % len(STRING_FILLS)]
            char = (old[:1] or "a") if how == "keep" else FILL_CHARS[how]
            new = char * max(count, 0)
            said.append(f"{name} of {len(old)} characters -> {max(count, 0)} x {char!r}")
        holder[path[-1]] = new
    return out, said


def _encode_strategy(count: int) -> SearchStrategy[tuple[int, list[Change]]]:
    from hypothesis import strategies as st
    change = st.tuples(st.integers(0, 255), st.integers(0, 31), st.integers(0, 7))
    return st.tuples(st.integers(0, count - 1), st.lists(change, min_size=1, max_size=2))


def explore_encode(sut: AdapterSut, budget: int, seed: int) -> tuple[_Found | None, int]:
    """Encode ``budget`` changed vector values on the SUT and the model."""
    vectors = [v for v in valid_vectors() if not v.extension
               and (v.profile is None or v.profile in profiles(sut))]
    if not vectors:
        raise HarnessError("no valid vector in a profile the SUT declares")

    def fields(vector: Vector, value: dict[str, Any]) -> dict[str, Any]:
        return {"type": vector.type_name, "value": value,
                "profile": vector.profile or "current"}

    def one(example: tuple[int, list[Change]]) -> tuple[tuple[int, int, str], str,
                                                        str] | None:
        index, changes = example
        vector = vectors[index]
        value, said = change_value(vector.value, changes)
        want = model_verdict("encode", fields(vector, value))
        got = ask(sut, "encode", fields(vector, value))

        def others() -> set[int]:
            # Two changes: another code of the model's group, if one change alone gives it.
            if len(changes) < 2 or want[0] != "error" or not isinstance(want[1], int):
                return set()
            alone = [model_verdict("encode", fields(vector, change_value(vector.value, [c])[0]))
                     for c in changes]
            return {v[1] for v in alone if v[0] == "error" and isinstance(v[1], int)
                    and _group(v[1]) == _group(want[1])}
        agreed, note = judged(lambda: agrees(
            got, want, acceptable_codes().get(vector.type_name, frozenset()), others))
        if agreed:
            return None
        if got[0] == want[0] == "ok":
            verdicts = "the SUT and the model encoded it to different DER"
        else:
            verdicts = f"the SUT {verdict_words(got)}; the model {verdict_words(want)}"
        verdicts += note
        text = json.dumps(value, ensure_ascii=False)
        actual = (f"{vector.type_name} ({vector.label} {'/'.join(vector.flags)}) with "
                  f"{'; '.join(said)}: "
                  f"{verdicts}")
        shown = f"value: {text[:HEX_SHOWN]}{'...' if len(text) > HEX_SHOWN else ''}"
        if got[0] == want[0] == "ok":
            shown += f"; SUT DER {str(got[1])[:HEX_SHOWN]}; model DER {want[1][:HEX_SHOWN]}"
        return ((len(changes), len(text), text), actual, shown)

    return _explore(budget, seed, _encode_strategy(len(vectors)), one)


# The cases -------------------------------------------------------------------------------

def _run(op: str, budget: int, seed: int) -> Callable[[AdapterSut], Outcome]:
    explore = explore_decode if op == "decode" else explore_encode
    what = "mutated inputs" if op == "decode" else "changed values"

    def run(sut: AdapterSut) -> Outcome:
        first = f"{len(FIRST_MUTATIONS)} fixed and " if op == "decode" else ""
        expected = (f"the model's verdict (the same {'value' if op == 'decode' else 'DER'}, "
                    f"or the same error code) for {first}{budget} drawn {what} "
                    f"(seed {seed})")
        found, ran = explore(sut, budget, seed)
        if found is None:
            return Outcome(Verdict.PASS, expected, f"{ran} {what} {op}d, no divergence")
        return Outcome(Verdict.FAIL, expected, found.actual,
                       f"{found.shown}; reproduce with seed {seed} and budget {budget} "
                       f"(juki-conformance run --cases 'der/codec/explore/*' "
                       f"--explore {budget} --seed {seed})")
    return run


DECODE_REQUIREMENTS = ("R-DER-02", "R-DER-03", "R-DER-05", "R-DER-06", "R-DER-07",
                       "R-DER-08", "R-CONF-19")
ENCODE_REQUIREMENTS = ("R-DER-07", "R-CONF-19", "R-CONF-20")


def codec_explore_cases(budget: int, seed: int = 1) -> list[Case]:
    """The model-based codec cases (none when ``budget`` is 0)."""
    if budget <= 0:
        return []
    return [
        Case(id="der/codec/explore/decode-mutated-der",
             title="generated DER mutations of the valid vectors decode as the model "
                   "decodes them",
             clause="der", requirements=DECODE_REQUIREMENTS,
             level=strongest_level(DECODE_REQUIREMENTS),
             remediation="Decode the minimal input printed with the failure and compare "
                         "with spec/README.md section 6 and the order of checks of "
                         "spec/pdu.md section 8 (step 9).",
             mode="codec", ops=("decode",), run=_run("decode", budget, seed),
             data={"budget": budget, "seed": seed}),
        Case(id="der/codec/explore/encode-edge-values",
             title="generated edge values (strings at SIZE bounds, integers at range "
                   "edges) encode as the model encodes them",
             clause="der", requirements=ENCODE_REQUIREMENTS,
             level=strongest_level(ENCODE_REQUIREMENTS),
             remediation="Encode the value printed with the failure and compare with the "
                         "constraints of spec/asn1 and the order of checks of spec/pdu.md "
                         "section 8.",
             mode="codec", ops=("encode",), run=_run("encode", budget, seed),
             data={"budget": budget, "seed": seed}),
    ]
