"""JER (X.697) and its lossless conversion to and from the JSON form (issue 15 item 2).

Three judges: the codec itself (DER -> message -> JER -> message -> DER gives the same
octets, for every valid vector and every message type), the JSON form (conversion both
ways, and one expected code per vector whichever form a value is encoded from), and
pycrate, a second ASN.1 toolchain with a JER codec of its own (our JER of each valid
vector equals pycrate's JER of the same DER, and pycrate turns our JER back into the
vector's DER).

Where pycrate's JER could differ from X.697 we found no difference on these modules:
it writes a ``Date`` (NumericString) as its 8 characters, a GeneralizedTime as the
characters of the value, an OCTET STRING as lowercase hex, a CHOICE as an object of one
member. One point it cannot judge: it refuses an unknown member of an extensible
SEQUENCE (it keeps it as an unknown extension and then fails to set it), as our reader
does on purpose (R-JSON-14); a general X.697 decoder may skip such a member as an
extension addition of a later version (spec/json.md section 3).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

# The second toolchain is compiled the way test_vectors_pycrate.py compiles it.
from test_vectors_pycrate import compile_modules
from vector_verdicts import module_names

from juki_protocol.codec import codec, jer
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.samples import samples
from juki_protocol.messages import MESSAGE_TYPES, Profile
from juki_protocol.resources import asn1_files

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def vectors() -> Iterator[tuple[str, dict[str, Any], dict[str, Any], bytes | None]]:
    """(type name, group, test, DER of the group's Maximal vector) for every codec
    vector."""
    for path in sorted(VECTORS.glob("codec_*.json")):
        for group in json.loads(path.read_text(encoding="utf-8"))["testGroups"]:
            maximal = next((bytes.fromhex(t["der"]) for t in group["tests"]
                            if "Maximal" in t["flags"]), None)
            for test in group["tests"]:
                yield group["messageType"], group, test, maximal


def valid_vectors() -> list[tuple[str, int, bytes, bytes]]:
    """(type, tcId, DER, DER expected after a round trip) of every valid vector: the
    vector's own DER, or for one with an unknown extension addition (which no form of
    the value holds) the DER of its group's Maximal vector, the same value without it."""
    out = []
    for type_name, _, test, maximal in vectors():
        if test["result"] != "valid":
            continue
        der = bytes.fromhex(test["der"])
        if "UnknownExtension" in test["flags"]:
            assert maximal is not None, test["tcId"]
            out.append((type_name, test["tcId"], der, maximal))
        else:
            out.append((type_name, test["tcId"], der, der))
    return out


def outcome(fn: Callable[..., bytes], *args: Any) -> str:
    """The DER (hex) a call returns, or the code of the registered error it raises."""
    try:
        return fn(*args).hex()
    except JukiError as exc:
        return f"error {int(exc.error_code)}"


def encode_via_jer(type_name: str, value: Any, profile: Profile | None) -> bytes:
    """Encode a value of the JSON form by way of its JER."""
    return jer.encode_jer(type_name, jer.json_to_jer(type_name, value), profile)


# The codec judges ---------------------------------------------------------------------

def test_every_valid_vector_round_trips_through_jer_to_the_same_der() -> None:
    # Checks R-JSON-13, R-JSON-16.
    seen = set()
    for type_name, tc, der, again in valid_vectors():
        msg = codec.decode(der)
        text = jer.dumps_jer(msg)
        back = jer.from_jer_text(type_name, text)
        assert back == msg, f"{type_name} tcId {tc}"
        got = codec.encode(back, None)
        assert got == again, f"{type_name} tcId {tc}:\n{got.hex()}\n{again.hex()}"
        seen.add(type_name)
    assert seen == set(MESSAGE_TYPES)


@pytest.mark.parametrize("type_name", sorted(MESSAGE_TYPES))
@pytest.mark.parametrize("profile", [Profile.CURRENT, Profile.P2002])
def test_every_message_type_round_trips(type_name: str, profile: Profile) -> None:
    for sample in samples(type_name, seed=7, profile=profile):
        der = codec.encode(sample.message, profile)
        value = jer.to_jer(codec.decode(der))
        assert jer.encode_jer(type_name, value, profile) == der
        assert jer.jer_to_json(type_name, value) == codec.to_json(sample.message)


