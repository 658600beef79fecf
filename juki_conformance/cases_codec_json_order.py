"""Codec cases for the order of checks when a value holds two faults at different depths
(spec/conformance.md R-CONF-15, spec/pdu.md section 8 step 9, spec/json.md R-JSON-02).

The order cases of :mod:`juki_conformance.cases_codec` put both faults at the top of one
message. A codec that checks while it builds each nested object passes them, and still
reports the wrong fault when the two sit in different objects. Here:

- reading the JSON form comes first (``encode``, R-CONF-15 "after reading the JSON
  form"): a required key missing (R-JSON-02) in the profiled structure itself, at the top
  of the message, or in another element of the same list, together with a later fault
  at the profiled structure: the profile broken (1025, in each profile), a name longer
  than its SIZE (1015), or a resident code with a wrong check digit (1020). The answer
  is 1030 in every case. A reader that skips a missing key it takes for OPTIONAL, or
  that checks the constraints, the profile or an object's rules before it has read the
  whole form, gives the later code;
- the profile before the rules, and the constraints before the profile, across the
  elements of a list (``encode`` and ``decode`` with the profile): the profile broken in
  the last element and a rule or a constraint broken in the first. The answers are 1025
  and 1015. A codec that applies the profile while it builds each element reports the
  first element's fault, or the last element's profile before a constraint.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_codec import CLAUSES
from juki_conformance.codec_checks import expect_error, kebab_case
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import Profile
from juki_protocol.messages.base import json_to_raw
from juki_protocol.tools.vectors.vector_cases import raw_encode

#: The samples' seed: its MoveOutCertificate and ProvisionResponse have five elements.
SEED = 1

#: Where a profiled structure (IdentityInfo, MoveOutCertificateEntry) sits, as a path of
#: JSON keys and list indices (-1: the last element); the slug names it in case ids.
PLACES: tuple[tuple[str, tuple[str | int, ...], str], ...] = (
    ("IdentityInfoUpdate", ("identity_info",), "identity-info"),
    ("IdentityInfoRelay", ("update", "identity_info"), "update-identity-info"),
    ("MoveOutCertificate", ("entries", 0), "first-entry"),
    ("MoveOutCertificate", ("entries", -1), "last-entry"),
    ("ProvisionResponse", ("provided", 0, "identity_info"), "first-provided"),
    ("ProvisionResponse", ("provided", -1, "identity_info"), "last-provided"),
)

#: A name of 101 characters: one over ``PersonName.kanji``'s SIZE (1..100) (1015).
LONG_NAME = "亜" * 101

FIX_JSON = ("Read the whole JSON form first (spec/json.md): every required key at every "
            "depth, in every element of a list, and refuse a missing one with 1030 "
            "before checking the schema constraints, the profile or any rule "
            "(R-CONF-15, R-JSON-02).")
FIX_LIST = ("Check the constraints of the whole value, then the profile of every "
            "structure, then the rules (spec/pdu.md section 8 step 9, R-CONF-15), not "
            "all three per element of a list.")


def _value(type_name: str, profile: Profile) -> dict[str, Any]:
    return codec.to_json(example(type_name, SEED, profile))


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _object(type_name: str, path: tuple[str | int, ...]) -> Any:
    """The dataclass at ``path`` in the sample of ``type_name``."""
    obj: Any = example(type_name, SEED, Profile.CURRENT)
    for key in path:
        obj = obj[key] if isinstance(key, int) else getattr(obj, key)
    return obj


def _required(obj: Any) -> list[str]:
    """The fields of the dataclass ``obj`` that are neither OPTIONAL nor a CHOICE
    alternative: the keys its JSON object must have (R-JSON-02)."""
    hints = typing.get_type_hints(type(obj))
    return [f.name for f in dataclasses.fields(obj) if "choice" not in f.metadata
            and type(None) not in typing.get_args(hints[f.name])]


def _other(path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The same place in another element of the list on ``path``, or None."""
    at = next((i for i, k in enumerate(path) if isinstance(k, int)), None)
    if at is None:
        return None
    return (*path[:at], -1 if path[at] == 0 else 0, *path[at + 1:])


