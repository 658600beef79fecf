"""Codec cases for the places inside a message where a rule applies (spec/README.md
sections 4 and 6; spec/conformance.md R-CONF-19).

A codec that checks a rule at the top of a message only, or in the first element of a
repeated field only, passes the golden vectors, which put each fault in one place. Here
the same rules are checked at every place the schema gives them:

- the profile (R-PDU-02, R-PDU-03) of each ``IdentityInfo`` and
  ``MoveOutCertificateEntry``: directly in the message (``IdentityInfoUpdate``), one
  level further down (``IdentityInfoRelay.update``), in the first, a middle and the last
  element of a SEQUENCE OF (``MoveOutCertificate.entries``), and inside the elements of
  a SEQUENCE OF that is a CHOICE alternative (``ProvisionResponse.provided``). In each
  profile, one place breaks it and every other place follows it: ``encode`` and
  ``decode`` with the profile refuse the value with 1025 (R-CONF-19), and ``decode``
  without a profile decodes it, since the profile is checked only when one is given;
- unknown extension additions (R-DER-08, R-DER-11) by count and by place: two after the
  last known component of the outermost SEQUENCE, of a nested SEQUENCE and of the last
  element of a SEQUENCE OF are all skipped; one before a known OPTIONAL component (root
  or extension addition), or one before it and one after it, is no addition and is
  refused with 1013;
- the shape of the JSON form (R-JSON-01, R-JSON-02, R-JSON-06) below the top of the
  value: a nested SEQUENCE given as a string or an array, a SEQUENCE OF as an object, an
  element of one as a string, a character string as a number (1030); ``null`` for a
  required nested SEQUENCE (omitted: 1030) and for an OPTIONAL individual number in the
  last element of a list (omitted: encoded as without the key in p2002, 1025 in current).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_codec import CLAUSES
from juki_conformance.codec_checks import error_of, expect_error, json_diff, kebab_case
from juki_conformance.der_mutations import TlvNode, encode_tree, tlv_tree
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import Profile

#: The samples' seed: its MoveOutCertificate and ProvisionResponse have five elements.
SEED = 1

#: Where a profiled structure sits in each type that holds one, as a path of JSON keys
#: and list indices (-1: the last element); the slug names the place in case ids.
PLACES: tuple[tuple[str, tuple[str | int, ...], str], ...] = (
    ("IdentityInfoUpdate", ("identity_info",), "identity-info"),
    ("IdentityInfoRelay", ("update", "identity_info"), "update-identity-info"),
    ("MoveOutCertificate", ("entries", 0), "first-entry"),
    ("MoveOutCertificate", ("entries", 2), "middle-entry"),
    ("MoveOutCertificate", ("entries", -1), "last-entry"),
    ("ProvisionResponse", ("provided", 0, "identity_info"), "first-provided"),
    ("ProvisionResponse", ("provided", -1, "identity_info"), "last-provided"),
)

PROFILE_FIX = ("Apply the profile to every IdentityInfo and MoveOutCertificateEntry the "
               "message holds, however deep and in every element of a list: the individual "
               "number is required in current and forbidden in p2002 (1025); check it on "
               "encode, and on decode when the request names a profile, and only then.")


def _value(type_name: str, profile: Profile) -> dict[str, Any]:
    """The JSON value of the sample of ``type_name`` that follows ``profile``."""
    return codec.to_json(example(type_name, SEED, profile))


def _at(value: Any, path: tuple[str | int, ...]) -> dict[str, Any]:
    for key in path:
        value = value[key]
    found: dict[str, Any] = value
    return found


def _breaking(type_name: str, path: tuple[str | int, ...],
              profile: Profile) -> dict[str, Any]:
    """The sample in ``profile`` with the structure at ``path`` breaking it: without its
    individual number in current, with the one the current sample has there in p2002."""
    broken = copy.deepcopy(_value(type_name, profile))
    place = _at(broken, path)
    if profile is Profile.CURRENT:
        del place["individual_number"]
    else:
        place["individual_number"] = _at(_value(type_name, Profile.CURRENT),
                                         path)["individual_number"]
    return broken


def _profile_run(type_name: str, value: dict[str, Any],
                 profile: str) -> Callable[[AdapterSut], Outcome]:
    expected = (f"encode and decode with profile {profile} refused 1025; decode without a "
                "profile gives the value")

    def run(sut: AdapterSut) -> Outcome:
        enc = sut.request("encode", type=type_name, value=value, profile=profile)
        outcome = expect_error(enc, int(ErrorCode.PROFILE_VIOLATION))
        if outcome.verdict is not Verdict.PASS:
            return Outcome(Verdict.FAIL, expected, f"encode: {outcome.actual}")
        # The DER of the value, from the reference: DER is unique (R-DER-01).
        data = codec.encode(codec.from_json(type_name, value), profile=None).hex()
        dec = sut.request("decode", type=type_name, der=data, profile=profile)
        outcome = expect_error(dec, int(ErrorCode.PROFILE_VIOLATION))
        if outcome.verdict is not Verdict.PASS:
            return Outcome(Verdict.FAIL, expected, f"decode with the profile: "
                           f"{outcome.actual}")
        plain = sut.request("decode", type=type_name, der=data)
        if not plain.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"decode without a profile: rejected "
                           f"with {error_of(plain)[1]}")
        if plain.get("value") != value:
            return Outcome(Verdict.FAIL, expected, "decode without a profile gave another "
                           "value", json_diff(value, plain.get("value")))
        return Outcome(Verdict.PASS, expected, "refused 1025 twice, decoded without one")
    return run


def profile_place_cases() -> list[Case]:
    """The profile broken at one place of each type, in each profile."""
    cases = []
    for type_name, path, slug in PLACES:
        for profile, name in ((Profile.CURRENT, "current"), (Profile.P2002, "p2002")):
            fault = ("without an individual number" if profile is Profile.CURRENT
                     else "with an individual number")
            cases.append(Case(
                id=f"{CLAUSES[type_name]}/codec/{kebab_case(type_name)}/{name}/"
                   f"profile-broken-in-{slug}",
                title=f"{type_name} in profile {name} whose {slug.replace('-', ' ')} alone "
                      f"is {fault}: refused 1025 on encode and decode with the profile",
                clause=CLAUSES[type_name],
                requirements=("R-PDU-02" if profile is Profile.CURRENT else "R-PDU-03",
                              "R-CONF-19"),
                level="MUST", remediation=PROFILE_FIX, mode="codec",
                run=_profile_run(type_name, _breaking(type_name, path, profile), name),
                message_type=type_name, profile=name, ops=("encode", "decode")))
    return cases


# Extension additions by count and place --------------------------------------------------

#: Unknown context tags of no component of this version: [29] primitive and [30]
#: constructed (no type of spec/asn1 has 29 components).
FIRST = bytes.fromhex("9d026c61")
SECOND = bytes.fromhex("be03800100")


def _child(node: TlvNode, number: int) -> TlvNode:
    """The child of ``node`` with context tag ``number`` (low form)."""
    assert node.children is not None
    return next(c for c in node.children if c.ident[0] & 0x1F == number
                and c.ident[0] >> 6 == 2)


def _insert(node: TlvNode, extra: bytes, before: int | None = None) -> None:
    """Add the element ``extra`` to ``node``: before its child with context tag
    ``before``, or at the end."""
    assert node.children is not None
    at = len(node.children) if before is None else node.children.index(_child(node, before))
    node.children.insert(at, tlv_tree(extra))


#: A change of a DER tree, in place.
Edit = Callable[[TlvNode], None]


def _two_at_end(find: Callable[[TlvNode], TlvNode]) -> Edit:
    def edit(root: TlvNode) -> None:
        node = find(root)
        _insert(node, FIRST)
        _insert(node, SECOND)
    return edit


def _before(find: Callable[[TlvNode], TlvNode], number: int, after_too: bool = False) -> Edit:
    def edit(root: TlvNode) -> None:
        node = find(root)
        _insert(node, FIRST, before=number)
        if after_too:
            _insert(node, SECOND)
    return edit


def _entry(index: int) -> Callable[[TlvNode], TlvNode]:
    def find(root: TlvNode) -> TlvNode:
        entries = _child(root, 2).children
        assert entries is not None
        return entries[index]
    return find


def _provided(index: int, component: int | None = None) -> Callable[[TlvNode], TlvNode]:
    def find(root: TlvNode) -> TlvNode:
        items = _child(_child(root, 0), 0).children
        assert items is not None
        item = items[index]
        return item if component is None else _child(item, component)
    return find


def _identity(root: TlvNode) -> TlvNode:
    return _child(root, 3)


#: (type, slug, how the DER changes, whether it is refused 1013 (else skipped), what).
PLACEMENTS: tuple[tuple[str, str, Edit, bool, str], ...] = (
    ("IdentityInfoUpdate", "two-additions-at-the-end", _two_at_end(lambda r: r), False,
     "two unknown elements after the last component of the outermost SEQUENCE"),
    ("IdentityInfoUpdate", "two-additions-at-the-end-of-identity-info",
     _two_at_end(_identity), False,
     "two unknown elements after individualNumber, the last component of identityInfo"),
    ("MoveOutCertificate", "two-additions-at-the-end-of-the-last-entry",
     _two_at_end(_entry(-1)), False,
     "two unknown elements at the end of the last element of entries"),
    ("ProvisionResponse", "two-additions-at-the-end-of-a-middle-provided",
     _two_at_end(_provided(2)), False,
     "two unknown elements at the end of a middle element of provided"),
    ("ProvisionResponse", "two-additions-in-the-last-provided-identity-info",
     _two_at_end(_provided(-1, 0)), False,
     "two unknown elements at the end of identityInfo in the last element of provided"),
    ("IdentityInfoUpdate", "unknown-before-individual-number",
     _before(_identity, 5), True,
     "an unknown element before individualNumber, a known OPTIONAL extension addition"),
    ("IdentityInfoUpdate", "unknown-before-and-after-individual-number",
     _before(_identity, 5, after_too=True), True,
     "unknown elements before and after individualNumber"),
    ("IdentityInfoUpdate", "unknown-before-previous-resident-code",
     _before(lambda r: r, 5), True,
     "an unknown element before previousResidentCode, an OPTIONAL root component"),
    ("MoveOutCertificate", "unknown-before-family-register-of-the-last-entry",
     _before(_entry(-1), 4), True,
     "an unknown element before familyRegister (OPTIONAL) in the last element of entries"),
    ("ProvisionResponse", "unknown-before-individual-number-of-the-last-provided",
     _before(_provided(-1, 0), 5), True,
     "an unknown element before individualNumber in the last element of provided"),
)

SKIP_FIX = ("Skip every unknown element after the last known component of an extensible "
            "SEQUENCE, however many there are, at any depth and in every element of a "
            "SEQUENCE OF (R-DER-08); decode the value as without them.")
PLACE_FIX = ("An unknown element followed by a known component of the same SEQUENCE, "
             "OPTIONAL or an extension addition included, is no extension addition: "
             "refuse it with 1013, never drop the known component (R-DER-11).")


def _placement_run(type_name: str, edit: Edit,
                   refused: bool) -> Callable[[AdapterSut], Outcome]:
    msg = example(type_name, SEED, Profile.CURRENT)
    root = tlv_tree(codec.encode(msg))
    edit(root)
    data = encode_tree(root).hex()
    value = codec.to_json(msg)

    def run(sut: AdapterSut) -> Outcome:
        answer = sut.request("decode", type=type_name, der=data)
        if refused:
            return expect_error(answer, int(ErrorCode.DER_UNEXPECTED_TAG))
        expected = "decoded, the unknown elements skipped"
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"rejected with {error_of(answer)[1]}")
        if answer.get("value") != value:
            return Outcome(Verdict.FAIL, expected, "decoded to another value",
                           json_diff(value, answer.get("value")))
        return Outcome(Verdict.PASS, expected, "decoded, elements skipped")
    return run


def placement_cases() -> list[Case]:
    """Unknown extension elements by count and place."""
    return [Case(
        id=f"der/codec/{kebab_case(type_name)}/{slug}",
        title=f"{type_name} with {what}: {'refused 1013' if refused else 'skipped'}",
        clause=CLAUSES[type_name],
        requirements=("R-DER-11", "R-DER-08") if refused else ("R-DER-08", "R-CONF-19"),
        level="MUST", remediation=PLACE_FIX if refused else SKIP_FIX, mode="codec",
        run=_placement_run(type_name, edit, refused), message_type=type_name,
        ops=("decode",))
        for type_name, slug, edit, refused, what in PLACEMENTS]


# The JSON form's shape at depth ----------------------------------------------------------

def _changed(type_name: str, profile: Profile, path: tuple[str | int, ...],
             new: Any) -> dict[str, Any]:
    """The sample in ``profile`` with the value at ``path`` replaced by ``new``."""
    value = copy.deepcopy(_value(type_name, profile))
    _at(value, path[:-1])[path[-1]] = new      # type: ignore[index]  # a list index too
    return value


#: (type, slug, profile, path, new value, expected code or None for "encoded as without
#: the key", what, requirements).
SHAPES: tuple[tuple[str, str, Profile, tuple[str | int, ...], Any, int | None, str,
                    tuple[str, ...]], ...] = (
    ("IdentityInfoUpdate", "identity-info-a-string", Profile.CURRENT, ("identity_info",),
     "271004", 1030, "identityInfo (a SEQUENCE) given as a string", ("R-JSON-06",)),
    ("MoveOutCertificate", "entries-an-object", Profile.CURRENT, ("entries",), {},
     1030, "entries (a SEQUENCE OF) given as an object", ("R-JSON-06",)),
    ("MoveOutCertificate", "last-entry-a-string", Profile.CURRENT, ("entries", -1),
     "271004", 1030, "the last element of entries given as a string", ("R-JSON-06",)),
    ("ProvisionResponse", "last-provided-identity-info-an-array", Profile.CURRENT,
     ("provided", -1, "identity_info"), [], 1030,
     "identityInfo of the last element of provided given as an array", ("R-JSON-06",)),
    ("IdentityInfoRelay", "update-kanji-a-number", Profile.CURRENT,
     ("update", "identity_info", "name", "kanji"), 7, 1030,
     "update.identityInfo.name.kanji (a UTF8String) given as a number", ("R-JSON-06",)),
    ("IdentityInfoRelay", "update-identity-info-null", Profile.CURRENT,
     ("update", "identity_info"), None, 1030,
     "update.identityInfo (required) given as null, which is read as omitted",
     ("R-JSON-01", "R-JSON-02")),
    ("MoveOutCertificate", "last-entry-individual-number-null", Profile.P2002,
     ("entries", -1, "individual_number"), None, None,
     "individualNumber (OPTIONAL) of the last entry given as null in profile p2002",
     ("R-JSON-01",)),
    ("MoveOutCertificate", "last-entry-individual-number-null", Profile.CURRENT,
     ("entries", -1, "individual_number"), None, 1025,
     "individualNumber of the last entry given as null in profile current, read as "
     "omitted: the profile breaks", ("R-JSON-01", "R-PDU-02")),
)
SHAPE_FIX = ("Read the JSON form by the mapping of spec/json.md section 1 at every depth: "
             "an object for a SEQUENCE, an array for a SEQUENCE OF, a string for a "
             "character string, anything else 1030; a key whose value is null is omitted.")


def _shape_run(type_name: str, value: dict[str, Any], profile: str,
               code: int | None) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        answer = sut.request("encode", type=type_name, value=value, profile=profile)
        if code is not None:
            return expect_error(answer, code)
        wanted = codec.encode(codec.from_json(type_name, _without_nulls(value)),
                              profile=None).hex()
        expected = "encoded as the value without the null key"
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"rejected with {error_of(answer)[1]}")
        if answer.get("der") != wanted:
            return Outcome(Verdict.FAIL, expected, "encoded to other DER")
        return Outcome(Verdict.PASS, expected, "encoded without it")
    return run


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def shape_cases() -> list[Case]:
    """The JSON form's shape checked below the top of the value."""
    cases = []
    for type_name, slug, profile, path, new, code, what, reqs in SHAPES:
        name = "current" if profile is Profile.CURRENT else "p2002"
        cases.append(Case(
            id=f"json/codec/{kebab_case(type_name)}/{name}/{slug}",
            title=f"{type_name} with {what}: "
                  + (f"refused {code}" if code is not None else "encoded"),
            clause="json" if code != 1025 else CLAUSES[type_name], requirements=reqs,
            level="MUST", remediation=SHAPE_FIX, mode="codec",
            run=_shape_run(type_name, _changed(type_name, profile, path, new), name, code),
            message_type=type_name, profile=name, ops=("encode",)))
    return cases


def path_cases() -> list[Case]:
    """The cases of this module, in a stable order."""
    return profile_place_cases() + placement_cases() + shape_cases()


__all__ = ["path_cases"]