def test_the_jer_spelling_of_each_kind_of_leaf() -> None:
    # Checks R-JSON-13: identifiers as is, CHOICE as an object of one member, Date as
    # 8 digits, GeneralizedTime as the value's characters, octets as lowercase hex.
    msg = samples("JukiPdu", seed=1)[1].message
    value = jer.to_jer(msg)
    header = value["header"]
    assert set(value) == {"header", "body"} and list(value["body"]) == ["sealed"]
    assert header["time"] == msg.header.time.strftime("%Y%m%d%H%M%SZ")
    assert header["messageId"] == msg.header.message_id.hex()
    assert header["messageType"] == "identityInfoUpdate"
    assert "sequenceNumber" in header and "sequence_number" not in header
    update = jer.to_jer(samples("IdentityInfoUpdate", seed=1)[0].message)
    assert len(update["changeInfo"]["changeDate"]) == 8
    assert update["changeInfo"]["changeDate"].isdigit()
    assert "previousResidentCode" not in update          # absent OPTIONAL: no member


# The JSON form judges -----------------------------------------------------------------

def test_json_form_and_jer_convert_losslessly_both_ways() -> None:
    # Checks R-JSON-16, also for invalid vectors (the conversion runs no rule).
    converted = 0
    for type_name, _, test, _ in vectors():
        value = test.get("value")
        if value is None:
            continue
        try:
            as_jer = jer.json_to_jer(type_name, value)
        except JukiError:
            continue                       # a value whose shape is the vector's fault
        assert jer.jer_to_json(type_name, as_jer) == value, test["tcId"]
        assert jer.json_to_jer(type_name, jer.jer_to_json(type_name, as_jer)) == as_jer
        if test["result"] == "valid":
            der = bytes.fromhex(test["der"])
            assert as_jer == jer.to_jer(codec.decode(der)), test["tcId"]
        converted += 1
    assert converted >= 70          # the invalid vectors of DER faults have no value


def test_a_vector_has_one_expected_code_in_both_forms() -> None:
    # Checks R-JSON-16: the order of checks is the same from JER as from the JSON form.
    compared = 0
    for type_name, group, test, _ in vectors():
        value = test.get("value")
        if value is None:
            continue
        profile = Profile.parse(group["profile"]) if group["profile"] else None
        from_json = outcome(codec.encode_json, type_name, value, profile)
        from_jer = outcome(encode_via_jer, type_name, value, profile)
        assert from_jer == from_json, f"{type_name} tcId {test['tcId']}"
        compared += 1
    assert compared >= 70


_VALUES = [(type_name, test["value"]) for type_name, _, test, _ in vectors()
           if test["result"] == "valid"]
_LEAVES = st.sampled_from(["", "x" * 300, "12345678901", "12345678903", "2026-02-30",
                           "2026-02-28", "1850-01-01", "271004", "271005", "ab" * 16,
                           "2026-04-01T09:00:00Z", "moveIn", "agency"]) | st.integers(
                               -3, 10_000)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_faulty_value_gives_one_code_in_both_forms(data: st.DataObject) -> None:
    # Checks R-JSON-16 on values with one or two faults (a check digit, a date, a size,
    # a profile, a rule): the order of checks is the same from JER as from the JSON form.
    type_name, base = data.draw(st.sampled_from(_VALUES))
    value = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 2))):
        leaves = [p for p in _nodes(value)
                  if p and isinstance(_at(value, p), (str, int)) and
                  not isinstance(_at(value, p), bool)]
        path = data.draw(st.sampled_from(leaves))
        _at(value, path[:-1])[path[-1]] = data.draw(_LEAVES)
    profile = data.draw(st.sampled_from([None, Profile.CURRENT, Profile.P2002]))
    from_json = outcome(codec.encode_json, type_name, value, profile)
    from_jer = outcome(encode_via_jer, type_name, value, profile)
    assert from_jer == from_json
    event(from_json if from_json.startswith("error") else "der")


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def test_the_json_form_given_to_the_jer_reader_is_refused_not_dropped() -> None:
    """The issue: a JER decoder given a vector's JSON value dropped fields. Ours names
    the first snake_case key instead."""
    msg = samples("IdentityInfoUpdate", seed=2)[1].message
    with pytest.raises(JukiError) as err:
        jer.from_jer("IdentityInfoUpdate", codec.to_json(msg))
    assert err.value.error_code is ErrorCode.INVALID_JSON
    assert err.value.field == "change_info" and "not a component" in str(err.value)
    nested = jer.to_jer(msg)
    nested["identityInfo"]["individual_number"] = nested["identityInfo"].pop(
        "individualNumber")
    with pytest.raises(JukiError, match="not a component of IdentityInfo") as err:
        jer.from_jer("IdentityInfoUpdate", nested)
    assert err.value.field == "identityInfo.individual_number"


# pycrate judges ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pycrate_jer(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    texts = [p.read_text(encoding="utf-8") for p in asn1_files()]
    return compile_modules(texts, tmp_path_factory.mktemp("pycrate_jer"))


