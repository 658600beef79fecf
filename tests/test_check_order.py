"""The order of checks of spec/pdu.md section 8 (R-CONF-15), in both directions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.tools.vectors.vector_cases import find_path, replace_at

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def _value(file: str, flag: str) -> dict[str, Any]:
    doc = json.loads((VECTORS / file).read_text(encoding="utf-8"))
    return next(t for t in doc["testGroups"][0]["tests"] if flag in t["flags"])


def _code(fn: object, *args: object) -> int:
    with pytest.raises(JukiError) as info:
        fn(*args)  # type: ignore[operator]
    return int(info.value.error_code)


def test_size_before_node_id_form() -> None:
    v = _value("codec_juki_pdu.json", "Minimal")["value"]
    v["header"]["recipient"] = {"role": "national", "code": "DC1"}
    assert _code(codec.encode_json, "JukiPdu", v, None) == ErrorCode.CONSTRAINT_VIOLATION


def test_list_size_before_same_person() -> None:
    v = _value("codec_wide_area_issuance_request.json", "Maximal")["value"]
    v["targets"] = [v["targets"][0]] * 21
    assert _code(codec.encode_json, "WideAreaIssuanceRequest", v) == \
        ErrorCode.CONSTRAINT_VIOLATION


def test_profile_before_check_digit_both_ways() -> None:
    v = _value("codec_identity_info_update.json", "Maximal")["value"]
    del v["identity_info"]["individual_number"]
    v["identity_info"]["resident_code"] = "12345678904"
    assert _code(codec.encode_json, "IdentityInfoUpdate", v) == ErrorCode.PROFILE_VIOLATION
    bad = _value("codec_identity_info_update.json", "BadCheckDigit")
    data = bytes.fromhex(bad["der"])
    # The same value from DER: drop the individual number ([5] in IdentityInfo).
    path = find_path(data, 0x85, 12)
    dropped = replace_at(data, path, lambda old: b"")
    assert _code(codec.decode_full, dropped, "IdentityInfoUpdate", codec.Profile.CURRENT) \
        == ErrorCode.PROFILE_VIOLATION


def _tlv(text: bytes) -> Any:
    return lambda old: bytes([0x86, len(text)]) + text


def test_header_time_not_der_is_1011_and_fraction_1023() -> None:
    data = bytes.fromhex(_value("codec_juki_pdu.json", "Minimal")["der"])
    path = find_path(data, 0x86)
    for text, code in ((b"20260401180000+0900", ErrorCode.DER_NON_CANONICAL),
                       (b"20260401090000", ErrorCode.DER_NON_CANONICAL),
                       (b"20260401090000.5Z", ErrorCode.INVALID_DATE)):
        mutated = replace_at(data, path, _tlv(text))
        assert _code(codec.decode, mutated) == code, text
