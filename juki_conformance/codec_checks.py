"""What codec-mode cases share: reading an adapter's error answer, the verdict for a
request that must be refused, the first difference between what a vector expects and
what the SUT gave, and the id segments made from a vector's words.

Every codec-mode case talks to the SUT only through the adapter protocol
(``spec/conformance.md``); an error answer is ``{"ok": false, "error": {"code": int,
"name": str, "message": str}}``.
"""

from __future__ import annotations

import re
from typing import Any

from juki_conformance.model import Outcome, Verdict
from juki_protocol.errors import ErrorCode


def id_slug(text: str) -> str:
    """``text`` as a case id segment: lower case, runs of anything else than letters
    and digits made one hyphen, at most 60 characters. Case ids are stable, so this
    must not change."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def kebab_case(name: str) -> str:
    """A type name as a case id segment: ``MoveInNotice`` -> ``move-in-notice``."""
    return re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


def error_of(answer: dict[str, Any]) -> tuple[int | None, str]:
    """The code of an adapter's error answer (None without a numeric one) and a short
    text for a case's ``actual``: ``code NAME: message``."""
    err = answer.get("error")
    if not isinstance(err, dict) or not isinstance(err.get("code"), int):
        return None, "an error without a numeric code"
    message = re.sub(r"^\[\d+ [A-Z_]+\] ", "", str(err.get("message", "")))
    return err["code"], f"{err['code']} {err.get('name', '?')}: {message}"


def code_name(code: int | None) -> str:
    """``1012 DER_TRAILING_DATA``, ``9999 (unregistered)`` or ``none``."""
    try:
        return f"{code} {ErrorCode(code).name}" if code is not None else "none"
    except ValueError:
        return f"{code} (unregistered)"


def expect_error(answer: dict[str, Any], code: int) -> Outcome:
    """Verdict for a request that must be refused with ``code``."""
    expected = f"rejected with {code_name(code)}"
    if answer.get("ok"):
        return Outcome(Verdict.FAIL, expected, "accepted")
    got, text = error_of(answer)
    if got == code:
        return Outcome(Verdict.PASS, expected, f"rejected with {code_name(got)}")
    return Outcome(Verdict.FAIL, expected, f"rejected with {text}")


def hex_diff(want: str, got: str) -> str:
    """Where two hex strings of DER first differ, with 16 octets of each from there."""
    i = next((k for k in range(0, min(len(want), len(got)), 2) if want[k:k + 2] != got[k:k + 2]),
             min(len(want), len(got)))
    return (f"first difference at octet {i // 2}: expected {want[i:i + 32]}..., "
            f"got {got[i:i + 32]}...")


def json_diff(want: Any, got: Any, path: str = "") -> str:
    """The path of the first difference between two JSON values, and both values
    there (80 characters each)."""
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            if want.get(k) != got.get(k):
                return json_diff(want.get(k), got.get(k), f"{path}.{k}" if path else k)
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (a, b) in enumerate(zip(want, got, strict=True)):
            if a != b:
                return json_diff(a, b, f"{path}[{i}]")
    return f"at {path or '(top)'}: expected {str(want)[:80]}, got {str(got)[:80]}"


__all__ = ["code_name", "error_of", "expect_error", "hex_diff", "id_slug", "json_diff",
           "kebab_case"]