def _pycrate_type(mod: ModuleType, name: str) -> Any:
    for module_name in module_names():
        found = getattr(getattr(mod, module_name), name, None)
        if found is not None:
            return found
    raise LookupError(name)


def test_our_jer_equals_pycrate_jer_and_pycrate_reads_ours_back(
        pycrate_jer: ModuleType) -> None:
    # Checks R-JSON-13 against a second toolchain, both ways.
    problems = []
    checked = 0
    for type_name, tc, der, again in valid_vectors():
        theirs_type = _pycrate_type(pycrate_jer, type_name)
        theirs_type.from_der(der)
        theirs = json.loads(theirs_type.to_jer())
        ours = jer.to_jer(codec.decode(der))
        if theirs != ours:
            problems.append(f"{type_name} tcId {tc}: JER differs")
        theirs_type.from_jer(json.dumps(ours, ensure_ascii=False))
        if theirs_type.to_der() != again:
            problems.append(f"{type_name} tcId {tc}: pycrate's DER of our JER differs")
        checked += 1
    assert problems == [] and checked == len(valid_vectors()) > 50


def test_the_pycrate_comparison_can_fail(pycrate_jer: ModuleType) -> None:
    """A JER value spelt the JSON form's way (ISO date) is not what pycrate writes,
    and pycrate does not read it into the vector's DER."""
    type_name, _, der, _ = next(v for v in valid_vectors() if v[0] == "IdentityInfoUpdate")
    t = _pycrate_type(pycrate_jer, type_name)
    t.from_der(der)
    ours = jer.to_jer(codec.decode(der))
    date = ours["changeInfo"]["changeDate"]
    ours["changeInfo"]["changeDate"] = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    assert json.loads(t.to_jer()) != ours
    try:
        t.from_jer(json.dumps(ours))
        assert t.to_der() != der
    except Exception:              # pycrate raises many kinds; any is a refusal
        pass


# Bad JER input ---------------------------------------------------------------------------

def _ack() -> dict[str, Any]:
    return jer.to_jer(samples("Acknowledgement", seed=3)[1].message)


def _pdu() -> dict[str, Any]:
    return jer.to_jer(samples("JukiPdu", seed=3)[1].message)


def _update() -> dict[str, Any]:
    return jer.to_jer(samples("IdentityInfoUpdate", seed=3)[1].message)


def _set(value: dict[str, Any], path: str, new: Any) -> dict[str, Any]:
    *head, last = path.split(".")
    node = value
    for key in head:
        node = node[key]
    if new is _DELETE:
        del node[last]
    else:
        node[last] = new
    return value


_DELETE = object()

