"""Identifiers: resident code, local government code, individual number, node ids.

Each identifier has a pure check-digit function, a validator that raises a
:class:`~juki_protocol.errors.ValidationError` naming the field and the rule, and a
generator driven by an explicit :class:`random.Random` so fixtures are reproducible.

Check digits (see ``spec/identifiers.md``):

* resident code (住民票コード, Enforcement Regulation Art. 1): 10 digits, P1 the
  rightmost; weights Qn = n + 1 for n = 1..6 and n - 5 for n = 7..10; r = sum(Pn*Qn)
  mod 11; check = 0 if r <= 1 else 11 - r.
* individual number (個人番号): the same rule over 11 digits (n = 7..11 use n - 5).
* local government code (全国地方公共団体コード): (11 - (6d1+5d2+4d3+3d4+2d5) mod 11)
  mod 10.

Blind spots, proved in ``tests/test_identifiers.py``: a single-digit change of a
resident code or individual number goes unseen only when it moves r between 0 and 1
(both give check digit 0); of a local government code, only when it moves the sum's
remainder between 0 and 10 (both give 1). A change of the check digit itself is
always caught.
"""

from __future__ import annotations

import random
import re
from enum import StrEnum

from juki_protocol.errors import ErrorCode, ValidationError

_DIGITS = re.compile(r"[0-9]+\Z")


def _mod11_weights(length: int) -> list[int]:
    """Weights left to right for a mod-11 code of ``length`` data digits."""
    # Qn counts from the rightmost digit: n + 1 for n <= 6, n - 5 above.
    return [n + 1 if n <= 6 else n - 5 for n in range(length, 0, -1)]


def _mod11_check(digits: str) -> int:
    r = sum(int(d) * q for d, q in zip(digits, _mod11_weights(len(digits)), strict=True)) % 11
    return 0 if r <= 1 else 11 - r


def resident_code_check_digit(first10: str) -> int:
    """Return the check digit of the 10 data digits of a resident code."""
    _require_digits(first10, 10, "resident_code", ErrorCode.INVALID_RESIDENT_CODE)
    return _mod11_check(first10)


def individual_number_check_digit(first11: str) -> int:
    """Return the check digit of the 11 data digits of an individual number."""
    _require_digits(first11, 11, "individual_number", ErrorCode.INVALID_INDIVIDUAL_NUMBER)
    return _mod11_check(first11)


def local_gov_code_check_digit(first5: str) -> int:
    """Return the check digit of the 5 data digits of a local government code."""
    _require_digits(first5, 5, "local_gov_code", ErrorCode.INVALID_LOCAL_GOV_CODE)
    s = sum(int(d) * w for d, w in zip(first5, (6, 5, 4, 3, 2), strict=True))
    return (11 - s % 11) % 10


def _require_digits(value: object, length: int, field: str, code: ErrorCode) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string of {length} digits, got "
                              f"{type(value).__name__}", code=code, field=field)
    if len(value) != length or not _DIGITS.match(value):
        raise ValidationError(f"{field} must be exactly {length} ASCII digits, got "
                              f"{len(value)} characters", code=code, field=field)
    return value


def _validate_mod11(value: object, length: int, field: str, code: ErrorCode,
                    rule: str) -> str:
    v = _require_digits(value, length, field, code)
    expected = _mod11_check(v[:-1])
    if int(v[-1]) != expected:
        raise ValidationError(f"{field} check digit is {v[-1]}, {rule} gives {expected}",
                              code=code, field=field)
    return v


def validate_resident_code(value: object, field: str = "resident_code") -> str:
    """Return ``value`` if it is a valid resident code, else raise naming ``field``."""
    return _validate_mod11(value, 11, field, ErrorCode.INVALID_RESIDENT_CODE,
                           "the mod-11 rule of Enforcement Regulation Art. 1")


def validate_individual_number(value: object, field: str = "individual_number") -> str:
    """Return ``value`` if it is a valid individual number, else raise naming ``field``."""
    return _validate_mod11(value, 12, field, ErrorCode.INVALID_INDIVIDUAL_NUMBER,
                           "the mod-11 rule")