def _missing_places(type_name: str, path: tuple[str | int, ...]
                    ) -> list[tuple[str, tuple[str | int, ...], str]]:
    """(slug, path of the object, key) for each place a required key is removed: the
    profiled structure itself (a key other than the ones the faults use), the top of
    the message (a key off ``path``), and another element of the list on ``path``."""
    inner = [k for k in _required(_object(type_name, path))
             if k not in ("name", "resident_code", "individual_number")]
    top = [k for k in _required(example(type_name, SEED, Profile.CURRENT)) if k != path[0]]
    places = [("in-place", path, inner[-1])]
    if top:
        places.append(("at-top", (), top[-1]))
    other = _other(path)
    if other is not None:
        places.append(("in-another-element", other, inner[0]))
    return places


def _break_profile(value: dict[str, Any], type_name: str, path: tuple[str | int, ...],
                   profile: Profile) -> None:
    place = _at(value, path)
    if profile is Profile.CURRENT:
        del place["individual_number"]
    else:
        place["individual_number"] = _at(_value(type_name, Profile.CURRENT),
                                         path)["individual_number"]


def _break_check_digit(place: dict[str, Any]) -> None:
    code = place["resident_code"]
    place["resident_code"] = code[:-1] + str((int(code[-1]) + 1) % 10)


#: (slug, what, the code the later fault alone gives, its requirement, profiles).
LATER = (
    ("profile", "the profile broken", int(ErrorCode.PROFILE_VIOLATION), None,
     (Profile.CURRENT, Profile.P2002)),
    ("constraint", "a name of 101 characters", int(ErrorCode.CONSTRAINT_VIOLATION),
     "R-DER-07", (Profile.CURRENT,)),
    ("rule", "a resident code with a wrong check digit",
     int(ErrorCode.INVALID_RESIDENT_CODE), "R-ID-01", (Profile.CURRENT,)),
)


def _with_later(type_name: str, path: tuple[str | int, ...], profile: Profile,
                later: str) -> dict[str, Any]:
    value = copy.deepcopy(_value(type_name, profile))
    if later == "profile":
        _break_profile(value, type_name, path, profile)
    elif later == "constraint":
        _at(value, path)["name"]["kanji"] = LONG_NAME
    else:
        _break_check_digit(_at(value, path))
    return value


def _encode_run(type_name: str, value: dict[str, Any], profile: str, code: int,
                alone: dict[str, Any], alone_code: int) -> Callable[[AdapterSut], Outcome]:
    """``encode`` of ``alone`` (the later fault only) refused with ``alone_code``, so
    that the case proves the SUT sees that fault; then ``value`` (both faults) refused
    with ``code``."""
    def run(sut: AdapterSut) -> Outcome:
        first = expect_error(sut.request("encode", type=type_name, value=alone,
                                         profile=profile), alone_code)
        if first.verdict is not Verdict.PASS:
            return Outcome(Verdict.FAIL, first.expected,
                           f"the later fault alone: {first.actual}")
        return expect_error(sut.request("encode", type=type_name, value=value,
                                        profile=profile), code)
    return run