#: (name, type, base value, path, new value or _DELETE, code, field, words of the rule)
BAD: list[tuple[str, str, Callable[[], dict[str, Any]], str, Any, ErrorCode, str, str]] = [
    ("octets of the wrong JSON type", "Acknowledgement", _ack, "acknowledgedId", 5,
     ErrorCode.INVALID_JSON, "acknowledgedId", "OCTET STRING"),
    ("bad hex", "Acknowledgement", _ack, "acknowledgedId", "zz" * 16,
     ErrorCode.INVALID_JSON, "acknowledgedId", "hex digits"),
    ("odd hex", "Acknowledgement", _ack, "acknowledgedId", "abc",
     ErrorCode.INVALID_JSON, "acknowledgedId", "two per octet"),
    ("hex with separators", "Acknowledgement", _ack, "acknowledgedId", "ab:cd",
     ErrorCode.INVALID_JSON, "acknowledgedId", "no separators"),
    ("unknown key", "Acknowledgement", _ack, "acknowledged_id", "00" * 16,
     ErrorCode.INVALID_JSON, "acknowledged_id", "not a component of Acknowledgement"),
    ("missing mandatory", "Acknowledgement", _ack, "status", _DELETE,
     ErrorCode.INVALID_JSON, "status", "is required"),
    ("unknown ENUMERATED", "Acknowledgement", _ack, "status", "Accepted",
     ErrorCode.INVALID_JSON, "status", "ENUMERATED"),
    ("ENUMERATED as its number", "Acknowledgement", _ack, "status", 1,
     ErrorCode.INVALID_JSON, "status", "ENUMERATED"),
    ("null for an OPTIONAL", "JukiPdu", _pdu, "header.correlationId", None,
     ErrorCode.INVALID_JSON, "header.correlationId", "must not be null"),
    ("time in the JSON form's spelling", "JukiPdu", _pdu, "header.time",
     "2026-04-01T09:00:00Z", ErrorCode.INVALID_JSON, "header.time", "GeneralizedTime"),
    ("time with a fraction", "JukiPdu", _pdu, "header.time", "20260401090000.5Z",
     ErrorCode.INVALID_JSON, "header.time", "whole seconds"),
    ("time with an offset", "JukiPdu", _pdu, "header.time", "20260401090000+0900",
     ErrorCode.INVALID_JSON, "header.time", "YYYYMMDDHHMMSSZ"),
    ("time that does not exist", "JukiPdu", _pdu, "header.time", "20260230090000Z",
     ErrorCode.INVALID_JSON, "header.time", "real UTC time"),
    ("INTEGER as a string", "JukiPdu", _pdu, "header.version", "1",
     ErrorCode.INVALID_JSON, "header.version", "INTEGER"),
    ("INTEGER as a boolean", "JukiPdu", _pdu, "header.version", True,
     ErrorCode.INVALID_JSON, "header.version", "INTEGER"),
    ("INTEGER with a fraction", "JukiPdu", _pdu, "header.sequenceNumber", 1.5,
     ErrorCode.INVALID_JSON, "header.sequenceNumber", "INTEGER"),
    ("nested SEQUENCE not an object", "JukiPdu", _pdu, "header.sender", "271004",
     ErrorCode.INVALID_JSON, "header.sender", "JSON object"),
    ("CHOICE not an object", "JukiPdu", _pdu, "body", "3000",
     ErrorCode.INVALID_JSON, "body", "CHOICE"),
    ("unknown alternative", "JukiPdu", _pdu, "body", {"sealedd": "3000"},
     ErrorCode.INVALID_JSON, "body.sealedd", "not an alternative of body"),
    ("two alternatives", "JukiPdu", _pdu, "body",
     {"sealed": "3000", "errorReport": {"errorCode": 1030}},
     ErrorCode.INVALID_FIELD, "body", "exactly one alternative"),
    ("no alternative", "JukiPdu", _pdu, "body", {},
     ErrorCode.INVALID_FIELD, "body", "exactly one"),
    ("date in the JSON form's spelling", "IdentityInfoUpdate", _update,
     "identityInfo.birthDate", "1950-06-21", ErrorCode.INVALID_DATE,
     "identityInfo.birthDate", "YYYYMMDD"),
    ("date that does not exist", "IdentityInfoUpdate", _update, "changeInfo.changeDate",
     "20260230", ErrorCode.INVALID_DATE, "changeInfo.changeDate", "real calendar date"),
    ("BOOLEAN as a string", "IdentityInfoUpdate", _update, "updateSequence", "7",
     ErrorCode.INVALID_JSON, "updateSequence", "INTEGER"),
    ("character string as a number", "IdentityInfoUpdate", _update, "municipality",
     271004, ErrorCode.INVALID_JSON, "municipality", "JSON string"),
    ("SEQUENCE OF not an array", "MoveInNotice",
     lambda: jer.to_jer(samples("MoveInNotice", seed=3)[1].message), "residents", {},
     ErrorCode.INVALID_JSON, "residents", "JSON array"),
    ("BOOLEAN as a string", "WideAreaIssuanceRequest",
     lambda: jer.to_jer(samples("WideAreaIssuanceRequest", seed=3)[1].message),
     "includeRelationship", "true", ErrorCode.INVALID_JSON, "includeRelationship",
     "BOOLEAN"),
    ("a schema constraint", "ErrorReport",
     lambda: jer.to_jer(samples("ErrorReport", seed=3)[1].message), "errorCode", 99999,
     ErrorCode.CONSTRAINT_VIOLATION, "", "constraint"),
]


@pytest.mark.parametrize(("name", "type_name", "base", "path", "new", "code", "field",
                          "rule"), BAD, ids=[b[0] for b in BAD])
def test_bad_jer_raises_a_registered_code_naming_field_and_rule(
        name: str, type_name: str, base: Callable[[], dict[str, Any]], path: str,
        new: Any, code: ErrorCode, field: str, rule: str) -> None:
    # Checks R-JSON-13, R-JSON-14, R-JSON-15.
    value = _set(base(), path, new)
    assert jer.from_jer(type_name, base()) is not None      # the base value is good
    with pytest.raises(JukiError) as err:
        jer.from_jer(type_name, value)
    assert err.value.error_code is code, str(err.value)
    if field:
        assert err.value.field == field and field in str(err.value)
    assert rule in str(err.value)
    with pytest.raises(JukiError) as again:              # the same from encode_jer
        jer.encode_jer(type_name, value)
    assert again.value.error_code is code