def validate_local_gov_code(value: object, field: str = "local_gov_code") -> str:
    """Return ``value`` if it is a valid local government code, else raise."""
    code = ErrorCode.INVALID_LOCAL_GOV_CODE
    v = _require_digits(value, 6, field, code)
    expected = local_gov_code_check_digit(v[:5])
    if int(v[5]) != expected:
        raise ValidationError(f"{field} check digit is {v[5]}, the rule "
                              f"(11 - weighted sum mod 11) mod 10 gives {expected}",
                              code=code, field=field)
    pref = int(v[:2])
    if not 1 <= pref <= 47:
        raise ValidationError(f"{field} prefecture part {v[:2]} is not 01..47",
                              code=code, field=field)
    return v


def validate_municipality_code(value: object, field: str = "local_gov_code") -> str:
    """Return ``value`` if it is a valid local government code of a municipality: 1021
    for a code that is not valid, 1024 for a prefecture's own code (R-ID-10)."""
    code = validate_local_gov_code(value, field)
    if is_prefecture_code(code):
        raise ValidationError(f"{field} holds a prefecture's own code where a municipality "
                              f"is required (R-ID-10)", code=ErrorCode.INVALID_FIELD,
                              field=field)
    return code


def is_prefecture_code(value: str) -> bool:
    """True if ``value`` (already valid) is a prefecture's own code (PP000C)."""
    return value[2:5] == "000"


def prefecture_of(municipality_code: str, field: str = "local_gov_code") -> str:
    """Return the prefecture's local government code for a municipality's code.

    Example: 271004 (Osaka city) -> 270008 (Osaka prefecture).
    """
    validate_local_gov_code(municipality_code, field)
    first5 = municipality_code[:2] + "000"
    return first5 + str(local_gov_code_check_digit(first5))


def new_resident_code(rng: random.Random) -> str:
    """A random valid resident code: 10 random digits and the check digit."""
    body = "".join(rng.choice("0123456789") for _ in range(10))
    return body + str(_mod11_check(body))


def new_individual_number(rng: random.Random) -> str:
    """A random valid individual number: 11 random digits and the check digit."""
    body = "".join(rng.choice("0123456789") for _ in range(11))
    return body + str(_mod11_check(body))


# Node ids -----------------------------------------------------------------------------

class Role(StrEnum):
    """Node roles (DESIGN.md section 3)."""

    MUNICIPALITY = "municipality"
    PREFECTURE = "prefecture"
    NATIONAL = "national"
    AGENCY = "agency"


_NATIONAL_ID = re.compile(r"DC[0-9]{2}\Z")
_AGENCY_ID = re.compile(r"AG[0-9]{4}\Z")


def validate_node_id(role: Role, node_id: object, field: str = "node") -> str:
    """Check that ``node_id`` has the form of ``role``.

    municipality: a municipality's local government code; prefecture: a prefecture's
    own code (PP000C); national: ``DCnn``; agency: ``AGnnnn`` (schedule 1 table).
    """
    code = ErrorCode.INVALID_NODE_ID
    if not isinstance(node_id, str):
        raise ValidationError(f"{field} id must be a string", code=code, field=field)
    if role in (Role.MUNICIPALITY, Role.PREFECTURE):
        try:
            validate_local_gov_code(node_id, f"{field}.code")
        except ValidationError as exc:
            raise ValidationError(str(exc.args[0]), code=code, field=f"{field}.code") from exc
        if (role is Role.PREFECTURE) != is_prefecture_code(node_id):
            kind = "a prefecture's own code (PP000C)" if role is Role.PREFECTURE \
                else "a municipality code (not PP000C)"
            raise ValidationError(f"{field} id {node_id} for role {role.value} must be "
                                  f"{kind}", code=code, field=f"{field}.code")
    elif role is Role.NATIONAL:
        if not _NATIONAL_ID.match(node_id):
            raise ValidationError(f"{field} id for role national must match DCnn",
                                  code=code, field=f"{field}.code")
    elif not _AGENCY_ID.match(node_id):
        raise ValidationError(f"{field} id for role agency must match AGnnnn",
                              code=code, field=f"{field}.code")
    return node_id


def mask(value: str, keep: int = 2) -> str:
    """Mask an identifier or name for logs: keep the first ``keep`` characters."""
    if len(value) <= keep:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - keep)