def json_first_cases() -> list[Case]:
    """A required key missing and a later fault: 1030 on encode."""
    cases = []
    for type_name, path, slug in PLACES:
        for later, what, later_code, req, profiles in LATER:
            for profile in profiles:
                name = profile.value
                alone = _with_later(type_name, path, profile, later)
                for where, obj_path, key in _missing_places(type_name, path):
                    value = copy.deepcopy(alone)
                    del _at(value, obj_path)[key]
                    reqs = ("R-CONF-15", "R-JSON-02") + ((req,) if req else (
                        "R-PDU-02" if profile is Profile.CURRENT else "R-PDU-03",))
                    cases.append(Case(
                        id=f"json/codec/{kebab_case(type_name)}/{name}/order-key-missing-"
                           f"{where}-before-{later}-in-{slug}",
                        title=f"{type_name} in profile {name} without its required key "
                              f"{key} ({where.replace('-', ' ')}) and with {what} in its "
                              f"{slug.replace('-', ' ')}: refused 1030 on encode",
                        clause="json", requirements=reqs, level="MUST",
                        remediation=FIX_JSON, mode="codec",
                        run=_encode_run(type_name, value, name,
                                        int(ErrorCode.INVALID_JSON), alone, later_code),
                        message_type=type_name, profile=name, ops=("encode",)))
    return cases


def _both_run(type_name: str, value: dict[str, Any], profile: str,
              code: int) -> Callable[[AdapterSut], Outcome]:
    """``encode`` and ``decode`` (with the profile) of ``value`` refused with ``code``."""
    def run(sut: AdapterSut) -> Outcome:
        enc = expect_error(sut.request("encode", type=type_name, value=value,
                                       profile=profile), code)
        if enc.verdict is not Verdict.PASS:
            return Outcome(Verdict.FAIL, enc.expected, f"encode: {enc.actual}")
        # The DER of the value, encoded past every check but the schema's structure:
        # DER is unique (R-DER-01), and the value breaks a rule or a constraint.
        data = raw_encode(type_name, json_to_raw(codec.message_class(type_name),
                                                 value)).hex()
        dec = expect_error(sut.request("decode", type=type_name, der=data,
                                       profile=profile), code)
        if dec.verdict is not Verdict.PASS:
            return Outcome(Verdict.FAIL, dec.expected, f"decode: {dec.actual}")
        return Outcome(Verdict.PASS, enc.expected, "refused on encode and decode")
    return run


#: The list places: the profile broken in the last element, the other fault in the first.
LIST_PLACES = (
    ("MoveOutCertificate", ("entries",), (), "entries"),
    ("ProvisionResponse", ("provided",), ("identity_info",), "provided"),
)


def list_order_cases() -> list[Case]:
    """The profile broken in a list's last element, a rule or a constraint in its first."""
    cases = []
    for type_name, list_path, inner, slug in LIST_PLACES:
        last, first = (*list_path, -1, *inner), (*list_path, 0, *inner)
        for profile in (Profile.CURRENT, Profile.P2002):
            name = profile.value
            for other, what, code, req in (
                    ("rule", "a resident code with a wrong check digit",
                     int(ErrorCode.PROFILE_VIOLATION), "R-ID-01"),
                    ("constraint", "a name of 101 characters",
                     int(ErrorCode.CONSTRAINT_VIOLATION), "R-DER-07")):
                value = copy.deepcopy(_value(type_name, profile))
                _break_profile(value, type_name, last, profile)
                if other == "rule":
                    _break_check_digit(_at(value, first))
                else:
                    _at(value, first)["name"]["kanji"] = LONG_NAME
                order = ("profile-before-rule" if other == "rule"
                         else "constraint-before-profile")
                cases.append(Case(
                    id=f"{CLAUSES[type_name]}/codec/{kebab_case(type_name)}/{name}/"
                       f"order-{order}-across-{slug}",
                    title=f"{type_name} in profile {name} with the profile broken in the "
                          f"last element of {slug} and {what} in the first: refused "
                          f"{code} on encode and decode",
                    clause=CLAUSES[type_name],
                    requirements=("R-CONF-15", "R-PDU-02" if profile is Profile.CURRENT
                                  else "R-PDU-03", req),
                    level="MUST", remediation=FIX_LIST, mode="codec",
                    run=_both_run(type_name, value, name, code),
                    message_type=type_name, profile=name, ops=("encode", "decode")))
    return cases


def json_order_cases() -> list[Case]:
    """The cases of this module, in a stable order."""
    return json_first_cases() + list_order_cases()


__all__ = ["json_order_cases"]