@pytest.mark.parametrize(("call", "code"), [
    (lambda: jer.from_jer("NoSuchType", {}), ErrorCode.UNKNOWN_MESSAGE_TYPE),
    (lambda: jer.from_jer("Acknowledgement", []), ErrorCode.INVALID_JSON),
    (lambda: jer.from_jer_text("Acknowledgement", "{not json"), ErrorCode.INVALID_JSON),
    (lambda: jer.from_jer_text("Acknowledgement", "1" * 5000), ErrorCode.INVALID_JSON),
    (lambda: jer.jer_to_json("Acknowledgement", {"status": "accepted"}),
     ErrorCode.INVALID_JSON),
    (lambda: jer.json_to_jer("Acknowledgement", {"acknowledgedId": "00"}),
     ErrorCode.INVALID_JSON),
])
def test_bad_input_to_the_other_entry_points(call: Callable[[], Any],
                                             code: ErrorCode) -> None:
    with pytest.raises(JukiError) as err:
        call()
    assert err.value.error_code is code


def test_hex_is_read_in_either_case_and_written_lowercase() -> None:
    # Checks R-JSON-13 with R-JSON-11.
    value = _ack()
    value["acknowledgedId"] = value["acknowledgedId"].upper()
    msg = jer.from_jer("Acknowledgement", value)
    assert jer.to_jer(msg) == _ack()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.sampled_from(["20260401090000Z", "19800401", "00" * 16,
                                             "accepted", "male", "271004"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)

_BASES = [(name, jer.to_jer(s.message)) for name in sorted(MESSAGE_TYPES)
          for s in samples(name, seed=5)]


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _nodes(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nodes(v, (*path, i))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_jer_gives_a_message_or_a_registered_error(data: st.DataObject) -> None:
    # Checks R-JSON-14: no KeyError, ValueError or TypeError escapes on any JSON value.
    type_name, base = data.draw(st.sampled_from(_BASES))
    value = copy.deepcopy(base)
    path = data.draw(st.sampled_from(list(_nodes(value))))
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    junk = data.draw(_JSON)
    if not path:
        value = junk if action == "replace" else value
    else:
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        if action == "replace":
            parent[path[-1]] = junk
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][data.draw(st.text(max_size=8))] = junk
    try:
        msg = jer.from_jer(type_name, value)
    except JukiError as exc:
        assert exc.error_code in ErrorCode
        if exc.error_code is ErrorCode.INVALID_JSON:
            assert str(exc).startswith("[1030 INVALID_JSON] ")
        return
    assert jer.from_jer(type_name, jer.to_jer(msg)) == msg


# The command line ------------------------------------------------------------------------

def juki(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "juki_protocol.tools.cli", *args],
                          input=stdin, capture_output=True, timeout=120, check=False)


def test_cli_decode_jer_then_encode_jer_gives_the_der_back(tmp_path: Path) -> None:
    type_name, _, der, _ = next(v for v in valid_vectors() if v[0] == "JukiPdu")
    (tmp_path / "pdu.hex").write_text(der.hex() + "\n", encoding="ascii")
    dec = juki("decode", "--hex", "--jer", str(tmp_path / "pdu.hex"))
    assert dec.returncode == 0, dec.stderr
    out = json.loads(dec.stdout)
    assert out == {"type": type_name, "value": jer.to_jer(codec.decode(der))}
    enc = juki("encode", "--jer", "--hex", stdin=dec.stdout)
    assert enc.returncode == 0, enc.stderr
    assert enc.stdout.decode().strip() == der.hex()
    bare = juki("encode", "--jer", "--type", type_name, "--hex",
                stdin=json.dumps(out["value"]).encode())
    assert bare.stdout == enc.stdout
    plain = juki("decode", "--hex", str(tmp_path / "pdu.hex"))   # without --jer: JSON form
    assert json.loads(plain.stdout)["value"] == codec.to_json(codec.decode(der))


def test_cli_encode_jer_refuses_bad_jer_and_the_json_form() -> None:
    bad = juki("encode", "--jer", "--type", "Acknowledgement",
               stdin=b'{"acknowledgedId": 5, "status": "accepted"}')
    assert bad.returncode == 1 and b"Traceback" not in bad.stderr
    assert b"1030 INVALID_JSON" in bad.stderr and b"acknowledgedId" in bad.stderr
    msg = samples("Acknowledgement", seed=3)[1].message
    snake = juki("encode", "--jer", "--type", "Acknowledgement",
                 stdin=json.dumps(codec.to_json(msg)).encode())
    assert snake.returncode == 1 and b"acknowledged_id" in snake.stderr
    assert b"not a component" in snake.stderr
