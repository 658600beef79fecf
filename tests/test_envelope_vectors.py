"""Envelope vectors: schema, self-verification, failure detection, reproducibility."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import jsonschema
import pytest

from juki_protocol.errors import ErrorCode
from juki_protocol.tools.vectors.envelope_vectors import (
    ENVELOPE_VECTORS_SCHEMA,
    generate_envelope_vectors,
    verify_envelope_vectors,
)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return generate_envelope_vectors()


def cases_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for g in doc["testGroups"] for t in g["tests"]]


def find(doc: dict[str, Any], flag: str) -> dict[str, Any]:
    return next(t for t in cases_of(doc) if flag in t["flags"])


def test_document_follows_its_schema(doc: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(ENVELOPE_VECTORS_SCHEMA)
    jsonschema.validate(doc, ENVELOPE_VECTORS_SCHEMA)
    assert doc["algorithm"] == "JukiEnvelope" and doc["generatorVersion"] == "1"
    assert doc["numberOfTests"] == len(cases_of(doc))
    ids = [t["tcId"] for t in cases_of(doc)]
    assert ids == list(range(1, len(ids) + 1))


def test_this_implementation_passes_every_vector(doc: dict[str, Any]) -> None:
    assert verify_envelope_vectors(doc) == []


def test_required_cases_are_present(doc: dict[str, Any]) -> None:
    codes = {t["errorCode"] for t in cases_of(doc) if t["result"] == "invalid"}
    required = {ErrorCode.NO_MATCHING_RECIPIENT, ErrorCode.DECRYPTION_FAILED,
                ErrorCode.SIGNATURE_INVALID, ErrorCode.HEADER_BINDING_MISMATCH,
                ErrorCode.CERT_SENDER_MISMATCH, ErrorCode.CERT_ROLE_NOT_ALLOWED,
                ErrorCode.CERT_EXPIRED, ErrorCode.CERT_NOT_YET_VALID, ErrorCode.CERT_REVOKED,
                ErrorCode.CERT_UNTRUSTED, ErrorCode.CERT_KEY_USAGE, ErrorCode.REPLAY,
                ErrorCode.DUPLICATE_MESSAGE, ErrorCode.STALE_TIME,
                ErrorCode.ALGORITHM_UNSUPPORTED, ErrorCode.ENVELOPE_MALFORMED}
    assert {int(c) for c in required} <= codes
    flags = {f for t in cases_of(doc) for f in t["flags"]}
    for flag in ("WrongRecipient", "TamperedCiphertext", "TamperedTag",
                 "TamperedSignedAttribute", "SenderMismatch", "Expired", "Revoked",
                 "UntrustedCa", "Replay", "StaleTime", "WrongAlgorithm", "KeyRotation"):
        assert flag in flags, flag
    assert set(doc["notes"]) == flags
    for t in cases_of(doc):
        if t["errorCode"] is not None:
            assert ErrorCode(t["errorCode"]).name == t["errorName"]


@pytest.mark.parametrize("mutation", ["valid-to-invalid", "wrong-code", "tampered-valid",
                                      "invalid-to-valid", "wrong-message", "bad-schema",
                                      "duplicate-id", "unknown-flag", "bad-key"])
def test_verifier_detects_wrong_expectations(doc: dict[str, Any], mutation: str) -> None:
    bad = copy.deepcopy(doc)
    valid = find(bad, "Valid")
    replay = find(bad, "Replay")
    if mutation == "valid-to-invalid":
        valid.update(result="invalid", errorCode=int(ErrorCode.DECRYPTION_FAILED),
                     errorName="DECRYPTION_FAILED")
    elif mutation == "wrong-code":
        replay.update(errorCode=int(ErrorCode.STALE_TIME), errorName="STALE_TIME")
    elif mutation == "tampered-valid":
        env_hex = valid["envelope"]
        valid["envelope"] = env_hex[:-2] + f"{int(env_hex[-2:], 16) ^ 1:02x}"
    elif mutation == "invalid-to-valid":
        replay.update(result="valid", errorCode=None, errorName=None)
    elif mutation == "wrong-message":
        valid["message"] = "00" + valid["message"]
    elif mutation == "bad-schema":
        del valid["now"]
    elif mutation == "duplicate-id":
        replay["tcId"] = valid["tcId"]
    elif mutation == "unknown-flag":
        valid["flags"].append("Mystery")
    elif mutation == "bad-key":
        bad["testGroups"][0]["recipientCredentials"][0]["privateKey"] = \
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    failures = verify_envelope_vectors(bad)
    assert failures, mutation


def test_preceding_envelopes_matter(doc: dict[str, Any]) -> None:
    bad = copy.deepcopy(doc)
    find(bad, "Replay")["preceding"] = []
    failures = verify_envelope_vectors(bad)
    assert len(failures) == 1 and "REPLAY" in failures[0]


def test_acceptable_case_allows_refusal_with_the_named_code(doc: dict[str, Any]) -> None:
    case = find(doc, "Sha1Kdf")
    assert case["result"] == "acceptable"
    assert case["errorName"] == "ALGORITHM_UNSUPPORTED"


_DUMP = ("import json, sys; from juki_protocol.tools.vectors.envelope_vectors import "
         "generate_envelope_vectors as g; "
         "sys.stdout.write(json.dumps(g(), ensure_ascii=False, indent=1))")


def test_generation_is_byte_identical_across_processes(doc: dict[str, Any]) -> None:
    runs = [subprocess.run([sys.executable, "-c", _DUMP], capture_output=True, check=True,
                           timeout=120).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0] == json.dumps(doc, ensure_ascii=False, indent=1).encode()
